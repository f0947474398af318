"""Secret retrieval over the admin API: the secret for the admin with a reason, every attempt
in the voucher's history with the user, refused ones committed too; no token, no entry."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from scrip.services import secrets
from tests.api.test_admin import TOKEN, _issuer_code, admin  # noqa: F401
from tests.builders import World

HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def _history(engine: Engine, code: str) -> list[tuple[str, dict[str, Any], str | None]]:
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT h.type, h.details, h.operator_code FROM voucher_history h"
                " JOIN vouchers v ON v.id = h.voucher_id WHERE v.code = :c"
                " AND h.type LIKE 'secret.%' ORDER BY h.id"
            ),
            {"c": code},
        )
        return [(row.type, row.details, row.operator_code) for row in found]


def test_secret_retrieval_is_audited_and_refused_without_a_reason(
    admin: TestClient,  # noqa: F811
    engine: Engine,
    shop: World,
) -> None:
    issuer = _issuer_code(engine, shop)
    kind = {
        "issuer": issuer,
        "code": "PIN6",
        "name": "Card with PIN",
        "classification": "gift_card",
        "value_mode": "variable",
        "pin_length": 6,
    }
    assert admin.post("/v1/admin/voucher-types", json=kind, headers=HEADERS).status_code == 201
    lot = admin.post(
        "/v1/admin/lots", json={"issuer": issuer, "type_code": "PIN6", "count": 2}, headers=HEADERS
    ).json()
    with engine.connect() as conn:
        code = conn.execute(
            text("SELECT code FROM vouchers WHERE lot_id = :l ORDER BY id LIMIT 1"),
            {"l": lot["id"]},
        ).scalar_one()
    path = f"/v1/admin/vouchers/{code}/secret"
    asked = {"issuer": issuer, "reason": "card holder lost the scratch field", "user": "eve"}
    got = admin.post(path, json=asked, headers=HEADERS)
    assert got.status_code == 200, got.text
    secret = got.json()["secret"]
    assert len(secret) == 6 and secret.isdigit()
    assert got.headers["cache-control"] == "no-store"
    no_reason = admin.post(path, json={"issuer": issuer, "user": "eve"}, headers=HEADERS)
    assert (no_reason.status_code, no_reason.json()["error"]["code"]) == (422, "reason_required")
    no_token = admin.post(path, json=asked)
    assert no_token.status_code == 401
    rows = _history(engine, code)
    assert [(kind, details["user"], op) for kind, details, op in rows] == [
        ("secret.retrieved", "eve", "eve"),
        ("secret.retrieval_refused", "eve", "eve"),
    ]
    assert secret not in str(rows) and secret not in no_reason.text


def test_only_the_admin_is_entitled_today() -> None:
    assert secrets.entitled(secrets.ADMIN)
    assert not secrets.entitled("cashier")
