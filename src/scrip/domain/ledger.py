"""Posting rules: which ledger legs an operation posts, and the spending checks. No I/O.

Each operation becomes one or more :class:`Leg` values; the service turns each leg into
one ledger transfer (all legs of one operation share an ``operation_id``). A leg moves
``amount`` (integer minor units, always > 0) **from** its ``debit`` account **to** its
``credit`` account. Accounts are named by symbolic role, resolved by the service:

* ``"voucher"``: the voucher's own liability account (``AccountKind.voucher_liability``);
* ``"voucher_target"``: the receiving voucher of a balance transfer;
* ``"store"``: the selling / redeeming store's clearing account;
* ``"promo"``: promotional expense; ``"breakage"``: breakage income.

Balance convention: a voucher liability account's **balance** = posted credits - posted
debits, and is never negative. Its **available** value = balance - pending debits (holds
of open receipts). Pending credits (e.g. an open reload) do not count as available.

Amounts an operator asks for (redemption, refund, reload, transfer, promotional issue)
must be > 0, else ``InvalidInput`` (code ``invalid_amount``). Amounts derived from a
balance (return of unused value, breakage, forfeit) may be 0 and then post nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from scrip.domain.errors import HeldElsewhere, InsufficientBalance, InvalidInput, LimitExceeded

VOUCHER = "voucher"
VOUCHER_TARGET = "voucher_target"
STORE = "store"
PROMO = "promo"
BREAKAGE = "breakage"


class AccountKind(StrEnum):
    """The kinds of ledger account."""

    voucher_liability = "voucher_liability"
    store_clearing = "store_clearing"
    promo_expense = "promo_expense"
    breakage_income = "breakage_income"
    partner_receivable = "partner_receivable"


class TransferCode(StrEnum):
    """Why value moved."""

    sale = "sale"
    bonus = "bonus"
    redemption = "redemption"
    refund = "refund"
    reload = "reload"
    return_unused = "return_unused"
    transfer = "transfer"
    breakage = "breakage"
    forfeit = "forfeit"
    reversal = "reversal"
    promo_issue = "promo_issue"


@dataclass(frozen=True)
class Leg:
    """Move ``amount`` from the ``debit`` role's account to the ``credit`` role's account."""

    debit: str
    credit: str
    amount: int
    code: TransferCode


def _amount(value: int, *, zero_ok: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("an amount must be an integer of minor units", code="invalid_amount")
    if value < 0 or (value == 0 and not zero_ok):
        raise InvalidInput(
            "the amount must be greater than zero", code="invalid_amount", amount=value
        )
    return value


def _legs(debit: str, credit: str, amount: int, code: TransferCode) -> list[Leg]:
    return [Leg(debit, credit, amount, code)] if amount > 0 else []


def sale_legs(paid: int, bonus: int) -> list[Leg]:
    """A sale: the paid amount from the store, the extra added value from promotions."""
    _amount(paid, zero_ok=True)
    _amount(bonus, zero_ok=True)
    _amount(paid + bonus, zero_ok=False)
    return _legs(STORE, VOUCHER, paid, TransferCode.sale) + _legs(
        PROMO, VOUCHER, bonus, TransferCode.bonus
    )


def redemption_legs(amount: int) -> list[Leg]:
    """Spending value at a till."""
    return _legs(VOUCHER, STORE, _amount(amount, zero_ok=False), TransferCode.redemption)


def refund_legs(amount: int) -> list[Leg]:
    """Giving spent value back to the voucher (a returned purchase)."""
    return _legs(STORE, VOUCHER, _amount(amount, zero_ok=False), TransferCode.refund)


def reload_legs(amount: int) -> list[Leg]:
    """Loading more value onto a reloadable voucher."""
    return _legs(STORE, VOUCHER, _amount(amount, zero_ok=False), TransferCode.reload)


def return_unused_legs(balance: int, bonus: int) -> list[Leg]:
    """Taking back an unused voucher: the customer is paid what they paid (to the store), and
    the extra value they were given goes back to promotional expense. ``bonus`` is the type's
    extra value; at most the balance of it is taken back."""
    _amount(balance, zero_ok=True)
    given = min(_amount(bonus, zero_ok=True), balance)
    return _legs(VOUCHER, STORE, balance - given, TransferCode.return_unused) + _legs(
        VOUCHER, PROMO, given, TransferCode.return_unused
    )


def transfer_legs(amount: int) -> list[Leg]:
    """Moving value from one voucher to another (e.g. a replacement gift card)."""
    return _legs(VOUCHER, VOUCHER_TARGET, _amount(amount, zero_ok=False), TransferCode.transfer)


def breakage_legs(balance: int) -> list[Leg]:
    """Booking the unspent balance of an expired voucher as breakage income."""
    return _legs(VOUCHER, BREAKAGE, _amount(balance, zero_ok=True), TransferCode.breakage)


def forfeit_legs(rest: int) -> list[Leg]:
    """Booking the unspent rest of a one-time voucher, used for less than its value."""
    return _legs(VOUCHER, BREAKAGE, _amount(rest, zero_ok=True), TransferCode.forfeit)


def promo_issue_legs(amount: int) -> list[Leg]:
    """Issuing a promotional voucher's value at the promotion's expense."""
    return _legs(PROMO, VOUCHER, _amount(amount, zero_ok=False), TransferCode.promo_issue)


def available(balance: int, held: int) -> int:
    """Balance minus holds; InvalidInput (``invalid_balance``) if the figures are impossible."""
    if balance < 0 or held < 0 or held > balance:
        raise InvalidInput(
            "balance and holds must satisfy 0 <= held <= balance",
            code="invalid_balance",
            balance=balance,
            held=held,
        )
    return balance - held


def check_spend(*, balance: int, held: int, amount: int, partial_allowed: bool) -> int:
    """The amount actually taken when ``amount`` is asked for; see the module docstring.

    All of it if available; else what is available when partial spending is allowed;
    else ``HeldElsewhere`` if the value exists but open receipts hold it, else
    ``InsufficientBalance``.
    """
    _amount(amount, zero_ok=False)
    free = available(balance, held)
    if amount <= free:
        return amount
    if partial_allowed and free > 0:
        return free
    if amount <= balance:
        raise HeldElsewhere(
            "part of this voucher's value is held by another open receipt",
            code="held_elsewhere",
            available=free,
            held=held,
            requested=amount,
        )
    raise InsufficientBalance(
        f"only {free} available, {amount} requested",
        code="insufficient_balance",
        available=free,
        requested=amount,
    )


def check_refund(*, amount: int, refundable: int) -> None:
    """Refuse a refund above what was paid with the voucher and not given back yet: posted
    payments net of their reversals, less refunds posted or held (``refundable``)."""
    _amount(amount, zero_ok=False)
    if amount > refundable:
        raise InsufficientBalance(
            "a refund can return at most what was paid with this voucher",
            code="refund_exceeds_spent",
            spent_minor=refundable,
            amount_minor=amount,
        )


def check_reload(*, balance: int, held_credit: int, amount: int, max_balance: int | None) -> None:
    """Refuse a credit (reload, refund, transfer in) that would lift balance + pending credits
    (what open receipts already hold for the voucher) above ``max_balance``."""
    _amount(amount, zero_ok=False)
    would_be = balance + held_credit + amount
    if max_balance is not None and would_be > max_balance:
        raise LimitExceeded(
            f"the balance would be {would_be}, above the maximum of {max_balance}",
            code="max_balance_exceeded",
            max_balance=max_balance,
            would_be=would_be,
        )
