"""Issuing the vouchers a receipt earns from its promotions (S8, S7.4).

``issue`` is one transaction's work: the receipt (open and locked, or claimed by number), the
club card (locked when points are spent or it is being activated), the pure evaluation, then
per award the limits (``db.promotions.claim``: per receipt and per holder and promotion, under
row locks), the voucher (a prepared one from stock or a new one), and at the end one
``pos.sell`` of every voucher and the points spent: posted at once, or held in the open
receipt and issued when the receipt is confirmed (a cancelled receipt gives the vouchers, the
counts and the points back: ``db.promotions.settle_receipt``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection

from scrip.db import holders as holders_db
from scrip.db import promotions as promotions_db
from scrip.db import receipts as receipts_db
from scrip.db import vouchers as vouchers_db
from scrip.db.holders import CardRow, HolderRow
from scrip.db.registers import RegisterContext
from scrip.domain import promotions as rules
from scrip.domain import validity
from scrip.domain.basket import Basket
from scrip.domain.codes import normalize
from scrip.domain.errors import InvalidInput, NotFound
from scrip.domain.lifecycle import State
from scrip.domain.promotions import Award, Kind, Occasion, Promotion
from scrip.domain.validity import Window
from scrip.services import catalog, holders, pos, till_rules
from scrip.services.activation import rule_of
from scrip.services.loyalty import BUILT_IN, LoyaltySystem, PointsMove
from scrip.services.promotions import promotion_of
from scrip.services.till import Context, ReceiptInput, context
from scrip.services.views import VoucherView


@dataclass(frozen=True, slots=True)
class PrintData:
    """What the till prints for an issued voucher."""

    promotion_code: str
    code: str
    barcode_payload: str
    value_minor: int
    currency: str
    valid_from: datetime | None
    valid_until: datetime | None
    receipt_text: str
    state: str


@dataclass(frozen=True, slots=True)
class Issued:
    status: str  # recorded | pending | none
    operation_id: uuid.UUID | None
    receipt_id: int | None
    vouchers: tuple[PrintData, ...]
    refused: tuple[tuple[str, str], ...]  # (promotion code, reason): limit_reached, out_of_stock
    points_spent: int


@dataclass(slots=True)
class _Presented:
    card: CardRow | None = None
    holder: HolderRow | None = None


def _presented(
    conn: Connection,
    *,
    till: RegisterContext,
    basket: Basket,
    activate_card: bool,
    points: int,
    now: datetime,
) -> _Presented:
    if basket.card_id is None:
        if activate_card or points:
            raise InvalidInput("present the club card", code="card_required")
        return _Presented()
    till_rules.holder_presented(conn, till=till, basket=basket)  # a voucher code is refused
    card: CardRow | None
    if activate_card:
        card = holders.activate_card(
            conn, issuer_id=till.issuer_id, card_id=basket.card_id, now=now
        )
    elif points:  # the points are spent under the card's lock, taken before any counter
        card = holders_db.lock_card(conn, issuer_id=till.issuer_id, card_id=basket.card_id)
    else:
        card = holders_db.find_card(conn, issuer_id=till.issuer_id, card_id=basket.card_id)
    if card is None:
        if points:
            raise NotFound("no club card with this number", code="club_card_not_found")
        return _Presented()
    holder = holders_db.find_holder_by_id(conn, card.holder_id) if card.holder_id else None
    return _Presented(card, holder)


def issue(
    conn: Connection,
    *,
    till: RegisterContext,
    receipt: ReceiptInput,
    points_to_spend: int = 0,
    activate_card: bool = False,
    loyalty: LoyaltySystem = BUILT_IN,
    now: datetime,
) -> Issued:
    """Evaluate the receipt and issue what it earns, within the limits of S7.4."""
    if points_to_spend < 0:
        raise InvalidInput("points must not be negative", code="invalid_points")
    ctx = context(conn, till=till, receipt=receipt, now=now)
    basket = receipt.basket or Basket()
    if basket.total_minor is None and not basket.has_lines:  # the open receipt's amount
        basket = replace(basket, total_minor=ctx.amount_minor)
    who = _presented(
        conn,
        till=till,
        basket=basket,
        activate_card=activate_card,
        points=points_to_spend,
        now=now,
    )
    if who.card is not None and points_to_spend:
        points_to_spend = min(
            points_to_spend,
            loyalty.balance(conn, issuer_id=till.issuer_id, card_id=who.card.card_id),
        )
    occasion = Occasion(
        basket=basket,
        store_id=till.store_id,
        now=now,
        tz=till.store_timezone,
        holder_ref=who.holder.holder_ref if who.holder else None,
        card_activated=activate_card,
        points_to_spend=points_to_spend,
    )
    chosen: list[tuple[Award, int, str]] = []
    refused: list[tuple[str, str]] = []
    spent = 0
    loaded = promotions_db.list_promotions(conn, issuer_id=till.issuer_id, status="active")
    # Each promotion's voucher type, read with it: (type id, type code).
    stock = {row["id"]: (row["voucher_type_id"], row["type_code"]) for row in loaded}
    for award in rules.evaluate([promotion_of(row) for row in loaded], occasion):
        scopes = _scopes(till, ctx, award.promotion, who.holder)
        if not _claim_all(conn, scopes):
            refused.append((award.promotion.code, "limit_reached"))
            continue
        voucher = _voucher_for(
            conn, till=till, award=award, stock=stock[award.promotion.id], who=who, now=now
        )
        if voucher is None:
            for scope, _ in scopes:
                promotions_db.unclaim(conn, scope=scope)
            refused.append((award.promotion.code, "out_of_stock"))
            continue
        spent += award.points_spent
        chosen.append((award, *voucher))
    issued = _sell(conn, till, receipt, ctx, who, chosen, refused, spent, now)
    if spent and who.card is not None:
        move = PointsMove(
            issuer_id=till.issuer_id,
            card_id=who.card.card_id,
            points=spent,
            reason="vouchers against points",
            now=now,
            operation_id=issued.operation_id,
        )
        loyalty.spend(conn, move)
    return issued


def _scopes(
    till: RegisterContext, ctx: Context, promotion: Promotion, holder: HolderRow | None
) -> list[tuple[str, int]]:
    scopes = []
    if ctx.receipt_id is not None or ctx.where.receipt_number:
        scope = promotions_db.receipt_scope(
            receipt_id=ctx.receipt_id,
            issuer_id=till.issuer_id,
            number=ctx.where.receipt_number or "",
        )
        scopes.append((scope, promotion.max_per_receipt))
    if holder is not None:
        scope = promotions_db.holder_scope(promotion_id=promotion.id, holder_id=holder.id)
        scopes.append((scope, promotion.max_per_holder))
    return scopes


def _claim_all(conn: Connection, scopes: list[tuple[str, int]]) -> bool:
    """Claim every scope or none (always in the same order: receipt, then holder)."""
    for index, (scope, limit) in enumerate(scopes):
        if not promotions_db.claim(conn, scope=scope, limit=limit):
            for taken, _ in scopes[:index]:
                promotions_db.unclaim(conn, scope=taken)
            return False
    return True


def _voucher_for(
    conn: Connection,
    *,
    till: RegisterContext,
    award: Award,
    stock: tuple[int, str],
    who: _Presented,
    now: datetime,
) -> tuple[int, str] | None:
    """A prepared voucher of the promotion's type (``stock``: its id and code), or a new one
    of the award's value: (id, code)."""
    type_id, type_code = stock
    if award.promotion.kind is Kind.prepared:
        return promotions_db.take_prepared(conn, type_id=type_id)
    bound = who.card.card_id if award.bind_card and who.card is not None else None
    [code] = catalog.create_vouchers(
        conn,
        type_code=type_code,
        issuer_id=till.issuer_id,
        count=1,
        state="generated",
        now=now,
        face_value_minor=award.value_minor,
        card_id=bound,
    )
    voucher = vouchers_db.find_voucher(conn, issuer_id=till.issuer_id, code=normalize(code))
    assert voucher is not None
    links: dict[str, object] = {}
    if award.using_groups is not None:
        links["supported_product_groups"] = list(award.using_groups)
    if who.holder is not None:
        links["recipient_holder_id"] = who.holder.id
    if links:
        holders_db.link_voucher(conn, voucher_id=voucher.id, **links)
    return voucher.id, code


def _printed_validity(
    conn: Connection, till: RegisterContext, view: VoucherView, now: datetime
) -> Window:
    """The validity to print. A voucher held in an open receipt is activated only when the
    receipt is confirmed; its window is printed as if it started now (the same local days
    unless the confirmation comes after midnight)."""
    if view.valid_until is not None or view.state != State.activating:
        return view.valid_from, view.valid_until
    voucher = vouchers_db.find_voucher(conn, issuer_id=till.issuer_id, code=view.code)
    rule = rule_of(voucher) if voucher is not None else None
    if rule is None or rule.basis != validity.ValidityBasis.from_activation:
        return view.valid_from, view.valid_until
    return validity.window(rule, tz=till.timezone, issued_at=now, activated_at=now)


def _sell(
    conn: Connection,
    till: RegisterContext,
    receipt: ReceiptInput,
    ctx: Context,
    who: _Presented,
    chosen: list[tuple[Award, int, str]],
    refused: list[tuple[str, str]],
    spent: int,
    now: datetime,
) -> Issued:
    if not chosen:
        return Issued("none", None, ctx.receipt_id, (), tuple(refused), spent)
    sold = pos.sell(
        conn,
        till=till,
        items=[pos.SaleItem(code) for _, _, code in chosen],
        receipt=receipt,
        now=now,
    )
    state = "pending" if ctx.two_phase else "issued"
    for award, voucher_id, _ in chosen:
        promotions_db.insert_issue(
            conn,
            promotion_id=award.promotion.id,
            voucher_id=voucher_id,
            holder_id=who.holder.id if who.holder else None,
            receipt_id=ctx.receipt_id,
            operation_id=sold.operation_id,
            state=state,
        )
    if ctx.receipt_id is not None:  # two phases: the issues wait for the receipt's close
        receipts_db.mark_pending_issues(conn, receipt_id=ctx.receipt_id)
    printed = tuple(
        PrintData(
            promotion_code=award.promotion.code,
            code=view.code,
            barcode_payload=view.code,
            value_minor=view.face_value_minor or 0,
            currency=view.currency,
            valid_from=window[0],
            valid_until=window[1],
            receipt_text=award.promotion.receipt_text,
            state=view.state,
        )
        for (award, _, _), view in zip(chosen, sold.vouchers, strict=True)
        for window in [_printed_validity(conn, till, view, now)]
    )
    return Issued(sold.status, sold.operation_id, ctx.receipt_id, printed, tuple(refused), spent)
