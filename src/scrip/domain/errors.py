"""Every refusal scrip can give, each with a stable machine-readable code.

Exception tree::

    ScripError                      code, message, details (never secrets)
    ├── InvalidInput                invalid_input, invalid_money, currency_mismatch ...
    ├── NotFound                    voucher_not_found, receipt_not_found ...
    ├── Unauthorized                register_key_invalid, api_token_invalid, login_failed
    ├── Forbidden                   secret_access_denied, right_missing, csrf_invalid
    ├── Conflict                    refusals that depend on the current state
    │   ├── TransitionNotAllowed    transition_not_allowed
    │   ├── InsufficientBalance     insufficient_balance
    │   ├── HeldElsewhere           held_elsewhere (value or voucher held by another open receipt)
    │   ├── VoucherExpired          voucher_expired / voucher_not_yet_valid / sale_after_validity
    │   ├── PinRefused              pin_required / pin_invalid / pin_locked
    │   ├── IdempotencyRefused      idempotency_key_reused / idempotency_key_reversed
    │   ├── ReceiptRefused          receipt_not_open / receipt_number_claimed / receipt_expired
    │   ├── LimitExceeded           max_balance_exceeded, below_minimum ...
    │   └── RestrictionRefused      a rule of S6 refused the use; ``details["rule"]`` names it
    └── Busy                        busy (a lock could not be taken in time; safe to retry),
                                    vault_not_configured

The HTTP layer maps each code to a status in one table (``api/errors.py``).
"""

from __future__ import annotations

from typing import Any


class ScripError(Exception):
    """A refusal with a stable ``code`` and structured ``details``; changes nothing."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details


class InvalidInput(ScripError):
    code = "invalid_input"


class NotFound(ScripError):
    code = "not_found"


class Unauthorized(ScripError):
    code = "unauthorized"


class Forbidden(ScripError):
    code = "forbidden"


class Conflict(ScripError):
    code = "conflict"


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"


class InsufficientBalance(Conflict):
    code = "insufficient_balance"


class HeldElsewhere(Conflict):
    code = "held_elsewhere"


class VoucherExpired(Conflict):
    code = "voucher_expired"


class PinRefused(Conflict):
    code = "pin_invalid"


class IdempotencyRefused(Conflict):
    code = "idempotency_key_reused"


class ReceiptRefused(Conflict):
    code = "receipt_not_open"


class LimitExceeded(Conflict):
    code = "limit_exceeded"


class RestrictionRefused(Conflict):
    code = "restricted"


class Busy(ScripError):
    code = "busy"
