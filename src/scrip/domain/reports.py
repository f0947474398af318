"""Reports (S14) as plain values: the shape every report returns, its parameters and periods.

A report answers with one :class:`ReportResult` that a screen, a CSV file and an Excel sheet can
all draw: a title, typed :class:`Column` s, rows of plain values and one :class:`Chart`.

* ``count`` columns hold ``int``; ``date`` columns hold :class:`datetime.date`; ``text``
  columns hold ``str`` (or ``None``).
* ``money`` columns hold integer minor units; the currency is the row's ``currency`` value, so
  every row that has a money column has a ``currency`` column. Amounts of different currencies
  are never added together: rows and chart series are split by currency.
* A chart's series values are integers too (counts, or minor units of the currency the series
  label names).

Parameters come in as text (query string, command line) and are checked here, each refusal an
``InvalidInput`` with a stable code: ``unknown_parameter``, ``invalid_date``,
``invalid_date_range``, ``too_many_periods``, ``invalid_grouping``, ``invalid_place``,
``invalid_days``, ``invalid_currency``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal, TypeVar

from scrip.domain.errors import InvalidInput
from scrip.domain.money import CURRENCY_EXPONENTS, check_currency

E = TypeVar("E", bound=StrEnum)

MAX_PERIODS = 1_000
MAX_DAYS_AHEAD = 366
DEFAULT_RANGE_DAYS = 30


class Grouping(StrEnum):
    """How a date range is cut into periods (PostgreSQL ``date_trunc`` field names)."""

    day = "day"
    month = "month"
    quarter = "quarter"
    year = "year"


class Place(StrEnum):
    """Where vouchers were issued or used, at which level of detail."""

    issuer = "issuer"
    store = "store"
    register = "register"


Kind = Literal["text", "count", "money", "date"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind


@dataclass(frozen=True)
class Series:
    label: str
    values: list[int]
    currency: str | None = None  # the values are minor units of it; None: counts


@dataclass(frozen=True)
class Chart:
    kind: Literal["line", "bar", "doughnut"]
    labels: list[str]
    series: list[Series]


@dataclass(frozen=True)
class ReportResult:
    title: str
    columns: list[Column]
    rows: list[dict[str, object]]
    chart: Chart


@dataclass(frozen=True)
class Params:
    """Every parameter a report may take, checked; each report reads the ones it declares."""

    date_from: date
    date_to: date
    grouping: Grouping = Grouping.day
    issuer: str | None = None
    currency: str | None = None
    by: Place = Place.store
    as_of: date | None = None
    days: int = 30


def parse_params(raw: Mapping[str, str | None], *, accepted: Sequence[str], today: date) -> Params:
    """Check the text parameters ``raw`` against the ones a report ``accepted``.

    ``from`` and ``to`` are local dates, both included; by default the 30 days up to ``today``.
    ``as_of`` defaults to ``to``.
    """
    given: dict[str, str] = {k: v for k, v in raw.items() if v}
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise InvalidInput(
            f"this report does not take {', '.join(unknown)}",
            code="unknown_parameter",
            unknown=unknown,
            accepted=list(accepted),
        )
    date_to = _date(given, "to") or today
    date_from = _date(given, "from") or date_to - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    grouping = _choice(Grouping, given.get("grouping", "day"), "grouping", "invalid_grouping")
    if date_from > date_to:
        raise InvalidInput(
            "from must not be after to",
            code="invalid_date_range",
            date_from=date_from.isoformat(),
            date_to=date_to.isoformat(),
        )
    if "from" in accepted:
        _check_period_count(date_from, date_to, grouping)
    return Params(
        date_from=date_from,
        date_to=date_to,
        grouping=grouping,
        issuer=given.get("issuer"),
        currency=check_currency(given["currency"]) if "currency" in given else None,
        by=_choice(Place, given.get("by", "store"), "by", "invalid_place"),
        as_of=_date(given, "as_of") or date_to,
        days=_days(given.get("days", "30")),
    )


def _date(given: Mapping[str, str], name: str) -> date | None:
    text = given.get(name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(
            f"{name} must be a date like 2026-03-31", code="invalid_date", parameter=name
        ) from exc


def _choice(enum: type[E], text: str, name: str, code: str) -> E:
    try:
        return enum(text)
    except ValueError as exc:
        choices = [str(member) for member in enum]
        raise InvalidInput(
            f"{name} must be one of {', '.join(choices)}",
            code=code,
            parameter=name,
            allowed=choices,
        ) from exc


def _days(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_DAYS_AHEAD:
        raise InvalidInput(
            f"days must be a whole number from 1 to {MAX_DAYS_AHEAD}",
            code="invalid_days",
            maximum=MAX_DAYS_AHEAD,
        )
    return int(text)


def _check_period_count(date_from: date, date_to: date, grouping: Grouping) -> None:
    count = len(periods(date_from, date_to, grouping, limit=MAX_PERIODS + 1))
    if count > MAX_PERIODS:
        raise InvalidInput(
            f"at most {MAX_PERIODS} periods: choose a shorter range or a coarser grouping",
            code="too_many_periods",
            maximum=MAX_PERIODS,
        )


def period_start(day: date, grouping: Grouping) -> date:
    """The first day of the period ``day`` falls in."""
    if grouping is Grouping.day:
        return day
    if grouping is Grouping.month:
        return day.replace(day=1)
    if grouping is Grouping.quarter:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def _next_period(start: date, grouping: Grouping) -> date:
    if grouping is Grouping.day:
        return start + timedelta(days=1)
    months = {Grouping.month: 1, Grouping.quarter: 3, Grouping.year: 12}[grouping]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def periods(date_from: date, date_to: date, grouping: Grouping, *, limit: int) -> list[date]:
    """The start of every period from the one holding ``date_from`` to the one holding
    ``date_to`` (at most ``limit`` of them)."""
    found: list[date] = []
    start = period_start(date_from, grouping)
    while start <= date_to and len(found) < limit:
        found.append(start)
        start = _next_period(start, grouping)
    return found


def period_label(start: date, grouping: Grouping) -> str:
    """``2026-03-31`` (day), ``2026-03`` (month), ``2026-Q1`` (quarter), ``2026`` (year)."""
    if grouping is Grouping.day:
        return start.isoformat()
    if grouping is Grouping.month:
        return f"{start.year}-{start.month:02d}"
    if grouping is Grouping.quarter:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def decimal_amount(minor: int, currency: str) -> Decimal:
    """Minor units as an exact decimal in major units (``1234 EUR`` → ``12.34``)."""
    exponent = CURRENCY_EXPONENTS[check_currency(currency)]
    return Decimal(minor).scaleb(-exponent)


def decimal_text(minor: int, currency: str) -> str:
    """``decimal_amount`` as text with every minor digit (``1200 EUR`` → ``"12.00"``)."""
    exponent = CURRENCY_EXPONENTS[check_currency(currency)]
    sign = "-" if minor < 0 else ""
    units, rest = divmod(abs(minor), 10**exponent)
    return f"{sign}{units}.{rest:0{exponent}d}" if exponent else f"{sign}{units}"


def series_by_currency(
    rows: Iterable[Mapping[str, object]],
    *,
    label_key: str,
    labels: Sequence[str],
    value_key: str,
    name: str,
) -> list[Series]:
    """One series per currency over ``labels``: each row adds its ``value_key`` at the label its
    ``label_key`` names (rows of one currency only, so nothing of two currencies is added)."""
    position = {label: i for i, label in enumerate(labels)}
    by_currency: dict[str, list[int]] = {}
    for row in rows:
        values = by_currency.setdefault(str(row["currency"]), [0] * len(labels))
        values[position[str(row[label_key])]] += _int(row[value_key])
    return [Series(f"{name} {cur}", v, cur) for cur, v in sorted(by_currency.items())]


def series_of_counts(
    rows: Iterable[Mapping[str, object]],
    *,
    label_key: str,
    labels: Sequence[str],
    columns: Sequence[Column],
) -> list[Series]:
    """One series per count column over ``labels`` (counts of any currency may be added)."""
    position = {label: i for i, label in enumerate(labels)}
    totals = {column.key: [0] * len(labels) for column in columns}
    for row in rows:
        for key, values in totals.items():
            values[position[str(row[label_key])]] += _int(row[key])
    return [Series(column.label, totals[column.key]) for column in columns]


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("report values are integers", code="invalid_report_value")
    return value
