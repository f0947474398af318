"""Validity windows: the only place where instants become the issuer's local days.

Every instant in and out is an aware ``datetime``; results are in UTC. A window is
``[valid_from, valid_until)``: valid from its first instant, expired at ``valid_until``.
"Valid until 31 March" ends at the next local midnight, 1 April 00:00 in the issuer's
time zone, whatever the UTC offset or daylight-saving rule of that day.

Rules (:class:`ValidityRule`):

* ``fixed``: ``valid_from_on`` and/or ``valid_until_on`` (at least one; a missing one is
  unbounded); ``duration_days`` and ``start_delay_days`` must be unset.
* ``from_issue``: ``duration_days`` (>= 0) counted from the local issue date; with
  ``start_delay_days`` > 0 the window opens at local midnight that many days after the
  issue date, otherwise at the issue instant. Calendar dates must be unset.
* ``from_activation``: the same, counted from the activation instant; unbounded
  (``None, None``) until the voucher is activated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scrip.domain.errors import InvalidInput, VoucherExpired

Window = tuple[datetime | None, datetime | None]


class ValidityBasis(StrEnum):
    """What a validity window is measured from."""

    fixed = "fixed"
    from_issue = "from_issue"
    from_activation = "from_activation"


@dataclass(frozen=True)
class ValidityRule:
    """How a voucher type (or lot) sets the validity window of its vouchers."""

    basis: ValidityBasis
    valid_from_on: date | None = None
    valid_until_on: date | None = None
    duration_days: int | None = None
    start_delay_days: int = 0


def zone(tz: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name such as ``"Europe/Sofia"``; InvalidInput if unknown."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise InvalidInput(f"unknown time zone {tz!r}", code="invalid_timezone") from exc


def start_of_day(day: date, tz: str) -> datetime:
    """The first instant of local ``day`` in ``tz``, in UTC."""
    local = datetime.combine(day, time(0), tzinfo=zone(tz))
    return local.astimezone(UTC)


def end_of_day(day: date, tz: str) -> datetime:
    """The first instant after local ``day`` in ``tz`` (next local midnight), in UTC."""
    return start_of_day(day + timedelta(days=1), tz)


def require_aware(moment: datetime, what: str) -> datetime:
    """Return ``moment`` in UTC; InvalidInput if it is naive."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(f"{what} must carry a time zone", code="naive_datetime")
    return moment.astimezone(UTC)


def validate_rule(rule: ValidityRule) -> None:
    """Raise InvalidInput (code ``invalid_validity_rule``) if the rule's fields don't fit."""
    if rule.basis == ValidityBasis.fixed:
        _validate_fixed(rule)
    else:
        _validate_relative(rule)


def _rule_error(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_validity_rule")


def _validate_fixed(rule: ValidityRule) -> None:
    if rule.valid_from_on is None and rule.valid_until_on is None:
        raise _rule_error("a fixed validity needs a start date, an end date or both")
    if rule.duration_days is not None or rule.start_delay_days:
        raise _rule_error("a fixed validity takes dates, not a duration or a delay")
    if rule.valid_from_on and rule.valid_until_on and rule.valid_until_on < rule.valid_from_on:
        raise _rule_error("the end date lies before the start date")


def _validate_relative(rule: ValidityRule) -> None:
    if rule.duration_days is None:
        raise _rule_error(f"a validity {rule.basis.value} needs a duration in days")
    if rule.duration_days < 0 or rule.start_delay_days < 0:
        raise _rule_error("duration and start delay must not be negative")
    if rule.valid_from_on is not None or rule.valid_until_on is not None:
        raise _rule_error(f"a validity {rule.basis.value} takes a duration, not dates")
    if rule.start_delay_days > rule.duration_days:
        raise _rule_error("the start delay is longer than the duration")


def window(
    rule: ValidityRule, *, tz: str, issued_at: datetime, activated_at: datetime | None
) -> Window:
    """``(valid_from, valid_until)`` in UTC for one voucher; ``None`` means unbounded."""
    validate_rule(rule)
    zone(tz)
    issued = require_aware(issued_at, "issued_at")
    activated = None if activated_at is None else require_aware(activated_at, "activated_at")
    if rule.basis == ValidityBasis.fixed:
        return _fixed_window(rule, tz)
    if rule.basis == ValidityBasis.from_issue:
        return _relative_window(rule, tz, issued)
    if activated is None:
        return (None, None)
    return _relative_window(rule, tz, activated)


def _fixed_window(rule: ValidityRule, tz: str) -> Window:
    start = None if rule.valid_from_on is None else start_of_day(rule.valid_from_on, tz)
    until = None if rule.valid_until_on is None else end_of_day(rule.valid_until_on, tz)
    return (start, until)


def _relative_window(rule: ValidityRule, tz: str, origin: datetime) -> Window:
    local_day = origin.astimezone(zone(tz)).date()
    until = end_of_day(local_day + timedelta(days=rule.duration_days or 0), tz)
    if not rule.start_delay_days:
        return (origin, until)
    return (start_of_day(local_day + timedelta(days=rule.start_delay_days), tz), until)


def check(now: datetime, valid_from: datetime | None, valid_until: datetime | None) -> None:
    """Raise VoucherExpired if ``now`` lies outside ``[valid_from, valid_until)``."""
    moment = require_aware(now, "now")
    if valid_until is not None and moment >= valid_until:
        raise VoucherExpired(
            f"the voucher expired at {valid_until.isoformat()}",
            code="voucher_expired",
            valid_until=valid_until.isoformat(),
        )
    if valid_from is not None and moment < valid_from:
        raise VoucherExpired(
            f"the voucher is valid from {valid_from.isoformat()}",
            code="voucher_not_yet_valid",
            valid_from=valid_from.isoformat(),
        )


def is_expired(now: datetime, valid_until: datetime | None) -> bool:
    """True if ``now`` is at or past ``valid_until``."""
    return valid_until is not None and require_aware(now, "now") >= valid_until
