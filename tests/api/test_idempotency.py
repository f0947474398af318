"""Exactly once (S7.3): replays, reused keys, keys per register, reversal by key."""

from __future__ import annotations

import uuid
from unittest.mock import MagicMock

from fastapi.testclient import TestClient
from psycopg import errors as pg_errors
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from scrip.api import idempotency
from tests.api.conftest import Till, issue, pay, sold_card
from tests.api.snapshots import history_types, snapshot
from tests.builders import World


def test_replay_returns_the_first_answer_and_does_nothing_again(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till)
    key = str(uuid.uuid4())
    first = till.post(f"/vouchers/{code}/redemptions", pay(1200), key=key)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    after_first = snapshot(engine, shop, code)

    again = till.post(f"/vouchers/{code}/redemptions", pay(1200), key=key)

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert snapshot(engine, shop, code) == after_first
    assert after_first.balance_minor == 3800


def test_replay_of_a_sale_does_not_sell_twice(engine: Engine, shop: World, till: Till) -> None:
    [code] = issue(engine, shop, "card")
    body = {"items": [{"code": code, "amount_minor": 3000}]}
    first = till.post("/sales", body, key="sale-1")
    before = snapshot(engine, shop, code)

    again = till.post("/sales", body, key="sale-1")

    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert snapshot(engine, shop, code) == before
    assert before.balance_minor == 3000


def test_same_key_with_another_body_is_refused(engine: Engine, shop: World, till: Till) -> None:
    code = sold_card(engine, shop, till)
    till.post(f"/vouchers/{code}/redemptions", pay(1000), key="k-reused")
    before = snapshot(engine, shop, code)

    other = till.post(f"/vouchers/{code}/redemptions", pay(2000), key="k-reused")

    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert snapshot(engine, shop, code) == before


def test_same_key_on_another_route_is_refused(engine: Engine, shop: World, till: Till) -> None:
    code = sold_card(engine, shop, till)
    till.post(f"/vouchers/{code}/redemptions", pay(1000), key="k-route")
    before = snapshot(engine, shop, code)

    other = till.post(f"/vouchers/{code}/reloads", pay(1000), key="k-route")

    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert snapshot(engine, shop, code) == before


def test_a_missing_key_is_refused(engine: Engine, shop: World, client: TestClient) -> None:
    till = Till(client, shop.key)
    code = sold_card(engine, shop, till)
    before = snapshot(engine, shop, code)

    answer = client.post(
        f"/v1/pos/vouchers/{code}/redemptions", json=pay(1000), headers=till.headers
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "idempotency_key_required"
    assert snapshot(engine, shop, code) == before


def test_a_key_with_invalid_characters_is_refused(engine: Engine, shop: World, till: Till) -> None:
    code = sold_card(engine, shop, till)
    before = snapshot(engine, shop, code)

    for bad in ("has space", "semi;colon", "x" * 129, "ключ".encode()):
        answer = till.client.post(
            f"/v1/pos/vouchers/{code}/redemptions",
            json=pay(1000),
            headers={**till.headers, "Idempotency-Key": bad},
        )
        assert answer.status_code == 400, bad
        assert answer.json()["error"]["code"] == "invalid_idempotency_key"
    assert snapshot(engine, shop, code) == before


def test_a_refusal_is_replayed_even_after_the_card_could_pay(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till, amount=500)
    refused = till.post(f"/vouchers/{code}/redemptions", pay(1000), key="k-refused")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_balance"
    reloaded = till.post(f"/vouchers/{code}/reloads", pay(1000))
    assert reloaded.status_code == 201, reloaded.text
    before = snapshot(engine, shop, code)

    again = till.post(f"/vouchers/{code}/redemptions", pay(1000), key="k-refused")

    assert again.status_code == 409
    assert again.json() == refused.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert snapshot(engine, shop, code) == before
    assert before.balance_minor == 1500


def test_keys_are_per_register(engine: Engine, shop: World, till: Till, client: TestClient) -> None:
    code = sold_card(engine, shop, till)
    other = Till(client, shop.other_key)

    mine = till.post(f"/vouchers/{code}/redemptions", pay(1000), key="shared-key")
    theirs = other.post(f"/vouchers/{code}/redemptions", pay(1000), key="shared-key")

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["operation_id"] != mine.json()["operation_id"]
    assert snapshot(engine, shop, code).balance_minor == 3000


def test_reversal_undoes_a_redemption_whose_answer_was_lost(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till)
    lost = till.post(f"/vouchers/{code}/redemptions", pay(1200), key="lost-1")
    assert lost.status_code == 201  # the till never saw this answer

    reversed_ = till.post("/reversals", {"idempotency_key": "lost-1"})

    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["outcome"] == "reversed"
    assert reversed_.json()["operation_id"] == lost.json()["operation_id"]
    assert snapshot(engine, shop, code).balance_minor == 5000
    assert history_types(engine, shop, code)[-1] == ("voucher.reversed", "recorded")
    looked = till.get(f"/vouchers/{code}").json()
    assert (looked["state"], looked["available_minor"]) == ("active", 5000)


def test_reversing_twice_says_already_reversed(engine: Engine, shop: World, till: Till) -> None:
    code = sold_card(engine, shop, till)
    till.post(f"/vouchers/{code}/redemptions", pay(1200), key="lost-2")
    first = till.post("/reversals", {"idempotency_key": "lost-2"})
    assert first.json()["outcome"] == "reversed"
    before = snapshot(engine, shop, code)

    second = till.post("/reversals", {"idempotency_key": "lost-2"})

    assert second.status_code == 200
    assert second.json()["outcome"] == "already_reversed"
    assert snapshot(engine, shop, code) == before


def test_a_reversed_key_can_not_be_replayed(engine: Engine, shop: World, till: Till) -> None:
    code = sold_card(engine, shop, till)
    till.post(f"/vouchers/{code}/redemptions", pay(1200), key="lost-3")
    till.post("/reversals", {"idempotency_key": "lost-3"})
    before = snapshot(engine, shop, code)

    retry = till.post(f"/vouchers/{code}/redemptions", pay(1200), key="lost-3")

    assert retry.status_code == 409
    assert retry.json()["error"]["code"] == "idempotency_key_reversed"
    assert snapshot(engine, shop, code) == before


def test_reversing_a_key_never_seen_bars_the_late_original(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till)
    before = snapshot(engine, shop, code)

    reversal = till.post("/reversals", {"idempotency_key": "never-arrived"})
    assert reversal.status_code == 200
    assert reversal.json() == {
        "idempotency_key": "never-arrived",
        "outcome": "nothing_to_reverse",
        "operation_id": None,
    }
    late = till.post(f"/vouchers/{code}/redemptions", pay(1200), key="never-arrived")

    assert late.status_code == 409
    assert late.json()["error"]["code"] == "idempotency_key_reversed"
    assert snapshot(engine, shop, code) == before


def test_a_tombstone_is_per_register(
    engine: Engine, shop: World, till: Till, client: TestClient
) -> None:
    code = sold_card(engine, shop, till)
    till.post("/reversals", {"idempotency_key": "only-mine"})

    theirs = Till(client, shop.other_key).post(
        f"/vouchers/{code}/redemptions", pay(1000), key="only-mine"
    )

    assert theirs.status_code == 201, theirs.text
    assert snapshot(engine, shop, code).balance_minor == 4000


def test_reversing_a_hold_voids_it_and_confirm_posts_nothing_for_it(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till)
    receipt = till.post("/receipts", {}).json()["receipt_id"]
    held = till.post(
        f"/vouchers/{code}/redemptions",
        {**pay(1200), "receipt": {"receipt_id": receipt}},
        key="held-1",
    )
    assert held.json()["status"] == "pending"
    assert till.get(f"/vouchers/{code}").json()["available_minor"] == 3800

    reversal = till.post("/reversals", {"idempotency_key": "held-1"})

    assert reversal.json()["outcome"] == "reversed"
    looked = till.get(f"/vouchers/{code}").json()
    assert (looked["balance_minor"], looked["held_minor"], looked["available_minor"]) == (
        5000,
        0,
        5000,
    )
    before_confirm = snapshot(engine, shop, code)
    confirmed = till.post(f"/receipts/{receipt}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["operations"] == 0
    assert snapshot(engine, shop, code) == before_confirm
    assert ("voucher.redeemed", "cancelled") in history_types(engine, shop, code)


def test_reversing_a_sale_puts_the_card_back_to_prepared(
    engine: Engine, shop: World, till: Till
) -> None:
    [code] = issue(engine, shop, "card")
    sold = till.post("/sales", {"items": [{"code": code, "amount_minor": 4000}]}, key="sale-lost")
    assert sold.status_code == 201

    reversal = till.post("/reversals", {"idempotency_key": "sale-lost"})

    assert reversal.json()["outcome"] == "reversed"
    looked = till.get(f"/vouchers/{code}").json()
    assert (looked["state"], looked["balance_minor"]) == ("prepared", 0)
    assert history_types(engine, shop, code)[-1] == ("voucher.reversed", "recorded")
    again = till.post("/sales", {"items": [{"code": code, "amount_minor": 4000}]})
    assert again.status_code == 201, again.text


def test_a_redemption_is_four_round_trips_and_the_key_rides_with_the_writes(
    engine: Engine, shop: World, till: Till, sent_statements: list[str]
) -> None:
    """BEGIN, the lock, one statement with every write and the key with its answer, COMMIT:
    the key is not claimed by a statement of its own."""
    code = sold_card(engine, shop, till)
    assert till.get(f"/vouchers/{code}").status_code == 200  # the register's key is cached
    sent_statements.clear()

    paid = till.post(f"/vouchers/{code}/redemptions", pay(1200))

    assert paid.status_code == 201, paid.text
    assert len(sent_statements) == 4, sent_statements
    lock, begin, written, commit = sent_statements  # BEGIN goes out with the first statement
    assert begin.startswith("BEGIN") and commit == "COMMIT"
    assert "FOR UPDATE" in lock
    assert "INSERT INTO idempotency_keys" in written and "ledger_transfers" in written


def test_a_replay_whose_work_would_succeed_again_keeps_nothing_of_it(
    engine: Engine, shop: World, till: Till
) -> None:
    """A replay runs the work (the key is checked by the insert that carries the answer),
    and the failed insert takes the whole second attempt back: no history row, no transfer."""
    code = sold_card(engine, shop, till)
    first = till.post(f"/vouchers/{code}/redemptions", pay(1000), key="twice")
    after_first = snapshot(engine, shop, code)

    again = till.post(f"/vouchers/{code}/redemptions", pay(1000), key="twice")

    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert snapshot(engine, shop, code) == after_first
    assert history_types(engine, shop, code).count(("voucher.redeemed", "recorded")) == 1


def test_another_unique_violation_is_not_taken_for_a_known_key() -> None:
    def violation(constraint: str) -> DBAPIError:
        error = MagicMock(spec=pg_errors.UniqueViolation)
        error.diag.constraint_name = constraint
        return DBAPIError("INSERT …", {}, error)

    assert idempotency._key_known(violation("pk_idempotency_keys"))
    assert not idempotency._key_known(violation("uq_receipt_numbers"))
