"""Money as integer minor units plus an ISO 4217 currency; never floats.

``Money(1234, "EUR")`` is 12.34 EUR. Amounts of different currencies never mix: adding,
subtracting or comparing them raises ``InvalidInput`` with code ``currency_mismatch``.

Splits go through :func:`allocate` (largest remainder, ties to the earliest index) and
percentages through :func:`percent_of` with an explicit :class:`Rounding` rule, so every
division of money in scrip is exact and reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from scrip.domain.errors import InvalidInput

# fmt: off
CURRENCY_EXPONENTS: dict[str, int] = {
    # Europe
    "EUR": 2, "GBP": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2,
    "HUF": 2, "BGN": 2, "RON": 2, "ISK": 0, "RSD": 2, "MKD": 2, "BAM": 2, "ALL": 2,
    "MDL": 2, "UAH": 2, "GEL": 2, "TRY": 2, "ILS": 2,
    # Americas
    "USD": 2, "CAD": 2, "MXN": 2, "BRL": 2, "ARS": 2, "CLP": 0, "COP": 2, "PEN": 2,
    "UYU": 2,
    # Asia-Pacific
    "AUD": 2, "NZD": 2, "JPY": 0, "KRW": 0, "CNY": 2, "HKD": 2, "SGD": 2, "TWD": 2,
    "INR": 2, "IDR": 2, "MYR": 2, "PHP": 2, "THB": 2, "VND": 0,
    # Middle East and Africa
    "AED": 2, "SAR": 2, "QAR": 2, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "EGP": 2,
    "MAD": 2, "TND": 3, "ZAR": 2, "NGN": 2, "KES": 2,
}
# fmt: on

HUNDRED_PERCENT_BP = 10_000


def check_currency(code: str) -> str:
    """Return ``code`` if it is a known ISO 4217 code (upper case), else raise InvalidInput."""
    if not isinstance(code, str) or code not in CURRENCY_EXPONENTS:
        raise InvalidInput(
            f"unknown currency {code!r}", code="invalid_currency", currency=str(code)
        )
    return code


def check_int(value: object, what: str = "amount") -> int:
    """Return ``value`` if it is a real ``int`` (not a bool, not a float), else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{what} must be an integer number of minor units, got {type(value).__name__}",
            code="invalid_money",
        )
    return value


@dataclass(frozen=True, slots=True)
class Money:
    """An integer amount of minor units (cents) in one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        check_int(self.amount)
        check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``."""
        return cls(0, currency)

    def _same(self, other: Money) -> Money:
        if not isinstance(other, Money):
            raise InvalidInput("money can only be combined with money", code="invalid_money")
        if other.currency != self.currency:
            raise InvalidInput(
                f"cannot combine {self.currency} with {other.currency}",
                code="currency_mismatch",
                currencies=[self.currency, other.currency],
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def is_zero(self) -> bool:
        """True for a zero amount."""
        return self.amount == 0

    def is_negative(self) -> bool:
        """True for an amount below zero."""
        return self.amount < 0

    def format(self) -> str:
        """``Money(1234, "EUR")`` -> ``"12.34 EUR"``; ``Money(-5, "JPY")`` -> ``"-5 JPY"``."""
        exponent = CURRENCY_EXPONENTS[self.currency]
        sign = "-" if self.amount < 0 else ""
        units, minor = divmod(abs(self.amount), 10**exponent)
        if exponent == 0:
            return f"{sign}{units} {self.currency}"
        return f"{sign}{units}.{minor:0{exponent}d} {self.currency}"


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` by the largest-remainder method.

    Each share is the exact share rounded down; the units left over go one each to the
    largest fractional parts, ties to the earliest index. The result sums exactly to
    ``total`` and each share is within 1 of its exact share. A negative total is split as
    the negation of splitting its absolute value.
    """
    check_int(total, "total")
    _check_weights(weights)
    if total < 0:
        return [-share for share in allocate(-total, weights)]
    weight_sum = sum(weights)
    floors = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for index in order[:left]:
        floors[index] += 1
    return floors


def _check_weights(weights: Sequence[int]) -> None:
    if not weights:
        raise InvalidInput("weights must not be empty", code="invalid_weights")
    for weight in weights:
        if check_int(weight, "weight") < 0:
            raise InvalidInput("weights must not be negative", code="invalid_weights")
    if sum(weights) == 0:
        raise InvalidInput("weights must not all be zero", code="invalid_weights")


class Rounding(StrEnum):
    """How an inexact quotient becomes an integer.

    HALF_UP rounds halves away from zero, HALF_EVEN rounds halves to the even neighbour,
    DOWN truncates toward zero, UP rounds away from zero. All are symmetric around zero.
    """

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    DOWN = "down"
    UP = "up"


def divide(numerator: int, denominator: int, rounding: Rounding) -> int:
    """``numerator / denominator`` rounded by ``rounding``, in exact integer arithmetic."""
    if denominator <= 0:
        raise InvalidInput("denominator must be positive", code="invalid_input")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder and _rounds_up(quotient, remainder * 2, denominator, rounding):
        quotient += 1
    return sign * quotient


def _rounds_up(quotient: int, twice_remainder: int, denominator: int, rounding: Rounding) -> bool:
    if rounding is Rounding.DOWN:
        return False
    if rounding is Rounding.UP:
        return True
    if twice_remainder != denominator:
        return twice_remainder > denominator
    return rounding is Rounding.HALF_UP or quotient % 2 == 1


def percent_of(amount: int, basis_points: int, rounding: Rounding = Rounding.HALF_UP) -> int:
    """``amount * basis_points / 10 000`` rounded by ``rounding`` (1 % = 100 basis points)."""
    check_int(amount)
    check_int(basis_points, "basis_points")
    return divide(amount * basis_points, HUNDRED_PERCENT_BP, Rounding(rounding))
