"""The holes an adversary found in the till's money paths (issue 13, items 1-7 and 10), each
driven through the real HTTP API: a refund after a reversal, refunds and reloads held in one
receipt, a confirm for less, reversals of a confirm's or a reversal's own key, a block over a
hold, and who may lift a block. Every refusal leaves the voucher as it was."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from scrip.domain import bulk
from scrip.domain.scope import EVERYTHING
from scrip.services import bulk_operations, catalog
from tests import builders
from tests.api.conftest import Till, issue, pay, sold_card
from tests.api.snapshots import snapshot
from tests.builders import World


def _open(till: Till) -> int:
    opened = till.post("/receipts", {})
    assert opened.status_code == 201, opened.text
    receipt_id: int = opened.json()["receipt_id"]
    return receipt_id


def _in(receipt_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "receipt": {"receipt_id": receipt_id}}


def _figures(till: Till, code: str) -> tuple[str, int, int]:
    found = till.get(f"/vouchers/{code}").json()
    return found["state"], found["balance_minor"], found["held_minor"]


def _error(answer: Any) -> str:
    code: str = answer.json()["error"]["code"]
    return code


def _reverse(till: Till, key: str) -> Any:
    return till.post("/reversals", {"idempotency_key": key})


def _breakage(engine: Engine, shop: World) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT coalesce(sum(t.amount_minor), 0) FROM ledger_transfers t"
                " JOIN ledger_accounts a ON a.id = t.credit_account_id"
                " WHERE a.issuer_id = :i AND a.kind = 'breakage_income' AND t.state = 'posted'"
            ),
            {"i": shop.issuer_id},
        ).scalar_one()
    return int(found)


# 1. A refund after a reversed redemption


def test_a_reversed_redemption_is_not_spent_for_a_refund(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till, 10_000)
    assert till.post(f"/vouchers/{code}/redemptions", pay(4_000), key="K").status_code == 201
    assert _reverse(till, "K").json()["outcome"] == "reversed"
    assert _figures(till, code) == ("active", 10_000, 0)
    before = snapshot(engine, shop, code)

    refund = till.post(f"/vouchers/{code}/refunds", pay(4_000))

    assert refund.status_code == 409, refund.text
    assert _error(refund) == "refund_exceeds_spent"
    assert refund.json()["error"]["details"]["spent_minor"] == 0
    assert snapshot(engine, shop, code) == before


def test_a_certificate_whose_redemption_was_reversed_can_be_returned_unused(
    engine: Engine, shop: World, till: Till
) -> None:
    [code] = issue(engine, shop, "cert")
    assert till.post("/sales", {"items": [{"code": code}]}).status_code == 201
    assert till.post(f"/vouchers/{code}/redemptions", pay(1_000), key="C").status_code == 201
    assert _reverse(till, "C").json()["outcome"] == "reversed"

    returned = till.post(f"/vouchers/{code}/returns", {})

    assert returned.status_code == 201, returned.text
    assert returned.json()["amount_minor"] == 5_000
    assert _figures(till, code)[1] == 0


def test_a_refunded_payment_is_not_reversed_into_the_card_again(
    engine: Engine, shop: World, till: Till
) -> None:
    """Not on the list, found while closing it: paid 4,000, refunded 4,000, then the payment
    reversed by its key gave the 4,000 back a second time (14,000 on a card sold for 10,000)."""
    code = sold_card(engine, shop, till, 10_000)
    assert till.post(f"/vouchers/{code}/redemptions", pay(4_000), key="P").status_code == 201
    assert till.post(f"/vouchers/{code}/refunds", pay(4_000)).status_code == 201
    before = snapshot(engine, shop, code)

    refused = _reverse(till, "P")

    assert (refused.status_code, _error(refused)) == (409, "reversal_not_possible")
    assert refused.json()["error"]["details"]["reason"] == "refunded"
    assert snapshot(engine, shop, code) == before


# 2. Several refunds held in one open receipt


def test_refunds_held_in_one_receipt_return_at_most_what_was_spent(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till, 10_000)
    assert till.post(f"/vouchers/{code}/redemptions", pay(3_000)).status_code == 201
    receipt = _open(till)

    first = till.post(f"/vouchers/{code}/refunds", _in(receipt, pay(3_000)))
    second = till.post(f"/vouchers/{code}/refunds", _in(receipt, pay(3_000)))
    small = till.post(f"/vouchers/{code}/refunds", _in(receipt, pay(1)))
    confirmed = till.post(f"/receipts/{receipt}/confirm")

    assert first.status_code == 201, first.text
    assert (second.status_code, _error(second)) == (409, "refund_exceeds_spent")
    assert second.json()["error"]["details"]["spent_minor"] == 0
    assert (small.status_code, _error(small)) == (409, "refund_exceeds_spent")
    assert confirmed.status_code == 200, confirmed.text
    assert _figures(till, code) == ("active", 10_000, 0)


# 3. Reloads held in one receipt and the maximum balance


def test_reloads_held_in_one_receipt_respect_the_maximum_balance(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till, 90_000)  # the card type's maximum is 100,000
    receipt = _open(till)

    first = till.post(f"/vouchers/{code}/reloads", _in(receipt, pay(9_000)))
    second = till.post(f"/vouchers/{code}/reloads", _in(receipt, pay(9_000)))
    confirmed = till.post(f"/receipts/{receipt}/confirm")

    assert first.status_code == 201, first.text
    assert (second.status_code, _error(second)) == (409, "max_balance_exceeded")
    assert second.json()["error"]["details"]["would_be"] == 108_000
    assert confirmed.status_code == 200
    assert _figures(till, code) == ("active", 99_000, 0)


def test_a_refund_that_would_pass_the_maximum_balance_is_refused(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till, 100_000)
    assert till.post(f"/vouchers/{code}/redemptions", pay(10_000)).status_code == 201
    assert till.post(f"/vouchers/{code}/reloads", pay(10_000)).status_code == 201
    before = snapshot(engine, shop, code)

    refund = till.post(f"/vouchers/{code}/refunds", pay(10_000))

    assert (refund.status_code, _error(refund)) == (409, "max_balance_exceeded")
    assert snapshot(engine, shop, code) == before


# 4. A confirm for less must not forfeit what was never paid


def test_a_certificate_confirmed_for_nothing_keeps_its_value(
    engine: Engine, shop: World, till: Till
) -> None:
    [code] = issue(engine, shop, "cert")  # one-time, 5,000
    assert till.post("/sales", {"items": [{"code": code}]}).status_code == 201
    receipt = _open(till)
    held = till.post(f"/vouchers/{code}/redemptions", _in(receipt, pay(1_000)))
    assert held.json()["forfeited_minor"] == 4_000  # what confirming it in full forfeits
    operation = held.json()["operation_id"]

    confirmed = till.post(
        f"/receipts/{receipt}/confirm",
        {"amounts": [{"operation_id": operation, "amount_minor": 0}]},
    )

    assert confirmed.status_code == 200, confirmed.text
    assert _figures(till, code) == ("active", 5_000, 0)
    assert _breakage(engine, shop) == 0


def test_a_one_time_payment_says_what_it_forfeited(engine: Engine, shop: World, till: Till) -> None:
    [code] = issue(engine, shop, "cert")
    assert till.post("/sales", {"items": [{"code": code}]}).status_code == 201

    paid = till.post(f"/vouchers/{code}/redemptions", pay(1_200))

    assert paid.status_code == 201, paid.text
    assert paid.json()["forfeited_minor"] == 3_800
    assert _figures(till, code) == ("redeemed", 0, 0)
    assert _breakage(engine, shop) == 3_800


def test_a_certificate_confirmed_for_less_forfeits_what_the_payment_left(
    engine: Engine, shop: World, till: Till
) -> None:
    [code] = issue(engine, shop, "cert")
    assert till.post("/sales", {"items": [{"code": code}]}).status_code == 201
    receipt = _open(till)
    held = till.post(f"/vouchers/{code}/redemptions", _in(receipt, pay(1_000)))
    operation = held.json()["operation_id"]

    confirmed = till.post(
        f"/receipts/{receipt}/confirm",
        {"amounts": [{"operation_id": operation, "amount_minor": 400}]},
    )

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["forfeited_minor"] == 4_600
    assert _figures(till, code) == ("redeemed", 0, 0)
    assert _breakage(engine, shop) == 4_600


# 5. Reversing the key of a confirm, a cancel or a reversal


def test_a_confirmed_receipt_is_reversed_whole_by_its_confirm_key(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till, 5_000)
    [other] = issue(engine, shop, "card")
    receipt = _open(till)
    assert till.post(f"/vouchers/{code}/redemptions", _in(receipt, pay(2_000))).status_code == 201
    sale = {"items": [{"code": other, "amount_minor": 3_000}], "receipt": {"receipt_id": receipt}}
    assert till.post("/sales", sale).status_code == 201
    assert till.post(f"/receipts/{receipt}/confirm", key="CONFIRM").status_code == 200
    assert _figures(till, code) == ("active", 3_000, 0)

    reversed_ = _reverse(till, "CONFIRM")

    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["outcome"] == "reversed"
    assert _figures(till, code) == ("active", 5_000, 0)
    assert _figures(till, other) == ("prepared", 0, 0)
    again = till.post(f"/receipts/{receipt}/confirm", key="CONFIRM")
    assert (again.status_code, _error(again)) == (409, "idempotency_key_reversed")
    assert _reverse(till, "CONFIRM").json()["outcome"] == "already_reversed"


def test_a_reversal_or_a_cancel_cannot_be_reversed_and_its_key_stays_usable(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till, 5_000)
    assert till.post(f"/vouchers/{code}/redemptions", pay(1_000), key="PAY").status_code == 201
    assert till.post("/reversals", {"idempotency_key": "PAY"}, key="REV").status_code == 200
    receipt = _open(till)
    assert till.post(f"/receipts/{receipt}/cancel", key="CANCEL").status_code == 200

    for key in ("REV", "CANCEL"):
        refused = _reverse(till, key)
        assert (refused.status_code, _error(refused)) == (409, "not_reversible"), key

    replayed = till.post("/reversals", {"idempotency_key": "PAY"}, key="REV")
    assert replayed.status_code == 200, replayed.text
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert _figures(till, code) == ("active", 5_000, 0)


def test_nothing_to_reverse_only_for_a_key_never_sent(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till, 1_000)
    refused = till.post(f"/vouchers/{code}/redemptions", pay(5_000), key="TOO-MUCH")
    assert refused.status_code == 409

    assert _reverse(till, "TOO-MUCH").json()["outcome"] == "was_refused"
    assert _reverse(till, str(uuid.uuid4())).json()["outcome"] == "nothing_to_reverse"


# 6. A block over a hold


def test_a_card_blocked_while_held_is_not_paid_with_at_confirmation(
    engine: Engine, shop: World, till: Till, client: TestClient
) -> None:
    code = sold_card(engine, shop, till, 5_000)
    receipt = _open(till)
    held = till.post(f"/vouchers/{code}/redemptions", _in(receipt, pay(2_000)))
    other = Till(client, shop.other_key)
    assert other.post(f"/vouchers/{code}/block", {}).status_code == 201

    confirmed = till.post(f"/receipts/{receipt}/confirm")

    assert (confirmed.status_code, _error(confirmed)) == (409, "voucher_blocked")
    assert confirmed.json()["error"]["details"]["operation_id"] == held.json()["operation_id"]
    assert _figures(till, code) == ("blocked", 5_000, 2_000)
    dropped = till.post(
        f"/receipts/{receipt}/confirm",
        {"amounts": [{"operation_id": held.json()["operation_id"], "amount_minor": 0}]},
    )
    assert dropped.status_code == 200, dropped.text
    assert _figures(till, code) == ("blocked", 5_000, 0)


# 7. A reversal naming its own key


def test_a_reversal_of_its_own_key_is_refused_every_time(
    engine: Engine, shop: World, till: Till
) -> None:
    for _ in range(2):
        answer = till.post("/reversals", {"idempotency_key": "SELF"}, key="SELF")
        assert (answer.status_code, _error(answer)) == (422, "reversal_of_itself")


# 10. Who may lift a block


def _second_store_till(engine: Engine, shop: World, client: TestClient) -> Till:
    with engine.begin() as conn:
        store = catalog.create_store(conn, issuer_id=shop.issuer_id, code="S2", name="Store 2")
        register = catalog.create_register(conn, store_id=store, serial_number="S2-R1")
    return Till(client, register.api_key)


def test_a_till_lifts_only_a_block_made_at_a_till_of_its_store(
    engine: Engine, shop: World, till: Till, client: TestClient
) -> None:
    code = sold_card(engine, shop, till, 5_000)
    elsewhere = _second_store_till(engine, shop, client)
    blocked = till.post(f"/vouchers/{code}/block", {"reason": "customer lost it"})
    assert blocked.status_code == 201, blocked.text

    refused = elsewhere.post(f"/vouchers/{code}/unblock", {})
    lifted = Till(client, shop.other_key).post(f"/vouchers/{code}/unblock", {})

    assert (refused.status_code, _error(refused)) == (409, "block_not_liftable_here")
    assert refused.json()["error"]["details"]["blocked_by"] == "till"
    assert lifted.status_code == 201, lifted.text
    rows = till.get(f"/vouchers/{code}/history").json()["rows"]
    block_row = next(r for r in rows if r["type"] == "voucher.blocked")
    assert block_row["details"] == {"blocked_by": "till", "reason": "customer lost it"}


def test_a_back_office_block_is_not_lifted_at_a_till(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till, 5_000)
    with engine.begin() as conn:
        op = bulk_operations.create_operation(
            conn,
            scope=EVERYTHING,
            issuer_id=shop.issuer_id,
            action="block",
            selection=bulk.Selection(codes=(code,)),
            operator="security1",
            reason="reported stolen",
            now=builders.now(),
        )
    done = bulk_operations.run(engine, operation_id=op, clock=builders.now)
    assert done.done_count == 1
    before = snapshot(engine, shop, code)

    refused = till.post(f"/vouchers/{code}/unblock", {})

    assert (refused.status_code, _error(refused)) == (409, "block_not_liftable_here")
    assert refused.json()["error"]["details"]["blocked_by"] == "back_office"
    assert snapshot(engine, shop, code) == before


def test_the_source_of_a_balance_transfer_is_not_unblocked_at_a_till(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till, 5_000)
    [target] = issue(engine, shop, "card")
    moved = till.post(f"/vouchers/{code}/transfers", {"target_code": target})
    assert moved.status_code == 201, moved.text

    refused = till.post(f"/vouchers/{code}/unblock", {})

    assert (refused.status_code, _error(refused)) == (409, "block_not_liftable_here")
    assert refused.json()["error"]["details"]["blocked_by"] == "transfer"
    assert _figures(till, code) == ("blocked", 0, 0)
