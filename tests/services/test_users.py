"""Users: argon2 hashes, login with and without a second factor, sessions, first admin."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import Connection, text

from scrip import crypto
from scrip.domain.errors import Busy, Conflict, InvalidInput, Unauthorized
from scrip.services import users
from scrip.services.access import INSTALLATION
from tests import builders
from tests.builders import now


def test_password_is_stored_as_argon2_and_login_gives_a_session(conn: Connection) -> None:
    user_id, name, password = builders.user(conn, role="marketer")
    stored = conn.execute(text("SELECT password_hash FROM users WHERE id = :i"), {"i": user_id})
    assert stored.scalar_one().startswith("$argon2id$")
    login = users.log_in(conn, username=name, password=password, otp=None, ip="10.0.0.1", now=now())
    assert login.principal.role == "marketer"
    session = users.find_session(conn, session_token=login.session_token, now=now())
    assert session is not None and session.csrf_token == login.csrf_token
    users.log_out(conn, session_token=login.session_token)
    assert users.find_session(conn, session_token=login.session_token, now=now()) is None


@pytest.mark.parametrize("wrong", ["name", "password"])
def test_wrong_name_or_password_is_one_answer(conn: Connection, wrong: str) -> None:
    _, name, password = builders.user(conn)
    with pytest.raises(Unauthorized) as refused:
        users.log_in(
            conn,
            username=name + "x" if wrong == "name" else name,
            password=password + "x" if wrong == "password" else password,
            otp=None,
            ip=None,
            now=now(),
        )
    assert refused.value.code == "login_failed"


def test_second_factor_is_needed_once_enabled_and_sealed_at_rest(conn: Connection) -> None:
    ring = crypto.parse_keyring(f"k1:{crypto.new_secret_key()}")
    user_id, name, password = builders.user(conn)
    uri = users.enable_totp(conn, actor=INSTALLATION, user_id=user_id, keyring=ring)
    secret = pyotp.parse_uri(uri).secret
    stored = conn.execute(text("SELECT totp_sealed FROM users WHERE id = :i"), {"i": user_id})
    assert secret not in stored.scalar_one()
    for otp in (None, "000000"):
        with pytest.raises(Unauthorized):
            users.log_in(
                conn, username=name, password=password, otp=otp, ip=None, now=now(), keyring=ring
            )
    code = pyotp.TOTP(secret).now()
    with pytest.raises(Busy):  # the vault's keys are needed to check the code
        users.log_in(conn, username=name, password=password, otp=code, ip=None, now=now())
    assert users.log_in(
        conn, username=name, password=password, otp=code, ip=None, now=now(), keyring=ring
    )


def test_changing_a_role_ends_the_users_sessions(conn: Connection) -> None:
    user_id, name, password = builders.user(conn, role="marketer")
    login = users.log_in(conn, username=name, password=password, otp=None, ip=None, now=now())
    users.change_user(conn, actor=INSTALLATION, user_id=user_id, role="viewer")
    assert users.find_session(conn, session_token=login.session_token, now=now()) is None


def test_bad_users_are_refused(conn: Connection) -> None:
    _, name, _ = builders.user(conn)
    with pytest.raises(Conflict):
        users.create_user(
            conn, actor=INSTALLATION, username=name, password="x" * 12, role="admin", now=now()
        )
    with pytest.raises(InvalidInput):
        users.create_user(
            conn, actor=INSTALLATION, username="short-pw", password="x", role="admin", now=now()
        )


def test_first_admin_only_when_there_are_no_users(conn: Connection) -> None:
    conn.execute(text("DELETE FROM api_tokens; DELETE FROM user_sessions; DELETE FROM users"))
    first = users.ensure_first_admin(conn, now=now())
    assert first is not None and first.username == "admin"
    users.log_in(conn, username="admin", password=first.password, otp=None, ip=None, now=now())
    assert users.ensure_first_admin(conn, now=now()) is None


def test_guessing_locks_the_user_for_a_while(conn: Connection) -> None:
    _, name, password = builders.user(conn)
    at = now()
    for _ in range(users.MAX_FAILED_LOGINS):
        with pytest.raises(Unauthorized):
            users.log_in(conn, username=name, password="wrong-guess", otp=None, ip=None, now=at)
    with pytest.raises(Unauthorized) as locked:  # even the right password, while locked
        users.log_in(conn, username=name, password=password, otp=None, ip=None, now=at)
    assert locked.value.code == "login_failed"
    later = at + users.LOCK_TIME + timedelta(seconds=1)
    assert users.log_in(conn, username=name, password=password, otp=None, ip=None, now=later)
