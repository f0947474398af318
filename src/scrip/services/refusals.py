"""What a refusal still leaves behind: a wrong PIN counts even though the operation is refused.

The failed operation's transaction is rolled back whole; this runs in the next one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

from scrip.db import history as history_db
from scrip.db.history import HistoryEntry, Where
from scrip.db.registers import RegisterContext
from scrip.domain.errors import ScripError
from scrip.services.till import PinFailure


def keep(conn: Connection, error: ScripError, *, where: RegisterContext, now: datetime) -> None:
    failure = getattr(error, "pin_failure", None)
    if not isinstance(failure, PinFailure):
        return
    row = conn.execute(
        text(
            "UPDATE vouchers SET pin_failed_count = pin_failed_count + 1,"
            " pin_locked = pin_locked OR pin_failed_count + 1 >= :max WHERE id = :id"
            " RETURNING state, balance_minor, pin_failed_count, pin_locked"
        ),
        {"max": where.pin_max_attempts, "id": failure.voucher_id},
    ).one()
    entry = HistoryEntry(
        voucher_id=failure.voucher_id,
        type="pin.locked" if row.pin_locked else "pin.failed",
        status="recorded",
        state_before=row.state,
        state_after=row.state,
        amount_minor=None,
        balance_after_minor=row.balance_minor,
        details={"failed_count": row.pin_failed_count},
    )
    history_db.record(
        conn, [entry], where=Where(store_id=where.store_id, register_id=where.register_id), now=now
    )
