"""The cases issue 13 reported, as reported (items 8 and 9): an operator limited to S001 blocked
a voucher sold at S002, generated a lot for another issuer and bulk-blocked it; a finance user
limited to S002 read S001's figures; a viewer limited to S001 read another issuer's types and
reports; a security officer made an administrator and made itself one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from scrip import crypto
from scrip.db.registers import find_register_by_key_hash
from scrip.server import create_app
from scrip.services import access, catalog, pos, users
from scrip.services.till import ReceiptInput
from tests import builders


@pytest.fixture
def api(engine: Engine) -> Iterator[TestClient]:
    ring = crypto.parse_keyring(f"k1:{crypto.new_secret_key()}")
    with TestClient(create_app(engine=engine, keyring=ring), raise_server_exceptions=False) as c:
        yield c


def _token(conn: Connection, role: str, **limits: Any) -> dict[str, str]:
    user_id, _, _ = builders.user(conn, role=role, **limits)
    token = users.create_token(conn, actor=access.INSTALLATION, user_id=user_id, name="t")
    return {"Authorization": f"Bearer {token}"}


def _sold_at(conn: Connection, w: builders.World, store_id: int) -> str:
    made = catalog.create_register(conn, store_id=store_id, serial_number=f"R{store_id}")
    till = find_register_by_key_hash(conn, crypto.hash_api_key(made.api_key))
    assert till is not None
    [code] = builders.vouchers(conn, w, "card")
    pos.sell(
        conn,
        till=till,
        items=[pos.SaleItem(code, 1_000)],
        receipt=ReceiptInput(),
        now=builders.now(),
    )
    return code


def _state(engine: Engine, code: str) -> str:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT state FROM vouchers WHERE code = :c"), {"c": code})
        return str(found.scalar_one())


def test_the_reported_cases_of_scope(api: TestClient, engine: Engine) -> None:
    with engine.begin() as conn:
        shop, other = builders.world(conn), builders.world(conn)
        s001 = catalog.create_store(conn, issuer_id=shop.issuer_id, code="S001", name="One")
        s002 = catalog.create_store(conn, issuer_id=shop.issuer_id, code="S002", name="Two")
        at_s001 = _sold_at(conn, shop, s001)
        at_s002 = _sold_at(conn, shop, s002)
        operator = _token(conn, "operator", store_ids=[s001])
        finance = _token(conn, "finance", store_ids=[s002])
        viewer = _token(conn, "viewer", store_ids=[s001])
    mine, theirs = builders.issuer_code(engine, shop), builders.issuer_code(engine, other)

    block = {"issuer": mine, "action": "block", "codes": [at_s002], "reason": "stolen"}
    answer = api.post("/v1/admin/bulk-operations", json=block, headers=operator)
    assert answer.status_code == 202 and answer.json()["unknown_codes"] == [at_s002]
    assert _state(engine, at_s002) == "active"
    own = api.post(
        "/v1/admin/bulk-operations", json={**block, "codes": [at_s001]}, headers=operator
    )
    assert own.status_code == 202 and _state(engine, at_s001) == "blocked"

    lot = {"issuer": theirs, "type_code": "card", "count": 2}
    answer = api.post("/v1/admin/lots", json=lot, headers=operator)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "issuer_out_of_scope"
    bulk = {"issuer": theirs, "action": "block", "type_code": "card", "reason": "stolen"}
    answer = api.post("/v1/admin/bulk-operations", json=bulk, headers=operator)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "issuer_out_of_scope"

    figures = api.get(f"/v1/admin/reports/sold?issuer={mine}", headers=finance)
    assert figures.status_code == 200
    assert sum(int(row["sold_minor"]) for row in figures.json()["rows"]) == 1_000  # S002's only

    for path in (
        f"/v1/admin/voucher-types?issuer={theirs}",
        f"/v1/admin/reports/sold?issuer={theirs}",
    ):
        answer = api.get(path, headers=viewer)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "issuer_out_of_scope"


def test_the_reported_case_of_escalation(api: TestClient, engine: Engine) -> None:
    with engine.begin() as conn:
        officer_id, _, _ = builders.user(conn, role="security")
        token = users.create_token(conn, actor=access.INSTALLATION, user_id=officer_id, name="t")
    officer = {"Authorization": f"Bearer {token}"}
    made = api.post(
        "/v1/admin/users",
        json={"username": "mallory2", "password": "long enough!", "role": "admin"},
        headers=officer,
    )
    assert made.status_code == 403 and made.json()["error"]["code"] == "role_not_grantable"
    itself = api.patch(f"/v1/admin/users/{officer_id}", json={"role": "admin"}, headers=officer)
    assert itself.status_code == 403 and itself.json()["error"]["code"] == "own_access"
