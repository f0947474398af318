"""Activation: a voucher becomes usable and, when its type says so, its validity starts now;
one whose fixed window has already ended can't be activated (sold) any more."""

from __future__ import annotations

from datetime import date, datetime

from scrip.db.registers import RegisterContext
from scrip.db.vouchers import VoucherRow
from scrip.domain import validity
from scrip.domain.errors import VoucherExpired
from scrip.domain.lifecycle import State


def rule_from(
    basis: str, *, days: int | None, from_on: date | None, until_on: date | None
) -> validity.ValidityRule | None:
    """The type's validity rule, or None when the type sets no limit."""
    if basis == validity.ValidityBasis.fixed:
        if from_on is None and until_on is None:
            return None
        return validity.ValidityRule(
            basis=validity.ValidityBasis.fixed, valid_from_on=from_on, valid_until_on=until_on
        )
    if days is None:
        return None
    return validity.ValidityRule(basis=validity.ValidityBasis(basis), duration_days=days)


def rule_of(voucher: VoucherRow) -> validity.ValidityRule | None:
    return rule_from(
        voucher.validity_basis,
        days=voucher.validity_days,
        from_on=voucher.valid_from_on,
        until_on=voucher.valid_until_on,
    )


def activate(voucher: VoucherRow, *, till: RegisterContext, now: datetime) -> None:
    voucher.state = State.active
    voucher.activated_at = now
    voucher.activated_store_id = till.store_id
    voucher.pending_receipt_id = None
    rule = rule_of(voucher)
    if rule is not None and rule.basis == validity.ValidityBasis.from_activation:
        voucher.valid_from, voucher.valid_until = validity.window(
            rule, tz=till.timezone, issued_at=now, activated_at=now
        )


def check_sellable(voucher: VoucherRow, *, now: datetime) -> None:
    """Refuse (``sale_after_validity``) to activate a voucher whose window is fixed (by dates,
    from its issue, or by its lot) and has already ended; a window that runs from activation
    starts afresh, so it can't have ended."""
    rule = rule_of(voucher)
    if rule is not None and rule.basis == validity.ValidityBasis.from_activation:
        return
    if voucher.valid_until is not None and validity.is_expired(now, voucher.valid_until):
        raise VoucherExpired(
            "the voucher's validity has ended; it can no longer be sold",
            code="sale_after_validity",
            valid_until=voucher.valid_until.isoformat(),
        )
