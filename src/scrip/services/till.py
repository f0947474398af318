"""What every POS operation checks first: the receipt it belongs to, the voucher, its PIN.

An operation either names an open receipt (two-phase: it holds value until the receipt is
confirmed) or carries only the receipt's particulars (one call: posted at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from scrip import crypto
from scrip.db import receipts as receipts_db
from scrip.db import vouchers as vouchers_db
from scrip.db.history import Where
from scrip.db.registers import RegisterContext
from scrip.db.vouchers import VoucherRow
from scrip.domain import pin as pin_rules
from scrip.domain.basket import Basket
from scrip.domain.codes import normalize
from scrip.domain.errors import (
    HeldElsewhere,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PinRefused,
    ReceiptRefused,
)
from scrip.domain.money import Money
from scrip.services import lot_secrets


@dataclass(frozen=True, slots=True)
class ReceiptInput:
    """The POS receipt an operation belongs to, as the till sends it."""

    receipt_id: int | None = None
    number: str | None = None
    z_report: str | None = None
    operator_code: str | None = None
    amount_minor: int | None = None
    basket: Basket | None = None  # lines and club card, when the till sends them (issue 5)


@dataclass(frozen=True, slots=True)
class Context:
    where: Where
    receipt_id: int | None
    amount_minor: int | None

    @property
    def two_phase(self) -> bool:
        return self.receipt_id is not None


def context(
    conn: Connection, *, till: RegisterContext, receipt: ReceiptInput, now: datetime
) -> Context:
    if receipt.receipt_id is not None:
        row = lock_open_receipt(conn, till=till, receipt_id=receipt.receipt_id, now=now)
        where = Where(
            store_id=till.store_id,
            register_id=till.register_id,
            receipt_id=row.id,
            receipt_number=row.receipt_number,
            z_report=row.z_report,
            operator_code=row.operator_code,
        )
        amount = receipt.amount_minor if receipt.amount_minor is not None else row.amount_minor
        return Context(where, row.id, amount)
    if receipt.number:
        claimed = receipts_db.claim_receipt_number(
            conn,
            issuer_id=till.issuer_id,
            receipt_number=receipt.number,
            register_id=till.register_id,
            receipt_id=None,
            exclusive=False,
        )
        if not claimed:
            raise ReceiptRefused(
                "this receipt number was already claimed by another register",
                code="receipt_number_claimed",
                receipt_number=receipt.number,
            )
    elif till.receipt_number_required:
        raise InvalidInput(
            "this issuer requires the POS receipt number on every operation",
            code="receipt_number_required",
        )
    where = Where(
        store_id=till.store_id,
        register_id=till.register_id,
        receipt_number=receipt.number,
        z_report=receipt.z_report,
        operator_code=receipt.operator_code,
    )
    return Context(where, None, receipt.amount_minor)


def lock_open_receipt(
    conn: Connection, *, till: RegisterContext, receipt_id: int, now: datetime
) -> receipts_db.ReceiptRow:
    row = receipts_db.lock_receipt(conn, receipt_id)
    if row is None or row.register_id != till.register_id:
        raise NotFound("no such receipt at this register", code="receipt_not_found")
    if row.state != "open":
        raise ReceiptRefused(
            f"the receipt is {row.state}", code=f"receipt_{row.state}", state=row.state
        )
    if now >= row.expires_at:
        raise ReceiptRefused(
            "the receipt timed out; its holds are released", code="receipt_expired"
        )
    return row


def lock_vouchers(
    conn: Connection, *, till: RegisterContext, codes: list[str]
) -> dict[str, VoucherRow]:
    wanted = [normalize(c) for c in codes]
    if len(set(wanted)) != len(wanted):
        raise InvalidInput("a voucher appears twice in one request", code="duplicate_voucher")
    found = {
        v.code: v for v in vouchers_db.lock_vouchers(conn, issuer_id=till.issuer_id, codes=wanted)
    }
    for code in wanted:
        if code not in found:
            raise NotFound("no voucher with this code", code="voucher_not_found", code_given=code)
    return {code: found[code] for code in wanted}


def lock_voucher(conn: Connection, *, till: RegisterContext, code: str) -> VoucherRow:
    return next(iter(lock_vouchers(conn, till=till, codes=[code]).values()))


def check_currency(voucher: VoucherRow, money: Money) -> None:
    if money.currency != voucher.currency:
        raise InvalidInput(
            f"the voucher is in {voucher.currency}, the amount in {money.currency}",
            code="currency_mismatch",
            voucher_currency=voucher.currency,
            currency=money.currency,
        )


def check_not_pending_elsewhere(voucher: VoucherRow, ctx: Context) -> None:
    if voucher.pending_receipt_id is not None and voucher.pending_receipt_id != ctx.receipt_id:
        raise HeldElsewhere("the voucher is part of another open receipt", code="held_elsewhere")


def check_receipt_minimum(minimum: int, ctx: Context, *, what: str) -> None:
    if minimum <= 0:
        return
    if ctx.amount_minor is None:
        raise InvalidInput(
            f"this voucher type needs the receipt amount for {what}",
            code="receipt_amount_required",
            minimum_minor=minimum,
        )
    if ctx.amount_minor < minimum:
        raise LimitExceeded(
            f"the receipt is below the minimum amount for {what}",
            code=f"below_minimum_{what}_amount",
            minimum_minor=minimum,
            receipt_amount_minor=ctx.amount_minor,
        )


@dataclass
class PinFailure:
    """A wrong PIN is refused, yet the failed attempt itself must be kept (after the rollback)."""

    voucher_id: int
    failed_count: int
    locked: bool
    details: dict[str, Any] = field(default_factory=dict)


def check_pin(
    voucher: VoucherRow,
    pin: str | None,
    *,
    max_attempts: int,
    keyring: crypto.Keyring | None = None,
) -> None:
    """The voucher's PIN, hashed or in the vault (``lot_secrets``): failures count and lock."""
    matches = lot_secrets.verifier(voucher, keyring)
    if matches is None:
        return
    pin_rules.check_attempt(
        failed_count=voucher.pin_failed_count, max_attempts=max_attempts, locked=voucher.pin_locked
    )
    if pin is None:
        raise PinRefused("this voucher needs its PIN", code="pin_required")
    if matches(pin):
        voucher.pin_failed_count = 0
        return
    count, locked = pin_rules.after_failure(voucher.pin_failed_count, max_attempts)
    error = PinRefused(
        "the PIN is wrong" + ("; the voucher is now locked" if locked else ""),
        code="pin_locked" if locked else "pin_invalid",
        attempts_left=max(max_attempts - count, 0),
    )
    error.pin_failure = PinFailure(voucher.id, count, locked)  # type: ignore[attr-defined]
    raise error
