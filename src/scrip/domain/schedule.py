"""Days of week and hours, in the store's time zone (S6, S8).

A window is ``[from_minute, until_minute)`` in minutes after local midnight. When
``from_minute > until_minute`` it runs across midnight (22:00-02:00); the part after midnight
belongs to the day the window opened on, so "Fridays 22:00-02:00" allows Saturday 01:30 and
refuses Friday 01:30. Days are ISO numbers, Monday 1 to Sunday 7. The instant is turned into
local time with the zone's rules of that instant, so daylight-saving changes are followed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scrip.domain.errors import InvalidInput
from scrip.domain.validity import zone

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class Schedule:
    days: frozenset[int] | None = None
    from_minute: int | None = None
    until_minute: int | None = None

    def __post_init__(self) -> None:
        if self.days is not None and not self.days <= set(range(1, 8)):
            raise InvalidInput("days of week are 1 (Monday) to 7 (Sunday)", code="invalid_days")
        if (self.from_minute is None) != (self.until_minute is None):
            raise InvalidInput("an hour window needs its start and its end", code="invalid_hours")
        for minute in (self.from_minute, self.until_minute):
            if minute is not None and not 0 <= minute <= MINUTES_PER_DAY:
                raise InvalidInput("hours are minutes 0 to 1440", code="invalid_hours")

    @property
    def unrestricted(self) -> bool:
        return self.days is None and self.from_minute is None


def opening_day(schedule: Schedule, now: datetime, tz: str) -> tuple[bool, int]:
    """Whether ``now`` lies in the hour window, and the ISO weekday the window opened on."""
    local = now.astimezone(zone(tz))
    minute = local.hour * 60 + local.minute
    if schedule.from_minute is None or schedule.until_minute is None:
        return True, local.isoweekday()
    start, end = schedule.from_minute, schedule.until_minute
    if start <= end:
        return start <= minute < end, local.isoweekday()
    if minute >= start:
        return True, local.isoweekday()
    return minute < end, (local - timedelta(days=1)).isoweekday()


def refusal(schedule: Schedule, now: datetime, tz: str) -> str | None:
    """``None`` when ``now`` is inside the schedule, else which part refused: hours or days."""
    if schedule.unrestricted:
        return None
    in_hours, day = opening_day(schedule, now, tz)
    if not in_hours:
        return "hours"
    if schedule.days is not None and day not in schedule.days:
        return "days"
    return None
