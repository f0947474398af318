"""The transaction history (chronology) of every voucher: one row per action, never deleted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import bindparam

from scrip.db.batch import write


@dataclass(frozen=True, slots=True)
class Where:
    """Where and under which receipt an action happened at the till."""

    store_id: int | None = None
    register_id: int | None = None
    receipt_id: int | None = None
    receipt_number: str | None = None
    z_report: str | None = None
    operator_code: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    voucher_id: int
    type: str
    status: str
    state_before: str | None
    state_after: str
    amount_minor: int | None
    balance_after_minor: int
    operation_id: uuid.UUID | None = None
    details: dict[str, Any] = field(default_factory=dict)


# occurred_at is when the action happened at the till; recorded_at is the database's own clock
# when the row was written (they differ for records that arrive late, e.g. from offline tills).
_INSERT = text(
    "INSERT INTO voucher_history (voucher_id, operation_id, type, status, occurred_at, store_id,"
    " register_id, receipt_id, receipt_number, z_report, operator_code, amount_minor,"
    " balance_after_minor, state_before, state_after, details, recorded_at) VALUES (:voucher_id,"
    " :operation_id, :type, :status, :now, :store_id, :register_id, :receipt_id,"
    " :receipt_number, :z_report, :operator_code, :amount_minor, :balance_after_minor,"
    " :state_before, :state_after, :details, clock_timestamp())"
).bindparams(bindparam("details", type_=JSONB))


def record(conn: Connection, entries: list[HistoryEntry], *, where: Where, now: datetime) -> None:
    if not entries:
        return
    place = {
        "store_id": where.store_id,
        "register_id": where.register_id,
        "receipt_id": where.receipt_id,
        "receipt_number": where.receipt_number,
        "z_report": where.z_report,
        "operator_code": where.operator_code,
        "now": now,
    }
    rows = [
        {
            "voucher_id": e.voucher_id,
            "operation_id": e.operation_id,
            "type": e.type,
            "status": e.status,
            "amount_minor": e.amount_minor,
            "balance_after_minor": e.balance_after_minor,
            "state_before": e.state_before,
            "state_after": e.state_after,
            "details": e.details,
            **place,
        }
        for e in entries
    ]
    write(conn, _INSERT, rows)


def settle_pending(
    conn: Connection,
    *,
    operation_id: uuid.UUID,
    voucher_id: int,
    status: str,
    balance_after_minor: int,
    state_after: str,
    amount_minor: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """A pending row of an open receipt becomes recorded (confirmed) or cancelled; a partial
    confirmation also records the amount finally taken, and ``details`` are added to the row's
    (what a one-time voucher forfeited)."""
    write(
        conn,
        _SETTLE,
        {
            "details": details or {},
            "status": status,
            "balance": balance_after_minor,
            "state": state_after,
            "op": operation_id,
            "v": voucher_id,
            "amount": amount_minor,
        },
    )


_SETTLE = text(
    "UPDATE voucher_history SET status = :status, balance_after_minor = :balance,"
    " state_after = :state, amount_minor = coalesce(:amount, amount_minor),"
    " details = details || :details"
    " WHERE operation_id = :op AND voucher_id = :v AND status = 'pending'"
).bindparams(bindparam("details", type_=JSONB))


def list_history(conn: Connection, voucher_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT h.id, h.operation_id, h.type, h.status, h.occurred_at, h.recorded_at,"
            " s.code AS store_code, r.serial_number AS register_serial, h.receipt_id,"
            " h.receipt_number, h.z_report, h.operator_code, h.amount_minor,"
            " h.balance_after_minor, h.state_before, h.state_after, h.details"
            " FROM voucher_history h LEFT JOIN stores s ON s.id = h.store_id"
            " LEFT JOIN registers r ON r.id = h.register_id"
            " WHERE h.voucher_id = :v ORDER BY h.id"
        ),
        {"v": voucher_id},
    ).mappings()
    return [dict(row) for row in rows]
