"""The only two full administrators disable each other at the same instant (issue 13 item 8):
one wins, the other is refused ``last_administrator``, and one administrator is left. The
control first: without the access lock both read "the other stays", both commit, and nobody is
left. Each runs in a database of its own, where these two are the only users."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine, text

from scrip.db import users as users_db
from scrip.domain.errors import ScripError
from scrip.services import users
from tests import builders
from tests.concurrency.conftest import WAIT_S, race

pytestmark = [pytest.mark.concurrency, pytest.mark.usefixtures("fast_passwords")]


def _two_admins(engine: Engine) -> tuple[int, int]:
    with engine.begin() as conn:
        first, _, _ = builders.user(conn, role="admin")
        second, _, _ = builders.user(conn, role="admin")
    return first, second


def _disable(engine: Engine, actor_id: int, target_id: int) -> str:
    with engine.begin() as conn:
        actor = users.principal_of(users.get_user(conn, actor_id))
        try:
            users.change_user(conn, actor=actor, user_id=target_id, active=False)
        except ScripError as refused:
            return refused.code
    return "done"


def _active_admins(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM users WHERE active")).scalar_one())


def test_control_without_the_lock_both_win_and_none_is_left(
    scratch_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _two_admins(scratch_engine)
    # Both read who is active before either writes: the interleaving the lock prevents.
    read_both = threading.Barrier(2)
    reader = users_db.unscoped_active_users

    def read_then_wait(conn: Any) -> Any:
        found = reader(conn)
        read_both.wait(timeout=WAIT_S)
        return found

    monkeypatch.setattr(users_db, "lock_access", lambda conn: None)
    monkeypatch.setattr(users_db, "unscoped_active_users", read_then_wait)
    outcomes = race([lambda: _disable(scratch_engine, first, second),
                     lambda: _disable(scratch_engine, second, first)])  # fmt: skip
    assert outcomes == ["done", "done"]
    assert _active_admins(scratch_engine) == 0


def test_one_wins_and_one_administrator_is_left(scratch_engine: Engine) -> None:
    first, second = _two_admins(scratch_engine)
    outcomes = race([lambda: _disable(scratch_engine, first, second),
                     lambda: _disable(scratch_engine, second, first)])  # fmt: skip
    assert sorted(outcomes) == ["done", "last_administrator"]
    assert _active_admins(scratch_engine) == 1
