"""Users, roles, login sessions and API tokens: plain SQL, no decisions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    username: str
    password_hash: str
    role: str
    grants: dict[str, str]
    store_ids: list[int] | None
    issuer_ids: list[int] | None
    store_issuer_ids: list[int]  # the issuers of ``store_ids`` (derived)
    totp_sealed: str | None = field(repr=False)
    active: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None


_SELECT = """
    SELECT u.id, u.username, u.password_hash, r.name AS role, r.grants, u.store_ids,
           u.issuer_ids,
           ARRAY(SELECT DISTINCT st.issuer_id FROM stores st WHERE st.id = ANY(u.store_ids))
             AS store_issuer_ids,
           u.totp_sealed, u.active, u.failed_logins, u.locked_until, u.created_at,
           u.last_login_at
      FROM users u JOIN roles r ON r.id = u.role_id
"""


def _user(row: Any) -> UserRow | None:
    return None if row is None else UserRow(**row)


def find_user_by_name(conn: Connection, username: str) -> UserRow | None:
    row = conn.execute(text(_SELECT + " WHERE u.username = :n"), {"n": username}).mappings()
    return _user(row.first())


def find_user(conn: Connection, user_id: int) -> UserRow | None:
    row = conn.execute(text(_SELECT + " WHERE u.id = :i"), {"i": user_id}).mappings().first()
    return _user(row)


def find_user_by_session(
    conn: Connection, token_hash: str, now: datetime
) -> tuple[UserRow, str] | None:
    """The user behind a live session and the session's CSRF token, in one query."""
    sql = _SELECT.replace("SELECT u.id", "SELECT s.csrf_token, u.id") + (
        " JOIN user_sessions s ON s.user_id = u.id"
        " WHERE s.token_hash = :h AND s.expires_at > :now AND u.active"
    )
    row = conn.execute(text(sql), {"h": token_hash, "now": now}).mappings().first()
    if row is None:
        return None
    values = dict(row)
    csrf = values.pop("csrf_token")
    return UserRow(**values), csrf


def find_user_by_token(conn: Connection, token_hash: str) -> UserRow | None:
    sql = _SELECT + (
        " JOIN api_tokens t ON t.user_id = u.id"
        " WHERE t.token_hash = :h AND t.revoked_at IS NULL AND u.active"
    )
    return _user(conn.execute(text(sql), {"h": token_hash}).mappings().first())


def list_users(
    conn: Connection,
    *,
    before: int | None,
    limit: int,
    issuer_ids: list[int] | None = None,
    store_ids: list[int] | None = None,
) -> list[UserRow]:
    """A keyset page of users, newest first; with ``issuer_ids`` / ``store_ids`` only the users
    limited to some of those (a scoped manager sees the users within their own scope)."""
    sql = _SELECT + (
        " WHERE (CAST(:b AS bigint) IS NULL OR u.id < :b)"
        " AND (CAST(:si AS bigint[]) IS NULL OR u.store_ids <@ CAST(:si AS bigint[]))"
        " AND (CAST(:ii AS bigint[]) IS NULL OR CASE WHEN u.store_ids IS NULL"
        "      THEN u.issuer_ids <@ CAST(:ii AS bigint[])"
        "      ELSE ARRAY(SELECT st.issuer_id FROM stores st WHERE st.id = ANY(u.store_ids))"
        "           <@ CAST(:ii AS bigint[]) END)"
        " ORDER BY u.id DESC LIMIT :l"
    )
    params = {"b": before, "l": limit, "si": store_ids, "ii": issuer_ids}
    rows = conn.execute(text(sql), params).mappings()
    return [UserRow(**row) for row in rows]


def count_users(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM users")).scalar_one())


def upsert_role(conn: Connection, name: str, grants: dict[str, str]) -> int:
    sql = text(
        "INSERT INTO roles (name, grants) VALUES (:n, CAST(:g AS jsonb))"
        " ON CONFLICT (name) DO UPDATE SET grants = excluded.grants RETURNING id"
    )
    return int(conn.execute(sql, {"n": name, "g": json.dumps(grants)}).scalar_one())


def insert_role_if_missing(conn: Connection, name: str, grants: dict[str, str]) -> None:
    sql = text(
        "INSERT INTO roles (name, grants) VALUES (:n, CAST(:g AS jsonb))"
        " ON CONFLICT (name) DO NOTHING"
    )
    conn.execute(sql, {"n": name, "g": json.dumps(grants)})


def find_role_id(conn: Connection, name: str) -> int | None:
    found = conn.execute(text("SELECT id FROM roles WHERE name = :n"), {"n": name})
    value = found.scalar_one_or_none()
    return None if value is None else int(value)


def list_roles(conn: Connection) -> list[tuple[str, dict[str, str]]]:
    rows = conn.execute(text("SELECT name, grants FROM roles ORDER BY name"))
    return [(row.name, row.grants) for row in rows]


def update_user(conn: Connection, user_id: int, **values: Any) -> None:
    """Set the given columns (names from code, values bound)."""
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    conn.execute(text(f"UPDATE users SET {assignments} WHERE id = :id"), {**values, "id": user_id})


def insert_session(
    conn: Connection,
    *,
    token_hash: str,
    user_id: int,
    csrf_token: str,
    ip: str | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    conn.execute(
        text(
            "INSERT INTO user_sessions (token_hash, user_id, csrf_token, ip, created_at,"
            " expires_at) VALUES (:h, :u, :c, :ip, :now, :exp)"
        ),
        {"h": token_hash, "u": user_id, "c": csrf_token, "ip": ip, "now": now, "exp": expires_at},
    )


def delete_sessions(
    conn: Connection, *, token_hash: str | None = None, user_id: int | None = None
) -> None:
    conn.execute(
        text(
            "DELETE FROM user_sessions WHERE token_hash = :h OR user_id = :u"
            " OR expires_at < now() - interval '1 day'"
        ),
        {"h": token_hash, "u": user_id},
    )


def insert_token(conn: Connection, *, user_id: int, token_hash: str, hint: str, name: str) -> int:
    sql = text(
        "INSERT INTO api_tokens (user_id, token_hash, hint, name) VALUES (:u, :h, :hint, :n)"
        " RETURNING id"
    )
    params = {"u": user_id, "h": token_hash, "hint": hint, "n": name}
    return int(conn.execute(sql, params).scalar_one())


def insert_user(
    conn: Connection,
    *,
    username: str,
    password_hash: str,
    role_id: int,
    store_ids: list[int] | None,
    issuer_ids: list[int] | None,
    created_at: datetime,
) -> int:
    sql = text(
        "INSERT INTO users (username, password_hash, role_id, store_ids, issuer_ids, created_at)"
        " VALUES (:n, :p, :r, :s, :i, :at) RETURNING id"
    )
    params = {
        "n": username,
        "p": password_hash,
        "r": role_id,
        "s": store_ids,
        "i": issuer_ids,
        "at": created_at,
    }
    return int(conn.execute(sql, params).scalar_one())


# Changes of who may do what are taken one at a time (a transaction-level advisory lock), so
# two administrators disabling each other at once cannot leave the installation without one.
_ACCESS_LOCK = 0x5C819A0E


def lock_access(conn: Connection) -> None:
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ACCESS_LOCK})


def find_role(conn: Connection, name: str) -> tuple[int, dict[str, str]] | None:
    row = conn.execute(text("SELECT id, grants FROM roles WHERE name = :n"), {"n": name}).first()
    return None if row is None else (int(row.id), dict(row.grants))


def unscoped_active_users(conn: Connection) -> list[tuple[int, str, dict[str, str]]]:
    """``(id, role, grants)`` of every active user limited to no issuer and no store: the
    candidates for full administrator."""
    rows = conn.execute(
        text(
            "SELECT u.id, r.name, r.grants FROM users u JOIN roles r ON r.id = u.role_id"
            " WHERE u.active AND u.store_ids IS NULL AND u.issuer_ids IS NULL"
        )
    )
    return [(int(row.id), str(row.name), dict(row.grants)) for row in rows]


def issuers_of_stores(conn: Connection, store_ids: list[int]) -> dict[int, int]:
    """store id -> its issuer id, for the stores that exist."""
    rows = conn.execute(
        text("SELECT id, issuer_id FROM stores WHERE id = ANY(:s)"), {"s": store_ids}
    )
    return {int(row.id): int(row.issuer_id) for row in rows}


def existing_issuers(conn: Connection, issuer_ids: list[int]) -> set[int]:
    rows = conn.execute(text("SELECT id FROM issuers WHERE id = ANY(:i)"), {"i": issuer_ids})
    return {int(row.id) for row in rows}


def revoke_tokens(conn: Connection, *, user_id: int, now: datetime) -> int:
    sql = text("UPDATE api_tokens SET revoked_at = :now WHERE user_id = :u AND revoked_at IS NULL")
    return int(conn.execute(sql, {"u": user_id, "now": now}).rowcount)
