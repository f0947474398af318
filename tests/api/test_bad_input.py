"""Bad input that used to answer 500 (issue 13): each now gets a stable code in the envelope,
and nothing changes. POS and admin alike; each test asserts the code, the status and that the
voucher, lot, type or user it aimed at is as it was."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from scrip.api import edge
from tests import builders
from tests.api.conftest import Till, sold_card
from tests.builders import World


@pytest.fixture
def token(engine: Engine) -> str:
    with engine.begin() as conn:
        return builders.api_token(conn, role="admin")


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = answer.json()["error"]
    assert error["code"] == code, error
    assert set(error) == {"code", "message", "details"}
    return error


def _voucher(engine: Engine, code: str) -> tuple[str, int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT state, balance_minor, held_minor FROM vouchers WHERE code = :c"),
            {"c": code},
        ).one()
    return row.state, row.balance_minor, row.held_minor


def _count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


# --- a NUL (or another control character) anywhere a text goes in -----------------------------


def test_a_nul_in_a_voucher_code_of_the_path(client: TestClient, till: Till) -> None:
    refused(till.get("/vouchers/AB%00CD"), 422, "invalid_character")
    answer = till.post("/vouchers/AB%00CD/redemptions", {"amount_minor": 1, "currency": "EUR"})
    assert refused(answer, 422, "invalid_character")["details"] == {"where": "path"}


def test_a_nul_in_a_receipt_number_or_operator_changes_nothing(
    engine: Engine, shop: World, till: Till
) -> None:
    code = sold_card(engine, shop, till)
    before = _voucher(engine, code)
    receipts = "SELECT count(*) FROM receipts WHERE register_id = :r"
    opened = _count(engine, receipts, r=shop.till.register_id)
    for receipt in ({"number": "a\u0000b"}, {"operator": "x\u0000"}, {"z_report": "\u0001"}):
        body = {"amount_minor": 100, "currency": "EUR", "receipt": receipt}
        refused(till.post(f"/vouchers/{code}/redemptions", body), 422, "invalid_character")
    refused(till.post("/receipts", {"operator": "a\u0000b"}), 422, "invalid_character")
    assert _voucher(engine, code) == before
    assert _count(engine, receipts, r=shop.till.register_id) == opened


def test_a_nul_in_an_admin_parameter(
    admin: TestClient, engine: Engine, shop: World, auth: dict[str, str]
) -> None:
    issuer = builders.issuer_code(engine, shop)
    answer = admin.get("/v1/admin/voucher-types?issuer=a%00b", headers=auth)
    assert refused(answer, 422, "invalid_character")["details"] == {"where": "query"}
    refused(
        admin.get(f"/v1/admin/voucher-types/a%00b?issuer={issuer}", headers=auth),
        422,
        "invalid_character",
    )
    body = {"issuer": issuer, "code": "nul", "name": "a\u0000b", "classification": "gift_card"}
    refused(
        admin.post("/v1/admin/voucher-types", json=body, headers=auth), 422, "invalid_character"
    )
    assert _count(engine, "SELECT count(*) FROM voucher_types WHERE code = 'nul'") == 0


def test_escaped_backslashes_and_newlines_are_text_not_control_characters(
    admin: TestClient, engine: Engine, shop: World, auth: dict[str, str]
) -> None:
    """``\\\\u0000`` is a backslash followed by text, and a newline is allowed in text."""
    body = {
        "issuer": builders.issuer_code(engine, shop),
        "code": "slashes",
        "name": "a\\u0000 b\nc\td",
        "classification": "gift_card",
        "value_mode": "variable",
    }
    made = admin.post("/v1/admin/voucher-types", json=body, headers=auth)
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "a\\u0000 b\nc\td"


def test_a_nul_in_a_form(engine: Engine, admin: TestClient) -> None:
    """The login form with its real CSRF token: a NUL in the username reached the query."""
    form = admin.get("/admin/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    answer = admin.post(
        "/admin/login",
        content=f"username=a%00b&password=long+enough&csrf={csrf.group(1)}".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert refused(answer, 422, "invalid_character")["details"] == {"where": "body"}


# --- deep, huge and unbounded -------------------------------------------------------------------


@pytest.mark.parametrize("where", ["pos", "admin"])
def test_a_hundred_thousand_nested_brackets(
    admin: TestClient, engine: Engine, shop: World, auth: dict[str, str], where: str
) -> None:
    deep = b"[" * 100_000
    if where == "pos":
        headers = {"Authorization": f"Bearer {shop.key}", "Idempotency-Key": str(uuid.uuid4())}
        url = "/v1/pos/sales"
    else:
        headers, url = auth, "/v1/admin/lots"
    before = _count(engine, "SELECT count(*) FROM lots WHERE issuer_id = :i", i=shop.issuer_id)
    answer = admin.post(url, content=deep, headers={**headers, "content-type": "application/json"})
    refused(answer, 400, "malformed_json")
    after = _count(engine, "SELECT count(*) FROM lots WHERE issuer_id = :i", i=shop.issuer_id)
    assert after == before


def test_numbers_past_their_bounds(
    admin: TestClient, engine: Engine, shop: World, auth: dict[str, str]
) -> None:
    issuer = builders.issuer_code(engine, shop)
    huge = 10**30
    typed = {
        "issuer": issuer,
        "code": "huge",
        "name": "Huge",
        "classification": "gift_card",
        "value_mode": "variable",
    }
    for field in ("max_balance_minor", "face_value_minor", "min_payment_receipt_minor"):
        answer = admin.post("/v1/admin/voucher-types", json={**typed, field: huge}, headers=auth)
        error = refused(answer, 422, "invalid_input")
        assert [f["field"] for f in error["details"]["fields"]] == [field]
    assert _count(engine, "SELECT count(*) FROM voucher_types WHERE code = 'huge'") == 0
    lot = {"issuer": issuer, "type_code": "card", "count": 1, "face_value_minor": huge}
    refused(admin.post("/v1/admin/lots", json=lot, headers=auth), 422, "invalid_input")
    bulk = {"issuer": issuer, "action": "block", "lot_id": huge}
    refused(admin.post("/v1/admin/bulk-operations", json=bulk, headers=auth), 422, "invalid_input")
    refused(admin.get(f"/v1/admin/lots/{huge}", headers=auth), 422, "invalid_input")
    till = {"Authorization": f"Bearer {shop.key}", "Idempotency-Key": str(uuid.uuid4())}
    answer = admin.post(f"/v1/pos/receipts/{huge}/confirm", json={}, headers=till)
    assert answer.status_code in (404, 422), answer.text  # no such receipt, never a 500
    sale = {"items": [{"code": "X", "amount_minor": 1}], "receipt": {"receipt_id": huge}}
    refused(admin.post("/v1/pos/sales", json=sale, headers=till), 422, "invalid_input")


def test_a_duplicate_type_code_or_template_name(
    admin: TestClient, engine: Engine, shop: World, auth: dict[str, str]
) -> None:
    issuer = builders.issuer_code(engine, shop)
    typed = {
        "issuer": issuer,
        "code": "card",  # the shop has it
        "name": "Again",
        "classification": "gift_card",
        "value_mode": "variable",
    }
    refused(
        admin.post("/v1/admin/voucher-types", json=typed, headers=auth), 409, "voucher_type_exists"
    )
    template = {"issuer": issuer, "name": "twice", "length": 12}
    made = admin.post("/v1/admin/code-templates", json=template, headers=auth)
    assert made.status_code == 201, made.text
    again = admin.post("/v1/admin/code-templates", json=template, headers=auth)
    refused(again, 409, "code_template_exists")
    count = "SELECT count(*) FROM code_templates WHERE issuer_id = :i AND name = 'twice'"
    assert _count(engine, count, i=shop.issuer_id) == 1


def test_stores_that_are_not_ids_on_a_user(
    admin: TestClient, engine: Engine, auth: dict[str, str]
) -> None:
    body = {"username": "abcstores", "password": "long enough!", "role": "viewer"}
    for stores in (["abc"], ["1", "abc"], "abc"):
        answer = admin.post("/v1/admin/users", json={**body, "store_ids": stores}, headers=auth)
        refused(answer, 422, "invalid_input")
    answer = admin.post("/v1/admin/users", json={**body, "store_ids": [999_999_999]}, headers=auth)
    refused(answer, 404, "store_not_found")
    assert _count(engine, "SELECT count(*) FROM users WHERE username = 'abcstores'") == 0


@pytest.mark.parametrize("where", ["pos", "admin"])
def test_a_ten_megabyte_body_is_refused_before_it_is_read(
    admin: TestClient, shop: World, auth: dict[str, str], where: str
) -> None:
    body = b'{"a": "' + b"x" * 10_000_000 + b'"}'
    if where == "pos":
        url = "/v1/pos/sales"
        headers = {"Authorization": f"Bearer {shop.key}", "Idempotency-Key": str(uuid.uuid4())}
    else:
        url, headers = "/v1/admin/lots", auth
    headers = {**headers, "content-type": "application/json"}
    error = refused(admin.post(url, content=body, headers=headers), 413, "body_too_large")
    assert error["details"]["limit"] in (edge.MAX_POS_BODY, edge.MAX_BODY)

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused once the limit is passed
        for _ in range(100):
            yield b"x" * 100_000

    refused(admin.post(url, content=chunks(), headers=headers), 413, "body_too_large")


def test_a_long_url_and_long_headers_answer_in_the_envelope(admin: TestClient, shop: World) -> None:
    long_code = "A" * 20_000
    till = {"Authorization": f"Bearer {shop.key}"}
    refused(admin.get(f"/v1/pos/vouchers/{long_code}", headers=till), 414, "uri_too_long")
    refused(admin.get("/v1/admin/reports?x=" + "y" * 20_000), 414, "uri_too_long")
    refused(admin.get("/healthz", headers={"X-Big": "z" * 40_000}), 431, "headers_too_large")


def test_method_not_allowed_says_what_is(admin: TestClient, shop: World) -> None:
    assert refused(admin.delete("/v1/admin/lots"), 405, "method_not_allowed")
    assert admin.delete("/v1/admin/lots").headers["allow"] == "POST"
    # two routes share the path: both methods are named
    assert admin.put("/v1/admin/voucher-types").headers["allow"] == "GET, POST"
    answer = admin.get("/v1/pos/sales", headers={"Authorization": f"Bearer {shop.key}"})
    refused(answer, 405, "method_not_allowed")
    assert answer.headers["allow"] == "POST"
