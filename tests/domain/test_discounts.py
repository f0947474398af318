"""Discount vouchers: one rounding rule (half up on the qualifying sum), spread exactly."""

from __future__ import annotations

import pytest

from scrip.domain.basket import Line
from scrip.domain.discounts import compute
from scrip.domain.errors import InvalidInput


def lines(*amounts: int) -> tuple[Line, ...]:
    return tuple(Line(f"I{i}", "G", 1, amount) for i, amount in enumerate(amounts))


@pytest.mark.parametrize(
    ("amounts", "percent_bp", "expected"),
    [
        ((333,), 1500, 50),  # 49.95 -> 50: half up
        ((333,), 1000, 33),  # 33.3 -> 33
        ((105,), 1000, 11),  # 10.5 -> 11: the half goes up
        ((101, 101, 101), 3333, 101),  # on the sum (303 * 33.33 % = 100.99), not per line
        ((1,), 4900, 0),  # 0.49 of a cent -> nothing
        ((1,), 5000, 1),
    ],
)
def test_percent_of_odd_amounts_rounds_half_up_on_the_sum(
    amounts: tuple[int, ...], percent_bp: int, expected: int
) -> None:
    found = compute(lines=lines(*amounts), percent_bp=percent_bp, cap_minor=10**9)
    assert found.amount_minor == expected
    assert sum(line.amount_minor for line in found.lines) == expected


def test_per_line_rounding_would_differ_and_is_not_used() -> None:
    # 15 % of 3 lines of 1.11: per line 0.1665 -> 0.17 each = 0.51; on the sum 0.4995 -> 0.50.
    found = compute(lines=lines(111, 111, 111), percent_bp=1500, cap_minor=10**9)
    assert found.amount_minor == 50
    assert sorted(line.amount_minor for line in found.lines) == [16, 17, 17]


def test_the_discount_is_capped_by_the_voucher_and_by_the_lines() -> None:
    assert compute(lines=lines(10_000), percent_bp=5000, cap_minor=3_000).amount_minor == 3_000
    assert compute(lines=lines(700), percent_bp=None, cap_minor=1_000).amount_minor == 700
    assert compute(lines=lines(7_000), percent_bp=None, cap_minor=1_000).amount_minor == 1_000


def test_an_amount_is_spread_in_proportion_to_the_lines() -> None:
    found = compute(lines=lines(100, 200, 700), percent_bp=None, cap_minor=500)
    assert [line.amount_minor for line in found.lines] == [50, 100, 350]


def test_nothing_to_discount_gives_nothing() -> None:
    assert compute(lines=(), percent_bp=1000, cap_minor=500).amount_minor == 0


@pytest.mark.parametrize("bad", [0, -1, 10_001])
def test_a_percent_outside_0_to_100_is_refused(bad: int) -> None:
    with pytest.raises(InvalidInput):
        compute(lines=lines(100), percent_bp=bad, cap_minor=100)
