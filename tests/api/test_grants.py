"""Who may give whom which role (issue 13 item 8), every built-in role by every built-in role,
through the admin API: a granter creates a user of the target role, changes a user's role to
it, changes the scope of a user who holds it, and disables one. Each is allowed exactly when
the granter may manage users and holds every right of the target role; otherwise it is refused
with a stable code and nothing changes. The table of who may grant what is written by hand
below, not derived from the code under test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from scrip.domain import rights
from scrip.server import create_app
from scrip.services import access, users
from tests import builders

ROLES = sorted(rights.BUILTIN_ROLES)
# Only admin and security manage users. Security holds users/secrets write and audit,
# vouchers, settings read: every other built-in role gives something it lacks (marketer:
# types write, operator: lots write, finance: finance write, viewer: lots read ...).
GRANTABLE = {"admin": set(ROLES), "security": {"security"}}
ACTIONS = ("create", "change_role", "change_scope", "disable")
pytestmark = pytest.mark.usefixtures("fast_passwords")
MATRIX = [(g, t, a) for g in ROLES for t in ROLES for a in ACTIONS]


def expected(granter: str, target: str) -> str | None:
    """The refusal's code, or None when allowed."""
    if granter not in GRANTABLE:
        return "right_missing"
    if target in GRANTABLE[granter]:
        return None
    return "role_not_grantable"


@pytest.fixture(scope="module")
def api(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine=engine), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def granters(engine: Engine) -> dict[str, str]:
    with engine.begin() as conn:
        return {role: builders.api_token(conn, role=role) for role in ROLES}


@pytest.fixture(scope="module")
def store_id(engine: Engine) -> int:
    with engine.begin() as conn:
        return builders.world(conn).store_id


def _user(engine: Engine, user_id: int) -> tuple[str, list[int] | None, bool]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT r.name, u.store_ids, u.active FROM users u JOIN roles r"
                " ON r.id = u.role_id WHERE u.id = :u"
            ),
            {"u": user_id},
        ).one()
    return row.name, row.store_ids, row.active


@pytest.mark.parametrize(("granter", "target", "action"), MATRIX, ids=["-".join(m) for m in MATRIX])
def test_a_role_is_given_only_by_who_holds_all_of_it(
    api: TestClient,
    engine: Engine,
    granters: dict[str, str],
    store_id: int,
    granter: str,
    target: str,
    action: str,
) -> None:
    headers = {"Authorization": f"Bearer {granters[granter]}"}
    refusal = expected(granter, target)
    if refusal == "role_not_grantable" and action in ("change_scope", "disable"):
        refusal = "user_not_manageable"  # the target user's role is beyond the granter
    with engine.begin() as conn:
        # change_role starts from a role without rights, so only the target role matters
        users.save_role(conn, actor=access.INSTALLATION, name="nothing", grants={})
        start = "nothing" if action == "change_role" else target
        subject, _, _ = builders.user(conn, role=start)
    before = _user(engine, subject)
    if action == "create":
        body = {"username": f"g{uuid.uuid4().hex[:10]}", "password": "long enough!", "role": target}
        answer = api.post("/v1/admin/users", json=body, headers=headers)
        created = answer.status_code == 201
    else:
        change = {
            "change_role": {"role": target},
            "change_scope": {"store_ids": [store_id]},
            "disable": {"active": False},
        }[action]
        answer = api.patch(f"/v1/admin/users/{subject}", json=change, headers=headers)
        created = False
    if refusal is None:
        assert answer.status_code == (201 if action == "create" else 200), answer.text
        after = _user(engine, subject)
        if action == "change_role":
            assert after[0] == target
        elif action == "change_scope":
            assert after[1] == [store_id]
        elif action == "disable":
            assert after[2] is False
        else:
            assert created and answer.json()["role"] == target
    else:
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == refusal, answer.text
        assert _user(engine, subject) == before
        if action == "create":
            with engine.connect() as conn:
                taken = conn.execute(
                    text("SELECT count(*) FROM users WHERE username = :n"),
                    {"n": body["username"]},
                ).scalar_one()
            assert taken == 0


def test_the_grant_table_matches_the_rights_of_the_roles() -> None:
    """The hand-written table agrees with the roles' grants (a role changed later shows here)."""
    for granter in ROLES:
        grants = rights.BUILTIN_ROLES[granter]
        manages = rights.allows(grants, [rights.Right(rights.Area.users, rights.Level.write)])
        for target in ROLES:
            within = rights.first_beyond(rights.BUILTIN_ROLES[target], grants) is None
            assert (manages and within) == (expected(granter, target) is None), (granter, target)
