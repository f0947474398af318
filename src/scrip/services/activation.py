"""Activation: a voucher becomes usable and, when its type says so, its validity starts now."""

from __future__ import annotations

from datetime import date, datetime

from scrip.db.registers import RegisterContext
from scrip.db.vouchers import VoucherRow
from scrip.domain import validity
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
    voucher.pending_receipt_id = None
    rule = rule_of(voucher)
    if rule is not None and rule.basis == validity.ValidityBasis.from_activation:
        voucher.valid_from, voucher.valid_until = validity.window(
            rule, tz=till.timezone, issued_at=now, activated_at=now
        )
