"""Receipts (POS bills) and the pending operations an open receipt holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from scrip.db import raw, rows
from scrip.db.batch import write


@dataclass(slots=True)
class ReceiptRow:
    id: int
    issuer_id: int
    store_id: int
    register_id: int
    receipt_number: str | None
    z_report: str | None
    operator_code: str | None
    amount_minor: int | None
    state: str
    opened_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    has_pending_issues: bool


@dataclass(frozen=True, slots=True)
class ReceiptOperation:
    id: int
    receipt_id: int
    operation_id: uuid.UUID
    voucher_id: int
    kind: str
    amount_minor: int
    state_before: str
    state_on_confirm: str
    target_voucher_id: int | None
    state: str


_COLUMNS = (
    "id, issuer_id, store_id, register_id, receipt_number, z_report, operator_code,"
    " amount_minor, state, opened_at, expires_at, closed_at, has_pending_issues"
)


def insert_receipt(conn: Connection, **values: object) -> ReceiptRow:
    statement = rows.insert_statement("receipts", tuple(values), _COLUMNS)
    row = raw.execute(conn, statement, values, dicts=True).fetchone()
    assert row is not None
    return ReceiptRow(**row)


def claim_receipt_number(
    conn: Connection,
    *,
    issuer_id: int,
    receipt_number: str,
    register_id: int,
    receipt_id: int | None,
    exclusive: bool,
) -> bool:
    """Claim a POS receipt number for a register; False when another register (or, when
    ``exclusive``, anyone at all) has claimed it before."""
    inserted = conn.execute(
        text(
            "INSERT INTO receipt_claims (issuer_id, receipt_number, register_id, receipt_id)"
            " VALUES (:i, :n, :reg, :r) ON CONFLICT DO NOTHING RETURNING 1"
        ),
        {"i": issuer_id, "n": receipt_number, "reg": register_id, "r": receipt_id},
    ).first()
    if inserted is not None:
        return True
    if exclusive:
        return False
    owner = conn.execute(
        text("SELECT register_id FROM receipt_claims WHERE issuer_id = :i AND receipt_number = :n"),
        {"i": issuer_id, "n": receipt_number},
    ).scalar_one()
    return int(owner) == register_id


_LOCK = text(f"SELECT {_COLUMNS} FROM receipts WHERE id = :id FOR UPDATE")


def lock_receipt(conn: Connection, receipt_id: int) -> ReceiptRow | None:
    row = raw.execute(conn, _LOCK, {"id": receipt_id}, dicts=True).fetchone()
    return ReceiptRow(**row) if row else None


def close_receipt(conn: Connection, *, receipt_id: int, state: str, now: datetime) -> None:
    write(
        conn,
        text("UPDATE receipts SET state = :state, closed_at = :now WHERE id = :id"),
        {"state": state, "now": now, "id": receipt_id},
    )


def mark_reversed(conn: Connection, *, receipt_id: int) -> None:
    """A confirmed receipt undone as a whole by its confirm key."""
    write(
        conn,
        text("UPDATE receipts SET state = 'reversed' WHERE id = :id AND state = 'confirmed'"),
        {"id": receipt_id},
    )


def mark_pending_issues(conn: Connection, *, receipt_id: int) -> None:
    """Promotions issued vouchers into this open receipt (its lock is held): its close must
    settle them (``db.promotions.settle_receipt``)."""
    write(
        conn,
        text("UPDATE receipts SET has_pending_issues = true WHERE id = :id"),
        {"id": receipt_id},
    )


def insert_operation(conn: Connection, **values: object) -> None:
    write(conn, rows.insert_statement("receipt_operations", tuple(values)), values)


_IN_STATE = text(
    "SELECT id, receipt_id, operation_id, voucher_id, kind, amount_minor, state_before,"
    " state_on_confirm, target_voucher_id, state FROM receipt_operations"
    " WHERE receipt_id = :r AND state = :state ORDER BY id"
)


def pending_operations(conn: Connection, receipt_id: int) -> list[ReceiptOperation]:
    return operations_in(conn, receipt_id, state="pending")


def operations_in(conn: Connection, receipt_id: int, *, state: str) -> list[ReceiptOperation]:
    """The receipt's operations in ``state``: pending (held), confirmed (posted), dropped
    (left out of the confirmation), cancelled or reversed."""
    found = raw.execute(conn, _IN_STATE, {"r": receipt_id, "state": state}, dicts=True)
    return [ReceiptOperation(**row) for row in found]


def operations_by_id(conn: Connection, operation_id: uuid.UUID) -> list[ReceiptOperation]:
    found = conn.execute(
        text(
            "SELECT id, receipt_id, operation_id, voucher_id, kind, amount_minor, state_before,"
            " state_on_confirm, target_voucher_id, state FROM receipt_operations"
            " WHERE operation_id = :op ORDER BY id"
        ),
        {"op": operation_id},
    ).mappings()
    return [ReceiptOperation(**row) for row in found]


def set_operation_state(conn: Connection, *, op: ReceiptOperation, state: str) -> None:
    write(
        conn,
        text("UPDATE receipt_operations SET state = :s WHERE id = :id"),
        {"s": state, "id": op.id},
    )


def due_receipt_ids(conn: Connection, *, now: datetime, limit: int) -> list[int]:
    found = conn.execute(
        text(
            "SELECT id FROM receipts WHERE state = 'open' AND expires_at <= :now"
            " ORDER BY expires_at LIMIT :limit FOR UPDATE SKIP LOCKED"
        ),
        {"now": now, "limit": limit},
    ).scalars()
    return [int(r) for r in found]
