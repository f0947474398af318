"""Days and hours in the store's time zone, windows across midnight, daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scrip.domain.errors import InvalidInput
from scrip.domain.schedule import Schedule, refusal

SOFIA = "Europe/Sofia"  # UTC+2 in winter, UTC+3 from the last Sunday of March
FRIDAY_NIGHTS = Schedule(days=frozenset({5}), from_minute=22 * 60, until_minute=2 * 60)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_no_schedule_allows_any_time() -> None:
    assert refusal(Schedule(), utc(2026, 1, 1, 3, 0), SOFIA) is None


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (utc(2026, 1, 16, 19, 59), "hours"),  # Friday 21:59 local: not yet open
        (utc(2026, 1, 16, 20, 0), None),  # Friday 22:00 local: opens
        (utc(2026, 1, 16, 23, 30), None),  # Saturday 01:30 local: still Friday's window
        (utc(2026, 1, 17, 0, 0), "hours"),  # Saturday 02:00 local: closed (end excluded)
        (utc(2026, 1, 15, 23, 30), "days"),  # Friday 01:30 local: Thursday's night, refused
        (utc(2026, 1, 17, 20, 30), "days"),  # Saturday 22:30 local: the wrong day
    ],
)
def test_a_window_across_midnight_belongs_to_the_day_it_opened(
    instant: datetime, expected: str | None
) -> None:
    assert refusal(FRIDAY_NIGHTS, instant, SOFIA) == expected


def test_hours_follow_the_daylight_saving_change() -> None:
    office = Schedule(from_minute=9 * 60, until_minute=18 * 60)
    # 06:30 UTC is 08:30 in Sofia in winter (refused) and 09:30 in summer (allowed).
    assert refusal(office, utc(2026, 3, 27, 6, 30), SOFIA) == "hours"
    assert refusal(office, utc(2026, 3, 30, 6, 30), SOFIA) is None


def test_the_store_time_zone_decides_not_utc() -> None:
    office = Schedule(from_minute=9 * 60, until_minute=18 * 60)
    instant = utc(2026, 6, 1, 7, 30)  # 10:30 in Sofia, 03:30 in New York
    assert refusal(office, instant, SOFIA) is None
    assert refusal(office, instant, "America/New_York") == "hours"


def test_days_alone_use_the_local_date() -> None:
    mondays = Schedule(days=frozenset({1}))
    # Sunday 22:30 UTC is already Monday 00:30 in Sofia.
    assert refusal(mondays, utc(2026, 1, 18, 22, 30), SOFIA) is None
    assert refusal(mondays, utc(2026, 1, 18, 21, 30), SOFIA) == "days"


@pytest.mark.parametrize(
    "bad",
    [
        dict(days=frozenset({0})),
        dict(days=frozenset({8})),
        dict(from_minute=60),
        dict(from_minute=-1, until_minute=60),
        dict(from_minute=0, until_minute=1441),
    ],
)
def test_malformed_schedules_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        Schedule(**bad)  # type: ignore[arg-type]
