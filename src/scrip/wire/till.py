"""The JSON contract of the rules at the till: receipts as the domain's baskets, promotions,
holders and club cards (issue 5)."""

from __future__ import annotations

from scrip.domain.basket import Basket, Line
from scrip.wire.pos import ReceiptIn


def basket_of(receipt: ReceiptIn) -> Basket | None:
    if not receipt.lines and receipt.card_id is None:
        return None
    return Basket(
        lines=tuple(
            Line(line.item_code, line.item_group, line.quantity, line.amount_minor)
            for line in receipt.lines
        ),
        total_minor=receipt.amount_minor,
        card_id=receipt.card_id,
    )
