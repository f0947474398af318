"""Secret retrieval over the admin API: the secret for a user with the ``secrets`` right and a
reason, every attempt in the voucher's history with the user, refused ones (no reason, no right)
committed too; no token, no entry."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from scrip.domain import rights
from scrip.services import secrets
from tests import builders
from tests.api.conftest import BREAK_GLASS as TOKEN
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
    admin: TestClient,
    engine: Engine,
    shop: World,
) -> None:
    issuer = builders.issuer_code(engine, shop)
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
    with engine.begin() as conn:
        officer = builders.api_token(conn, role="security")
        operator = builders.api_token(conn, role="operator")
    path = f"/v1/admin/vouchers/{code}/secret"
    asked = {"issuer": issuer, "reason": "card holder lost the scratch field"}
    got = admin.post(path, json=asked, headers={"Authorization": f"Bearer {officer}"})
    assert got.status_code == 200, got.text
    secret = got.json()["secret"]
    assert len(secret) == 6 and secret.isdigit()
    assert got.headers["cache-control"] == "no-store"
    no_reason = admin.post(
        path, json={"issuer": issuer}, headers={"Authorization": f"Bearer {officer}"}
    )
    assert (no_reason.status_code, no_reason.json()["error"]["code"]) == (422, "reason_required")
    no_right = admin.post(path, json=asked, headers={"Authorization": f"Bearer {operator}"})
    assert (no_right.status_code, no_right.json()["error"]["code"]) == (
        403,
        "secret_access_denied",
    )
    assert admin.post(path, json=asked).status_code == 401
    rows = _history(engine, code)
    users = [op for _, _, op in rows]
    assert [kind for kind, _, _ in rows] == [
        "secret.retrieved",
        "secret.retrieval_refused",
        "secret.retrieval_refused",
    ]
    assert users[0] == users[1] != users[2]  # the officer twice, then the operator
    assert secret not in str(rows) and secret not in no_reason.text + no_right.text


def test_the_secrets_right_decides_who_is_entitled() -> None:
    def principal(role: str) -> rights.Principal:
        return rights.Principal(
            user_id=1, username=role, role=role, grants=rights.BUILTIN_ROLES[role]
        )

    assert secrets.entitled(principal("security")) and secrets.entitled(principal("admin"))
    assert not secrets.entitled(principal("operator"))
    assert not secrets.entitled(principal("viewer"))
