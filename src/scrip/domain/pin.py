"""PIN (secret number) rules: attempt counting, lock-out and format.

The PIN itself is never put in a message or in error details: it must not reach logs.
Comparing a PIN with the stored one is the caller's job (``crypto``); these functions only
decide whether an attempt may be made and what a failure does to the counter.
"""

from __future__ import annotations

from scrip.domain.errors import InvalidInput, PinRefused

PIN_DIGITS = frozenset("0123456789")


def check_attempt(*, failed_count: int, max_attempts: int, locked: bool) -> None:
    """Raise ``PinRefused`` (code ``pin_locked``) if no further attempt may be made."""
    if locked or failed_count >= max_attempts:
        raise PinRefused(
            "too many wrong PIN attempts; the voucher's PIN is locked",
            code="pin_locked",
            max_attempts=max_attempts,
        )


def after_failure(failed_count: int, max_attempts: int) -> tuple[int, bool]:
    """The failed-attempt count after one more failure, and whether the PIN is now locked."""
    if max_attempts < 1 or failed_count < 0:
        raise InvalidInput(
            "max_attempts must be at least 1 and failed_count not negative", code="invalid_input"
        )
    count = failed_count + 1
    return count, count >= max_attempts


def validate_pin_format(pin: str, length: int | None) -> None:
    """Raise ``InvalidInput`` (code ``invalid_pin_format``) unless ``pin`` is ASCII digits
    of ``length`` (any non-zero length when ``length`` is None). Never echoes the PIN."""
    if not pin or any(char not in PIN_DIGITS for char in pin):
        raise InvalidInput("the PIN must consist of digits only", code="invalid_pin_format")
    if length is not None and len(pin) != length:
        raise InvalidInput(
            f"the PIN must have {length} digits", code="invalid_pin_format", length=length
        )
