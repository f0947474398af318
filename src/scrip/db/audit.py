"""The audit trail's SQL: append one row under the chain's lock, read rows back in order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, text

# One chain for the installation: appends take this transaction-level advisory lock, so two
# administrators acting at once are linked one after the other, never both after the same row.
_CHAIN_LOCK = 0x5C819A0D

COLUMNS = (
    "id, occurred_at, actor, user_id, action, target, ip, outcome, before, after, prev_hash, hash"
)


def lock_chain_end(conn: Connection) -> tuple[int, str | None]:
    """Lock the chain and return the last row's id (0 when empty) and hash."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    last = conn.execute(text("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")).first()
    return (0, None) if last is None else (int(last.id), str(last.hash))


def insert_row(conn: Connection, row: dict[str, Any]) -> None:
    values = {**row, "before": _json(row["before"]), "after": _json(row["after"])}
    conn.execute(
        text(
            f"INSERT INTO audit_log ({COLUMNS}) VALUES (:id, :occurred_at, :actor, :user_id,"
            " :action, :target, :ip, :outcome, CAST(:before AS jsonb), CAST(:after AS jsonb),"
            " :prev_hash, :hash)"
        ),
        values,
    )


def as_stored(conn: Connection, before: object, after: object) -> tuple[Any, Any]:
    """``before`` and ``after`` as PostgreSQL gives them back once stored as jsonb. jsonb keeps
    numbers as numeric, so ``1e300`` comes back as an integer: a hash over the values as sent
    would not match what the verifier reads (schemathesis found it)."""
    row = conn.execute(
        text("SELECT CAST(:b AS jsonb), CAST(:a AS jsonb)"), {"b": _json(before), "a": _json(after)}
    ).one()
    return row[0], row[1]


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def iter_rows(conn: Connection, *, batch: int = 5_000) -> Iterator[dict[str, Any]]:
    """Every row in id order, a batch per query (keyset), for the verifier."""
    after = 0
    sql = text(f"SELECT {COLUMNS} FROM audit_log WHERE id > :a ORDER BY id LIMIT :l")
    while True:
        rows = [dict(r) for r in conn.execute(sql, {"a": after, "l": batch}).mappings()]
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1]["id"]


def list_rows(conn: Connection, *, before: int | None, limit: int) -> list[dict[str, Any]]:
    sql = text(
        f"SELECT {COLUMNS} FROM audit_log WHERE (CAST(:b AS bigint) IS NULL OR id < :b)"
        " ORDER BY id DESC LIMIT :l"
    )
    return [dict(r) for r in conn.execute(sql, {"b": before, "l": limit}).mappings()]
