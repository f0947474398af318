"""Report periods, parameters and amounts, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from scrip.domain.errors import InvalidInput
from scrip.domain.reports import (
    Grouping,
    decimal_amount,
    decimal_text,
    parse_params,
    period_label,
    periods,
    series_by_currency,
)

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("day", "grouping", "label"),
    [
        (date(2026, 3, 31), Grouping.day, "2026-03-31"),
        (date(2026, 3, 31), Grouping.month, "2026-03"),
        (date(2026, 3, 31), Grouping.quarter, "2026-Q1"),
        (date(2026, 4, 1), Grouping.quarter, "2026-Q2"),
        (date(2026, 12, 31), Grouping.quarter, "2026-Q4"),
        (date(2026, 12, 31), Grouping.year, "2026"),
    ],
)
def test_a_day_falls_in_its_period(day: date, grouping: Grouping, label: str) -> None:
    [start] = periods(day, day, grouping, limit=10)
    assert period_label(start, grouping) == label


def test_quarters_across_a_year_end() -> None:
    starts = periods(date(2025, 11, 15), date(2026, 4, 1), Grouping.quarter, limit=10)
    assert starts == [date(2025, 10, 1), date(2026, 1, 1), date(2026, 4, 1)]


def test_defaults_are_the_last_thirty_days_by_day() -> None:
    params = parse_params({}, accepted=("from", "to", "grouping"), today=TODAY)
    assert (params.date_from, params.date_to, params.grouping) == (
        date(2026, 10, 25),
        TODAY,
        Grouping.day,
    )


def test_a_long_range_by_day_is_refused_but_by_month_is_fine() -> None:
    raw = {"from": "2020-01-01", "to": "2026-01-01"}
    with pytest.raises(InvalidInput) as refused:
        parse_params(raw, accepted=("from", "to", "grouping"), today=TODAY)
    assert refused.value.code == "too_many_periods"
    by_month = parse_params(
        {**raw, "grouping": "month"}, accepted=("from", "to", "grouping"), today=TODAY
    )
    assert by_month.grouping is Grouping.month


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1234, "EUR", "12.34"),
        (5, "EUR", "0.05"),
        (-1205, "EUR", "-12.05"),
        (500, "JPY", "500"),
        (1, "KWD", "0.001"),
    ],
)
def test_minor_units_become_exact_decimals(minor: int, currency: str, text: str) -> None:
    assert decimal_text(minor, currency) == text
    assert str(decimal_amount(minor, currency)) == text


def test_series_never_add_two_currencies() -> None:
    rows = [
        {"period": "2026-01", "currency": "EUR", "sold_minor": 100},
        {"period": "2026-01", "currency": "USD", "sold_minor": 7},
        {"period": "2026-02", "currency": "EUR", "sold_minor": 50},
    ]
    series = series_by_currency(
        rows, label_key="period", labels=["2026-01", "2026-02"], value_key="sold_minor", name="Sold"
    )
    assert [(s.label, s.values) for s in series] == [("Sold EUR", [100, 50]), ("Sold USD", [7, 0])]
