"""PIN attempt counting and format."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrip.domain.errors import InvalidInput, PinRefused
from scrip.domain.pin import after_failure, check_attempt, validate_pin_format


def test_attempt_allowed_below_the_limit() -> None:
    check_attempt(failed_count=2, max_attempts=3, locked=False)


@pytest.mark.parametrize(("failed", "locked"), [(3, False), (4, False), (0, True)])
def test_attempt_refused(failed: int, locked: bool) -> None:
    with pytest.raises(PinRefused) as caught:
        check_attempt(failed_count=failed, max_attempts=3, locked=locked)
    assert caught.value.code == "pin_locked"


def test_after_failure() -> None:
    assert after_failure(0, 3) == (1, False)
    assert after_failure(1, 3) == (2, False)
    assert after_failure(2, 3) == (3, True)
    assert after_failure(0, 1) == (1, True)
    with pytest.raises(InvalidInput):
        after_failure(0, 0)


@given(st.integers(1, 20))
def test_locks_after_exactly_max_attempts(max_attempts: int) -> None:
    count, locked = 0, False
    attempts = 0
    while not locked:
        check_attempt(failed_count=count, max_attempts=max_attempts, locked=locked)
        count, locked = after_failure(count, max_attempts)
        attempts += 1
    assert attempts == max_attempts
    with pytest.raises(PinRefused):
        check_attempt(failed_count=count, max_attempts=max_attempts, locked=locked)


def test_valid_formats() -> None:
    validate_pin_format("0042", 4)
    validate_pin_format("123456", None)


@pytest.mark.parametrize(
    ("pin", "length"),
    [("12a4", 4), ("123", 4), ("12345", 4), ("", None), ("12 4", 4), ("١٢٣٤", 4), ("-123", None)],
)
def test_invalid_formats_never_echo_the_pin(pin: str, length: int | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_pin_format(pin, length)
    assert caught.value.code == "invalid_pin_format"
    if pin:
        assert pin not in caught.value.message
        assert pin not in str(caught.value)
        assert pin not in repr(caught.value.details)
