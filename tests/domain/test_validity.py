"""Validity windows and local days, across time zones and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrip.domain.errors import InvalidInput, VoucherExpired
from scrip.domain.validity import (
    ValidityBasis,
    ValidityRule,
    check,
    end_of_day,
    is_expired,
    start_of_day,
    window,
)

SOFIA = "Europe/Sofia"
NEW_YORK = "America/New_York"
ISSUED = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_sofia_end_of_march_in_summer_time() -> None:
    # EU summer time starts on 29 March 2026, so Sofia is UTC+3 on 31 March.
    until = end_of_day(date(2026, 3, 31), SOFIA)
    assert until == utc(2026, 3, 31, 21, 0)
    check(utc(2026, 3, 31, 20, 59), None, until)
    assert not is_expired(utc(2026, 3, 31, 20, 59, 59), until)
    with pytest.raises(VoucherExpired) as caught:
        check(utc(2026, 3, 31, 21, 0), None, until)
    assert caught.value.code == "voucher_expired"
    assert caught.value.details == {"valid_until": "2026-03-31T21:00:00+00:00"}
    assert is_expired(utc(2026, 3, 31, 21, 0), until)


def test_sofia_winter_offset() -> None:
    assert end_of_day(date(2026, 1, 31), SOFIA) == utc(2026, 1, 31, 22, 0)
    assert start_of_day(date(2026, 1, 31), SOFIA) == utc(2026, 1, 30, 22, 0)


def test_dst_change_days_are_23_and_25_hours_long() -> None:
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    assert end_of_day(spring, SOFIA) - start_of_day(spring, SOFIA) == timedelta(hours=23)
    assert end_of_day(autumn, SOFIA) - start_of_day(autumn, SOFIA) == timedelta(hours=25)
    assert end_of_day(spring, SOFIA) == utc(2026, 3, 29, 21, 0)
    assert end_of_day(autumn, SOFIA) == utc(2026, 10, 25, 22, 0)


def test_new_york_is_west_of_utc() -> None:
    # US daylight time starts 8 March 2026: New York is UTC-4 on 31 March.
    until = end_of_day(date(2026, 3, 31), NEW_YORK)
    assert until == utc(2026, 4, 1, 4, 0)
    check(utc(2026, 4, 1, 3, 59), None, until)
    with pytest.raises(VoucherExpired):
        check(utc(2026, 4, 1, 4, 0), None, until)
    spring = date(2026, 3, 8)
    assert end_of_day(spring, NEW_YORK) - start_of_day(spring, NEW_YORK) == timedelta(hours=23)
    assert start_of_day(date(2026, 1, 15), NEW_YORK) == utc(2026, 1, 15, 5, 0)


def test_midnight_dst_gap_starts_the_day_at_the_transition() -> None:
    # Chile moves clocks from 24:00 to 01:00 in September: that day has no local 00:00.
    tz = "America/Santiago"
    days = [date(2026, 9, 1) + timedelta(days=n) for n in range(14)]
    short = [day for day in days if end_of_day(day, tz) - start_of_day(day, tz) < timedelta(1)]
    assert len(short) == 1
    start = start_of_day(short[0], tz)
    assert start.astimezone(ZoneInfo(tz)).date() == short[0]
    assert (start - timedelta(microseconds=1)).astimezone(ZoneInfo(tz)).date() < short[0]


def test_unknown_time_zone() -> None:
    with pytest.raises(InvalidInput) as caught:
        end_of_day(date(2026, 1, 1), "Mars/Olympus")
    assert caught.value.code == "invalid_timezone"


def test_fixed_window() -> None:
    rule = ValidityRule(
        ValidityBasis.fixed, valid_from_on=date(2026, 4, 1), valid_until_on=date(2026, 6, 30)
    )
    assert window(rule, tz=SOFIA, issued_at=ISSUED, activated_at=None) == (
        utc(2026, 3, 31, 21, 0),
        utc(2026, 6, 30, 21, 0),
    )
    open_end = ValidityRule(ValidityBasis.fixed, valid_from_on=date(2026, 4, 1))
    assert window(open_end, tz=SOFIA, issued_at=ISSUED, activated_at=None)[1] is None


def test_from_issue_without_delay_starts_at_issue() -> None:
    rule = ValidityRule(ValidityBasis.from_issue, duration_days=30)
    start, until = window(rule, tz=SOFIA, issued_at=ISSUED, activated_at=None)
    assert start == ISSUED
    assert until == end_of_day(date(2026, 4, 9), SOFIA) == utc(2026, 4, 9, 21, 0)


def test_from_issue_uses_the_local_issue_date() -> None:
    # 23:30 UTC on 10 March is already 11 March in Sofia and still 10 March in New York.
    late = utc(2026, 3, 10, 23, 30)
    rule = ValidityRule(ValidityBasis.from_issue, duration_days=0)
    assert window(rule, tz=SOFIA, issued_at=late, activated_at=None)[1] == utc(2026, 3, 11, 22)
    assert window(rule, tz=NEW_YORK, issued_at=late, activated_at=None)[1] == utc(2026, 3, 11, 4)


def test_from_issue_with_start_delay() -> None:
    rule = ValidityRule(ValidityBasis.from_issue, duration_days=30, start_delay_days=7)
    start, until = window(rule, tz=SOFIA, issued_at=ISSUED, activated_at=None)
    assert start == start_of_day(date(2026, 3, 17), SOFIA) == utc(2026, 3, 16, 22, 0)
    assert until == utc(2026, 4, 9, 21, 0)
    with pytest.raises(VoucherExpired) as caught:
        check(ISSUED, start, until)
    assert caught.value.code == "voucher_not_yet_valid"
    assert caught.value.details == {"valid_from": "2026-03-16T22:00:00+00:00"}
    check(utc(2026, 3, 16, 22, 0), start, until)


def test_from_activation() -> None:
    rule = ValidityRule(ValidityBasis.from_activation, duration_days=365)
    assert window(rule, tz=SOFIA, issued_at=ISSUED, activated_at=None) == (None, None)
    activated = utc(2026, 5, 1, 12)
    start, until = window(rule, tz=SOFIA, issued_at=ISSUED, activated_at=activated)
    assert start == activated
    assert until == end_of_day(date(2027, 5, 1), SOFIA)


def test_results_are_utc_even_for_other_offsets() -> None:
    issued = datetime(2026, 3, 10, 12, tzinfo=timezone(timedelta(hours=5)))
    rule = ValidityRule(ValidityBasis.from_issue, duration_days=1)
    start, until = window(rule, tz=SOFIA, issued_at=issued, activated_at=None)
    assert start == issued
    assert start is not None
    assert start.tzinfo is UTC
    assert until is not None
    assert until.tzinfo is UTC


@pytest.mark.parametrize(
    "rule",
    [
        ValidityRule(ValidityBasis.fixed),
        ValidityRule(ValidityBasis.fixed, valid_until_on=date(2026, 1, 1), duration_days=3),
        ValidityRule(ValidityBasis.fixed, valid_until_on=date(2026, 1, 1), start_delay_days=1),
        ValidityRule(
            ValidityBasis.fixed, valid_from_on=date(2026, 2, 1), valid_until_on=date(2026, 1, 1)
        ),
        ValidityRule(ValidityBasis.from_issue),
        ValidityRule(ValidityBasis.from_activation),
        ValidityRule(ValidityBasis.from_issue, duration_days=-1),
        ValidityRule(ValidityBasis.from_issue, duration_days=5, start_delay_days=-1),
        ValidityRule(ValidityBasis.from_issue, duration_days=5, start_delay_days=6),
        ValidityRule(ValidityBasis.from_issue, duration_days=5, valid_until_on=date(2026, 1, 1)),
    ],
)
def test_bad_rules(rule: ValidityRule) -> None:
    with pytest.raises(InvalidInput) as caught:
        window(rule, tz=SOFIA, issued_at=ISSUED, activated_at=ISSUED)
    assert caught.value.code == "invalid_validity_rule"


def test_naive_datetimes_are_refused() -> None:
    rule = ValidityRule(ValidityBasis.from_issue, duration_days=1)
    naive = ISSUED.replace(tzinfo=None)
    with pytest.raises(InvalidInput):
        window(rule, tz=SOFIA, issued_at=naive, activated_at=None)
    with pytest.raises(InvalidInput):
        window(rule, tz=SOFIA, issued_at=ISSUED, activated_at=naive)
    with pytest.raises(InvalidInput):
        check(naive, None, None)


def test_unbounded_window() -> None:
    check(utc(2100, 1, 1), None, None)
    assert not is_expired(utc(2100, 1, 1), None)


@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
    st.sampled_from(
        [SOFIA, NEW_YORK, "UTC", "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago"]
    ),
)
def test_days_tile_the_timeline(day: date, tz: str) -> None:
    start, end = start_of_day(day, tz), end_of_day(day, tz)
    assert end == start_of_day(day + timedelta(days=1), tz)
    assert start.astimezone(ZoneInfo(tz)).date() == day
    assert (end - timedelta(microseconds=1)).astimezone(ZoneInfo(tz)).date() == day
    assert timedelta(hours=22) <= end - start <= timedelta(hours=26)
    assert start.tzinfo is UTC


@given(
    st.datetimes(
        min_value=utc(2000, 1, 1).replace(tzinfo=None),
        max_value=utc(2080, 1, 1).replace(tzinfo=None),
        timezones=st.just(UTC),
    ),
    st.integers(0, 400),
    st.sampled_from([SOFIA, NEW_YORK, "Pacific/Auckland"]),
)
def test_from_issue_window_contains_its_issue_instant(issued: datetime, days: int, tz: str) -> None:
    rule = ValidityRule(ValidityBasis.from_issue, duration_days=days)
    start, until = window(rule, tz=tz, issued_at=issued, activated_at=None)
    check(issued, start, until)
    assert until is not None
    assert until - issued <= timedelta(days=days + 1, hours=2)
