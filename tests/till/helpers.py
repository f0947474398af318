"""Shared steps of the till-rule tests: types with rules, sold vouchers, receipts with lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from scrip.domain.basket import Basket, Line
from scrip.domain.money import Money
from scrip.domain.scope import EVERYTHING
from scrip.services import catalog, pos
from scrip.services.till import ReceiptInput
from scrip.services.views import OperationResult
from tests.builders import World, now

LINES = (
    Line("MILK", "dairy", 2, 300),
    Line("WINE", "alcohol", 1, 1_500),
    Line("BREAD", "bakery", 1, 200),
)


def receipt(
    *, lines: tuple[Line, ...] = LINES, card_id: str | None = None, **particulars: Any
) -> ReceiptInput:
    basket = Basket(lines=lines, card_id=card_id)
    amount = particulars.pop("amount_minor", basket.lines_total)
    return ReceiptInput(basket=basket, amount_minor=amount, **particulars)


def card_type(conn: Connection, w: World, code: str, **rules: Any) -> str:
    catalog.create_voucher_type(
        conn,
        issuer_id=w.issuer_id,
        code=code,
        name=code,
        classification=rules.pop("classification", "gift_card"),
        value_mode=rules.pop("value_mode", "variable"),
        max_balance_minor=100_000,
        **rules,
    )
    return code


def sold(
    conn: Connection,
    w: World,
    type_code: str,
    amount: int | None = 5_000,
    *,
    card_id: str | None = None,
    state: str = "prepared",
) -> str:
    [code] = catalog.create_vouchers(
        conn,
        type_code=type_code,
        issuer_id=w.issuer_id,
        count=1,
        state=state,
        now=now(),
        card_id=card_id,
    )
    pos.sell(
        conn,
        till=w.till,
        items=[pos.SaleItem(code, amount)],
        receipt=ReceiptInput(),
        now=now(),
    )
    return code


def pay(
    conn: Connection,
    w: World,
    code: str,
    amount: int,
    *,
    rcpt: ReceiptInput | None = None,
    partial: bool = False,
    at: datetime | None = None,
) -> OperationResult:
    return pos.redeem(
        conn,
        till=w.till,
        code=code,
        amount=Money(amount, "EUR"),
        partial_allowed=partial,
        pin=None,
        receipt=rcpt if rcpt is not None else receipt(),
        now=at or now(),
    )


def holder_with_card(
    conn: Connection, w: World, ref: str, card_id: str, *, points: int = 0
) -> None:
    """A holder with an active club card carrying ``points`` earned through the loyalty seam."""
    from scrip.services import holders
    from scrip.services.loyalty import BUILT_IN, PointsMove

    holders.create_holder(
        conn, scope=EVERYTHING, issuer_id=w.issuer_id, holder_ref=ref, name=ref, email=None
    )
    holders.add_card(conn, scope=EVERYTHING, issuer_id=w.issuer_id, holder_ref=ref, card_id=card_id)
    holders.activate_card(conn, issuer_id=w.issuer_id, card_id=card_id, now=now())
    if points:
        BUILT_IN.earn(conn, PointsMove(w.issuer_id, card_id, points, "test purchase", now()))


def promo_type(conn: Connection, w: World, code: str = "GIFT", face: int = 1_000) -> str:
    catalog.create_voucher_type(
        conn,
        issuer_id=w.issuer_id,
        code=code,
        name=code,
        classification="promotional_voucher",
        value_mode="fixed",
        face_value_minor=face,
    )
    return code
