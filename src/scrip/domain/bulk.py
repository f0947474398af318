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
  these are refused and go through the till or a funded lot instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from scrip.domain.errors import InvalidInput
from scrip.domain.lifecycle import TRANSITIONS, Action, Classification

ACTIONS = (
    Action.accept,
    Action.reject,
    Action.activate,
    Action.hand_over,
    Action.block,
    Action.unblock,
    Action.cancel,
    Action.purge,
)

HISTORY_TYPE: Mapping[Action, str] = MappingProxyType(
    {
        Action.accept: "voucher.accepted",
        Action.reject: "voucher.rejected",
        Action.activate: "voucher.activated",
        Action.hand_over: "voucher.handed_over",
        Action.block: "voucher.blocked",
        Action.unblock: "voucher.unblocked",
        Action.cancel: "voucher.cancelled",
        Action.purge: "voucher.purged",
    }
)

REFUSALS = (
    "transition_not_allowed",
    "held_elsewhere",
    "has_balance",
    "activation_carries_value",
)

# Actions after which the voucher can hold no value any more.
ENDS_VALUE = frozenset({Action.cancel, Action.purge})
# Classifications whose activation is a movement of value (see the module docstring).
VALUED_ACTIVATION = frozenset({Classification.gift_certificate, Classification.promotional_voucher})
REASON_REQUIRED = frozenset({Action.cancel})
SAMPLE_SIZE = 10


def action_of(name: str) -> Action:
    """The bulk action called ``name``; refuses anything else (redeem, reload … are not bulk)."""
    if name not in {a.value for a in ACTIONS}:
        raise InvalidInput(
            "no such bulk action",
            code="invalid_bulk_action",
            action=name,
            allowed=[a.value for a in ACTIONS],
        )
    return Action(name)


def moves(action: Action) -> dict[str, str]:
    """``"classification:state" -> target state`` for every source ``action`` may move."""
    found: dict[str, str] = {}
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


def check_reason(action: Action, reason: str | None) -> None:
    if action in REASON_REQUIRED and not (reason and reason.strip()):
        raise InvalidInput("this bulk action needs a reason", code="reason_required")
