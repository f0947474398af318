"""The admin API's catalogue: define, list and show voucher types and code templates; a
definition that breaks a rule is refused with its code and nothing is stored."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests import builders
from tests.api.conftest import BREAK_GLASS as TOKEN
from tests.builders import World

HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def _post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/v1/admin/{path}", json=body, headers=HEADERS)


def test_a_template_and_a_type_that_uses_it(
    admin: TestClient,
    engine: Engine,
    shop: World,
) -> None:
    issuer = builders.issuer_code(engine, shop)
    template = _post(
        admin,
        "code-templates",
        {"issuer": issuer, "name": "gc", "pattern": "GC-####-####", "alphabet": "safe_alnum"},
    )
    assert template.status_code == 201, template.text
    assert template.json()["capacity"] == 32**7  # eight random places, one a check character
    body = {
        "issuer": issuer,
        "code": "EV",
        "name": "E-voucher for a friend",
        "classification": "electronic_voucher",
        "value_mode": "variable",
        "e_voucher_use": "shareable",
        "validity_basis": "from_issue",
        "validity_days": 365,
        "supported_product_groups": ["books"],
        "allowed_stores": ["S1"],
        "template": "gc",
        "pin_length": 6,
    }
    created = _post(admin, "voucher-types", body)
    assert created.status_code == 201, created.text
    made = created.json()
    assert (made["e_voucher_use"], made["template"], made["allowed_store_ids"]) == (
        "shareable",
        "gc",
        [shop.store_id],
    )
    shown = admin.get(f"/v1/admin/voucher-types/EV?issuer={issuer}", headers=HEADERS)
    assert shown.json() == made
    listed = admin.get(f"/v1/admin/voucher-types?issuer={issuer}", headers=HEADERS).json()
    assert [t["code"] for t in listed] == sorted(["EV", *shop.types])
    templates = admin.get(f"/v1/admin/code-templates?issuer={issuer}", headers=HEADERS).json()
    assert [t["name"] for t in templates] == ["gc"]
    again = _post(admin, "voucher-types", body)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "voucher_type_exists")


def test_definitions_that_break_a_rule_are_refused(
    admin: TestClient,
    engine: Engine,
    shop: World,
) -> None:
    issuer = builders.issuer_code(engine, shop)
    base = {"issuer": issuer, "code": "X", "name": "x"}
    cases = [
        (
            {"classification": "gift_certificate", "value_mode": "variable"},
            422,
            "certificate_fixed_denomination",
        ),
        (
            {"classification": "printed_voucher", "face_value_minor": 100, "reloadable": True},
            422,
            "reloadable_not_allowed",
        ),
        (
            {"classification": "gift_card", "value_mode": "variable", "max_balance_minor": 0},
            422,
            "invalid_max_balance",
        ),
        (
            {"classification": "refund_voucher", "value_mode": "variable"},
            422,
            "refund_method_required",
        ),
        (
            {"classification": "gift_card", "value_mode": "variable", "allowed_stores": ["NO"]},
            404,
            "store_not_found",
        ),
        (
            {"classification": "gift_card", "value_mode": "variable", "template": "nope"},
            404,
            "code_template_not_found",
        ),
    ]
    for fields, status, code in cases:
        refused = _post(admin, "voucher-types", {**base, **fields})
        assert (refused.status_code, refused.json()["error"]["code"]) == (status, code), fields
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT count(*) FROM voucher_types WHERE issuer_id = :i AND code = 'X'"),
            {"i": shop.issuer_id},
        ).scalar_one()
    assert stored == 0
    missing = admin.get(f"/v1/admin/voucher-types/NOPE?issuer={issuer}", headers=HEADERS)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "voucher_type_not_found")
    bad = _post(
        admin, "code-templates", {"issuer": issuer, "name": "t", "length": 8, "pattern": "##"}
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_template")
    unauthorised = admin.get(f"/v1/admin/code-templates?issuer={issuer}")
    assert unauthorised.status_code == 401
