"""The audit trail (S13): every administrative action, append-only and hash-chained.

:func:`append` links a row to the one before it (``crypto.audit_hash``) under the chain's lock;
the database refuses UPDATE, DELETE and TRUNCATE on the table (migration 0007). Someone able to
get round that (a superuser dropping the trigger) can still change rows, but not without
breaking the chain: :func:`verify` recomputes every link and names the first row that does not
hold. Ids are consecutive, so a deleted row shows as a gap.

What is recorded: who (user and name), what (the action, e.g. ``POST /v1/admin/lots``, and its
target), when, from where (client address), the outcome (HTTP status or error code) and, where
the entry point knows them, the record before and after. Secrets never enter a row: the
entry points strip password, PIN, token and CSRF fields before handing a body over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from scrip import crypto
from scrip.db import audit as audit_db
from scrip.domain.scope import Scope, check_head_office


@dataclass(frozen=True, slots=True)
class Entry:
    actor: str
    action: str
    outcome: str
    user_id: int | None = None
    target: str | None = None
    ip: str | None = None
    before: Any = None
    after: Any = None


def _content(row: dict[str, Any]) -> dict[str, Any]:
    """What a row's hash covers: every column but the hash itself, in a stable form."""
    content = {key: value for key, value in row.items() if key != "hash"}
    content["occurred_at"] = row["occurred_at"].astimezone(UTC).isoformat()
    return content


def storable(value: Any) -> Any:
    """``value`` with every NUL character spelled out as the six characters ``\\u0000``:
    PostgreSQL keeps no NUL in text or jsonb, and a row that can't be stored would be a
    refusal nobody can see. The edge refuses such input (``api.edge``); this keeps the trail
    whole even so."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(v) for v in value]
    return value


def append(conn: Connection, entry: Entry, *, now: datetime) -> int:
    last_id, last_hash = audit_db.lock_chain_end(conn)
    row: dict[str, Any] = {
        "id": last_id + 1,
        "occurred_at": now,
        "actor": storable(entry.actor),
        "user_id": entry.user_id,
        "action": storable(entry.action),
        "target": storable(entry.target),
        "ip": entry.ip,
        "outcome": storable(entry.outcome),
        "before": storable(entry.before),
        "after": storable(entry.after),
        "prev_hash": last_hash or crypto.AUDIT_GENESIS,
    }
    # Hash exactly what the verifier will read back from the jsonb columns.
    row["before"], row["after"] = audit_db.as_stored(conn, row["before"], row["after"])
    row["hash"] = crypto.audit_hash(row["prev_hash"], _content(row))
    audit_db.insert_row(conn, row)
    return int(row["id"])


@dataclass(frozen=True, slots=True)
class Verdict:
    checked: int
    first_broken_id: int | None
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


def verify(conn: Connection, *, scope: Scope) -> Verdict:
    """Walk the chain from the start; stop at the first row whose link does not hold. The
    trail is the installation's: only a user with every issuer and store reads it."""
    check_head_office(scope)
    expected_id, prev_hash, checked = 1, crypto.AUDIT_GENESIS, 0
    for row in audit_db.iter_rows(conn):
        problem = _problem(row, expected_id, prev_hash)
        if problem is not None:
            return Verdict(checked, int(row["id"]), problem)
        expected_id, prev_hash, checked = row["id"] + 1, row["hash"], checked + 1
    return Verdict(checked, None, None)


def _problem(row: dict[str, Any], expected_id: int, prev_hash: str) -> str | None:
    if row["id"] != expected_id:
        return f"rows {expected_id} to {row['id'] - 1} are missing"
    if row["prev_hash"] != prev_hash:
        return "its link to the row before does not match"
    if crypto.audit_hash(prev_hash, _content(row)) != row["hash"]:
        return "its content does not match its hash"
    return None


def list_entries(
    conn: Connection, *, scope: Scope, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """A keyset page of the trail, newest first (see :func:`verify` for who may)."""
    check_head_office(scope)
    return audit_db.list_rows(conn, before=before, limit=limit)
