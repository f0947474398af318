"""Two phases (S7.2): holds inside an open receipt, confirm, cancel, time-out; receipt controls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from scrip.jobs import worker
from tests import builders
from tests.api.conftest import Till, issue
from tests.api.snapshots import history_types, snapshot
from tests.builders import World


def _active_card(engine: Engine, shop: World, till: Till, amount: int = 5000) -> str:
    [code] = issue(engine, shop, "card")
    sold = till.post("/sales", {"items": [{"code": code, "amount_minor": amount}]})
    assert sold.status_code == 201, sold.text
    return code


def _open(till: Till, **body: Any) -> int:
    opened = till.post("/receipts", body)
    assert opened.status_code == 201, opened.text
    assert opened.json()["state"] == "open"
    receipt_id: int = opened.json()["receipt_id"]
    return receipt_id


def _pay(amount: int, receipt_id: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"amount_minor": amount, "currency": "EUR"}
    if receipt_id is not None:
        body["receipt"] = {"receipt_id": receipt_id}
    return body


def _figures(till: Till, code: str) -> tuple[str, int, int, int]:
    v = till.get(f"/vouchers/{code}").json()
    return v["state"], v["balance_minor"], v["held_minor"], v["available_minor"]


def _code(answer: Any) -> str:
    code: str = answer.json()["error"]["code"]
    return code


def test_a_redemption_in_a_receipt_holds_until_confirmed(
    engine: Engine, shop: World, till: Till
) -> None:
    code = _active_card(engine, shop, till)
    receipt = _open(till)

    held = till.post(f"/vouchers/{code}/redemptions", _pay(1200, receipt))

    assert held.status_code == 201, held.text
    assert (held.json()["status"], held.json()["receipt_id"]) == ("pending", receipt)
    assert _figures(till, code) == ("active", 5000, 1200, 3800)
    assert history_types(engine, shop, code)[-1] == ("voucher.redeemed", "pending")

    confirmed = till.post(f"/receipts/{receipt}/confirm")

    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["state"], confirmed.json()["operations"]) == ("confirmed", 1)
    assert _figures(till, code) == ("active", 3800, 0, 3800)
    rows = till.get(f"/vouchers/{code}/history").json()["rows"]
    assert (rows[-1]["type"], rows[-1]["status"], rows[-1]["balance_after_minor"]) == (
        "voucher.redeemed",
        "recorded",
        3800,
    )


def test_cancel_restores_everything(engine: Engine, shop: World, till: Till) -> None:
    code = _active_card(engine, shop, till)
    before = snapshot(engine, shop, code)
    receipt = _open(till)
    till.post(f"/vouchers/{code}/redemptions", _pay(1200, receipt))
    till.post(f"/vouchers/{code}/redemptions", _pay(800, receipt))
    assert _figures(till, code) == ("active", 5000, 2000, 3000)

    cancelled = till.post(f"/receipts/{receipt}/cancel")

    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["state"], cancelled.json()["operations"]) == ("cancelled", 2)
    assert _figures(till, code) == ("active", 5000, 0, 5000)
    assert history_types(engine, shop, code)[-2:] == [("voucher.redeemed", "cancelled")] * 2
    after = snapshot(engine, shop, code)
    assert (after.state, after.balance_minor, after.held_minor) == (
        before.state,
        before.balance_minor,
        before.held_minor,
    )


def test_a_one_time_certificate_redeemed_in_a_receipt_is_used_up_on_confirm(
    engine: Engine, shop: World, till: Till
) -> None:
    [code] = issue(engine, shop, "cert")
    till.post("/sales", {"items": [{"code": code}]})
    receipt = _open(till)
    till.post(f"/vouchers/{code}/redemptions", _pay(2000, receipt))
    assert _figures(till, code) == ("active", 5000, 2000, 3000)

    till.post(f"/receipts/{receipt}/confirm")

    assert _figures(till, code) == ("redeemed", 0, 0, 0)


def test_a_sale_in_a_receipt_is_activating_and_cancel_puts_it_back(
    engine: Engine, shop: World, till: Till
) -> None:
    [code] = issue(engine, shop, "card")
    receipt = _open(till)

    sold = till.post(
        "/sales",
        {"items": [{"code": code, "amount_minor": 3000}], "receipt": {"receipt_id": receipt}},
    )

    assert sold.status_code == 201, sold.text
    assert sold.json()["status"] == "pending"
    assert sold.json()["vouchers"][0]["state"] == "activating"
    assert _figures(till, code)[0] == "activating"
    paid = till.post(f"/vouchers/{code}/redemptions", _pay(100))
    assert paid.status_code == 409

    till.post(f"/receipts/{receipt}/cancel")

    assert _figures(till, code) == ("prepared", 0, 0, 0)
    assert history_types(engine, shop, code)[-1] == ("voucher.sold", "cancelled")


def test_several_sales_in_one_receipt_activate_together(
    engine: Engine, shop: World, till: Till
) -> None:
    certs = issue(engine, shop, "cert", count=2)
    [card] = issue(engine, shop, "card")
    receipt = _open(till)
    for item in ({"code": certs[0]}, {"code": certs[1]}, {"code": card, "amount_minor": 2500}):
        sold = till.post("/sales", {"items": [item], "receipt": {"receipt_id": receipt}})
        assert sold.status_code == 201, sold.text
    assert {_figures(till, c)[:2] for c in [*certs, card]} == {("activating", 0)}

    confirmed = till.post(f"/receipts/{receipt}/confirm")

    assert confirmed.json()["operations"] == 3
    assert [_figures(till, c) for c in certs] == [("active", 5000, 0, 5000)] * 2
    assert _figures(till, card) == ("active", 2500, 0, 2500)
    for c in [*certs, card]:
        assert history_types(engine, shop, c)[-1] == ("voucher.sold", "recorded")


def test_several_vouchers_sold_in_one_call_in_a_receipt_activate_together(
    engine: Engine, shop: World, till: Till
) -> None:
    certs = issue(engine, shop, "cert", count=2)
    [card] = issue(engine, shop, "card")
    receipt = _open(till)
    items = [{"code": certs[0]}, {"code": certs[1]}, {"code": card, "amount_minor": 2500}]

    sold = till.post("/sales", {"items": items, "receipt": {"receipt_id": receipt}})

    assert sold.status_code == 201, sold.text
    assert [v["state"] for v in sold.json()["vouchers"]] == ["activating"] * 3
    confirmed = till.post(f"/receipts/{receipt}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert [_figures(till, c) for c in certs] == [("active", 5000, 0, 5000)] * 2
    assert _figures(till, card) == ("active", 2500, 0, 2500)


def test_a_sale_of_several_vouchers_in_a_receipt_is_undone_whole(
    engine: Engine, shop: World, till: Till
) -> None:
    certs = issue(engine, shop, "cert", count=2)
    receipt = _open(till)
    items = [{"code": c} for c in certs]
    key = "sale-of-two"
    assert till.post(
        "/sales", {"items": items, "receipt": {"receipt_id": receipt}}, key=key
    ).is_success

    reversed_ = till.post("/reversals", {"idempotency_key": key})

    assert reversed_.json()["outcome"] == "reversed", reversed_.text
    assert [_figures(till, c) for c in certs] == [("prepared", 0, 0, 0)] * 2
    confirmed = till.post(f"/receipts/{receipt}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert [_figures(till, c) for c in certs] == [("prepared", 0, 0, 0)] * 2


def test_several_vouchers_sold_in_one_call_without_a_receipt(
    engine: Engine, shop: World, till: Till
) -> None:
    certs = issue(engine, shop, "cert", count=2)
    [card] = issue(engine, shop, "card")
    items = [{"code": certs[0]}, {"code": certs[1]}, {"code": card, "amount_minor": 2500}]

    sold = till.post("/sales", {"items": items})

    assert sold.status_code == 201, sold.text
    assert sold.json()["amount_minor"] == 12_500
    assert [_figures(till, c) for c in [*certs, card]] == [
        ("active", 5000, 0, 5000),
        ("active", 5000, 0, 5000),
        ("active", 2500, 0, 2500),
    ]


def test_a_timed_out_receipt_releases_its_holds(engine: Engine, shop: World, till: Till) -> None:
    code = _active_card(engine, shop, till)
    [fresh] = issue(engine, shop, "card")
    # A time-out long enough that the calls below never race it; the worker is then run as if
    # an hour had passed.
    receipt = _open(till, timeout_s=60)
    till.post(f"/vouchers/{code}/redemptions", _pay(1200, receipt))
    till.post(
        "/sales",
        {"items": [{"code": fresh, "amount_minor": 700}], "receipt": {"receipt_id": receipt}},
    )
    assert _figures(till, code) == ("active", 5000, 1200, 3800)

    assert worker.run_once(engine, now=datetime.now(UTC) + timedelta(hours=1)) >= 1

    assert _figures(till, code) == ("active", 5000, 0, 5000)
    assert _figures(till, fresh) == ("prepared", 0, 0, 0)
    assert history_types(engine, shop, code)[-1] == ("voucher.redeemed", "cancelled")
    before = snapshot(engine, shop, code)
    late = till.post(f"/receipts/{receipt}/confirm")
    assert (late.status_code, _code(late)) == (409, "receipt_expired")
    more = till.post(f"/vouchers/{code}/redemptions", _pay(100, receipt))
    assert (more.status_code, _code(more)) == (409, "receipt_expired")
    assert snapshot(engine, shop, code) == before


def test_a_receipt_past_its_time_out_is_refused_before_the_worker_runs(
    engine: Engine, shop: World, till: Till
) -> None:
    code = _active_card(engine, shop, till)
    receipt = _open(till, timeout_s=60)
    till.post(f"/vouchers/{code}/redemptions", _pay(1200, receipt))
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE receipts SET expires_at = now() - interval '1 second' WHERE id = :r"),
            {"r": receipt},
        )
    before = snapshot(engine, shop, code)

    late = till.post(f"/receipts/{receipt}/confirm")

    assert (late.status_code, _code(late)) == (409, "receipt_expired")
    assert snapshot(engine, shop, code) == before
    assert worker.run_once(engine) >= 1
    assert _figures(till, code) == ("active", 5000, 0, 5000)


def test_confirm_after_cancel_and_cancel_after_confirm(
    engine: Engine, shop: World, till: Till
) -> None:
    code = _active_card(engine, shop, till)
    cancelled = _open(till)
    till.post(f"/vouchers/{code}/redemptions", _pay(1000, cancelled))
    till.post(f"/receipts/{cancelled}/cancel")
    confirmed = _open(till)
    till.post(f"/vouchers/{code}/redemptions", _pay(1000, confirmed))
    till.post(f"/receipts/{confirmed}/confirm")
    before = snapshot(engine, shop, code)

    late_confirm = till.post(f"/receipts/{cancelled}/confirm")
    late_cancel = till.post(f"/receipts/{confirmed}/cancel")
    late_hold = till.post(f"/vouchers/{code}/redemptions", _pay(100, confirmed))

    assert (late_confirm.status_code, _code(late_confirm)) == (409, "receipt_cancelled")
    assert (late_cancel.status_code, _code(late_cancel)) == (409, "receipt_confirmed")
    assert (late_hold.status_code, _code(late_hold)) == (409, "receipt_confirmed")
    assert snapshot(engine, shop, code) == before
    assert before.balance_minor == 4000


def test_a_receipt_belongs_to_its_register(
    engine: Engine, shop: World, till: Till, client: TestClient
) -> None:
    code = _active_card(engine, shop, till)
    receipt = _open(till)
    till.post(f"/vouchers/{code}/redemptions", _pay(1000, receipt))
    other = Till(client, shop.other_key)
    before = snapshot(engine, shop, code)

    answers = [
        other.post(f"/vouchers/{code}/redemptions", _pay(100, receipt)),
        other.post(f"/receipts/{receipt}/confirm"),
        other.post(f"/receipts/{receipt}/cancel"),
        other.post(f"/receipts/{receipt + 10_000_000}/confirm"),
    ]

    assert [(a.status_code, _code(a)) for a in answers] == [(404, "receipt_not_found")] * 4
    assert snapshot(engine, shop, code) == before
    assert till.post(f"/receipts/{receipt}/confirm").status_code == 200
    assert _figures(till, code) == ("active", 4000, 0, 4000)


def test_a_one_time_voucher_in_an_open_receipt_is_held_elsewhere(
    engine: Engine, shop: World, till: Till, client: TestClient
) -> None:
    [code] = issue(engine, shop, "cert")
    till.post("/sales", {"items": [{"code": code}]})
    receipt = _open(till)
    till.post(f"/vouchers/{code}/redemptions", _pay(1000, receipt))
    before = snapshot(engine, shop, code)

    other = Till(client, shop.other_key)
    answer = other.post(f"/vouchers/{code}/redemptions", _pay(1000))

    assert (answer.status_code, _code(answer)) == (409, "held_elsewhere")
    assert snapshot(engine, shop, code) == before
    till.post(f"/receipts/{receipt}/cancel")


def test_receipt_number_required_and_claimed(engine: Engine, client: TestClient) -> None:
    with engine.begin() as conn:
        strict = builders.world(conn, receipt_number_required=True)
    mine, theirs = Till(client, strict.key), Till(client, strict.other_key)
    [card, other_card] = issue(engine, strict, "card", count=2)

    for answer in (
        mine.post("/sales", {"items": [{"code": card, "amount_minor": 3000}]}),
        mine.post("/receipts", {}),
    ):
        assert (answer.status_code, _code(answer)) == (422, "receipt_number_required")
    assert snapshot(engine, strict, card).state == "prepared"

    sold = mine.post(
        "/sales",
        {"items": [{"code": card, "amount_minor": 3000}], "receipt": {"number": "B-100"}},
    )
    assert sold.status_code == 201, sold.text
    before = snapshot(engine, strict, other_card)
    claimed = theirs.post(
        "/sales",
        {"items": [{"code": other_card, "amount_minor": 3000}], "receipt": {"number": "B-100"}},
    )
    assert (claimed.status_code, _code(claimed)) == (409, "receipt_number_claimed")
    assert snapshot(engine, strict, other_card) == before
    opened = theirs.post("/receipts", {"number": "B-100"})
    assert (opened.status_code, _code(opened)) == (409, "receipt_number_claimed")

    again = mine.post(
        f"/vouchers/{card}/redemptions",
        {"amount_minor": 500, "currency": "EUR", "receipt": {"number": "B-100"}},
    )
    assert again.status_code == 201, again.text
    rows = mine.get(f"/vouchers/{card}/history").json()["rows"]
    assert [r["receipt_number"] for r in rows[-2:]] == ["B-100", "B-100"]
    with_number = theirs.post("/receipts", {"number": "B-200"})
    assert with_number.status_code == 201, with_number.text


def test_a_hold_taken_before_the_card_was_blocked_still_confirms(
    engine: Engine, shop: World, till: Till
) -> None:
    code = _active_card(engine, shop, till, 5000)
    [new_card] = issue(engine, shop, "card")
    receipt = _open(till)
    assert till.post(f"/vouchers/{code}/redemptions", _pay(1500, receipt)).is_success
    moved = till.post(f"/vouchers/{code}/transfers", {"target_code": new_card})
    assert moved.status_code == 201, moved.text

    confirmed = till.post(f"/receipts/{receipt}/confirm")

    assert confirmed.status_code == 200, confirmed.text
    assert _figures(till, code) == ("blocked", 0, 0, 0)
    assert _figures(till, new_card) == ("active", 3500, 0, 3500)


def test_a_receipt_without_promotions_closes_without_asking_for_them(
    engine: Engine, shop: World, till: Till, sent_statements: list[str]
) -> None:
    """Only a receipt promotions issued into is settled on close (``has_pending_issues``): the
    others spare the statement, and the round trip it took."""
    [code] = issue(engine, shop, "card")
    assert till.post("/sales", {"items": [{"code": code, "amount_minor": 5000}]}).status_code == 201
    receipt_id = till.post("/receipts", {}).json()["receipt_id"]
    held = till.post(
        f"/vouchers/{code}/redemptions",
        {"amount_minor": 700, "currency": "EUR", "receipt": {"receipt_id": receipt_id}},
    )
    assert held.status_code == 201, held.text
    sent_statements.clear()

    confirmed = till.post(f"/receipts/{receipt_id}/confirm")

    assert confirmed.status_code == 200, confirmed.text
    assert sent_statements and not [q for q in sent_statements if "promotion_issues" in q]
    assert snapshot(engine, shop, code).balance_minor == 4300
