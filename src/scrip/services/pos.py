"""The POS operations (S7.1): look up, sell, redeem, refund, return, reload, transfer, block.

Each is one function that locks what it touches, asks the domain what may happen, and hands
the decided movement to ``movements.move`` — the one place that holds it inside an open
receipt or posts it and applies what follows (the same step a receipt's confirmation runs) —
then writes the voucher's history row, all in the caller's transaction. What each kind of
operation is (its life-cycle action, history event, pending state) is ``domain.operations``.

Bounds count what is held and what was reversed, not only what is posted: a refund returns at
most what was paid with the voucher net of reversed payments and of refunds already posted or
held (``db.ledger.refundable_minor``); a credit (reload, refund, transfer in) may not lift the
balance plus what open receipts hold for the voucher above its maximum.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from scrip import crypto
from scrip.db import history as history_db
from scrip.db import ledger as ledger_db
from scrip.db import vouchers as vouchers_db
from scrip.db.history import HistoryEntry
from scrip.db.registers import RegisterContext
from scrip.db.vouchers import VoucherRow
from scrip.domain import ledger as rules
from scrip.domain import validity
from scrip.domain.blocks import BlockedBy, check_till_may_lift
from scrip.domain.codes import normalize
from scrip.domain.errors import InsufficientBalance, InvalidInput, NotFound, TransitionNotAllowed
from scrip.domain.lifecycle import Action, Classification, State, next_state
from scrip.domain.money import Money
from scrip.domain.operations import SPECS, Kind, projected_forfeit
from scrip.services import movements, till_rules
from scrip.services.activation import check_sellable
from scrip.services.movements import Move
from scrip.services.till import (
    Context,
    ReceiptInput,
    check_currency,
    check_not_pending_elsewhere,
    check_pin,
    check_receipt_minimum,
    context,
    lock_voucher,
    lock_vouchers,
)
from scrip.services.views import OperationResult, VoucherView


def look_up(conn: Connection, *, till: RegisterContext, code: str) -> VoucherView:
    voucher = vouchers_db.find_voucher(conn, issuer_id=till.issuer_id, code=normalize(code))
    if voucher is None:
        raise NotFound("no voucher with this code", code="voucher_not_found")
    return VoucherView.of(voucher)


def history(conn: Connection, *, till: RegisterContext, code: str) -> list[dict[str, object]]:
    voucher = vouchers_db.find_voucher(conn, issuer_id=till.issuer_id, code=normalize(code))
    if voucher is None:
        raise NotFound("no voucher with this code", code="voucher_not_found")
    return history_db.list_history(conn, voucher.id)


@dataclass(frozen=True, slots=True)
class SaleItem:
    code: str
    amount_minor: int | None = None


def _sale_value(voucher: VoucherRow, item: SaleItem) -> int:
    if voucher.value_mode == "fixed" or voucher.face_value_minor is not None:
        fixed = voucher.face_value_minor or 0
        if item.amount_minor is not None and item.amount_minor != fixed:
            raise InvalidInput(
                "this voucher has a fixed value",
                code="fixed_value",
                face_value_minor=fixed,
                amount_minor=item.amount_minor,
            )
        return fixed
    if item.amount_minor is None or item.amount_minor <= 0:
        raise InvalidInput(
            "a variable-value voucher needs a positive amount", code="amount_required"
        )
    if voucher.max_balance_minor is not None and item.amount_minor > voucher.max_balance_minor:
        raise InvalidInput(
            "the amount exceeds the type's maximum balance",
            code="max_balance_exceeded",
            max_balance_minor=voucher.max_balance_minor,
        )
    return item.amount_minor


def _sale_legs(voucher: VoucherRow, value: int) -> list[rules.Leg]:
    if voucher.classification == Classification.promotional_voucher:
        return rules.promo_issue_legs(value)  # given away: funded by promotional expense
    return rules.sale_legs(value, voucher.extra_value_minor)


def sell(
    conn: Connection,
    *,
    till: RegisterContext,
    items: Sequence[SaleItem],
    receipt: ReceiptInput,
    now: datetime,
) -> OperationResult:
    """Sell and activate one or more vouchers on one receipt."""
    if not items:
        raise InvalidInput("nothing to sell", code="no_items")
    ctx = context(conn, till=till, receipt=receipt, now=now)
    locked = lock_vouchers(conn, till=till, codes=[i.code for i in items])
    operation_id = uuid.uuid4()
    total = 0
    for item, voucher in zip(items, locked.values(), strict=True):
        check_not_pending_elsewhere(voucher, ctx)
        next_state(Classification(voucher.classification), State(voucher.state), Action.activate)
        check_sellable(voucher, now=now)
        check_receipt_minimum(voucher.min_activation_receipt_minor, ctx, what="activation")
        value = _sale_value(voucher, item)
        legs = _sale_legs(voucher, value)
        needs = tuple({leg.debit for leg in legs} & {"promo"})
        accounts = movements.accounts_for(conn, till=till, voucher=voucher, needs=needs)
        state_before = voucher.state
        sale = Move(SPECS[Kind.sell], operation_id, voucher, legs, accounts, value, State.active)
        movements.move(conn, sale, ctx=ctx, till=till, now=now)
        total += value
        _finish(
            conn,
            ctx,
            operation_id,
            voucher,
            sale.spec.event,
            value,
            state_before,
            now,
            details={"paid_minor": value, "bonus_minor": voucher.extra_value_minor},
        )
    return _result(operation_id, Kind.sell, ctx, total, list(locked.values()))


def redeem(
    conn: Connection,
    *,
    till: RegisterContext,
    code: str,
    amount: Money,
    partial_allowed: bool,
    pin: str | None,
    receipt: ReceiptInput,
    now: datetime,
    keyring: crypto.Keyring | None = None,
) -> OperationResult:
    """Pay with a voucher. Inside an open receipt the amount is held until confirmation.
    ``keyring`` opens the vault for a lot voucher's secret number. The answer says what a
    one-time voucher forfeited (or, held, what confirming in full will forfeit)."""
    ctx = context(conn, till=till, receipt=receipt, now=now)
    voucher = lock_voucher(conn, till=till, code=code)
    check_currency(voucher, amount)
    check_pin(voucher, pin, max_attempts=till.pin_max_attempts, keyring=keyring)
    next_state(Classification(voucher.classification), State(voucher.state), Action.redeem)
    validity.check(now, voucher.valid_from, voucher.valid_until)
    check_receipt_minimum(voucher.min_payment_receipt_minor, ctx, what="payment")
    if not voucher.multi_use:
        check_not_pending_elsewhere(voucher, ctx)
    payment = till_rules.check_payment(
        conn,
        till=till,
        voucher=voucher,
        basket=receipt.basket,
        ctx=ctx,
        requested_minor=amount.amount,
        partial_allowed=partial_allowed,
        now=now,
    )
    taken = rules.check_spend(
        balance=voucher.balance_minor,
        held=voucher.held_minor,
        amount=payment.amount_minor,
        partial_allowed=partial_allowed,
    )
    operation_id = uuid.uuid4()
    state_before = voucher.state
    paid = Move(
        SPECS[Kind.redeem],
        operation_id,
        voucher,
        rules.redemption_legs(taken),
        movements.accounts_for(conn, till=till, voucher=voucher),
        taken,
        state_before,
    )
    forfeited = movements.move(conn, paid, ctx=ctx, till=till, now=now)
    if ctx.two_phase:
        forfeited = projected_forfeit(
            multi_use=voucher.multi_use, balance=voucher.balance_minor, held=voucher.held_minor
        )
    details: dict[str, object] = {"requested_minor": amount.amount}
    if forfeited and not ctx.two_phase:
        details["forfeited_minor"] = forfeited
    _finish(
        conn, ctx, operation_id, voucher, paid.spec.event, taken, state_before, now, details=details
    )
    result = _result(operation_id, Kind.redeem, ctx, taken, [voucher], forfeited=forfeited)
    return till_rules.answer(result, payment)


def _check_credit_bound(conn: Connection, voucher: VoucherRow, amount: int) -> None:
    """A credit may not lift the balance plus what open receipts hold for the voucher above
    its maximum. Only the receipt the voucher belongs to can hold credits for it."""
    if voucher.max_balance_minor is None:
        return
    pending = 0
    if voucher.pending_receipt_id is not None:
        pending = ledger_db.pending_credits_minor(conn, voucher.account_id)
    rules.check_reload(
        balance=voucher.balance_minor,
        held_credit=pending,
        amount=amount,
        max_balance=voucher.max_balance_minor,
    )


def _credit(
    conn: Connection,
    *,
    till: RegisterContext,
    code: str,
    amount: Money,
    receipt: ReceiptInput,
    now: datetime,
    kind: Kind,
) -> OperationResult:
    """Value flowing back onto a voucher from the store: a refund or a reload."""
    spec = SPECS[kind]
    ctx = context(conn, till=till, receipt=receipt, now=now)
    voucher = lock_voucher(conn, till=till, code=code)
    check_currency(voucher, amount)
    check_not_pending_elsewhere(voucher, ctx)
    target = next_state(Classification(voucher.classification), State(voucher.state), spec.action)
    if kind is Kind.reload:
        if not voucher.reloadable:
            raise TransitionNotAllowed("this voucher type is not reloadable", code="not_reloadable")
        validity.check(now, voucher.valid_from, voucher.valid_until)
        legs = rules.reload_legs(amount.amount)
    else:
        refundable = ledger_db.refundable_minor(conn, voucher.account_id)
        rules.check_refund(amount=amount.amount, refundable=refundable)
        legs = rules.refund_legs(amount.amount)
    _check_credit_bound(conn, voucher, amount.amount)
    operation_id = uuid.uuid4()
    accounts = movements.accounts_for(conn, till=till, voucher=voucher)
    state_before = voucher.state
    credit = Move(spec, operation_id, voucher, legs, accounts, amount.amount, target)
    movements.move(conn, credit, ctx=ctx, till=till, now=now)
    _finish(conn, ctx, operation_id, voucher, spec.event, amount.amount, state_before, now)
    return _result(operation_id, kind, ctx, amount.amount, [voucher])


def refund(
    conn: Connection,
    *,
    till: RegisterContext,
    code: str,
    amount: Money,
    receipt: ReceiptInput,
    now: datetime,
) -> OperationResult:
    """Goods paid with the voucher come back: the amount returns to the voucher."""
    return _credit(
        conn, till=till, code=code, amount=amount, receipt=receipt, now=now, kind=Kind.refund
    )


def reload(
    conn: Connection,
    *,
    till: RegisterContext,
    code: str,
    amount: Money,
    receipt: ReceiptInput,
    now: datetime,
) -> OperationResult:
    return _credit(
        conn, till=till, code=code, amount=amount, receipt=receipt, now=now, kind=Kind.reload
    )


def return_unused(
    conn: Connection, *, till: RegisterContext, code: str, receipt: ReceiptInput, now: datetime
) -> OperationResult:
    """An unused certificate is handed back: the customer gets the price, the bonus returns.
    Unused: nothing paid with it that was not reversed or given back, nothing held on it."""
    ctx = context(conn, till=till, receipt=receipt, now=now)
    voucher = lock_voucher(conn, till=till, code=code)
    check_not_pending_elsewhere(voucher, ctx)
    action = (
        Action.refund_unused_to_prepared if voucher.return_to_prepared else Action.refund_unused
    )
    target = next_state(Classification(voucher.classification), State(voucher.state), action)
    if (
        voucher.held_minor > 0
        or voucher.pending_receipt_id is not None
        or ledger_db.refundable_minor(conn, voucher.account_id) > 0
    ):
        raise TransitionNotAllowed("only an unused voucher can be returned", code="voucher_used")
    legs = rules.return_unused_legs(voucher.balance_minor, voucher.extra_value_minor)
    paid = sum(leg.amount for leg in legs if leg.credit == rules.STORE)
    operation_id = uuid.uuid4()
    accounts = movements.accounts_for(conn, till=till, voucher=voucher, needs=("promo",))
    state_before = voucher.state
    returned = Move(SPECS[Kind.return_unused], operation_id, voucher, legs, accounts, paid, target)
    movements.move(conn, returned, ctx=ctx, till=till, now=now)
    _finish(conn, ctx, operation_id, voucher, returned.spec.event, paid, state_before, now)
    return _result(operation_id, Kind.return_unused, ctx, paid, [voucher])


def transfer_balance(
    conn: Connection,
    *,
    till: RegisterContext,
    code: str,
    target_code: str,
    pin: str | None,
    receipt: ReceiptInput,
    now: datetime,
    keyring: crypto.Keyring | None = None,
) -> OperationResult:
    """A lost or damaged card: its available balance moves to a new card, the old is blocked."""
    ctx = context(conn, till=till, receipt=receipt, now=now)
    locked = lock_vouchers(conn, till=till, codes=[code, target_code])
    source, target = locked[normalize(code)], locked[normalize(target_code)]
    for voucher in (source, target):
        check_not_pending_elsewhere(voucher, ctx)
    if source.currency != target.currency:
        raise InvalidInput("the cards are in different currencies", code="currency_mismatch")
    check_pin(source, pin, max_attempts=till.pin_max_attempts, keyring=keyring)
    source_state = next_state(
        Classification(source.classification), State(source.state), Action.transfer_out
    )
    next_state(Classification(target.classification), State(target.state), Action.transfer_in)
    amount = source.balance_minor - source.held_minor
    if amount <= 0:
        raise InsufficientBalance(
            "nothing to transfer", code="insufficient_balance", available=amount
        )
    _check_credit_bound(conn, target, amount)
    operation_id = uuid.uuid4()
    before = (source.state, target.state)
    moved = Move(
        SPECS[Kind.transfer],
        operation_id,
        source,
        rules.transfer_legs(amount),
        movements.accounts_for(conn, till=till, voucher=source, target=target),
        amount,
        source_state,
        target=target,
    )
    movements.move(conn, moved, ctx=ctx, till=till, now=now)
    sides: list[tuple[VoucherRow, str, str, dict[str, object]]] = [
        (source, "voucher.transferred_out", before[0], {"target_code": target.code}),
        (target, "voucher.transferred_in", before[1], {"source_code": source.code}),
    ]
    for voucher, event, state_before, details in sides:
        _finish(conn, ctx, operation_id, voucher, event, amount, state_before, now, details=details)
    return _result(operation_id, Kind.transfer, ctx, amount, [source, target])


_NO_VALUE_ACTIONS = {
    "block": (Action.block, "voucher.blocked"),
    "unblock": (Action.unblock, "voucher.unblocked"),
    "hand_over": (Action.hand_over, "voucher.handed_over"),
}


def change_state(
    conn: Connection,
    *,
    till: RegisterContext,
    code: str,
    what: str,
    receipt: ReceiptInput,
    now: datetime,
    reason: str | None = None,
) -> OperationResult:
    """Block, unblock or hand over: no value moves, so it takes effect at once. A till's
    block records the till's store and the reason; a till unblocks only what a till of its
    store blocked (``domain.blocks``)."""
    action, event = _NO_VALUE_ACTIONS[what]
    ctx = context(conn, till=till, receipt=receipt, now=now)
    voucher = lock_voucher(conn, till=till, code=code)
    state_before = voucher.state
    target = next_state(Classification(voucher.classification), State(voucher.state), action)
    details: dict[str, object] = {}
    if action is Action.block:
        voucher.blocked_by, voucher.block_store_id = BlockedBy.till.value, till.store_id
        voucher.block_reason = reason
        details = {"blocked_by": BlockedBy.till.value, "reason": reason}
    elif action is Action.unblock:
        check_till_may_lift(voucher.blocked_by, voucher.block_store_id, till.store_id)
        lifted = {
            "blocked_by": voucher.blocked_by,
            "store_id": voucher.block_store_id,
            "reason": voucher.block_reason,
        }
        details = {"lifted": lifted}
        if reason:
            details["reason"] = reason
        voucher.blocked_by = voucher.block_store_id = voucher.block_reason = None
    voucher.state = target
    operation_id = uuid.uuid4()
    recorded = Context(ctx.where, None, ctx.amount_minor)
    _finish(conn, recorded, operation_id, voucher, event, None, state_before, now, details=details)
    return _result(operation_id, what, recorded, 0, [voucher])


def _finish(
    conn: Connection,
    ctx: Context,
    operation_id: uuid.UUID,
    voucher: VoucherRow,
    event: str,
    amount: int | None,
    state_before: str,
    now: datetime,
    details: dict[str, object] | None = None,
) -> None:
    """Write the voucher back and its history row, in the same transaction as the transfers."""
    vouchers_db.save_voucher(conn, voucher)
    entry = HistoryEntry(
        voucher_id=voucher.id,
        type=event,
        status="pending" if ctx.two_phase else "recorded",
        state_before=state_before,
        state_after=voucher.state,
        amount_minor=amount,
        balance_after_minor=voucher.balance_minor,
        operation_id=operation_id,
        details=dict(details or {}),
    )
    history_db.record(conn, [entry], where=ctx.where, now=now)


def _result(
    operation_id: uuid.UUID,
    kind: str,
    ctx: Context,
    amount: int,
    vouchers: Sequence[VoucherRow],
    *,
    forfeited: int = 0,
) -> OperationResult:
    return OperationResult(
        operation_id=operation_id,
        kind=str(kind),
        forfeited_minor=forfeited,
        status="pending" if ctx.two_phase else "recorded",
        amount_minor=amount,
        currency=vouchers[0].currency,
        receipt_id=ctx.receipt_id,
        vouchers=tuple(VoucherView.of(v) for v in vouchers),
    )
