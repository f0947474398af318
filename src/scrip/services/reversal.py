"""Reversal by idempotency key (S7.3): undo an operation whose answer the till never got.

If the key was never seen, a tombstone is written so that the original, arriving late, is
refused instead of taking effect. A reversed hold is voided; a posted operation is undone with
compensating transfers, provided the vouchers have not moved on since.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from scrip.db import history as history_db
from scrip.db import idempotency as keys_db
from scrip.db import ledger as ledger_db
from scrip.db import promotions as promotions_db
from scrip.db import receipts as receipts_db
from scrip.db import vouchers as vouchers_db
from scrip.db.history import HistoryEntry, Where
from scrip.db.registers import RegisterContext
from scrip.db.vouchers import VoucherRow
from scrip.domain.errors import Conflict
from scrip.services import movements, receipts


@dataclass(frozen=True, slots=True)
class ReversalResult:
    idempotency_key: str
    outcome: str  # reversed | nothing_to_reverse | already_reversed
    operation_id: uuid.UUID | None


def reverse(conn: Connection, *, till: RegisterContext, key: str, now: datetime) -> ReversalResult:
    stored = keys_db.lock_key(conn, register_id=till.register_id, key=key)
    if stored is None:
        keys_db.insert_tombstone(conn, register_id=till.register_id, key=key, now=now)
        return ReversalResult(key, "nothing_to_reverse", None)
    if stored.reversed_at is not None:
        return ReversalResult(key, "already_reversed", stored.operation_id)
    if stored.operation_id is not None:
        _undo(conn, till=till, operation_id=stored.operation_id, now=now)
    keys_db.mark_reversed(conn, register_id=till.register_id, key=key, now=now)
    outcome = "reversed" if stored.operation_id is not None else "nothing_to_reverse"
    return ReversalResult(key, outcome, stored.operation_id)


def _undo(
    conn: Connection, *, till: RegisterContext, operation_id: uuid.UUID, now: datetime
) -> None:
    pending = [
        op for op in receipts_db.operations_by_id(conn, operation_id) if op.state == "pending"
    ]
    if pending:
        # The receipt is locked first, as confirm and cancel do, so they never deadlock.
        receipts_db.lock_receipt(conn, pending[0].receipt_id)
        for op in pending:
            _void_hold(conn, op=op, now=now)
        return
    rows = conn.execute(
        text(
            "SELECT voucher_id, state_before, state_after, receipt_id, receipt_number"
            " FROM voucher_history WHERE operation_id = :op AND status = 'recorded' ORDER BY id"
        ),
        {"op": operation_id},
    ).all()
    ids = [row.voucher_id for row in rows]
    vouchers = {v.id: v for v in vouchers_db.lock_vouchers_by_id(conn, ids)}
    for row in rows:
        if vouchers[row.voucher_id].state != row.state_after:
            raise Conflict(
                "the voucher has changed since; reverse it by a new operation",
                code="reversal_not_possible",
                state=vouchers[row.voucher_id].state,
            )
    posted = ledger_db.posted_transfers_of(conn, operation_id)
    compensation = [
        ledger_db.NewTransfer(t.credit_account_id, t.debit_account_id, t.amount_minor, "reversal")
        for t in posted
    ]
    reversal_id = uuid.uuid4()
    involved = list(vouchers.values())
    ledger_db.insert_transfers(
        conn,
        operation_id=reversal_id,
        transfers=compensation,
        currency=involved[0].currency,
        state="posted",
        receipt_id=None,
        now=now,
    )
    movements.apply_posted(involved, compensation)
    for voucher in involved:
        if voucher.balance_minor < voucher.held_minor:
            raise Conflict("the value has been spent since", code="reversal_not_possible")
    entries = []
    for row in rows:
        voucher = vouchers[row.voucher_id]
        voucher.state = row.state_before or row.state_after
        entries.append(_entry(voucher, reversal_id, operation_id, row.state_after))
    # The reversal's rows name the receipt of what they undo: the reports take a reversed
    # payment off its receipt (db.reports.receipts_paid).
    receipt_id, number = rows[0].receipt_id, rows[0].receipt_number
    where = Where(
        store_id=till.store_id,
        register_id=till.register_id,
        receipt_id=receipt_id,
        receipt_number=number,
    )
    _save(conn, involved, entries, where=where, now=now)
    # A promotion's issue: its points and its place under the limits go back too.
    scope = None
    if receipt_id is not None or number:
        scope = promotions_db.receipt_scope(
            receipt_id=receipt_id, issuer_id=till.issuer_id, number=number or ""
        )
    promotions_db.cancel_issued(conn, operation_id=operation_id, scope=scope)


def _void_hold(conn: Connection, *, op: receipts_db.ReceiptOperation, now: datetime) -> None:
    ids = [op.voucher_id] + ([op.target_voucher_id] if op.target_voucher_id else [])
    vouchers = {v.id: v for v in vouchers_db.lock_vouchers_by_id(conn, ids)}
    receipts.release_operation(
        conn, op=op, vouchers=vouchers, ledger_state="voided", op_state="reversed", now=now
    )
    for voucher in vouchers.values():
        vouchers_db.save_voucher(conn, voucher)


def _entry(
    voucher: VoucherRow, reversal_id: uuid.UUID, original: uuid.UUID, state_before: str
) -> HistoryEntry:
    return HistoryEntry(
        voucher_id=voucher.id,
        type="voucher.reversed",
        status="recorded",
        state_before=state_before,
        state_after=voucher.state,
        amount_minor=None,
        balance_after_minor=voucher.balance_minor,
        operation_id=reversal_id,
        details={"reversed_operation_id": str(original)},
    )


def _save(
    conn: Connection,
    vouchers: list[VoucherRow],
    entries: list[HistoryEntry],
    *,
    where: Where,
    now: datetime,
) -> None:
    for voucher in vouchers:
        vouchers_db.save_voucher(conn, voucher)
    history_db.record(conn, entries, where=where, now=now)
