"""Moving value on locked vouchers: posted at once, or held pending inside an open receipt.

Every POS operation comes down to ledger legs between symbolic roles (the voucher, a target
voucher, the store's clearing account, promotional expense, breakage income). This module
resolves the roles to accounts, writes the transfers and keeps each voucher's cached balance
(posted) and hold (pending debits) equal to what the ledger says.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from scrip.db import ledger as ledger_db
from scrip.db.registers import RegisterContext
from scrip.db.vouchers import VoucherRow
from scrip.domain import ledger as rules
from scrip.domain.lifecycle import Action, Classification, State, next_state


@dataclass(frozen=True, slots=True)
class Accounts:
    """Role name → ledger account id for one operation."""

    by_role: dict[str, int]

    def transfers(self, legs: Sequence[rules.Leg]) -> list[ledger_db.NewTransfer]:
        return [
            ledger_db.NewTransfer(
                self.by_role[leg.debit], self.by_role[leg.credit], leg.amount, str(leg.code)
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
