"""Moving value on locked vouchers: posted at once, or held pending inside an open receipt.

Every POS operation comes down to ledger legs between symbolic roles (the voucher, a target
voucher, the store's clearing account, promotional expense, breakage income). This module
resolves the roles to accounts, writes the transfers and keeps each voucher's cached balance
(posted) and hold (pending debits) equal to what the ledger says.

:func:`move` is the one place an operation is held or posted: inside an open receipt it holds
the legs, shows the operation's pending state and remembers the operation for the receipt;
without one it posts them and runs :func:`after_posted` — the same step the receipt's
confirmation runs for each operation it posts (``services.receipts``), so what an operation
does once its value is booked is written once, per kind (``domain.operations``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from scrip.db import ledger as ledger_db
from scrip.db import receipts as receipts_db
from scrip.db.registers import RegisterContext
from scrip.db.vouchers import VoucherRow
from scrip.domain import ledger as rules
from scrip.domain.blocks import BlockedBy
from scrip.domain.lifecycle import Action, Classification, State, next_state
from scrip.domain.operations import Kind, Spec
from scrip.services.activation import activate
from scrip.services.till import Context


@dataclass(frozen=True, slots=True)
class Accounts:
    """Role name → ledger account id for one operation."""

    by_role: dict[str, int]

    def transfers(self, legs: Sequence[rules.Leg]) -> list[ledger_db.NewTransfer]:
        return [
            ledger_db.NewTransfer(
                self.by_role[leg.debit], self.by_role[leg.credit], leg.amount, leg.code.value
            )
            for leg in legs
        ]


def accounts_for(
    conn: Connection,
    *,
    till: RegisterContext,
    voucher: VoucherRow,
    target: VoucherRow | None = None,
    needs: Sequence[str] = (),
) -> Accounts:
    """The accounts an operation on ``voucher`` may touch; shared ones are fetched on demand."""
    roles = {"voucher": voucher.account_id, "store": till.store_account_id}
    if target is not None:
        roles["voucher_target"] = target.account_id
    kinds = {"promo": "promo_expense", "breakage": "breakage_income"}
    for role in needs:
        roles[role] = ledger_db.shared_account_id(
            conn, issuer_id=till.issuer_id, kind=kinds[role], currency=voucher.currency
        )
    return Accounts(roles)


def apply_posted(
    vouchers: Sequence[VoucherRow], transfers: Sequence[ledger_db.NewTransfer]
) -> None:
    """Bring cached balances in line with transfers that have just been posted."""
    for voucher in vouchers:
        for t in transfers:
            if t.credit_account_id == voucher.account_id:
                voucher.balance_minor += t.amount_minor
            if t.debit_account_id == voucher.account_id:
                voucher.balance_minor -= t.amount_minor


def apply_held(
    vouchers: Sequence[VoucherRow], transfers: Sequence[ledger_db.NewTransfer], sign: int
) -> None:
    """Add (sign=1) or release (sign=-1) the pending debits of ``transfers`` as holds."""
    for voucher in vouchers:
        for t in transfers:
            if t.debit_account_id == voucher.account_id:
                voucher.held_minor += sign * t.amount_minor


def post(
    conn: Connection,
    *,
    operation_id: uuid.UUID,
    accounts: Accounts,
    legs: Sequence[rules.Leg],
    vouchers: Sequence[VoucherRow],
    receipt_id: int | None,
    now: datetime,
) -> None:
    transfers = accounts.transfers(legs)
    ledger_db.insert_transfers(
        conn,
        operation_id=operation_id,
        transfers=transfers,
        currency=vouchers[0].currency,
        state="posted",
        receipt_id=receipt_id,
        now=now,
    )
    apply_posted(vouchers, transfers)


def hold(
    conn: Connection,
    *,
    operation_id: uuid.UUID,
    accounts: Accounts,
    legs: Sequence[rules.Leg],
    vouchers: Sequence[VoucherRow],
    receipt_id: int,
    now: datetime,
) -> None:
    transfers = accounts.transfers(legs)
    ledger_db.insert_transfers(
        conn,
        operation_id=operation_id,
        transfers=transfers,
        currency=vouchers[0].currency,
        state="pending",
        receipt_id=receipt_id,
        now=now,
    )
    apply_held(vouchers, transfers, +1)


def settle_after_debit(
    conn: Connection,
    *,
    till: RegisterContext,
    voucher: VoucherRow,
    operation_id: uuid.UUID,
    receipt_id: int | None,
    now: datetime,
) -> int:
    """After value left an active voucher: a one-time voucher forfeits its rest and is used up,
    a multi-use one is used up at zero. Returns the amount forfeited.

    A hold taken while the voucher was active is a promise made to the customer at the till:
    confirming it still succeeds after the voucher was blocked meanwhile (a balance transfer
    leaves held value behind), and the voucher simply stays blocked."""
    if voucher.state != State.active:
        return 0
    classification = Classification(voucher.classification)
    forfeited = 0
    if not voucher.multi_use and voucher.balance_minor > 0:
        forfeited = voucher.balance_minor - voucher.held_minor
        accounts = accounts_for(conn, till=till, voucher=voucher, needs=("breakage",))
        post(
            conn,
            operation_id=operation_id,
            accounts=accounts,
            legs=rules.forfeit_legs(forfeited),
            vouchers=[voucher],
            receipt_id=receipt_id,
            now=now,
        )
    if voucher.balance_minor == 0 or not voucher.multi_use:
        voucher.state = next_state(classification, State(voucher.state), Action.redeem_final)
    return forfeited


@dataclass(frozen=True, slots=True)
class Move:
    """One operation's movement of value, decided and ready to hold or post.

    ``amount`` is what the receipt keeps for the operation (what it may be confirmed for);
    ``state_on_confirm`` is the state the voucher takes once the value is posted (for a sale,
    activation decides; for a payment, the voucher's rest)."""

    spec: Spec
    operation_id: uuid.UUID
    voucher: VoucherRow
    legs: Sequence[rules.Leg]
    accounts: Accounts
    amount: int
    state_on_confirm: str
    target: VoucherRow | None = None

    @property
    def vouchers(self) -> list[VoucherRow]:
        return [self.voucher] + ([self.target] if self.target is not None else [])


def move(conn: Connection, m: Move, *, ctx: Context, till: RegisterContext, now: datetime) -> int:
    """Hold ``m`` in the receipt of ``ctx``, or post it and apply what follows. Returns what a
    one-time voucher forfeited (posted), or 0."""
    state_before = m.voucher.state
    if ctx.receipt_id is None:
        post(
            conn,
            operation_id=m.operation_id,
            accounts=m.accounts,
            legs=m.legs,
            vouchers=m.vouchers,
            receipt_id=None,
            now=now,
        )
        return after_posted(
            conn,
            kind=m.spec.kind,
            till=till,
            voucher=m.voucher,
            target=m.target,
            state_on_confirm=m.state_on_confirm,
            operation_id=m.operation_id,
            receipt_id=None,
            now=now,
        )
    hold(
        conn,
        operation_id=m.operation_id,
        accounts=m.accounts,
        legs=m.legs,
        vouchers=m.vouchers,
        receipt_id=ctx.receipt_id,
        now=now,
    )
    if m.spec.pending_state is not None:
        m.voucher.state = m.spec.pending_state
    # A multi-use voucher may pay in several receipts at once; anything else is the receipt's.
    if m.spec.kind is not Kind.redeem or not m.voucher.multi_use:
        for voucher in m.vouchers:
            voucher.pending_receipt_id = ctx.receipt_id
    receipts_db.insert_operation(
        conn,
        receipt_id=ctx.receipt_id,
        operation_id=m.operation_id,
        voucher_id=m.voucher.id,
        kind=m.spec.kind.value,
        amount_minor=m.amount,
        state_before=state_before,
        state_on_confirm=m.state_on_confirm,
        target_voucher_id=m.target.id if m.target is not None else None,
    )
    return 0


def after_posted(
    conn: Connection,
    *,
    kind: Kind,
    till: RegisterContext,
    voucher: VoucherRow,
    target: VoucherRow | None,
    state_on_confirm: str,
    operation_id: uuid.UUID,
    receipt_id: int | None,
    now: datetime,
) -> int:
    """What an operation does once its value is posted, in one call or at confirmation: a sale
    activates, a payment settles the voucher's rest (:func:`settle_after_debit`), a transfer
    blocks the old card and activates the new one, the others take their state. Returns what a
    one-time voucher forfeited."""
    if kind is Kind.sell:
        activate(voucher, till=till, now=now)
        return 0
    if kind is Kind.redeem:
        return settle_after_debit(
            conn,
            till=till,
            voucher=voucher,
            operation_id=operation_id,
            receipt_id=receipt_id,
            now=now,
        )
    voucher.state = state_on_confirm
    if kind is Kind.transfer:
        voucher.blocked_by = BlockedBy.transfer.value
        voucher.block_store_id = till.store_id
        voucher.block_reason = None
        if target is not None and target.state != State.active:
            activate(target, till=till, now=now)
    return 0
