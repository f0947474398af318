"""Activation: a voucher becomes usable and, when its type says so, its validity starts now."""

from __future__ import annotations

from datetime import datetime

from scrip.db.registers import RegisterContext
from scrip.db.vouchers import VoucherRow
from scrip.domain import validity
from scrip.domain.lifecycle import State


def rule_of(voucher: VoucherRow) -> validity.ValidityRule | None:
    if voucher.validity_basis == validity.ValidityBasis.fixed and voucher.valid_until_on is None:
        return None
    if voucher.validity_basis != validity.ValidityBasis.fixed and voucher.validity_days is None:
        return None
    return validity.ValidityRule(
        basis=validity.ValidityBasis(voucher.validity_basis),
        valid_from_on=voucher.valid_from_on,
        valid_until_on=voucher.valid_until_on,
        duration_days=voucher.validity_days,
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
