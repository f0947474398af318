"""The POS operations (S7.1): look up, sell, redeem, refund, return, reload, transfer, block.

Each is one function that locks what it touches, asks the domain, moves value through the
ledger (posted, or held inside an open receipt) and writes the voucher's history row, all in
the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from scrip import crypto
from scrip.db import history as history_db
from scrip.db import receipts as receipts_db
from scrip.db import vouchers as vouchers_db
from scrip.db.history import HistoryEntry
from scrip.db.ledger import spent_minor
from scrip.db.registers import RegisterContext
from scrip.db.vouchers import VoucherRow
from scrip.domain import ledger as rules
from scrip.domain import validity
from scrip.domain.codes import normalize
from scrip.domain.errors import InsufficientBalance, InvalidInput, NotFound, TransitionNotAllowed
from scrip.domain.lifecycle import Action, Classification, State, next_state
from scrip.domain.money import Money
from scrip.services import movements, till_rules
from scrip.services.activation import activate, check_sellable
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
        classification = Classification(voucher.classification)
        next_state(classification, State(voucher.state), Action.activate)
        check_sellable(voucher, now=now)
        check_receipt_minimum(voucher.min_activation_receipt_minor, ctx, what="activation")
        value = _sale_value(voucher, item)
        legs = _sale_legs(voucher, value)
        needs = tuple({leg.debit for leg in legs} & {"promo"})
        accounts = movements.accounts_for(conn, till=till, voucher=voucher, needs=needs)
        state_before = voucher.state
        if ctx.receipt_id is not None:
            movements.hold(
                conn,
                operation_id=operation_id,
                accounts=accounts,
                legs=legs,
                vouchers=[voucher],
                receipt_id=ctx.receipt_id,
                now=now,
            )
            voucher.state = State.activating
            voucher.pending_receipt_id = ctx.receipt_id
            _pending_op(conn, ctx, operation_id, voucher, "sell", value, state_before, State.active)
        else:
            movements.post(
                conn,
                operation_id=operation_id,
                accounts=accounts,
                legs=legs,
                vouchers=[voucher],
                receipt_id=None,
                now=now,
            )
            activate(voucher, till=till, now=now)
        total += value
        _finish(
            conn,
            ctx,
            operation_id,
            voucher,
            "voucher.sold",
            value,
            state_before,
            now,
            details={"paid_minor": value, "bonus_minor": voucher.extra_value_minor},
        )
    return _result(operation_id, "sell", ctx, total, list(locked.values()))


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
    ``keyring`` opens the vault for a lot voucher's secret number."""
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
    legs = rules.redemption_legs(taken)
    accounts = movements.accounts_for(conn, till=till, voucher=voucher)
    state_before = voucher.state
    details: dict[str, object] = {"requested_minor": amount.amount}
    if ctx.receipt_id is not None:
        movements.hold(
            conn,
            operation_id=operation_id,
            accounts=accounts,
            legs=legs,
            vouchers=[voucher],
            receipt_id=ctx.receipt_id,
            now=now,
        )
        if not voucher.multi_use:
            voucher.pending_receipt_id = ctx.receipt_id
        _pending_op(conn, ctx, operation_id, voucher, "redeem", taken, state_before, state_before)
    else:
        movements.post(
            conn,
            operation_id=operation_id,
            accounts=accounts,
            legs=legs,
            vouchers=[voucher],
            receipt_id=None,
            now=now,
        )
        forfeited = movements.settle_after_debit(
            conn, till=till, voucher=voucher, operation_id=operation_id, receipt_id=None, now=now
        )
        if forfeited:
            details["forfeited_minor"] = forfeited
    _finish(
        conn,
        ctx,
        operation_id,
        voucher,
        "voucher.redeemed",
        taken,
        state_before,
        now,
        details=details,
    )
    return till_rules.answer(_result(operation_id, "redeem", ctx, taken, [voucher]), payment)


def _credit(
    conn: Connection,
    *,
    till: RegisterContext,
    code: str,
    amount: Money,
    receipt: ReceiptInput,
    now: datetime,
    action: Action,
    kind: str,
    event: str,
) -> OperationResult:
    """Value flowing back onto a voucher from the store: a refund or a reload."""
    ctx = context(conn, till=till, receipt=receipt, now=now)
    voucher = lock_voucher(conn, till=till, code=code)
    check_currency(voucher, amount)
    check_not_pending_elsewhere(voucher, ctx)
    target = next_state(Classification(voucher.classification), State(voucher.state), action)
    if action is Action.reload:
        if not voucher.reloadable:
            raise TransitionNotAllowed("this voucher type is not reloadable", code="not_reloadable")
        validity.check(now, voucher.valid_from, voucher.valid_until)
        rules.check_reload(
            balance=voucher.balance_minor,
            held_credit=0,
            amount=amount.amount,
            max_balance=voucher.max_balance_minor,
        )
        legs = rules.reload_legs(amount.amount)
    else:
        spent = _spent(conn, voucher)
        if amount.amount > spent:
            raise InsufficientBalance(
                "a refund can return at most what was paid with this voucher",
                code="refund_exceeds_spent",
                spent_minor=spent,
                amount_minor=amount.amount,
            )
        legs = rules.refund_legs(amount.amount)
    operation_id = uuid.uuid4()
    accounts = movements.accounts_for(conn, till=till, voucher=voucher)
    state_before = voucher.state
    if ctx.receipt_id is not None:
        movements.hold(
            conn,
            operation_id=operation_id,
            accounts=accounts,
            legs=legs,
            vouchers=[voucher],
            receipt_id=ctx.receipt_id,
            now=now,
        )
        voucher.pending_receipt_id = ctx.receipt_id
        _pending_op(conn, ctx, operation_id, voucher, kind, amount.amount, state_before, target)
    else:
        movements.post(
            conn,
            operation_id=operation_id,
            accounts=accounts,
            legs=legs,
            vouchers=[voucher],
            receipt_id=None,
            now=now,
        )
        voucher.state = target
    _finish(conn, ctx, operation_id, voucher, event, amount.amount, state_before, now)
    return _result(operation_id, kind, ctx, amount.amount, [voucher])


def _spent(conn: Connection, voucher: VoucherRow) -> int:
    return spent_minor(conn, voucher.account_id)


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
        conn,
        till=till,
        code=code,
        amount=amount,
        receipt=receipt,
        now=now,
        action=Action.refund,
        kind="refund",
        event="voucher.refunded",
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
        conn,
        till=till,
        code=code,
        amount=amount,
        receipt=receipt,
        now=now,
        action=Action.reload,
        kind="reload",
        event="voucher.reloaded",
    )


def return_unused(
    conn: Connection, *, till: RegisterContext, code: str, receipt: ReceiptInput, now: datetime
) -> OperationResult:
    """An unused certificate is handed back: the customer gets the price, the bonus returns."""
    ctx = context(conn, till=till, receipt=receipt, now=now)
    voucher = lock_voucher(conn, till=till, code=code)
    check_not_pending_elsewhere(voucher, ctx)
    action = (
        Action.refund_unused_to_prepared if voucher.return_to_prepared else Action.refund_unused
    )
    target = next_state(Classification(voucher.classification), State(voucher.state), action)
    if _spent(conn, voucher) > 0 or voucher.held_minor > 0:
        raise TransitionNotAllowed("only an unused voucher can be returned", code="voucher_used")
    paid = voucher.balance_minor - min(voucher.extra_value_minor, voucher.balance_minor)
    legs = [
        rules.Leg("voucher", "store", paid, rules.TransferCode.return_unused),
        rules.Leg(
            "voucher", "promo", voucher.balance_minor - paid, rules.TransferCode.return_unused
        ),
    ]
    legs = [leg for leg in legs if leg.amount > 0]
    operation_id = uuid.uuid4()
    accounts = movements.accounts_for(conn, till=till, voucher=voucher, needs=("promo",))
    state_before = voucher.state
    if ctx.receipt_id is not None:
        movements.hold(
            conn,
            operation_id=operation_id,
            accounts=accounts,
            legs=legs,
            vouchers=[voucher],
            receipt_id=ctx.receipt_id,
            now=now,
        )
        voucher.state = State.refunding
        voucher.pending_receipt_id = ctx.receipt_id
        _pending_op(conn, ctx, operation_id, voucher, "return", paid, state_before, target)
    else:
        movements.post(
            conn,
            operation_id=operation_id,
            accounts=accounts,
            legs=legs,
            vouchers=[voucher],
            receipt_id=None,
            now=now,
        )
        voucher.state = target
    _finish(conn, ctx, operation_id, voucher, "voucher.returned", paid, state_before, now)
    return _result(operation_id, "return", ctx, paid, [voucher])


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
    target_state = next_state(
        Classification(target.classification), State(target.state), Action.transfer_in
    )
    amount = source.balance_minor - source.held_minor
    if amount <= 0:
        raise InsufficientBalance(
            "nothing to transfer", code="insufficient_balance", available=amount
        )
    rules.check_reload(
        balance=target.balance_minor,
        held_credit=0,
        amount=amount,
        max_balance=target.max_balance_minor,
    )
    operation_id = uuid.uuid4()
    legs = rules.transfer_legs(amount)
    accounts = movements.accounts_for(conn, till=till, voucher=source, target=target)
    before = (source.state, target.state)
    if ctx.receipt_id is not None:
        movements.hold(
            conn,
            operation_id=operation_id,
            accounts=accounts,
            legs=legs,
            vouchers=[source, target],
            receipt_id=ctx.receipt_id,
            now=now,
        )
        source.pending_receipt_id = target.pending_receipt_id = ctx.receipt_id
        _pending_op(
            conn,
            ctx,
            operation_id,
            source,
            "transfer",
            amount,
            source.state,
            source_state,
            target_voucher_id=target.id,
        )
    else:
        movements.post(
            conn,
            operation_id=operation_id,
            accounts=accounts,
            legs=legs,
            vouchers=[source, target],
            receipt_id=None,
            now=now,
        )
        source.state = source_state
        if target.state != target_state:
            activate(target, till=till, now=now)
    _finish(
        conn,
        ctx,
        operation_id,
        source,
        "voucher.transferred_out",
        amount,
        before[0],
        now,
        details={"target_code": target.code},
    )
    _finish(
        conn,
        ctx,
        operation_id,
        target,
        "voucher.transferred_in",
        amount,
        before[1],
        now,
        details={"source_code": source.code},
    )
    return _result(operation_id, "transfer", ctx, amount, [source, target])


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
) -> OperationResult:
    """Block, unblock or hand over: no value moves, so it takes effect at once."""
    action, event = _NO_VALUE_ACTIONS[what]
    ctx = context(conn, till=till, receipt=receipt, now=now)
    voucher = lock_voucher(conn, till=till, code=code)
    state_before = voucher.state
    voucher.state = next_state(Classification(voucher.classification), State(voucher.state), action)
    operation_id = uuid.uuid4()
    recorded = Context(ctx.where, None, ctx.amount_minor)
    _finish(conn, recorded, operation_id, voucher, event, None, state_before, now)
    return _result(operation_id, what, recorded, 0, [voucher])


def _pending_op(
    conn: Connection,
    ctx: Context,
    operation_id: uuid.UUID,
    voucher: VoucherRow,
    kind: str,
    amount: int,
    state_before: str,
    state_on_confirm: str,
    target_voucher_id: int | None = None,
) -> None:
    receipts_db.insert_operation(
        conn,
        receipt_id=ctx.receipt_id,
        operation_id=operation_id,
        voucher_id=voucher.id,
        kind=kind,
        amount_minor=amount,
        state_before=state_before,
        state_on_confirm=state_on_confirm,
        target_voucher_id=target_voucher_id,
    )


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
    operation_id: uuid.UUID, kind: str, ctx: Context, amount: int, vouchers: Sequence[VoucherRow]
) -> OperationResult:
    return OperationResult(
        operation_id=operation_id,
        kind=kind,
        status="pending" if ctx.two_phase else "recorded",
        amount_minor=amount,
        currency=vouchers[0].currency,
        receipt_id=ctx.receipt_id,
        vouchers=tuple(VoucherView.of(v) for v in vouchers),
    )
