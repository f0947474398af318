"""Reversal by idempotency key (S7.3): undo a call whose answer the till never got.

What a key undoes depends on what the call was (:class:`Call`, stored with the key):

* an **operation** (sale, payment, refund, reload, return, transfer, block …): a hold still in
  its open receipt is voided; a posted one is undone by compensating transfers, each naming the
  transfer it compensates, provided the vouchers have not moved on since (same state, the value
  still there, no refund resting on a payment being undone, the maximum balance kept);
* a **receipt confirmation**: every operation the receipt posted, at once (the receipt becomes
  ``reversed``); operations reversed one by one before are skipped;
* a **receipt opened** and still open: it is cancelled;
* a **cancel**, a **reversal**, or a receipt already closed: nothing to undo by that key —
  ``not_reversible``, and the key stays as it was (a retry of it still replays its answer).

A key this register never sent gets a tombstone (``nothing_to_reverse``), so the original,
arriving late, is refused. A refused call (``was_refused``) or an operation whose receipt
released it (``was_released``) moved nothing; their keys are closed all the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

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
from scrip.domain import ledger as rules
from scrip.domain.blocks import BlockedBy
from scrip.domain.errors import Conflict, InvalidInput, ScripError
from scrip.domain.lifecycle import State
from scrip.services import movements, receipts


class Call(StrEnum):
    """What a call stored under an idempotency key was, as ``idempotency_keys.call`` keeps it;
    None (the column's NULL) is an operation, which the key's ``operation_id`` names."""

    receipt_open = "receipt_open"
    receipt_confirm = "receipt_confirm"
    receipt_cancel = "receipt_cancel"
    reversal = "reversal"


@dataclass(frozen=True, slots=True)
class ReversalResult:
    idempotency_key: str
    outcome: str  # reversed | nothing_to_reverse | already_reversed | was_refused | was_released
    operation_id: uuid.UUID | None


def not_reversible(message: str, **details: object) -> ScripError:
    return Conflict(message, code="not_reversible", **details)


def reverse(
    conn: Connection, *, till: RegisterContext, key: str, own_key: str, now: datetime
) -> ReversalResult:
    """Undo what the call sent under ``key`` did; ``own_key`` is the reversal's own key."""
    if key == own_key:
        raise InvalidInput(
            "a reversal names the key of another call, not its own", code="reversal_of_itself"
        )
    stored = keys_db.lock_key(conn, register_id=till.register_id, key=key)
    if stored is None:
        if keys_db.insert_tombstone(conn, register_id=till.register_id, key=key, now=now):
            return ReversalResult(key, "nothing_to_reverse", None)
        # The original was being written as we looked: its insert held the key, ours waited
        # for it to commit and wrote nothing. It took effect, so it is undone like any other.
        stored = keys_db.lock_key(conn, register_id=till.register_id, key=key)
        assert stored is not None
    if stored.reversed_at is not None:
        return ReversalResult(key, "already_reversed", stored.operation_id)
    outcome = _undo_call(conn, till=till, call=stored.call, stored=stored, now=now)
    keys_db.mark_reversed(conn, register_id=till.register_id, key=key, now=now)
    return ReversalResult(key, outcome, stored.operation_id)


def _undo_call(
    conn: Connection,
    *,
    till: RegisterContext,
    call: str | None,
    stored: keys_db.StoredKey,
    now: datetime,
) -> str:
    if stored.status_code is not None and stored.status_code >= 400:
        return "was_refused"
    if call == Call.receipt_confirm and stored.receipt_id is not None:
        return _undo_receipt(conn, till=till, receipt_id=stored.receipt_id, now=now)
    if call == Call.receipt_open and stored.receipt_id is not None:
        return _cancel_if_open(conn, till=till, receipt_id=stored.receipt_id, now=now)
    if stored.operation_id is None:
        raise not_reversible(
            "this call moved no value itself: a cancel or a reversal can't be undone; make a"
            " new operation instead",
            call=call,
        )
    return _undo_operations(conn, till=till, operation_ids=[stored.operation_id], now=now)


def _cancel_if_open(
    conn: Connection, *, till: RegisterContext, receipt_id: int, now: datetime
) -> str:
    receipt = receipts_db.lock_receipt(conn, receipt_id)
    if receipt is None or receipt.state != "open":
        raise not_reversible(
            "the receipt is closed: reverse its confirmation's key, or each operation's",
            receipt_id=receipt_id,
            state=receipt.state if receipt else None,
        )
    receipts.release(conn, receipt=receipt, outcome="cancelled", now=now)
    return "reversed"


def _undo_receipt(
    conn: Connection, *, till: RegisterContext, receipt_id: int, now: datetime
) -> str:
    receipt = receipts_db.lock_receipt(conn, receipt_id)
    assert receipt is not None  # the confirm's key names a receipt it confirmed
    ops = receipts_db.operations_in(conn, receipt_id, state="confirmed")
    if ops:
        _undo_posted(
            conn, till=till, operation_ids=sorted({op.operation_id for op in ops}), now=now
        )
        for op in ops:
            receipts_db.set_operation_state(conn, op=op, state="reversed")
    receipts_db.mark_reversed(conn, receipt_id=receipt_id)
    return "reversed"


def _undo_operations(
    conn: Connection, *, till: RegisterContext, operation_ids: list[uuid.UUID], now: datetime
) -> str:
    in_receipts = [
        op for op_id in operation_ids for op in receipts_db.operations_by_id(conn, op_id)
    ]
    pending = [op for op in in_receipts if op.state == "pending"]
    if pending:
        # The receipt is locked first, as confirm and cancel do, so they never deadlock.
        receipts_db.lock_receipt(conn, pending[0].receipt_id)
        for op in pending:
            _void_hold(conn, op=op, now=now)
        return "reversed"
    if in_receipts and all(op.state in ("cancelled", "dropped") for op in in_receipts):
        return "was_released"
    if in_receipts and all(op.state == "reversed" for op in in_receipts):
        return "already_reversed"
    _undo_posted(conn, till=till, operation_ids=operation_ids, now=now)
    for op in in_receipts:
        receipts_db.set_operation_state(conn, op=op, state="reversed")
    return "reversed"


@dataclass(frozen=True, slots=True)
class _Done:
    """What one operation did to one voucher: its state before and after, where, and the
    history row's details (what an unblock lifted, to restore)."""

    voucher_id: int
    state_before: str | None
    state_after: str
    details: dict[str, object]
    receipt_id: int | None
    receipt_number: str | None


def _history_of(conn: Connection, operation_id: uuid.UUID) -> list[_Done]:
    rows = conn.execute(
        text(
            "SELECT voucher_id, state_before, state_after, details, receipt_id, receipt_number"
            " FROM voucher_history WHERE operation_id = :op AND status = 'recorded' ORDER BY id"
        ),
        {"op": operation_id},
    ).all()
    return [_Done(r[0], r[1], r[2], dict(r[3]), r[4], r[5]) for r in rows]


def _undo_posted(
    conn: Connection, *, till: RegisterContext, operation_ids: list[uuid.UUID], now: datetime
) -> None:
    """Undo posted operations, the last first, each by a reversal of its own (its own
    transfers and history rows naming the one operation it undid, as the reports read them);
    every voucher involved is locked once, in id order, before any is touched."""
    done = {op: _history_of(conn, op) for op in operation_ids}
    if not any(done.values()):
        raise not_reversible("the call left nothing to undo", call="operation")
    ids = [d.voucher_id for rows in done.values() for d in rows]
    vouchers = {v.id: v for v in vouchers_db.lock_vouchers_by_id(conn, ids)}
    for operation_id in reversed(operation_ids):
        _undo_one(
            conn,
            till=till,
            operation_id=operation_id,
            done=done[operation_id],
            vouchers=vouchers,
            now=now,
        )
    for voucher in vouchers.values():
        if voucher.balance_minor < voucher.held_minor:
            raise Conflict("the value has been spent since", code="reversal_not_possible")
        vouchers_db.save_voucher(conn, voucher)


def _undo_one(
    conn: Connection,
    *,
    till: RegisterContext,
    operation_id: uuid.UUID,
    done: list[_Done],
    vouchers: dict[int, VoucherRow],
    now: datetime,
) -> None:
    for d in done:
        if vouchers[d.voucher_id].state != d.state_after:
            raise Conflict(
                "the voucher has changed since; reverse it by a new operation",
                code="reversal_not_possible",
                state=vouchers[d.voucher_id].state,
            )
    involved = [vouchers[d.voucher_id] for d in done]
    posted = ledger_db.posted_transfers_of(conn, [operation_id])
    for voucher in involved:
        _check_bounds_after(conn, voucher, posted)
    compensation = [t.compensation() for t in posted]
    reversal_id = uuid.uuid4()
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
    entries = []
    for d in done:
        voucher = vouchers[d.voucher_id]
        voucher.state = d.state_before or d.state_after
        _restore_block(voucher, d)
        entries.append(_entry(voucher, reversal_id, operation_id, d.state_after))
    # The reversal's rows name the receipt of what they undo: the reports take a reversed
    # payment off its receipt (db.reports.receipts_paid).
    receipt_id, number = done[0].receipt_id, done[0].receipt_number
    where = Where(
        store_id=till.store_id,
        register_id=till.register_id,
        receipt_id=receipt_id,
        receipt_number=number,
    )
    history_db.record(conn, entries, where=where, now=now)
    # A promotion's issue: its points and its place under the limits go back too.
    scope = None
    if receipt_id is not None or number:
        scope = promotions_db.receipt_scope(
            receipt_id=receipt_id, issuer_id=till.issuer_id, number=number or ""
        )
    promotions_db.cancel_issued(conn, operation_id=operation_id, scope=scope)


def _check_bounds_after(
    conn: Connection, voucher: VoucherRow, posted: Sequence[ledger_db.PostedTransfer]
) -> None:
    """Undoing must not leave a refund resting on a payment that no longer counts, nor lift
    the voucher above its maximum balance."""
    mine = voucher.account_id
    unpaid = sum(
        t.amount_minor for t in posted if t.code == "redemption" and t.debit_account_id == mine
    )
    unrefunded = sum(
        t.amount_minor for t in posted if t.code == "refund" and t.credit_account_id == mine
    )
    if unpaid > unrefunded and ledger_db.refundable_minor(conn, mine) - unpaid + unrefunded < 0:
        raise Conflict(
            "what this paid was refunded since; reverse the refund first",
            code="reversal_not_possible",
            reason="refunded",
        )
    credited = sum(t.amount_minor for t in posted if t.debit_account_id == mine)
    debited = sum(t.amount_minor for t in posted if t.credit_account_id == mine)
    if credited > debited:
        try:
            rules.check_reload(
                balance=voucher.balance_minor,
                held_credit=ledger_db.pending_credits_minor(conn, mine),
                amount=credited - debited,
                max_balance=voucher.max_balance_minor,
            )
        except ScripError as error:
            raise Conflict(
                "undoing it would lift the voucher above its maximum balance",
                code="reversal_not_possible",
                reason="max_balance",
            ) from error


def _restore_block(voucher: VoucherRow, done: _Done) -> None:
    """Undoing a block clears it; undoing an unblock or a transfer's block puts back who had
    blocked the voucher (the unblock's history row kept it)."""
    if voucher.state != State.blocked:
        voucher.blocked_by = voucher.block_store_id = voucher.block_reason = None
        return
    lifted = done.details.get("lifted")
    if isinstance(lifted, dict):
        voucher.blocked_by = lifted.get("blocked_by") or BlockedBy.back_office.value
        voucher.block_reason = lifted.get("reason")
        store = lifted.get("store_id")
        voucher.block_store_id = int(store) if isinstance(store, int) else None


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
