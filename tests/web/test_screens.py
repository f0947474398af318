"""The back-office screens over HTTP: log in, every screen renders, forms need the CSRF token,
a type, a lot, its activation, a voucher found and its history, secrets with a reason."""

from __future__ import annotations

import re
from collections.abc import Callable

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from scrip import crypto
from scrip.services import catalog, users
from scrip.services.access import INSTALLATION
from tests import builders
from tests.builders import World
from tests.web.conftest import Browser

SCREENS = [
    "/admin",
    "/admin/issuers",
    "/admin/stores",
    "/admin/registers",
    "/admin/types",
    "/admin/lots",
    "/admin/vouchers",
    "/admin/bulk",
    "/admin/users",
    "/admin/audit",
    "/admin/reports",
    "/admin/promotions",
]


@pytest.fixture
def shop(engine: Engine) -> World:
    with engine.begin() as conn:
        return builders.world(conn)


def test_without_a_session_every_screen_sends_to_the_login(
    app_for: Callable[[], TestClient],
) -> None:
    client = app_for()
    for path in SCREENS:
        answer = client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/admin/login"), path


def test_every_screen_renders_for_an_administrator(browser_as: Callable[..., Browser]) -> None:
    admin = browser_as("admin")
    for path in SCREENS:
        answer = admin.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert "Log out" in answer.text


def test_wrong_password_and_second_factor(
    engine: Engine, app_for: Callable[[], TestClient], keyring: crypto.Keyring
) -> None:
    with engine.begin() as conn:
        user_id, name, password = builders.user(conn)
        uri = users.enable_totp(conn, actor=INSTALLATION, user_id=user_id, keyring=keyring)
    secret = pyotp.parse_uri(uri).secret
    browser = Browser(app_for())
    refused = browser.log_in(name, password + "x")
    assert refused.status_code == 200 and "wrong username, password or code" in refused.text
    with engine.connect() as conn:  # the failure is counted although the login was refused
        failed = conn.execute(
            text("SELECT failed_logins FROM users WHERE id = :i"), {"i": user_id}
        ).scalar_one()
    assert failed == 1
    assert browser.log_in(name, password).status_code == 200  # no code: refused
    assert browser.log_in(name, password, otp=pyotp.TOTP(secret).now()).status_code == 303


def test_a_form_without_the_csrf_token_is_refused(
    browser_as: Callable[..., Browser], shop: World
) -> None:
    admin = browser_as("admin")
    admin.csrf = "forged"
    answer = admin.post(
        "/admin/types",
        {"issuer_id": shop.issuer_id, "code": "X", "name": "x", "classification": "gift_card"},
    )
    assert answer.status_code == 403 and 'data-code="csrf_invalid"' in answer.text


def test_type_lot_activation_search_and_history(
    browser_as: Callable[..., Browser], engine: Engine, shop: World
) -> None:
    admin = browser_as("admin")
    made = admin.post(
        "/admin/types",
        {
            "issuer_id": shop.issuer_id,
            "code": "GC25",
            "name": "Gift card 25",
            "classification": "gift_card",
            "value_mode": "variable",
        },
    )
    assert made.status_code == 303, made.text
    type_id = _one(
        engine, "SELECT id FROM voucher_types WHERE issuer_id = :i AND code = 'GC25'", shop
    )
    lot = admin.post("/admin/lots", {"type_id": type_id, "count": 25, "state": "prepared"})
    assert lot.status_code == 303, lot.text
    lot_page = admin.get(lot.headers["location"])
    assert 'id="lot-status">done<' in lot_page.text  # TestClient ran the background task
    lot_id = int(lot.headers["location"].rsplit("/", 1)[1])
    activated = admin.post(f"/admin/lots/{lot_id}/activate")
    assert activated.status_code == 303, activated.text
    bulk_page = admin.get(activated.headers["location"])
    assert 'id="bulk-status">done<' in bulk_page.text and "25 done" in bulk_page.text
    code = _one(engine, "SELECT code FROM vouchers WHERE lot_id = :l ORDER BY id LIMIT 1", lot_id)
    found = admin.get("/admin/vouchers", params={"issuer_id": shop.issuer_id, "q": code})
    voucher_id = re.search(r'href="/admin/vouchers/(\d+)"', found.text)
    assert voucher_id is not None and found.text.count('href="/admin/vouchers/') == 1
    page = admin.get(f"/admin/vouchers/{voucher_id.group(1)}")
    assert 'id="voucher-state">active<' in page.text
    assert "voucher.created" in page.text and "voucher.activated" in page.text


def test_bulk_preview_counts_before_anything_runs(
    browser_as: Callable[..., Browser], engine: Engine, shop: World
) -> None:
    with engine.begin() as conn:
        builders.vouchers(conn, shop, "card", count=4)
    operator = browser_as("operator")
    answer = operator.get(
        "/admin/bulk/preview", params={"issuer_id": shop.issuer_id, "type_code": "card"}
    )
    assert 'id="preview-count">4<' in answer.text
    assert _one(engine, "SELECT count(*) FROM bulk_operations WHERE issuer_id = :i", shop) == 0


def test_secret_retrieval_needs_the_right_and_every_attempt_is_in_the_history(
    browser_as: Callable[..., Browser], engine: Engine, shop: World
) -> None:
    with engine.begin() as conn:
        lot_type = catalog.create_voucher_type(
            conn,
            issuer_id=shop.issuer_id,
            code="PINNED",
            name="Card with a secret number",
            classification="gift_card",
            value_mode="variable",
            pin_length=6,
        )
    admin = browser_as("admin")
    lot = admin.post("/admin/lots", {"type_id": lot_type, "count": 1})
    lot_id = int(lot.headers["location"].rsplit("/", 1)[1])
    voucher_id = _one(engine, "SELECT id FROM vouchers WHERE lot_id = :l", lot_id)
    viewer = browser_as("viewer")
    refused = viewer.post(f"/admin/vouchers/{voucher_id}/secret", {"reason": "customer call"})
    assert refused.status_code == 403 and "secret_access_denied" in refused.text
    security = browser_as("security")
    shown = security.post(f"/admin/vouchers/{voucher_id}/secret", {"reason": "customer call"})
    assert shown.status_code == 200 and 'id="secret-value"' in shown.text
    with engine.connect() as conn:
        kinds = (
            conn.execute(
                text("SELECT type FROM voucher_history WHERE voucher_id = :v ORDER BY id"),
                {"v": voucher_id},
            )
            .scalars()
            .all()
        )
        audited = (
            conn.execute(
                text("SELECT after FROM audit_log WHERE target = :t ORDER BY id"),
                {"t": f"voucher {voucher_id}"},
            )
            .scalars()
            .all()
        )
    assert kinds[-2:] == ["secret.retrieval_refused", "secret.retrieved"]
    secret = re.search(r'id="secret-value">([^<]+)<', shown.text)
    assert secret is not None and all(secret.group(1) not in str(row) for row in audited)


def test_register_key_is_shown_once_and_only_its_hash_is_kept(
    browser_as: Callable[..., Browser], engine: Engine, shop: World
) -> None:
    admin = browser_as("admin")
    answer = admin.post("/admin/registers", {"store_id": shop.store_id, "serial_number": "WEB-1"})
    key = re.search(r"sk_reg_[A-Za-z0-9_-]+", answer.text)
    assert key is not None
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"
    listed = admin.get("/admin/registers")
    assert key.group(0) not in listed.text
    with engine.connect() as conn:
        audit_rows = conn.execute(text("SELECT after::text FROM audit_log")).scalars().all()
    assert all(key.group(0) not in (row or "") for row in audit_rows)


def test_a_user_limited_to_a_store_sees_only_it(
    browser_as: Callable[..., Browser], engine: Engine, shop: World
) -> None:
    with engine.begin() as conn:
        other = builders.world(conn)
    scoped = browser_as("operator", store_ids=[shop.store_id])
    page = scoped.get("/admin/registers")
    assert "R1" in page.text
    refused = scoped.post("/admin/registers", {"store_id": other.store_id, "serial_number": "X"})
    assert refused.status_code == 403  # operators read settings only; and the store is not theirs


def test_audit_screen_verifies_the_chain(browser_as: Callable[..., Browser]) -> None:
    security = browser_as("security")
    verdict = security.get("/admin/audit/verify", headers={"HX-Request": "true"})
    assert 'id="audit-verdict"' in verdict.text and "chain intact" in verdict.text


def _one(engine: Engine, sql: str, value: object) -> int | str:
    param = value.issuer_id if isinstance(value, World) else value
    with engine.connect() as conn:
        found: int | str = conn.execute(
            text(sql.replace(":l", ":p").replace(":i", ":p")), {"p": param}
        ).scalar_one()
    return found


def test_users_screen_makes_and_revokes_api_tokens(
    browser_as: Callable[..., Browser], engine: Engine, app_for: Callable[[], TestClient]
) -> None:
    # A token acts as its user, so a security officer makes one only for a user within its own
    # rights (issue 13): another security officer here, not an operator.
    with engine.begin() as conn:
        user_id, _, _ = builders.user(conn, role="security")
    security = browser_as("security")
    made = security.post(f"/admin/users/{user_id}/token")
    token = re.search(r"sk_usr_[A-Za-z0-9_-]+", made.text)
    assert token is not None
    api = app_for()
    headers = {"Authorization": f"Bearer {token.group(0)}"}
    assert api.get("/v1/admin/roles", headers=headers).status_code == 200
    assert security.post(f"/admin/users/{user_id}/tokens/revoke").status_code == 303
    assert api.get("/v1/admin/roles", headers=headers).status_code == 401


def test_the_lot_form_offers_a_new_type_however_many_there_are(
    engine: Engine, shop: World, browser_as: Callable[..., Browser]
) -> None:
    with engine.begin() as conn:
        for n in range(501):
            catalog.create_voucher_type(
                conn,
                issuer_id=shop.issuer_id,
                code=f"MANY{n:03d}",
                name=f"Type {n}",
                classification="gift_card",
                value_mode="variable",
            )
    page = browser_as("operator").get("/admin/lots")
    assert "/ MANY500 " in page.text and "/ MANY000 " not in page.text  # the newest 500
