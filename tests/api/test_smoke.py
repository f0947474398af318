"""The main path end to end: sell a card, pay with it, see the history."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.api.conftest import Till, issue
from tests.builders import World


def test_sell_redeem_and_history(engine: Engine, shop: World, till: Till) -> None:
    [code] = issue(engine, shop, "card")
    sold = till.post("/sales", {"items": [{"code": code, "amount_minor": 5000}]})
    assert sold.status_code == 201, sold.text
    assert sold.json()["vouchers"][0]["state"] == "active"

    paid = till.post(f"/vouchers/{code}/redemptions", {"amount_minor": 1200, "currency": "EUR"})
    assert paid.status_code == 201, paid.text
    assert paid.json()["vouchers"][0]["balance_minor"] == 3800

    rows = till.get(f"/vouchers/{code}/history").json()["rows"]
    assert [r["type"] for r in rows] == ["voucher.created", "voucher.sold", "voucher.redeemed"]
    assert [r["balance_after_minor"] for r in rows] == [0, 5000, 3800]
