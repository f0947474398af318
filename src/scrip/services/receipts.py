"""Two phases (S7.2): open a receipt, hold value inside it, then confirm or cancel it whole.

Confirming posts every pending transfer of the receipt and applies each operation's state at
once; cancelling, or the receipt's time-out (a worker job), voids them and puts every voucher
back in the state it had.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from scrip.db import history as history_db
from scrip.db import ledger as ledger_db
from scrip.db import promotions as promotions_db
from scrip.db import receipts as receipts_db
from scrip.db import vouchers as vouchers_db
from scrip.db.receipts import ReceiptOperation, ReceiptRow
from scrip.db.registers import RegisterContext
from scrip.db.vouchers import VoucherRow
from scrip.domain import ledger as rules
from scrip.domain import validity
from scrip.domain.blocks import stops_held_payments
from scrip.domain.errors import InvalidInput, ReceiptRefused, TransitionNotAllowed
from scrip.domain.lifecycle import State
from scrip.domain.operations import Kind, spec_of
from scrip.services import movements
from scrip.services.till import ReceiptInput, lock_open_receipt
from scrip.services.views import VoucherView


@dataclass(frozen=True, slots=True)
class ReceiptResult:
    receipt_id: int
    state: str
    receipt_number: str | None
    expires_at: datetime
    operations: int
    vouchers: tuple[VoucherView, ...] = ()
    forfeited_minor: int = 0


def open_receipt(
    conn: Connection,
    *,
    till: RegisterContext,
    receipt: ReceiptInput,
    timeout_s: int | None,
    now: datetime,
) -> ReceiptResult:
    if till.receipt_number_required and not receipt.number:
        raise InvalidInput(
            "this issuer requires the POS receipt number", code="receipt_number_required"
        )
    if timeout_s is not None and not 1 <= timeout_s <= 86_400:
        raise InvalidInput("timeout_s must be between 1 and 86400", code="invalid_timeout")
    row = receipts_db.insert_receipt(
        conn,
        issuer_id=till.issuer_id,
        store_id=till.store_id,
        register_id=till.register_id,
        receipt_number=receipt.number,
        z_report=receipt.z_report,
        operator_code=receipt.operator_code,
        amount_minor=receipt.amount_minor,
        state="open",
        opened_at=now,
        expires_at=now + timedelta(seconds=timeout_s or till.receipt_timeout_s),
    )
    if receipt.number and not receipts_db.claim_receipt_number(
        conn,
        issuer_id=till.issuer_id,
        receipt_number=receipt.number,
        register_id=till.register_id,
        receipt_id=row.id,
        exclusive=True,
    ):
        raise ReceiptRefused(
            "this receipt number was already claimed",
            code="receipt_number_claimed",
            receipt_number=receipt.number,
        )
    return ReceiptResult(row.id, row.state, row.receipt_number, row.expires_at, 0)


def _involved(conn: Connection, ops: list[ReceiptOperation]) -> dict[int, VoucherRow]:
    ids = [op.voucher_id for op in ops] + [
        op.target_voucher_id for op in ops if op.target_voucher_id is not None
    ]
    return {v.id: v for v in vouchers_db.lock_vouchers_by_id(conn, ids)}


def confirm(
    conn: Connection,
    *,
    till: RegisterContext,
    receipt_id: int,
    now: datetime,
    amounts: Mapping[uuid.UUID, int] | None = None,
) -> ReceiptResult:
    """Post every hold of the receipt. ``amounts`` may confirm a payment for less than it held
    (the customer paid the rest otherwise), and any operation for 0, which leaves it out (its
    hold is released as a cancel would). Each voucher must still be usable: valid, and not
    blocked since by a till or the back office (``voucher_blocked``)."""
    receipt = lock_open_receipt(conn, till=till, receipt_id=receipt_id, now=now)
    ops = receipts_db.pending_operations(conn, receipt.id)
    confirmed = _confirmed_amounts(ops, amounts or {})
    vouchers = _involved(conn, ops)
    for op in ops:
        if confirmed[op.id] > 0:
            _check_still_usable(op, vouchers[op.voucher_id], now)
    forfeited = 0
    for op in ops:
        if confirmed[op.id] == 0:
            release_operation(
                conn, op=op, vouchers=vouchers, ledger_state="voided", op_state="dropped", now=now
            )
            continue
        forfeited += _confirm_one(
            conn,
            till=till,
            receipt=receipt,
            op=op,
            vouchers=vouchers,
            amount=confirmed[op.id],
            now=now,
        )
    return _close(conn, receipt, "confirmed", vouchers, len(ops), now, forfeited=forfeited)


def _check_still_usable(op: ReceiptOperation, voucher: VoucherRow, now: datetime) -> None:
    if stops_held_payments(voucher.state, voucher.blocked_by):
        raise TransitionNotAllowed(
            "the voucher was blocked after this was held; confirm it for 0 or cancel",
            code="voucher_blocked",
            operation_id=str(op.operation_id),
        )
    if op.kind in (Kind.redeem, Kind.transfer):  # validity is checked at hold and again here
        validity.check(now, voucher.valid_from, voucher.valid_until)


def _confirmed_amounts(
    ops: list[ReceiptOperation], asked: Mapping[uuid.UUID, int]
) -> dict[int, int]:
    """The amount each pending operation row is confirmed for (by row id: one operation may
    span several vouchers)."""
    unknown = set(asked) - {op.operation_id for op in ops}
    if unknown:
        raise InvalidInput(
            "no pending operation with this id in the receipt",
            code="operation_not_in_receipt",
            operation_id=str(sorted(unknown)[0]),
        )
    amounts = {}
    for op in ops:
        amount = asked.get(op.operation_id, op.amount_minor)
        if amount > op.amount_minor or amount < 0:
            raise InvalidInput(
                "a confirmation can take at most what was held",
                code="confirm_exceeds_hold",
                held_minor=op.amount_minor,
                amount_minor=amount,
            )
        if 0 < amount < op.amount_minor and not spec_of(op.kind).partial_confirm:
            raise InvalidInput(
                "only a payment can be confirmed for less than it held (any operation for 0)",
                code="partial_confirm_not_allowed",
                kind=op.kind,
            )
        amounts[op.id] = amount
    return amounts


def _confirm_one(
    conn: Connection,
    *,
    till: RegisterContext,
    receipt: ReceiptRow,
    op: ReceiptOperation,
    vouchers: dict[int, VoucherRow],
    amount: int,
    now: datetime,
) -> int:
    """Post one held operation (for ``amount`` > 0) and apply what follows, as the one-call
    path does (``movements.after_posted``). Returns what a one-time voucher forfeited."""
    voucher = vouchers[op.voucher_id]
    target = vouchers.get(op.target_voucher_id) if op.target_voucher_id else None
    involved = [voucher] + ([target] if target else [])
    if amount == op.amount_minor:
        transfers = ledger_db.resolve_pending(
            conn,
            operation_id=op.operation_id,
            account_ids=[v.account_id for v in involved],
            state="posted",
            now=now,
        )
        movements.apply_held(involved, transfers, -1)
        movements.apply_posted(involved, transfers)
    else:
        _confirm_less(conn, till=till, voucher=voucher, op=op, amount=amount, now=now)
    forfeited = movements.after_posted(
        conn,
        kind=Kind(op.kind),
        till=till,
        voucher=voucher,
        target=target,
        state_on_confirm=op.state_on_confirm,
        operation_id=op.operation_id,
        receipt_id=receipt.id,
        now=now,
    )
    details: dict[str, object] | None = {"forfeited_minor": forfeited} if forfeited else None
    _release_and_settle(conn, op, involved, receipt.id, "recorded", amount=amount, details=details)
    return forfeited


def _confirm_less(
    conn: Connection,
    *,
    till: RegisterContext,
    voucher: VoucherRow,
    op: ReceiptOperation,
    amount: int,
    now: datetime,
) -> None:
    """The whole hold is released and only ``amount`` is posted, under the same operation."""
    released = ledger_db.resolve_pending(
        conn,
        operation_id=op.operation_id,
        account_ids=[voucher.account_id],
        state="voided",
        now=now,
    )
    movements.apply_held([voucher], released, -1)
    movements.post(
        conn,
        operation_id=op.operation_id,
        accounts=movements.accounts_for(conn, till=till, voucher=voucher),
        legs=rules.redemption_legs(amount),
        vouchers=[voucher],
        receipt_id=op.receipt_id,
        now=now,
    )


def _release_and_settle(
    conn: Connection,
    op: ReceiptOperation,
    involved: list[VoucherRow],
    receipt_id: int,
    status: str,
    amount: int | None = None,
    op_state: str | None = None,
    details: dict[str, object] | None = None,
) -> None:
    for v in involved:
        if v.pending_receipt_id == receipt_id:
            v.pending_receipt_id = None
        history_db.settle_pending(
            conn,
            operation_id=op.operation_id,
            voucher_id=v.id,
            status=status,
            balance_after_minor=v.balance_minor,
            state_after=v.state,
            amount_minor=amount,
            details=details if v is involved[0] else None,
        )
    if op_state is None:
        op_state = "confirmed" if status == "recorded" else "cancelled"
    receipts_db.set_operation_state(conn, op=op, state=op_state)


def release_operation(
    conn: Connection,
    *,
    op: ReceiptOperation,
    vouchers: dict[int, VoucherRow],
    ledger_state: str,
    op_state: str,
    now: datetime,
) -> None:
    """Undo one pending operation: its holds are voided (or expired) and a voucher moved into
    a transient state goes back to the state it had. Used by cancel, time-out and reversal."""
    voucher = vouchers[op.voucher_id]
    target = vouchers.get(op.target_voucher_id) if op.target_voucher_id else None
    involved = [voucher] + ([target] if target else [])
    transfers = ledger_db.resolve_pending(
        conn,
        operation_id=op.operation_id,
        account_ids=[v.account_id for v in involved],
        state=ledger_state,
        now=now,
    )
    movements.apply_held(involved, transfers, -1)
    if voucher.state in (State.activating, State.refunding):
        voucher.state = op.state_before
    _release_and_settle(conn, op, involved, op.receipt_id, "cancelled", op_state=op_state)


def cancel(
    conn: Connection, *, till: RegisterContext, receipt_id: int, now: datetime
) -> ReceiptResult:
    receipt = lock_open_receipt(conn, till=till, receipt_id=receipt_id, now=now)
    return release(conn, receipt=receipt, outcome="cancelled", now=now)


def release(conn: Connection, *, receipt: ReceiptRow, outcome: str, now: datetime) -> ReceiptResult:
    """Void (cancelled) or expire (timed out) every hold of a locked open receipt."""
    ops = receipts_db.pending_operations(conn, receipt.id)
    vouchers = _involved(conn, ops)
    ledger_state = "voided" if outcome == "cancelled" else "expired"
    for op in ops:
        release_operation(
            conn,
            op=op,
            vouchers=vouchers,
            ledger_state=ledger_state,
            op_state="cancelled",
            now=now,
        )
    return _close(conn, receipt, outcome, vouchers, len(ops), now)


def _close(
    conn: Connection,
    receipt: ReceiptRow,
    state: str,
    vouchers: dict[int, VoucherRow],
    count: int,
    now: datetime,
    *,
    forfeited: int = 0,
) -> ReceiptResult:
    for v in vouchers.values():
        vouchers_db.save_voucher(conn, v)
    receipts_db.close_receipt(conn, receipt_id=receipt.id, state=state, now=now)
    if receipt.has_pending_issues:  # most receipts never see a promotion: no statement
        promotions_db.settle_receipt(conn, receipt_id=receipt.id, state=state)
    return ReceiptResult(
        receipt.id,
        state,
        receipt.receipt_number,
        receipt.expires_at,
        count,
        tuple(VoucherView.of(v) for v in vouchers.values()),
        forfeited,
    )


def expire_due(conn: Connection, *, now: datetime, limit: int = 100) -> int:
    """The worker's job: release the holds of receipts past their time-out. Returns how many."""
    done = 0
    for receipt_id in receipts_db.due_receipt_ids(conn, now=now, limit=limit):
        receipt = receipts_db.lock_receipt(conn, receipt_id)
        if receipt is not None and receipt.state == "open":
            release(conn, receipt=receipt, outcome="expired", now=now)
            done += 1
    return done
