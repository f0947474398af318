"""What the POS says it sells: receipt lines, the receipt total and the club card presented.

A receipt may come without lines (simple tills); rules that need lines then refuse with
``receipt_lines_required`` rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scrip.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Line:
    """One receipt line: ``amount_minor`` is the line's total (quantity already applied)."""

    item_code: str
    item_group: str | None
    quantity: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Basket:
    lines: tuple[Line, ...] = ()
    total_minor: int | None = None
    card_id: str | None = None

    @property
    def has_lines(self) -> bool:
        return bool(self.lines)

    @property
    def lines_total(self) -> int:
        return sum(line.amount_minor for line in self.lines)


def qualifying(
    basket: Basket, *, products: Iterable[str] | None, groups: Iterable[str] | None
) -> tuple[Line, ...]:
    """The lines a voucher restricted to ``products`` / ``groups`` may pay for or discount.

    A line qualifies when its item code is among the products or its group among the groups;
    with neither restriction every line qualifies.
    """
    if products is None and groups is None:
        return basket.lines
    wanted_items, wanted_groups = set(products or ()), set(groups or ())
    return tuple(
        line
        for line in basket.lines
        if line.item_code in wanted_items or (line.item_group or "") in wanted_groups
    )


def quantity_in_group(basket: Basket, group: str) -> int:
    return sum(line.quantity for line in basket.lines if line.item_group == group)


def amount_in_groups(basket: Basket, groups: Iterable[str]) -> int:
    wanted = set(groups)
    return sum(line.amount_minor for line in basket.lines if line.item_group in wanted)


def check_total(basket: Basket) -> None:
    """A stated total below the sum of the lines is a till error, refused before any rule."""
    stated = basket.total_minor
    if stated is not None and basket.has_lines and stated < basket.lines_total:
        raise InvalidInput(
            "the receipt total is below the sum of its lines",
            code="receipt_total_below_lines",
            total_minor=stated,
            lines_minor=basket.lines_total,
        )
