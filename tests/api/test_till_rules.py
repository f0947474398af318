"""Receipt lines over HTTP: a refusal names its rule in the envelope and writes nothing; a
discount voucher's answer carries the discount per line and the points flag."""

from __future__ import annotations

from sqlalchemy import Engine

from scrip.services import catalog
from tests.api.conftest import Till, issue
from tests.api.snapshots import snapshot
from tests.builders import World

LINES = [
    {"item_code": "MILK", "item_group": "dairy", "quantity": 3, "amount_minor": 333},
    {"item_code": "WINE", "item_group": "alcohol", "amount_minor": 999},
]


def test_receipt_lines_restrict_and_discount(engine: Engine, shop: World, till: Till) -> None:
    with engine.begin() as conn:
        catalog.create_voucher_type(
            conn,
            issuer_id=shop.issuer_id,
            code="PCT15",
            name="15 % off dairy",
            classification="promotional_voucher",
            face_value_minor=3_000,
            multi_use=False,
            discount_percent_bp=1_500,
            supported_product_groups=["dairy"],
            allowed_store_ids=[shop.store_id],
            earns_points=False,
        )
    [code] = issue(engine, shop, "PCT15", state="generated")
    assert till.post("/sales", {"items": [{"code": code}]}).status_code == 201
    before = snapshot(engine, shop, code)

    no_dairy = {"lines": [LINES[1]], "number": "R-1"}
    refused = till.post(
        f"/vouchers/{code}/redemptions",
        {"amount_minor": 3_000, "currency": "EUR", "receipt": no_dairy},
    )
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert (error["code"], error["details"]["rule"]) == (
        "no_qualifying_items",
        "supported_products",
    )
    assert snapshot(engine, shop, code) == before

    used = till.post(
        f"/vouchers/{code}/redemptions",
        {"amount_minor": 3_000, "currency": "EUR", "receipt": {"lines": LINES, "number": "R-2"}},
    )
    assert used.status_code == 201, used.text
    body = used.json()
    assert (body["amount_minor"], body["discount_lines"]) == (50, [["MILK", 50]])
    assert body["earns_points"] is False
    assert body["vouchers"][0]["state"] == "used"


def test_a_total_below_its_lines_is_invalid(till: Till, engine: Engine, shop: World) -> None:
    [code] = issue(engine, shop, "card")
    till.post("/sales", {"items": [{"code": code, "amount_minor": 1_000}]})
    answer = till.post(
        f"/vouchers/{code}/redemptions",
        {"amount_minor": 100, "currency": "EUR", "receipt": {"lines": LINES, "amount_minor": 1}},
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (
        422,
        "receipt_total_below_lines",
    )


def test_a_look_up_shows_what_the_voucher_may_pay_for(
    engine: Engine, shop: World, till: Till
) -> None:
    with engine.begin() as conn:
        catalog.create_voucher_type(
            conn,
            issuer_id=shop.issuer_id,
            code="DAIRY",
            name="dairy, weekdays, this store",
            classification="gift_card",
            value_mode="variable",
            multi_use=True,
            supported_product_groups=["dairy"],
            allowed_store_ids=[shop.store_id],
            allowed_days=[1, 2, 3, 4, 5],
        )
    [restricted] = issue(engine, shop, "DAIRY", state="prepared")
    [plain] = issue(engine, shop, "card")

    shown = till.get(f"/vouchers/{restricted}").json()["restrictions"]

    assert shown == {
        "products": None,
        "product_groups": ["dairy"],
        "store_ids": [shop.store_id],
        "days": [1, 2, 3, 4, 5],
        "from_minute": None,
        "until_minute": None,
        "max_per_receipt": None,
    }
    assert till.get(f"/vouchers/{plain}").json()["restrictions"] is None
