"""Idempotency keys, stored in the same transaction as the effect they guard.

Two requests with one key race on the primary key: the second waits for the first to commit,
then finds its row and replays its answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from scrip.db.batch import write


@dataclass(frozen=True, slots=True)
class StoredKey:
    request_hash: str
    status_code: int | None
    response: Any
    operation_id: uuid.UUID | None
    reversed_at: datetime | None
    call: str | None = None
    receipt_id: int | None = None


# The key is not claimed first: it is inserted with the answer (serialized once: the text the
# till is sent) in the statement that writes the effect, or beside a refusal. A key already
# known (a replay, or the same call twice at once, whose insert waits on the primary key for
# the first to commit) fails that insert, so the whole transaction rolls back and the stored
# answer is replayed (``api.idempotency``). One statement fewer per call, and one row version
# instead of two.
_INSERT_ANSWERED = text(
    "INSERT INTO idempotency_keys (register_id, key, request_hash, status_code, response,"
    " operation_id, call, receipt_id) VALUES (:r, :k, :h, :s, CAST(:body AS jsonb), :op,"
    " :call, :receipt)"
)
KEY_CONSTRAINT = "pk_idempotency_keys"


def insert_answered(
    conn: Connection,
    *,
    register_id: int,
    key: str,
    request_hash: str,
    status_code: int,
    response_json: str,
    operation_id: uuid.UUID | None,
    call: str | None = None,
    receipt_id: int | None = None,
) -> None:
    """``call`` says what the call was (``services.reversal.Call``) and ``receipt_id`` the
    receipt it opened, confirmed or cancelled: what a reversal by this key undoes."""
    write(
        conn,
        _INSERT_ANSWERED,
        {
            "r": register_id,
            "k": key,
            "h": request_hash,
            "s": status_code,
            "body": response_json,
            "op": operation_id,
            "call": call,
            "receipt": receipt_id,
        },
        key=("idempotency_keys", register_id, key),
    )


def lock_key(conn: Connection, *, register_id: int, key: str) -> StoredKey | None:
    row = conn.execute(
        text(
            "SELECT request_hash, status_code, response, operation_id, reversed_at, call,"
            " receipt_id FROM idempotency_keys WHERE register_id = :r AND key = :k FOR UPDATE"
        ),
        {"r": register_id, "k": key},
    ).first()
    return StoredKey(*row) if row else None


def mark_reversed(conn: Connection, *, register_id: int, key: str, now: datetime) -> None:
    write(
        conn,
        text("UPDATE idempotency_keys SET reversed_at = :now WHERE register_id = :r AND key = :k"),
        {"now": now, "r": register_id, "k": key},
    )


def insert_tombstone(conn: Connection, *, register_id: int, key: str, now: datetime) -> bool:
    """Record that ``key`` was reversed before it ever arrived, so a late original is refused."""
    inserted = conn.execute(
        text(
            "INSERT INTO idempotency_keys (register_id, key, request_hash, reversed_at)"
            " VALUES (:r, :k, 'tombstone', :now) ON CONFLICT DO NOTHING RETURNING 1"
        ),
        {"r": register_id, "k": key, "now": now},
    ).first()
    return inserted is not None
