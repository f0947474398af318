"""Bulk operations (S9) decided in Python before one set-based statement applies them.

:func:`moves` turns the life-cycle tables into what a bulk action may do: for every
``classification:state`` it may start from, the state it ends in. Everything else a selection
holds is *refused* and reported with one of :data:`REFUSALS`:

- ``transition_not_allowed``: the table has no such transition for the voucher;
- ``held_elsewhere``: the voucher is inside an open receipt or holds value for one;
- ``has_balance``: cancel and purge end a voucher's life, and a bulk operation moves no
  value, so a voucher that still holds value is refused (refund or expiry books it first);
- ``activation_carries_value``: activating a gift certificate or a promotional voucher puts
  its value on it (a sale, or the issuer's funding); bulk activation moves state only, so
  these are refused and go through the till or a funded lot instead;
- ``carries_value``: a modification of value (face or extra value) on a voucher that already
  holds value in the ledger would create or destroy money without a posting;
- ``fixed_denomination``: a gift certificate's value is never changed (S2);
- ``window_inverted``: a validity change would leave the voucher's window ending before it
  starts.

Besides the life-cycle actions there are two *edits* (:class:`Edit`) that keep the state:
``change_validity`` (S5) and ``modify`` (value, extra value, supported products and product
groups, allowed stores; S9). Their changes are checked and normalised by :func:`changes_of`
into column values, once, when the operation is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from scrip.domain import validity
from scrip.domain.errors import InvalidInput
from scrip.domain.lifecycle import TRANSITIONS, Action, Classification, State, states_of
from scrip.domain.voucher_types import RESTRICTION_COLUMNS, restriction


class Edit(StrEnum):
    """Bulk actions that change a voucher's data, not its state."""

    change_validity = "change_validity"
    modify = "modify"


BulkAction = Action | Edit

ACTIONS = (
    Action.accept,
    Action.reject,
    Action.activate,
    Action.hand_over,
    Action.block,
    Action.unblock,
    Action.cancel,
    Action.purge,
    Edit.change_validity,
    Edit.modify,
)

HISTORY_TYPE: Mapping[BulkAction, str] = MappingProxyType(
    {
        Action.accept: "voucher.accepted",
        Action.reject: "voucher.rejected",
        Action.activate: "voucher.activated",
        Action.hand_over: "voucher.handed_over",
        Action.block: "voucher.blocked",
        Action.unblock: "voucher.unblocked",
        Action.cancel: "voucher.cancelled",
        Action.purge: "voucher.purged",
        Edit.change_validity: "voucher.validity_changed",
        Edit.modify: "voucher.modified",
    }
)

REFUSALS = (
    "transition_not_allowed",
    "held_elsewhere",
    "has_balance",
    "activation_carries_value",
    "carries_value",
    "fixed_denomination",
    "window_inverted",
)

# Actions after which the voucher can hold no value any more.
ENDS_VALUE = frozenset({Action.cancel, Action.purge})
# Classifications whose activation is a movement of value (see the module docstring).
VALUED_ACTIVATION = frozenset({Classification.gift_certificate, Classification.promotional_voucher})
REASON_REQUIRED = frozenset({Action.cancel, Action.block})

# The states an edit may touch. S9 names draft, accepted and active for modify; prepared,
# generated and handed_over are the same stage (made, not sold yet) in the other
# classifications. A validity change reaches every state in which the voucher can still be
# used or expire; after expiry (breakage booked), redemption in full, cancellation or a refund
# the window no longer matters and changing it could revive spent or booked value.
_MADE_NOT_SOLD = frozenset(
    {State.draft, State.accepted, State.prepared, State.generated, State.handed_over}
)
EDITABLE_STATES: Mapping[Edit, frozenset[State]] = MappingProxyType(
    {
        Edit.modify: _MADE_NOT_SOLD | {State.active},
        Edit.change_validity: _MADE_NOT_SOLD | {State.active, State.blocked, State.depleted},
    }
)
VALUE_COLUMNS = frozenset({"face_value_minor", "extra_value_minor"})
SAMPLE_SIZE = 10


def action_of(name: str) -> BulkAction:
    """The bulk action called ``name``; refuses anything else (redeem, reload … are not bulk)."""
    if name not in {a.value for a in ACTIONS}:
        raise InvalidInput(
            "no such bulk action",
            code="invalid_bulk_action",
            action=name,
            allowed=[a.value for a in ACTIONS],
        )
    return Edit(name) if name in {e.value for e in Edit} else Action(name)


def moves(action: BulkAction) -> dict[str, str]:
    """``"classification:state" -> target state`` for every source ``action`` may move (an
    edit "moves" a voucher to the state it is in)."""
    found: dict[str, str] = {}
    if isinstance(action, Edit):
        for classification in Classification:
            for state in states_of(classification) & EDITABLE_STATES[action]:
                found[f"{classification.value}:{state.value}"] = state.value
        return found
    for classification, table in TRANSITIONS.items():
        if action is Action.activate and classification in VALUED_ACTIVATION:
            continue
        for (state, candidate), target in table.items():
            if candidate is action:
                found[f"{classification.value}:{state.value}"] = target.value
    return found


def valued_activation_sources() -> list[str]:
    """``classification:state`` pairs refused as ``activation_carries_value``."""
    return sorted(
        f"{classification.value}:{state.value}"
        for classification in VALUED_ACTIVATION
        for (state, candidate) in TRANSITIONS[classification]
        if candidate is Action.activate
    )


def refused_sources(action: BulkAction, changes: Mapping[str, Any]) -> dict[str, str]:
    """``classification:state -> refusal`` for sources refused whatever the voucher holds."""
    if action is Action.activate:
        return dict.fromkeys(valued_activation_sources(), "activation_carries_value")
    if action is Edit.modify and VALUE_COLUMNS & set(changes):
        certificate = Classification.gift_certificate
        return {
            f"{certificate.value}:{state.value}": "fixed_denomination"
            for state in states_of(certificate) & EDITABLE_STATES[Edit.modify]
        }
    return {}


def changes_of(action: BulkAction, given: Mapping[str, Any], *, tz: str) -> dict[str, Any]:
    """The column values an edit sets, checked: ``change_validity`` takes ``valid_from`` /
    ``valid_until`` (aware instants) or ``valid_from_on`` / ``valid_until_on`` (the issuer's
    local days: from its first instant, until its end); ``modify`` takes ``face_value_minor``,
    ``extra_value_minor`` and the restriction columns (a list, or None for no restriction).
    Instants come back as ISO strings, ready to be stored with the operation. A field that is
    absent stays as it is; life-cycle actions take no changes."""
    if not isinstance(action, Edit):
        if given:
            raise _invalid_changes("this bulk action takes no changes", action)
        return {}
    if not given:
        raise _invalid_changes("say what to change", action)
    if action is Edit.change_validity:
        return _validity_changes(given, tz)
    return _modifications(given)


def _invalid_changes(message: str, action: BulkAction, **details: Any) -> InvalidInput:
    return InvalidInput(message, code="invalid_changes", action=action.value, **details)


_VALIDITY_FIELDS = ("valid_from", "valid_until", "valid_from_on", "valid_until_on")


def _validity_changes(given: Mapping[str, Any], tz: str) -> dict[str, Any]:
    unknown = set(given) - set(_VALIDITY_FIELDS)
    if unknown:
        raise _invalid_changes(
            "unknown validity fields", Edit.change_validity, fields=sorted(unknown)
        )
    found: dict[str, datetime | None] = {}
    for column in ("valid_from", "valid_until"):
        if column in given and f"{column}_on" in given:
            raise _invalid_changes(f"give {column} or {column}_on, not both", Edit.change_validity)
        if column in given:
            found[column] = _instant(given[column], column)
        elif f"{column}_on" in given:
            found[column] = _local_bound(given[f"{column}_on"], column, tz)
    start, end = found.get("valid_from"), found.get("valid_until")
    if start is not None and end is not None and end <= start:
        raise InvalidInput("the window ends before it starts", code="window_inverted")
    return {k: None if v is None else v.isoformat() for k, v in found.items()}


def _instant(value: Any, what: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return None if value is None else validity.require_aware(value, what)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(f"{what} is not an instant", code="invalid_changes") from exc
    return validity.require_aware(parsed, what)


def _local_bound(value: Any, column: str, tz: str) -> datetime | None:
    if value is None:
        return None
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(f"{column}_on is not a date", code="invalid_changes") from exc
    if column == "valid_from":
        return validity.start_of_day(day, tz)
    return validity.end_of_day(day, tz)


def _modifications(given: Mapping[str, Any]) -> dict[str, Any]:
    allowed = (*sorted(VALUE_COLUMNS), *RESTRICTION_COLUMNS)
    unknown = set(given) - set(allowed)
    if unknown:
        raise _invalid_changes("unknown fields to modify", Edit.modify, fields=sorted(unknown))
    found = dict(given)
    face = found.get("face_value_minor", 1)
    extra = found.get("extra_value_minor", 0)
    if not _is_int(face) or face <= 0:
        raise InvalidInput("the face value must be a positive integer", code="invalid_money")
    if not _is_int(extra) or extra < 0:
        raise InvalidInput("the extra value must not be negative", code="invalid_money")
    for column in RESTRICTION_COLUMNS:
        if column in found and found[column] is not None:
            found[column] = restriction(found[column], column)
    return found


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which vouchers of an issuer a bulk operation works on; every given part must match."""

    lot_id: int | None = None
    type_code: str | None = None
    serial_from: int | None = None
    serial_to: int | None = None
    codes: tuple[str, ...] = ()
    states: tuple[str, ...] = ()

    def check(self) -> None:
        if self.lot_id is None and self.type_code is None and not self.codes:
            raise InvalidInput(
                "select vouchers by lot, type or a list of codes", code="selection_empty"
            )
        ranged = self.serial_from is not None or self.serial_to is not None
        if ranged and self.type_code is None:
            raise InvalidInput("a serial range needs a voucher type", code="invalid_selection")
        if ranged and (self.serial_from or 0) > (self.serial_to or 2**62):
            raise InvalidInput("the serial range is empty", code="invalid_selection")


def check_reason(action: BulkAction, reason: str | None) -> None:
    if action in REASON_REQUIRED and not (reason and reason.strip()):
        raise InvalidInput("this bulk action needs a reason", code="reason_required")
