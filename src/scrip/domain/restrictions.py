"""Restrictions checked when a voucher is used at the till (S6).

Plain values in, a decision out: :func:`check_payment` either refuses with a
``RestrictionRefused`` whose ``code`` is stable and whose ``details["rule"]`` names the rule,
or returns how much of the receipt the voucher may pay for (``None``: no product limit).

The rules, in the order they are checked:

=========================  ==========================================================
rule                       codes
=========================  ==========================================================
``allowed_stores``         ``store_not_allowed``
``schedule``               ``outside_hours``, ``day_not_allowed`` (store's time zone)
``card_binding``           ``card_required``, ``card_mismatch``
``e_voucher_use``          ``holder_required``, ``not_the_buyer``, ``not_the_recipient``
``max_per_receipt``        ``too_many_vouchers_on_receipt``
``supported_products``     ``receipt_lines_required``, ``no_qualifying_items``,
                           ``qualifying_items_paid`` (by vouchers of its type)
=========================  ==========================================================

Certificates can't be used as loyalty cards: :func:`check_card_presented` refuses a club card
number that is in fact a voucher code (``not_a_loyalty_card``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from scrip.domain import schedule as schedules
from scrip.domain.basket import Basket, qualifying
from scrip.domain.errors import RestrictionRefused
from scrip.domain.schedule import Schedule


@dataclass(frozen=True, slots=True)
class Rules:
    """A voucher's effective restrictions: its own override, else its type's rule."""

    products: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    store_ids: tuple[int, ...] | None = None
    schedule: Schedule = field(default_factory=Schedule)
    max_per_receipt: int | None = None
    card_id: str | None = None
    e_voucher_use: str | None = None
    buyer_holder_id: int | None = None
    recipient_holder_id: int | None = None

    @property
    def limits_products(self) -> bool:
        return self.products is not None or self.groups is not None


@dataclass(frozen=True, slots=True)
class Use:
    """Where, when and with what the voucher is presented."""

    store_id: int
    now: datetime
    tz: str
    basket: Basket = field(default_factory=Basket)
    holder_id: int | None = None
    same_type_on_receipt: int = 0
    # What vouchers of the same type already paid on this receipt: the same goods are paid
    # for once, however many of them are presented.
    paid_by_type_on_receipt: int = 0


def _refuse(rule: str, code: str, message: str, **details: object) -> RestrictionRefused:
    return RestrictionRefused(message, code=code, rule=rule, **details)


def check_store(rules: Rules, use: Use) -> None:
    if rules.store_ids is not None and use.store_id not in rules.store_ids:
        raise _refuse("allowed_stores", "store_not_allowed", "not usable in this store")


def check_schedule(rules: Rules, use: Use) -> None:
    refused = schedules.refusal(rules.schedule, use.now, use.tz)
    if refused == "hours":
        raise _refuse("schedule", "outside_hours", "not usable at this hour", timezone=use.tz)
    if refused == "days":
        raise _refuse("schedule", "day_not_allowed", "not usable on this day", timezone=use.tz)


def check_card(rules: Rules, use: Use) -> None:
    if rules.card_id is None:
        return
    if use.basket.card_id is None:
        raise _refuse("card_binding", "card_required", "usable only with its club card")
    if use.basket.card_id != rules.card_id:
        raise _refuse("card_binding", "card_mismatch", "issued to another club card")


def check_e_voucher(rules: Rules, use: Use) -> None:
    if rules.e_voucher_use is None:
        return
    personal = rules.e_voucher_use == "personal"
    owner = rules.buyer_holder_id if personal else rules.recipient_holder_id
    if owner is None:
        return  # sold without a holder: nobody to compare with
    if use.holder_id is None:
        raise _refuse("e_voucher_use", "holder_required", "present the holder's club card")
    if use.holder_id != owner:
        code = "not_the_buyer" if personal else "not_the_recipient"
        raise _refuse("e_voucher_use", code, f"usable only by its {code.removeprefix('not_the_')}")


def check_per_receipt(rules: Rules, use: Use) -> None:
    if rules.max_per_receipt is not None and use.same_type_on_receipt >= rules.max_per_receipt:
        raise _refuse(
            "max_per_receipt",
            "too_many_vouchers_on_receipt",
            "no more vouchers of this type on this receipt",
            maximum=rules.max_per_receipt,
        )


def payable(rules: Rules, basket: Basket, *, paid_already: int = 0) -> int | None:
    """What the voucher may pay for on this receipt: the sum of its qualifying lines, less
    what vouchers of its type already paid for them."""
    if not rules.limits_products:
        return None
    if not basket.has_lines:
        raise _refuse(
            "supported_products",
            "receipt_lines_required",
            "this voucher pays only for some goods: send the receipt lines",
        )
    total = sum(
        line.amount_minor
        for line in qualifying(basket, products=rules.products, groups=rules.groups)
    )
    if total <= 0:
        raise _refuse(
            "supported_products", "no_qualifying_items", "nothing on the receipt it may pay for"
        )
    if total <= paid_already:
        raise _refuse(
            "supported_products",
            "qualifying_items_paid",
            "the goods it may pay for are paid already",
            paid_minor=paid_already,
        )
    return total - paid_already


def check_payment(rules: Rules, use: Use) -> int | None:
    """Every rule of S6 for paying with (or discounting by) the voucher; the payable limit."""
    check_store(rules, use)
    check_schedule(rules, use)
    check_card(rules, use)
    check_e_voucher(rules, use)
    check_per_receipt(rules, use)
    return payable(rules, use.basket, paid_already=use.paid_by_type_on_receipt)


def check_card_presented(*, card_is_voucher_of: str | None) -> None:
    """A club card number that is a voucher's code: certificates are not loyalty cards."""
    if card_is_voucher_of is not None:
        raise _refuse(
            "certificate_not_loyalty_card",
            "not_a_loyalty_card",
            f"a {card_is_voucher_of.replace('_', ' ')} can't be used as a loyalty card",
        )
