"""The rules of granting beyond the role x role matrix (issue 13 item 8): nobody changes their
own access, nobody edits a role above them or gives a token to a user above them, scopes are
granted only within one's own, and the last active full administrator stays one."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlalchemy import Connection, text

from scrip.domain import rights
from scrip.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, ScripError
from scrip.domain.rights import Area, Level, Principal
from scrip.services import access, users
from scrip.services.access import INSTALLATION
from tests import builders
from tests.builders import now

pytestmark = pytest.mark.usefixtures("fast_passwords")


def _actor(conn: Connection, role: str, **limits: object) -> Principal:
    user_id, _, _ = builders.user(conn, role=role, **limits)
    return users.principal_of(users.get_user(conn, user_id))


def _refused(code: str, call: object) -> ScripError:
    assert callable(call)
    with pytest.raises(ScripError) as refused:
        call()
    assert refused.value.code == code, refused.value
    return refused.value


def test_nobody_changes_their_own_role_scope_or_active_flag(conn: Connection) -> None:
    me = _actor(conn, "admin")
    store = builders.world(conn).store_id
    assert me.user_id is not None
    for change in ({"role": "viewer"}, {"store_ids": [store]}, {"active": False}):
        _refused(
            "own_access",
            lambda change=change: users.change_user(conn, actor=me, user_id=me.user_id, **change),
        )
    again = users.get_user(conn, me.user_id)
    assert (again.role, again.store_ids, again.active) == ("admin", None, True)
    # the same values are no change, and a user may still give themselves a token
    users.change_user(conn, actor=me, user_id=me.user_id, role="admin", active=True)
    assert users.create_token(conn, actor=me, user_id=me.user_id, name="mine").startswith("sk_usr_")


def test_the_last_active_full_administrator_stays_one(conn: Connection) -> None:
    last = _actor(conn, "admin")
    conn.execute(
        text("UPDATE users SET active = false WHERE id <> :me AND active"), {"me": last.user_id}
    )
    assert last.user_id is not None
    issuer_id = builders.world(conn).issuer_id
    for change in ({"role": "viewer"}, {"active": False}, {"issuer_ids": [issuer_id]}):
        error = _refused(
            "last_administrator",
            lambda change=change: users.change_user(
                conn, actor=INSTALLATION, user_id=last.user_id, **change
            ),
        )
        assert isinstance(error, Conflict)
    # with a second one, the first may go
    second = _actor(conn, "admin")
    users.change_user(conn, actor=second, user_id=last.user_id, active=False)
    assert not users.get_user(conn, last.user_id).active


def test_a_full_administrators_role_is_not_emptied_under_the_last_of_them(
    conn: Connection,
) -> None:
    users.save_role(conn, actor=INSTALLATION, name="root", grants=rights.ALL_WRITE)
    root_id, _, _ = builders.user(conn, role="root")
    conn.execute(text("UPDATE users SET active = false WHERE id <> :me"), {"me": root_id})
    _refused(
        "last_administrator",
        lambda: users.save_role(
            conn, actor=INSTALLATION, name="root", grants={Area.reports: Level.read}
        ),
    )


def test_roles_are_edited_only_within_ones_own_rights(conn: Connection) -> None:
    security = _actor(conn, "security")
    _refused(  # a new role beyond security's rights
        "role_not_grantable",
        lambda: users.save_role(conn, actor=security, name="sneaky", grants=rights.ALL_WRITE),
    )
    _refused(  # the role it holds, raised: no more rights by editing one's own role
        "role_not_grantable",
        lambda: users.save_role(
            conn,
            actor=security,
            name="security",
            grants={**rights.BUILTIN_ROLES["security"], Area.lots: Level.write},
        ),
    )
    _refused(  # a role above it, lowered (operators would lose rights security cannot give)
        "role_not_grantable",
        lambda: users.save_role(conn, actor=security, name="operator", grants={}),
    )
    users.save_role(conn, actor=security, name="auditor", grants={Area.audit: Level.read})
    limited = _actor(conn, "admin", store_ids=[builders.world(conn).store_id])
    # roles are the installation's: a user limited to stores (so to its issuer) edits none
    _refused(
        "issuer_out_of_scope",
        lambda: users.save_role(conn, actor=limited, name="x", grants={}),
    )


def test_no_token_or_second_factor_for_a_user_beyond_the_manager(conn: Connection) -> None:
    security = _actor(conn, "security")
    admin_id, _, _ = builders.user(conn, role="admin")
    _refused(
        "user_not_manageable",
        lambda: users.create_token(conn, actor=security, user_id=admin_id, name="borrowed"),
    )
    _refused(
        "user_not_manageable",
        lambda: users.revoke_tokens(conn, actor=security, user_id=admin_id, now=builders.now()),
    )
    count = conn.execute(
        text("SELECT count(*) FROM api_tokens WHERE user_id = :u"), {"u": admin_id}
    ).scalar_one()
    assert count == 0


def test_a_scope_is_granted_within_ones_own_and_must_exist(conn: Connection) -> None:
    shop, other = builders.world(conn), builders.world(conn)
    from scrip.services import catalog

    second = catalog.create_store(conn, issuer_id=shop.issuer_id, code="S2", name="Two")
    manager = _actor(conn, "admin", store_ids=[shop.store_id])
    assert manager.scope.issuer_ids == frozenset({shop.issuer_id})  # the issuer of its store

    def make(**limits: Any) -> int:
        return users.create_user(
            conn,
            actor=manager,
            username=f"s{secrets.token_hex(4)}",
            password="long enough!",
            role="viewer",
            now=builders.now(),
            **limits,
        )

    make(store_ids=[shop.store_id])
    for limits in ({}, {"store_ids": [second]}, {"issuer_ids": [shop.issuer_id]}):
        _refused("scope_not_grantable", lambda limits=limits: make(**limits))
    _refused("store_not_found", lambda: users.create_user(
        conn, actor=INSTALLATION, username="nostore", password="long enough!", role="viewer",
        now=builders.now(), store_ids=[999_999_999],
    ))  # fmt: skip
    error = _refused("invalid_scope", lambda: users.create_user(
        conn, actor=INSTALLATION, username="mixed", password="long enough!", role="viewer",
        now=builders.now(), store_ids=[shop.store_id], issuer_ids=[other.issuer_id],
    ))  # fmt: skip
    assert isinstance(error, InvalidInput)
    with pytest.raises(NotFound):
        access.scope_of(conn, issuer_ids=[999_999_999], store_ids=None)
    viewer = _actor(conn, "viewer")
    error = _refused(
        "right_missing",
        lambda: users.create_user(
            conn, actor=viewer, username="v", password="long enough!", role="viewer", now=now()
        ),
    )
    assert isinstance(error, Forbidden)
