"""The JSON contract of the rules at the till: receipts as the domain's baskets, promotions,
holders and club cards (issue 5)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from scrip.domain.basket import Basket, Line
from scrip.wire.pos import Code, ReceiptIn, Strict


def basket_of(receipt: ReceiptIn) -> Basket | None:
    if not receipt.lines and receipt.card_id is None and receipt.amount_minor is None:
        return None
    return Basket(
        lines=tuple(
            Line(line.item_code, line.item_group, line.quantity, line.amount_minor)
            for line in receipt.lines
        ),
        total_minor=receipt.amount_minor,
        card_id=receipt.card_id,
    )


class PromotionEvaluateIn(Strict):
    """A receipt for the promotions: what it earns is issued (held in an open receipt until
    it is confirmed, or at once). ``points_to_spend`` may buy vouchers against points;
    ``activate_card`` activates the presented club card in the same call."""

    receipt: ReceiptIn
    points_to_spend: Annotated[int, Field(strict=True, ge=0, le=10**12)] = 0
    activate_card: bool = False


class PrintDataOut(BaseModel):
    promotion_code: str
    code: str
    barcode_payload: str
    value_minor: int
    currency: str
    valid_from: datetime | None
    valid_until: datetime | None
    receipt_text: str
    state: str


class RefusedAwardOut(BaseModel):
    promotion_code: str
    reason: str = Field(description="limit_reached or out_of_stock")


class PromotionEvaluationOut(BaseModel):
    status: str = Field(description="recorded, pending (in an open receipt) or none")
    operation_id: uuid.UUID | None
    receipt_id: int | None
    vouchers: list[PrintDataOut]
    refused: list[RefusedAwardOut]
    points_spent: int


class PointsIn(Strict):
    points: Annotated[int, Field(strict=True, gt=0, le=10**12)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "purchase"


class PointsEntryOut(BaseModel):
    kind: str
    points: int
    balance_after: int
    operation_id: uuid.UUID | None
    reason: str | None
    occurred_at: datetime


class ClubCardOut(BaseModel):
    card_id: str
    state: str
    points_balance: int
    entries: list[PointsEntryOut] = []


class PromotionIn(Strict):
    issuer: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    code: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: str = Field(
        description="prepared, card_activation, points, personal, progressive, "
        "purchased_goods or campaign"
    )
    type_code: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    params: dict[str, Any] = Field(description="what the kind needs (domain/promotions.py)")
    status: str = "draft"
    starts_on: date | None = None
    ends_on: date | None = None
    allowed_days: list[Annotated[int, Field(ge=1, le=7)]] | None = Field(
        default=None, max_length=7, description="ISO 1 (Mon) to 7 (Sun)"
    )
    from_minute: int | None = Field(default=None, ge=0, le=1440)
    until_minute: int | None = Field(default=None, ge=0, le=1440)
    store_ids: list[Annotated[int, Field(gt=0, le=2**63 - 1)]] | None = Field(
        default=None, max_length=10_000
    )
    receipt_text: Annotated[str, StringConstraints(max_length=500)] = ""
    max_per_receipt: int = Field(default=3, ge=1, le=1000)
    max_per_holder: int = Field(default=5, ge=1, le=100_000)


class PromotionOut(BaseModel):
    code: str
    name: str
    kind: str
    status: str
    type_code: str
    params: dict[str, Any]
    starts_on: date | None
    ends_on: date | None
    allowed_days: list[int] | None
    from_minute: int | None
    until_minute: int | None
    store_ids: list[int] | None
    receipt_text: str
    max_per_receipt: int
    max_per_holder: int


class StatusIn(Strict):
    issuer: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    status: str


class HolderIn(Strict):
    issuer: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    holder_ref: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    email: (
        Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] | None
    ) = None


class HolderOut(BaseModel):
    holder_ref: str
    name: str | None
    email: str | None
    cards: list[ClubCardOut]


class CardIn(Strict):
    issuer: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    card_id: Code


class LinkIn(Strict):
    issuer: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    code: Code
    link: str = Field(description="buyer, recipient or card:<card id>")


class HolderVoucherOut(BaseModel):
    code: str
    type_code: str
    classification: str
    state: str
    currency: str
    balance_minor: int
    held_minor: int
    valid_until: datetime | None
    card_id: str | None
    link: str
