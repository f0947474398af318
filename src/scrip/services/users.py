"""Back-office users (S13): create them, log them in, and say who is behind a session or token.

Sessions are rows, not signed cookies: the cookie carries a random token and the row its
SHA-256, so logging out, disabling a user or changing their role takes effect on the next
request, and nothing about the user travels in the cookie. The cost is one indexed read per
back-office request, which is not the POS hot path. API tokens work the same way, bearer
tokens stored as hashes like register keys.

Login refuses with one code (``login_failed``) whether the name, the password or the second
factor was wrong, or the user is locked, so the answer does not tell which usernames exist.
After ``MAX_FAILED_LOGINS`` failures in a row a user is locked for ``LOCK_TIME`` (S13: rate
limits on guessing); the refusal raises after counting, and the entry point commits the count.

Who may give whom which access is checked by ``services.access`` before anything is written:
every function here that creates or changes a user, a role, a token or a second factor takes
the ``actor`` (the admin API's and the screens' logged-in user, the CLI's installation), so
the three entry points obey the same rules.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import pyotp
from sqlalchemy import Connection

from scrip import crypto
from scrip.db import users as users_db
from scrip.db.users import UserRow
from scrip.domain import rights
from scrip.domain.errors import Busy, Conflict, InvalidInput, NotFound, Unauthorized
from scrip.domain.rights import Principal
from scrip.domain.scope import EVERYTHING, check_head_office
from scrip.services import access

SESSION_TTL = timedelta(hours=12)
MIN_PASSWORD = 10
MAX_FAILED_LOGINS = 5
LOCK_TIME = timedelta(minutes=15)


def ensure_roles(conn: Connection) -> None:
    """The built-in roles, once; their grants are not overwritten after that."""
    for name, grants in rights.BUILTIN_ROLES.items():
        users_db.insert_role_if_missing(conn, name, rights.stored(grants))


principal_of = access.principal_of


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"a password has at least {MIN_PASSWORD} characters", code="password_too_short"
        )


def create_user(
    conn: Connection,
    *,
    actor: Principal,
    username: str,
    password: str,
    role: str,
    now: datetime,
    store_ids: list[int] | None = None,
    issuer_ids: list[int] | None = None,
) -> int:
    """A new user of ``role``, limited to ``issuer_ids`` / ``store_ids`` (None: every one);
    ``actor`` must hold every right of the role and a scope containing the new user's."""
    ensure_roles(conn)
    access.check_manager(actor)
    if not 0 < len(username) <= 64 or not username.isprintable() or " " in username:
        raise InvalidInput("a username is 1 to 64 characters, no spaces", code="invalid_username")
    _check_password(password)
    role_id, grants = access.role(conn, role)
    access.check_grantable(actor, role, grants)
    access.check_scope_grantable(
        actor, access.scope_of(conn, issuer_ids=issuer_ids, store_ids=store_ids)
    )
    if users_db.find_user_by_name(conn, username) is not None:
        raise Conflict("this username is taken", code="username_taken")
    return users_db.insert_user(
        conn,
        username=username,
        password_hash=crypto.hash_password(password),
        role_id=role_id,
        store_ids=None if store_ids is None else sorted(set(store_ids)),
        issuer_ids=None if issuer_ids is None else sorted(set(issuer_ids)),
        created_at=now,
    )


def get_user(conn: Connection, user_id: int) -> UserRow:
    found = users_db.find_user(conn, user_id)
    if found is None:
        raise NotFound("no user with this id", code="user_not_found")
    return found


def list_users(
    conn: Connection, *, actor: Principal, before: int | None, limit: int
) -> list[UserRow]:
    """The users within ``actor``'s scope, newest first (a keyset page)."""
    scope = actor.scope
    return users_db.list_users(
        conn,
        before=before,
        limit=limit,
        issuer_ids=None if scope.issuer_ids is None else sorted(scope.issuer_ids),
        store_ids=None if scope.store_ids is None else sorted(scope.store_ids),
    )


class Keep(Enum):
    """A change that leaves a field as it is (``None`` means "every one" for a scope)."""

    KEEP = "keep"


KEEP = Keep.KEEP


def change_user(
    conn: Connection,
    *,
    actor: Principal,
    user_id: int,
    role: str | None = None,
    store_ids: list[int] | Keep | None = KEEP,
    issuer_ids: list[int] | Keep | None = KEEP,
    active: bool | None = None,
) -> UserRow:
    """Change a user's role, scope (``None``: every store / issuer) or active flag; sessions
    end when anything changes. Fields given with their current value are no change."""
    users_db.lock_access(conn)
    target = get_user(conn, user_id)
    access.check_manageable(actor, target)
    values: dict[str, object] = {}
    grants = rights.grants_of(target.grants)
    if role is not None and role != target.role:
        access.check_not_own(actor, target, "role")
        values["role_id"], grants = access.role(conn, role)
        access.check_grantable(actor, role, grants)
    stores = _kept(store_ids, target.store_ids)
    issuers = _kept(issuer_ids, target.issuer_ids)
    scope = access.principal_of(target).scope
    if (stores, issuers) != (_sorted(target.store_ids), _sorted(target.issuer_ids)):
        access.check_not_own(actor, target, "scope")
        scope = access.scope_of(conn, issuer_ids=issuers, store_ids=stores)
        access.check_scope_grantable(actor, scope)
        values["store_ids"], values["issuer_ids"] = stores, issuers
    if active is not None and active != target.active:
        access.check_not_own(actor, target, "active flag")
        values["active"] = active
    now_active = target.active if active is None else active
    was_full = access.stays_full_administrator(
        rights.grants_of(target.grants), access.principal_of(target).scope, target.active
    )
    if was_full and not access.stays_full_administrator(grants, scope, now_active):
        access.keep_an_administrator(conn, losing_users=[target.id])
    if values:
        users_db.update_user(conn, user_id, **values)
        users_db.delete_sessions(conn, user_id=user_id)
    return get_user(conn, user_id)


def _sorted(ids: list[int] | None) -> list[int] | None:
    return None if ids is None else sorted(set(ids))


def _kept(given: list[int] | Keep | None, current: list[int] | None) -> list[int] | None:
    return _sorted(current) if isinstance(given, Keep) else _sorted(given)


@dataclass(frozen=True, slots=True)
class Login:
    session_token: str  # for the cookie only; the database keeps its hash
    csrf_token: str
    principal: Principal


def log_in(
    conn: Connection,
    *,
    username: str,
    password: str,
    otp: str | None,
    ip: str | None,
    now: datetime,
    keyring: crypto.Keyring | None = None,
) -> Login:
    user = users_db.find_user_by_name(conn, username)
    # The hash is checked even for an unknown name, so timing does not tell names apart.
    stored = user.password_hash if user is not None else _DUMMY_HASH
    password_ok = crypto.verify_password(password, stored)
    if user is None:
        raise Unauthorized("wrong username, password or code", code="login_failed")
    locked = user.locked_until is not None and user.locked_until > now
    if locked or not password_ok or not user.active or not _second_factor(user, otp, keyring):
        if not locked:
            _count_failure(conn, user, now)
        raise Unauthorized("wrong username, password or code", code="login_failed")
    token, csrf = crypto.new_session_token(), secrets.token_urlsafe(32)
    users_db.insert_session(
        conn,
        token_hash=crypto.hash_api_key(token),
        user_id=user.id,
        csrf_token=csrf,
        ip=ip,
        now=now,
        expires_at=now + SESSION_TTL,
    )
    users_db.update_user(conn, user.id, last_login_at=now, failed_logins=0, locked_until=None)
    return Login(token, csrf, principal_of(user))


def _count_failure(conn: Connection, user: UserRow, now: datetime) -> None:
    failed = user.failed_logins + 1
    if failed >= MAX_FAILED_LOGINS:
        users_db.update_user(conn, user.id, failed_logins=0, locked_until=now + LOCK_TIME)
    else:
        users_db.update_user(conn, user.id, failed_logins=failed)


_DUMMY_HASH = crypto.hash_password(secrets.token_urlsafe(16))


def _second_factor(user: UserRow, otp: str | None, keyring: crypto.Keyring | None) -> bool:
    if user.totp_sealed is None:
        return True
    if keyring is None:
        raise Busy("the secret vault has no keys configured", code="vault_not_configured")
    secret = _open_totp(user.id, user.totp_sealed, keyring)
    return otp is not None and pyotp.TOTP(secret).verify(otp.strip(), valid_window=1)


# The TOTP secret is sealed by the secret vault (AES-GCM bound to the user id), so a copy of the
# users table does not hand out second factors. Rotation keeps old key ids readable.


def _totp_aad(user_id: int) -> bytes:
    return b"scrip-user-totp:%d" % user_id


def _seal_totp(user_id: int, secret: str, keyring: crypto.Keyring) -> str:
    sealed = crypto.seal(keyring.current, secret.encode(), _totp_aad(user_id))
    return f"{keyring.current_id}:{base64.b64encode(sealed).decode()}"


def _open_totp(user_id: int, stored: str, keyring: crypto.Keyring) -> str:
    key_id, _, sealed = stored.partition(":")
    raw = base64.b64decode(sealed)
    return crypto.decrypt_secret(raw, keyring.key(key_id), aad=_totp_aad(user_id))


def log_out(conn: Connection, *, session_token: str) -> None:
    users_db.delete_sessions(conn, token_hash=crypto.hash_api_key(session_token))


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    csrf_token: str


def find_session(conn: Connection, *, session_token: str, now: datetime) -> Session | None:
    found = users_db.find_user_by_session(conn, crypto.hash_api_key(session_token), now)
    if found is None:
        return None
    user, csrf = found
    return Session(principal_of(user), csrf)


def find_by_token(conn: Connection, *, token: str) -> Principal | None:
    user = users_db.find_user_by_token(conn, crypto.hash_api_key(token))
    return None if user is None else principal_of(user)


def create_token(conn: Connection, *, actor: Principal, user_id: int, name: str) -> str:
    """A new API token for the user, returned once; only its hash is kept. A token acts with
    the user's rights, so only a manager of the user (or the user) may make one."""
    access.check_manageable(actor, get_user(conn, user_id))
    token = crypto.new_user_token()
    users_db.insert_token(
        conn,
        user_id=user_id,
        token_hash=crypto.hash_api_key(token),
        hint=token[: len(crypto.USER_TOKEN_PREFIX) + 4],
        name=name[:200] or "token",
    )
    return token


def revoke_tokens(conn: Connection, *, actor: Principal, user_id: int, now: datetime) -> int:
    """End every API token of the user at once; returns how many were live."""
    access.check_manageable(actor, get_user(conn, user_id))
    return users_db.revoke_tokens(conn, user_id=user_id, now=now)


def enable_totp(
    conn: Connection, *, actor: Principal, user_id: int, keyring: crypto.Keyring
) -> str:
    """Give the user a fresh TOTP secret (sealed at rest) and return its otpauth:// URI,
    shown once."""
    user = get_user(conn, user_id)
    access.check_manageable(actor, user)
    secret = pyotp.random_base32()
    users_db.update_user(conn, user_id, totp_sealed=_seal_totp(user_id, secret, keyring))
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="scrip")


@dataclass(frozen=True, slots=True)
class FirstAdmin:
    username: str
    password: str  # printed once by ``scrip up``


def ensure_first_admin(conn: Connection, *, now: datetime) -> FirstAdmin | None:
    """Create ``admin`` with a random password when there are no users at all."""
    ensure_roles(conn)
    if users_db.count_users(conn) > 0:
        return None
    password = secrets.token_urlsafe(12)
    create_user(
        conn,
        actor=access.INSTALLATION,
        username="admin",
        password=password,
        role="admin",
        now=now,
    )
    return FirstAdmin("admin", password)


def save_role(conn: Connection, *, actor: Principal, name: str, grants: rights.Grants) -> int:
    """Create or replace a role's grants; the built-in ``admin`` keeps every right so an
    installation cannot lock itself out. A role applies to every issuer and store, so only a
    user with all of them edits one, and only within their own rights, before and after."""
    access.check_manager(actor)
    check_head_office(actor.scope)
    if not 0 < len(name) <= 32 or not name.isprintable():
        raise InvalidInput("a role name is 1 to 32 characters", code="invalid_role")
    if name == "admin":
        raise Conflict("the admin role keeps every right", code="role_protected")
    access.check_grantable(actor, name, grants)
    existing = users_db.find_role(conn, name)
    if existing is not None:
        held = rights.grants_of(existing[1])
        access.check_grantable(actor, name, held)
        if rights.full_administrator(held, EVERYTHING) and not rights.full_administrator(
            grants, EVERYTHING
        ):
            access.keep_an_administrator(conn, losing_role=name)
    return users_db.upsert_role(conn, name, rights.stored(grants))
