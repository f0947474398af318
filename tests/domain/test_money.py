"""Money, currencies, allocation and percentages."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrip.domain.errors import InvalidInput
from scrip.domain.money import (
    CURRENCY_EXPONENTS,
    Money,
    Rounding,
    allocate,
    check_currency,
    percent_of,
)


def test_known_exponents() -> None:
    assert CURRENCY_EXPONENTS["EUR"] == 2
    assert CURRENCY_EXPONENTS["JPY"] == 0
    assert CURRENCY_EXPONENTS["KWD"] == 3
    assert CURRENCY_EXPONENTS["BHD"] == 3


def test_check_currency() -> None:
    assert check_currency("BGN") == "BGN"
    for bad in ("eur", "XXX", "", "EURO"):
        with pytest.raises(InvalidInput) as caught:
            check_currency(bad)
        assert caught.value.code == "invalid_currency"
        assert caught.value.details == {"currency": bad}


@pytest.mark.parametrize("amount", [1.5, 1.0, True, "12", None])
def test_money_rejects_non_integers(amount: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money(amount, "EUR")  # type: ignore[arg-type]
    assert caught.value.code == "invalid_money"


def test_money_rejects_unknown_currency() -> None:
    with pytest.raises(InvalidInput) as caught:
        Money(1, "ZZZ")
    assert caught.value.code == "invalid_currency"


def test_arithmetic_and_comparison() -> None:
    a, b = Money(1000, "EUR"), Money(250, "EUR")
    assert a + b == Money(1250, "EUR")
    assert a - b == Money(750, "EUR")
    assert -b == Money(-250, "EUR")
    assert (b - a).is_negative()
    assert Money.zero("EUR").is_zero()
    assert b < a
    assert b <= a
    assert a > b
    assert a >= b
    assert a >= Money(1000, "EUR")


def test_currency_mismatch() -> None:
    eur, usd = Money(1, "EUR"), Money(1, "USD")
    operations: list[Callable[[], object]] = [
        lambda: eur + usd,
        lambda: eur - usd,
        lambda: eur < usd,
        lambda: eur <= usd,
        lambda: eur > usd,
        lambda: eur >= usd,
    ]
    for operation in operations:
        with pytest.raises(InvalidInput) as caught:
            operation()
        assert caught.value.code == "currency_mismatch"
    assert eur != usd


def test_money_is_frozen() -> None:
    money = Money(1, "EUR")
    with pytest.raises(AttributeError):
        money.amount = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(1234, "EUR"), "12.34 EUR"),
        (Money(5, "EUR"), "0.05 EUR"),
        (Money(-1234, "EUR"), "-12.34 EUR"),
        (Money(-5, "USD"), "-0.05 USD"),
        (Money(0, "GBP"), "0.00 GBP"),
        (Money(1234, "JPY"), "1234 JPY"),
        (Money(1234, "KWD"), "1.234 KWD"),
        (Money(10**20 + 1, "EUR"), "1000000000000000000.01 EUR"),
    ],
)
def test_format(money: Money, text: str) -> None:
    assert money.format() == text


def test_allocate_examples() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(5, [1, 1]) == [3, 2]
    assert allocate(10, [0, 1]) == [0, 10]
    assert allocate(7, [2, 3, 5]) == [1, 2, 4]  # exact 1.4, 2.1, 3.5
    assert allocate(0, [1, 2]) == [0, 0]
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1], [1.5]])
def test_allocate_rejects_bad_weights(weights: list[int]) -> None:
    with pytest.raises(InvalidInput):
        allocate(10, weights)


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(any),
)
def test_allocate_properties(total: int, weights: list[int]) -> None:
    shares = allocate(total, weights)
    assert sum(shares) == total
    assert len(shares) == len(weights)
    weight_sum = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share - Fraction(total * weight, weight_sum)) < 1
        if weight == 0:
            assert share == 0


@pytest.mark.parametrize(
    ("amount", "bp", "rounding", "expected"),
    [
        (1000, 1000, Rounding.HALF_UP, 100),
        (5, 5000, Rounding.HALF_UP, 3),  # 2.5
        (5, 5000, Rounding.HALF_EVEN, 2),
        (15, 5000, Rounding.HALF_EVEN, 8),  # 7.5
        (5, 5000, Rounding.DOWN, 2),
        (5, 5000, Rounding.UP, 3),
        (1, 1, Rounding.UP, 1),
        (1, 1, Rounding.DOWN, 0),
        (1, 1, Rounding.HALF_UP, 0),
        (-5, 5000, Rounding.HALF_UP, -3),
        (-5, 5000, Rounding.HALF_EVEN, -2),
        (-5, 5000, Rounding.DOWN, -2),
        (-5, 5000, Rounding.UP, -3),
        (1999, 1500, Rounding.HALF_UP, 300),  # 299.85
        (1999, 1500, Rounding.DOWN, 299),
        (1234, 10_000, Rounding.DOWN, 1234),
    ],
)
def test_percent_of(amount: int, bp: int, rounding: Rounding, expected: int) -> None:
    assert percent_of(amount, bp, rounding) == expected


def test_percent_of_rejects_floats() -> None:
    with pytest.raises(InvalidInput):
        percent_of(10.0, 100)  # type: ignore[arg-type]


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=0, max_value=20_000),
    st.sampled_from(list(Rounding)),
)
def test_percent_of_is_within_one_of_exact(amount: int, bp: int, rounding: Rounding) -> None:
    exact = Fraction(amount * bp, 10_000)
    result = percent_of(amount, bp, rounding)
    assert abs(result - exact) < 1
    if rounding in (Rounding.HALF_UP, Rounding.HALF_EVEN):
        assert abs(result - exact) <= Fraction(1, 2)
    if rounding is Rounding.DOWN:
        assert abs(result) <= abs(exact)
    if rounding is Rounding.UP:
        assert abs(result) >= abs(exact)
