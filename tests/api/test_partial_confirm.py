"""Confirming a held redemption for less than it held releases the rest (S7.2)."""

from __future__ import annotations

from sqlalchemy import Engine, text

from tests.api.conftest import Till, issue
from tests.builders import World


def _card_with(engine: Engine, shop: World, till: Till, amount: int) -> str:
    [code] = issue(engine, shop, "card")
    assert till.post("/sales", {"items": [{"code": code, "amount_minor": amount}]}).is_success
    return code


def _hold(till: Till, code: str, amount: int) -> tuple[int, str]:
    receipt_id = till.post("/receipts", {}).json()["receipt_id"]
    held = till.post(
        f"/vouchers/{code}/redemptions",
        {"amount_minor": amount, "currency": "EUR", "receipt": {"receipt_id": receipt_id}},
    )
    assert held.status_code == 201, held.text
    return receipt_id, held.json()["operation_id"]


def test_partial_confirm_posts_less_and_releases_the_rest(
    engine: Engine, shop: World, till: Till
) -> None:
    code = _card_with(engine, shop, till, 5000)
    receipt_id, operation_id = _hold(till, code, 3000)

    done = till.post(
        f"/receipts/{receipt_id}/confirm",
        {"amounts": [{"operation_id": operation_id, "amount_minor": 1200}]},
    )

    assert done.status_code == 200, done.text
    card = till.get(f"/vouchers/{code}").json()
    assert (card["balance_minor"], card["held_minor"]) == (3800, 0)
    rows = till.get(f"/vouchers/{code}/history").json()["rows"]
    assert (rows[-1]["type"], rows[-1]["status"], rows[-1]["amount_minor"]) == (
        "voucher.redeemed",
        "recorded",
        1200,
    )
    with engine.connect() as conn:
        states = conn.execute(
            text(
                "SELECT state, amount_minor FROM ledger_transfers WHERE operation_id = :op"
                " ORDER BY id"
            ),
            {"op": operation_id},
        ).all()
    assert [tuple(s) for s in states] == [("voided", 3000), ("posted", 1200)]


def test_confirm_more_than_held_is_refused_and_changes_nothing(
    engine: Engine, shop: World, till: Till
) -> None:
    code = _card_with(engine, shop, till, 5000)
    receipt_id, operation_id = _hold(till, code, 3000)

    refused = till.post(
        f"/receipts/{receipt_id}/confirm",
        {"amounts": [{"operation_id": operation_id, "amount_minor": 3001}]},
    )

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "confirm_exceeds_hold"
    card = till.get(f"/vouchers/{code}").json()
    assert (card["balance_minor"], card["held_minor"]) == (5000, 3000)
    assert till.post(f"/receipts/{receipt_id}/confirm").status_code == 200
    assert till.get(f"/vouchers/{code}").json()["balance_minor"] == 2000


def test_confirm_naming_an_operation_of_another_receipt_is_refused(
    engine: Engine, shop: World, till: Till
) -> None:
    code = _card_with(engine, shop, till, 5000)
    first, _ = _hold(till, code, 1000)
    _, other_operation = _hold(till, code, 1000)

    refused = till.post(
        f"/receipts/{first}/confirm",
        {"amounts": [{"operation_id": other_operation, "amount_minor": 500}]},
    )

    assert refused.json()["error"]["code"] == "operation_not_in_receipt"
    assert till.get(f"/vouchers/{code}").json()["held_minor"] == 2000
