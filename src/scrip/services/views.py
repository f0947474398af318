"""What services hand back: small frozen values, never rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from scrip.db.vouchers import VoucherRow


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
