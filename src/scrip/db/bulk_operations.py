"""Bulk operation rows: the group record, its chunks' done marks, progress, status and the
refusal of an all-or-nothing run. The statement that applies a chunk is ``db.bulk_statement``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from scrip.db import rows
from scrip.db.bulk_statement import ChunkResult

_COLUMNS = (
    "id, issuer_id, action, selection, operator, reason, all_or_nothing, chunk_size, status,"
    " total_count, selected_count, done_count, refused_count, refused_sample, boundaries, error,"
    " created_at, started_at, finished_at, changes, store_ids, unknown_codes"
)


@dataclass(frozen=True, slots=True)
class BulkOperationRow:
    id: int
    issuer_id: int
    action: str
    selection: dict[str, Any]
    operator: str
    reason: str | None
    all_or_nothing: bool
    chunk_size: int
    status: str
    total_count: int
    selected_count: int
    done_count: int
    refused_count: int
    refused_sample: list[dict[str, Any]]
    boundaries: list[int] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    changes: dict[str, Any]
    store_ids: list[int] | None  # a store user's operation touches only these stores' vouchers
    unknown_codes: list[str]  # explicit codes that matched no voucher: refused as not_found


def insert_operation(conn: Connection, values: dict[str, Any]) -> int:
    return rows.insert(conn, "bulk_operations", values)


def _one(conn: Connection, sql: str, operation_id: int) -> BulkOperationRow | None:
    row = conn.execute(text(sql), {"id": operation_id}).mappings().first()
    return None if row is None else BulkOperationRow(**row)


def find_operation(conn: Connection, operation_id: int) -> BulkOperationRow | None:
    return _one(conn, f"SELECT {_COLUMNS} FROM bulk_operations WHERE id = :id", operation_id)


def lock_operation(conn: Connection, operation_id: int) -> BulkOperationRow | None:
    """The operation row, locked: one chunk of one operation runs at a time."""
    sql = f"SELECT {_COLUMNS} FROM bulk_operations WHERE id = :id FOR UPDATE"
    return _one(conn, sql, operation_id)


def chunk_done(conn: Connection, operation_id: int, chunk: int) -> bool:
    found = conn.execute(
        text("SELECT 1 FROM bulk_operation_chunks WHERE operation_id = :id AND chunk = :c"),
        {"id": operation_id, "c": chunk},
    ).first()
    return found is not None


def add_progress(
    conn: Connection, operation_id: int, chunk: int, result: ChunkResult, *, sample_size: int
) -> BulkOperationRow:
    """Count a chunk and mark it done, in the chunk's transaction (a second run of the same
    chunk fails on the primary key instead of counting it twice)."""
    conn.execute(
        text(
            "INSERT INTO bulk_operation_chunks (operation_id, chunk, selected_count, done_count,"
            " refused_count) VALUES (:id, :c, :selected, :done, :refused)"
        ),
        {
            "id": operation_id,
            "c": chunk,
            "selected": result.selected,
            "done": result.done,
            "refused": result.refused,
        },
    )
    row = conn.execute(
        text(
            "UPDATE bulk_operations SET selected_count = selected_count + :selected,"
            " done_count = done_count + :done, refused_count = refused_count + :refused,"
            " refused_sample = (SELECT coalesce(jsonb_agg(e ORDER BY n), '[]'::jsonb) FROM"
            "   jsonb_array_elements(refused_sample || CAST(:sample AS jsonb))"
            "   WITH ORDINALITY AS x(e, n) WHERE n <= :max)"
            f" WHERE id = :id RETURNING {_COLUMNS}"
        ),
        {
            "id": operation_id,
            "selected": result.selected,
            "done": result.done,
            "refused": result.refused,
            "sample": json.dumps(result.sample),
            "max": sample_size,
        },
    ).mappings()
    return BulkOperationRow(**row.one())


def set_status(
    conn: Connection, operation_id: int, *, status: str, now: datetime, error: str | None = None
) -> None:
    conn.execute(
        text(
            "UPDATE bulk_operations SET status = :status, error = :error,"
            " started_at = coalesce(started_at, :now), finished_at = :finished WHERE id = :id"
        ),
        {
            "status": status,
            "error": error,
            "now": now,
            "finished": now if status in ("done", "failed") else None,
            "id": operation_id,
        },
    )


def reset_progress(conn: Connection, operation_id: int) -> None:
    """Back to the start: an all-or-nothing run never commits part of its work."""
    conn.execute(
        text(
            "UPDATE bulk_operations SET selected_count = 0, done_count = 0, refused_count = 0,"
            " refused_sample = '[]'::jsonb, boundaries = NULL WHERE id = :id"
        ),
        {"id": operation_id},
    )


def record_refusal(conn: Connection, operation_id: int, *, refused: ChunkResult) -> None:
    """An all-or-nothing operation refused as a whole: what it would have refused."""
    conn.execute(
        text(
            "UPDATE bulk_operations SET selected_count = :selected, done_count = 0,"
            " refused_count = :refused, refused_sample = CAST(:sample AS jsonb) WHERE id = :id"
        ),
        {
            "id": operation_id,
            "selected": refused.selected,
            "refused": refused.refused,
            "sample": json.dumps(refused.sample),
        },
    )
