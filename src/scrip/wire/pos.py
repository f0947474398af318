"""Requests and answers of the POS API. Amounts are integers in minor units, never floats."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MinorUnits = Annotated[int, Field(strict=True, gt=0, le=10**15)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
Pin = Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=r"^[0-9]+$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# Sized like their columns: a longer value is refused as input, never truncated by storage.
Tag = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReceiptLineIn(Strict):
    """One line of the POS receipt; ``amount_minor`` is the line total (quantity applied)."""

    item_code: ShortText
    item_group: ShortText | None = None
    quantity: Annotated[int, Field(strict=True, gt=0, le=1_000_000)] = 1
    amount_minor: Annotated[int, Field(strict=True, ge=0, le=10**15)]


class ReceiptIn(Strict):
    """The receipt an operation belongs to. With ``receipt_id`` (from POST /receipts) the
    operation is held until the receipt is confirmed; without it, it is posted at once.
    ``lines`` and ``card_id`` (the club card presented) feed the restrictions of S6; without
    ``amount_minor`` the receipt amount is the sum of the lines."""

    receipt_id: Annotated[int, Field(strict=True, gt=0, le=2**63 - 1)] | None = None
    number: ShortText | None = None
    z_report: Tag | None = None
    operator: Tag | None = None
    amount_minor: Annotated[int, Field(strict=True, ge=0, le=10**15)] | None = None
    lines: Annotated[list[ReceiptLineIn], Field(max_length=1000)] = []
    card_id: Code | None = None


class OpenReceiptIn(Strict):
    number: ShortText | None = None
    z_report: Tag | None = None
    operator: Tag | None = None
    amount_minor: Annotated[int, Field(strict=True, ge=0, le=10**15)] | None = None
    timeout_s: Annotated[int, Field(strict=True, ge=1, le=86_400)] | None = None


class ConfirmAmountIn(Strict):
    operation_id: uuid.UUID
    amount_minor: Annotated[int, Field(strict=True, ge=0, le=10**15)]


class ConfirmIn(Strict):
    """Optionally confirm a redemption for less than it held; the rest is released."""

    amounts: Annotated[list[ConfirmAmountIn], Field(max_length=100)] = []


class SaleItemIn(Strict):
    code: Code
    amount_minor: MinorUnits | None = None


class SaleIn(Strict):
    items: Annotated[list[SaleItemIn], Field(min_length=1, max_length=100)]
    receipt: ReceiptIn = Field(default_factory=ReceiptIn)


class RedeemIn(Strict):
    amount_minor: MinorUnits
    currency: Currency
    partial_allowed: bool = False
    pin: Pin | None = None
    receipt: ReceiptIn = Field(default_factory=ReceiptIn)


class AmountIn(Strict):
    amount_minor: MinorUnits
    currency: Currency
    receipt: ReceiptIn = Field(default_factory=ReceiptIn)


class ReturnIn(Strict):
    receipt: ReceiptIn = Field(default_factory=ReceiptIn)


class TransferIn(Strict):
    target_code: Code
    pin: Pin | None = None
    receipt: ReceiptIn = Field(default_factory=ReceiptIn)


class StateChangeIn(Strict):
    receipt: ReceiptIn = Field(default_factory=ReceiptIn)
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="why the card is blocked or unblocked; kept in its history"
    )


class ReversalIn(Strict):
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class RestrictionsOut(BaseModel):
    """What the voucher may pay for; a field left null restricts nothing of its kind."""

    products: list[str] | None = Field(description="item codes it may pay for")
    product_groups: list[str] | None = Field(description="item groups it may pay for")
    store_ids: list[int] | None = Field(description="stores where it may be used")
    days: list[int] | None = Field(description="days of the week, 1 = Monday")
    from_minute: int | None = Field(description="earliest time of day, minutes after midnight")
    until_minute: int | None = Field(description="latest time of day, minutes after midnight")
    max_per_receipt: int | None = Field(description="at most this many of its type per receipt")


class VoucherOut(BaseModel):
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
    restrictions: RestrictionsOut | None = Field(
        default=None, description="what it may pay for; null when nothing restricts it"
    )


class OperationOut(BaseModel):
    operation_id: uuid.UUID
    kind: str
    status: Literal["recorded", "pending"]
    amount_minor: int
    currency: str
    receipt_id: int | None
    vouchers: list[VoucherOut]
    earns_points: bool | None = Field(
        default=None, description="paying with this voucher still earns loyalty points"
    )
    discount_lines: list[tuple[str, int]] = Field(
        default=[], description="a discount voucher's discount per item code, in minor units"
    )
    forfeited_minor: int = Field(
        default=0,
        description="what a one-time voucher forfeited to breakage by this payment; held in a"
        " receipt, what confirming it in full will forfeit",
    )


class ReceiptOut(BaseModel):
    receipt_id: int
    state: str
    receipt_number: str | None
    expires_at: datetime
    operations: int
    vouchers: list[VoucherOut] = []
    forfeited_minor: int = Field(
        default=0, description="what one-time vouchers forfeited when the receipt was confirmed"
    )


class ReversalOut(BaseModel):
    idempotency_key: str
    outcome: Literal[
        "reversed", "nothing_to_reverse", "already_reversed", "was_refused", "was_released"
    ] = Field(
        description="reversed: its effect is undone; nothing_to_reverse: this register never"
        " sent the key (it is refused from now on); already_reversed; was_refused: the call was"
        " refused, so nothing moved; was_released: it was held in a receipt that was cancelled,"
        " timed out or left it out, so nothing moved"
    )
    operation_id: uuid.UUID | None


class HistoryRowOut(BaseModel):
    id: int
    operation_id: uuid.UUID | None
    type: str
    status: str
    occurred_at: datetime
    recorded_at: datetime
    store_code: str | None
    register_serial: str | None
    receipt_id: int | None
    receipt_number: str | None
    z_report: str | None
    operator_code: str | None
    amount_minor: int | None
    balance_after_minor: int
    state_before: str | None
    state_after: str
    details: dict[str, Any]


class HistoryOut(BaseModel):
    code: str
    rows: list[HistoryRowOut]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorOut(BaseModel):
    error: ErrorBody
