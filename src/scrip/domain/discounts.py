"""Discount vouchers: an amount or a percent off the bill, an item or an item group (S4).

The one rounding rule: a percent discount is taken of the *sum* of the qualifying lines and
rounded half up to the minor unit (15 % of 3.33 is 0.4995, so 0.50), never per line; the
result is capped by what the voucher holds (its maximum discount) and then spread over the
qualifying lines by largest remainder (:func:`money.allocate`), so the line discounts add up
to the total exactly. An amount discount is the voucher's value, at most the qualifying lines.
The discount is computed before tenders: the POS takes it off the bill, then the gift cards.
"""

from __future__ import annotations

from dataclasses import dataclass

from scrip.domain.basket import Line
from scrip.domain.errors import InvalidInput
from scrip.domain.money import HUNDRED_PERCENT_BP, Rounding, allocate, percent_of


@dataclass(frozen=True, slots=True)
class LineDiscount:
    item_code: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Discount:
    amount_minor: int
    lines: tuple[LineDiscount, ...]


def compute(*, lines: tuple[Line, ...], percent_bp: int | None, cap_minor: int) -> Discount:
    """The discount on ``lines`` (the qualifying ones): ``percent_bp`` basis points of their
    sum, or the voucher's whole value, never more than ``cap_minor`` nor than the lines."""
    if percent_bp is not None and not 0 < percent_bp <= HUNDRED_PERCENT_BP:
        raise InvalidInput("a percent discount is 1 to 10000 basis points", code="invalid_percent")
    base = sum(line.amount_minor for line in lines)
    wanted = cap_minor if percent_bp is None else percent_of(base, percent_bp, Rounding.HALF_UP)
    amount = max(0, min(wanted, cap_minor, base))
    if amount == 0:
        return Discount(0, ())
    shares = allocate(amount, [line.amount_minor for line in lines])
    return Discount(
        amount,
        tuple(
            LineDiscount(line.item_code, share) for line, share in zip(lines, shares, strict=True)
        ),
    )
