"""The users screen passes through the same granting rules as the admin API (issue 13 item 8):
a security officer cannot make an administrator, raise its own role or its role's rights, and
a list of stores that is not ids is refused, not a 500."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests import builders
from tests.web.conftest import Browser


def _users_named(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM users WHERE username = :n"), {"n": name}
            ).scalar_one()
        )


def _role_of(engine: Engine, user_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT r.name FROM users u JOIN roles r ON r.id = u.role_id WHERE u.id = :u"),
                {"u": user_id},
            ).scalar_one()
        )


def test_a_security_officer_cannot_escalate_through_the_screens(
    engine: Engine, app_for: Callable[[], TestClient], ledger_holds: None
) -> None:
    with engine.begin() as conn:
        me, name, password = builders.user(conn, role="security")
    officer = Browser(app_for())
    assert officer.log_in(name, password).status_code == 303
    officer.get("/admin/users")

    made = officer.post("/admin/users", {"username": "mallory", "role": "admin"})
    assert made.status_code == 403 and 'data-code="role_not_grantable"' in made.text
    assert _users_named(engine, "mallory") == 0

    raised = officer.post(f"/admin/users/{me}", {"role": "admin", "active": "true"})
    assert raised.status_code == 403 and 'data-code="own_access"' in raised.text
    assert _role_of(engine, me) == "security"

    widened = officer.post("/admin/roles", {"name": "security", "grant_lots": "write"})
    assert widened.status_code == 403 and 'data-code="role_not_grantable"' in widened.text

    bad = officer.post(
        "/admin/users", {"username": "stores-abc", "role": "security", "stores": "abc"}
    )
    assert bad.status_code == 422 and 'data-code="invalid_stores"' in bad.text
    assert _users_named(engine, "stores-abc") == 0


def test_a_duplicate_type_code_or_template_name_on_the_screens(
    engine: Engine, browser_as: Callable[..., Browser]
) -> None:
    """The screens stored these straight through the catalogue: the unique index answered 500."""
    with engine.begin() as conn:
        shop = builders.world(conn)
    admin = browser_as("admin")
    admin.get("/admin/types")
    typed = {"issuer_id": shop.issuer_id, "code": "card", "name": "Again"}
    again = admin.post(
        "/admin/types", {**typed, "classification": "gift_card", "value_mode": "variable"}
    )
    assert again.status_code == 409 and 'data-code="voucher_type_exists"' in again.text
    template = {"issuer_id": shop.issuer_id, "name": "twice", "length": "12"}
    assert admin.post("/admin/templates", template).status_code == 303
    twice = admin.post("/admin/templates", template)
    assert twice.status_code == 409 and 'data-code="code_template_exists"' in twice.text
    with engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM code_templates WHERE issuer_id = :i AND name = 'twice'"),
            {"i": shop.issuer_id},
        ).scalar_one()
    assert count == 1
