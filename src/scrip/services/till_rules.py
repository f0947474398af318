"""The restrictions of S6 at the till, around ``domain.restrictions`` and ``domain.discounts``.

``services.pos`` calls :func:`check_payment` once per redemption, after the voucher is locked
and before any value moves: a refusal leaves nothing written. The answer says how much the
voucher may take, the discount computed for a discount voucher, and whether paying with it
still earns loyalty points (told to the POS).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection

from scrip.db import till_rules as rules_db
from scrip.db.registers import RegisterContext
from scrip.db.vouchers import VoucherRow
from scrip.domain import discounts, restrictions
from scrip.domain.basket import Basket, check_total, qualifying
from scrip.domain.errors import InsufficientBalance, RestrictionRefused
from scrip.domain.lifecycle import Classification
from scrip.services.till import Context
from scrip.services.views import OperationResult


@dataclass(frozen=True, slots=True)
class Payment:
    """What the rules allow: at most ``amount_minor``; a discount's split over the lines."""

    amount_minor: int
    earns_points: bool
    discount: discounts.Discount | None = None


def holder_presented(conn: Connection, *, till: RegisterContext, basket: Basket) -> int | None:
    """The holder of the club card on the receipt; a voucher's code is refused as a card."""
    if basket.card_id is None:
        return None
    card = rules_db.presented_card(conn, issuer_id=till.issuer_id, card_id=basket.card_id)
    if card.club_card_id is None:
        restrictions.check_card_presented(card_is_voucher_of=card.voucher_classification)
    return card.holder_id


def check_payment(
    conn: Connection,
    *,
    till: RegisterContext,
    voucher: VoucherRow,
    basket: Basket | None,
    ctx: Context,
    requested_minor: int,
    partial_allowed: bool,
    now: datetime,
) -> Payment:
    basket = basket or Basket()
    check_total(basket)
    assert voucher.till_rules is not None, "db.vouchers reads the rules with the voucher"
    row = rules_db.rules_of(voucher.till_rules)
    rules = row.rules(card_id=voucher.card_id)
    same_type = paid = 0
    if rules.max_per_receipt is not None or rules.limits_products:
        same_type, paid = rules_db.type_on_receipt(
            conn,
            type_id=voucher.type_id,
            voucher_id=voucher.id,
            receipt_id=ctx.receipt_id,
            receipt_number=ctx.where.receipt_number,
            store_id=till.store_id,
        )
    use = restrictions.Use(
        store_id=till.store_id,
        now=now,
        tz=till.store_timezone,
        basket=basket,
        holder_id=holder_presented(conn, till=till, basket=basket),
        same_type_on_receipt=same_type,
        paid_by_type_on_receipt=paid,
    )
    limit = restrictions.check_payment(rules, use)
    if row.discount_percent_bp is not None and not basket.has_lines:
        raise RestrictionRefused(
            "a percent discount needs the receipt lines",
            code="receipt_lines_required",
            rule="supported_products",
        )
    if voucher.classification == Classification.promotional_voucher and basket.has_lines:
        lines = qualifying(basket, products=rules.products, groups=rules.groups)
        found = discounts.compute(
            lines=lines,
            percent_bp=row.discount_percent_bp,
            cap_minor=min(voucher.balance_minor - voucher.held_minor, requested_minor),
        )
        if found.amount_minor == 0:
            raise RestrictionRefused(
                "nothing on the receipt to discount",
                code="no_qualifying_items",
                rule="supported_products",
            )
        return Payment(found.amount_minor, row.earns_points, found)
    amount = requested_minor if limit is None else min(requested_minor, limit)
    if amount < requested_minor and not partial_allowed:
        raise InsufficientBalance(
            "this voucher may pay only for some goods on the receipt",
            code="exceeds_qualifying_items",
            rule="supported_products",
            payable_minor=amount,
            requested_minor=requested_minor,
        )
    return Payment(amount, row.earns_points)


def answer(result: OperationResult, payment: Payment) -> OperationResult:
    """The redemption's answer with what the POS needs from the rules."""
    lines = payment.discount.lines if payment.discount is not None else ()
    return replace(
        result,
        earns_points=payment.earns_points,
        discount_lines=tuple((line.item_code, line.amount_minor) for line in lines),
    )
