"""What services hand back: small frozen values, never rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scrip.db.till_rules import rules_of
from scrip.db.vouchers import VoucherRow


@dataclass(frozen=True, slots=True)
class Restrictions:
    """What the voucher may pay for, as the till checks it (its own override, else its
    type's rule): products and product groups, stores, days of the week (1 = Monday) and a
    time of day (minutes after local midnight), at most so many of its type per receipt.
    None in a field: no restriction of that kind."""

    products: tuple[str, ...] | None
    product_groups: tuple[str, ...] | None
    store_ids: tuple[int, ...] | None
    days: tuple[int, ...] | None
    from_minute: int | None
    until_minute: int | None
    max_per_receipt: int | None

    @classmethod
    def of(cls, till_rules: dict[str, Any] | None) -> Restrictions | None:
        """None when nothing restricts the voucher (most gift cards)."""
        if not till_rules:
            return None
        rules = rules_of(till_rules).rules(card_id=None)
        days = rules.schedule.days
        found = cls(
            products=rules.products,
            product_groups=rules.groups,
            store_ids=rules.store_ids,
            days=tuple(sorted(days)) if days is not None else None,
            from_minute=rules.schedule.from_minute,
            until_minute=rules.schedule.until_minute,
            max_per_receipt=rules.max_per_receipt,
        )
        return None if found == _UNRESTRICTED else found


_UNRESTRICTED = Restrictions(None, None, None, None, None, None, None)


@dataclass(frozen=True, slots=True)
class VoucherView:
    code: str
    serial_number: int
    type_code: str
    classification: str
    state: str
    currency: str
    face_value_minor: int | None
    balance_minor: int
    held_minor: int
    available_minor: int
    valid_from: datetime | None
    valid_until: datetime | None
    multi_use: bool
    reloadable: bool
    max_balance_minor: int | None
    min_payment_receipt_minor: int
    min_activation_receipt_minor: int
    pin_required: bool
    card_id: str | None
    restrictions: Restrictions | None = None

    @classmethod
    def of(cls, v: VoucherRow) -> VoucherView:
        return cls(
            code=v.code,
            serial_number=v.serial_number,
            type_code=v.type_code,
            classification=v.classification,
            state=v.state,
            currency=v.currency,
            face_value_minor=v.face_value_minor,
            balance_minor=v.balance_minor,
            held_minor=v.held_minor,
            available_minor=v.balance_minor - v.held_minor,
            valid_from=v.valid_from,
            valid_until=v.valid_until,
            multi_use=v.multi_use,
            reloadable=v.reloadable,
            max_balance_minor=v.max_balance_minor,
            min_payment_receipt_minor=v.min_payment_receipt_minor,
            min_activation_receipt_minor=v.min_activation_receipt_minor,
            pin_required=v.pin_hash is not None
            or (v.pin_length is not None and v.secret_sealed is not None),
            card_id=v.card_id,
            restrictions=Restrictions.of(v.till_rules),
        )


@dataclass(frozen=True, slots=True)
class OperationResult:
    """The answer to one POS operation: posted now (recorded) or held in a receipt (pending)."""

    operation_id: uuid.UUID
    kind: str
    status: str
    amount_minor: int
    currency: str
    receipt_id: int | None
    vouchers: tuple[VoucherView, ...]
    # Rules at the till (issue 5): whether paying with it still earns loyalty points, and a
    # discount voucher's discount split over the receipt lines.
    earns_points: bool | None = None
    discount_lines: tuple[tuple[str, int], ...] = ()
    # What a one-time voucher forfeited to breakage (held: what confirming in full forfeits).
    forfeited_minor: int = 0
