"""Voucher life cycles as declarative tables, one per classification.

``TRANSITIONS[classification][(state, action)]`` is the state after ``action``; every pair
not in the table is refused by :func:`next_state` with ``TransitionNotAllowed`` and
changes nothing.

``activating`` and ``refunding`` (:data:`PENDING_STATES`) are not in the tables: they are
shown while a two-phase operation is open in a receipt. The service sets them, and on
commit applies the table's transition from the state before; on cancel it restores that
state.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from scrip.domain.errors import TransitionNotAllowed


class Classification(StrEnum):
    """The kind of voucher; decides which life cycle applies."""

    printed_voucher = "printed_voucher"
    gift_certificate = "gift_certificate"
    gift_card = "gift_card"
    electronic_voucher = "electronic_voucher"
    refund_voucher = "refund_voucher"
    promotional_voucher = "promotional_voucher"


class State(StrEnum):
    """Every state any classification can be in."""

    draft = "draft"
    accepted = "accepted"
    not_accepted = "not_accepted"
    prepared = "prepared"
    generated = "generated"
    handed_over = "handed_over"
    activating = "activating"
    active = "active"
    blocked = "blocked"
    refunding = "refunding"
    refunded = "refunded"
    redeemed = "redeemed"
    depleted = "depleted"
    used = "used"
    expired = "expired"
    cancelled = "cancelled"
    purged = "purged"


class Action(StrEnum):
    """Everything that can be done to a voucher that may change its state."""

    accept = "accept"
    reject = "reject"
    activate = "activate"
    hand_over = "hand_over"
    block = "block"
    unblock = "unblock"
    redeem = "redeem"
    redeem_final = "redeem_final"
    refund = "refund"
    reload = "reload"
    refund_unused = "refund_unused"
    refund_unused_to_prepared = "refund_unused_to_prepared"
    transfer_out = "transfer_out"
    transfer_in = "transfer_in"
    expire = "expire"
    cancel = "cancel"
    reinstate = "reinstate"
    purge = "purge"


S = State
A = Action

_PRINTED: dict[tuple[State, Action], State] = {
    (S.draft, A.accept): S.accepted,
    (S.draft, A.reject): S.not_accepted,
    (S.accepted, A.activate): S.active,
    (S.active, A.redeem): S.active,
    (S.active, A.redeem_final): S.redeemed,
    (S.active, A.refund): S.active,
    (S.redeemed, A.refund): S.active,
    (S.active, A.expire): S.expired,
    (S.active, A.cancel): S.cancelled,
    (S.expired, A.purge): S.purged,
    (S.cancelled, A.purge): S.purged,
    (S.not_accepted, A.purge): S.purged,
}

_CERTIFICATE: dict[tuple[State, Action], State] = {
    (S.prepared, A.activate): S.active,
    (S.active, A.redeem): S.active,
    (S.active, A.redeem_final): S.redeemed,
    (S.active, A.refund): S.active,
    (S.redeemed, A.refund): S.active,
    (S.active, A.refund_unused): S.refunded,
    (S.active, A.refund_unused_to_prepared): S.prepared,
    (S.active, A.expire): S.expired,
    (S.prepared, A.cancel): S.cancelled,
    (S.active, A.cancel): S.cancelled,
    (S.redeemed, A.cancel): S.cancelled,
    (S.expired, A.cancel): S.cancelled,
    (S.refunded, A.cancel): S.cancelled,
    (S.cancelled, A.reinstate): S.prepared,
}

_GIFT_CARD: dict[tuple[State, Action], State] = {
    (S.prepared, A.activate): S.active,
    (S.active, A.redeem): S.active,
    (S.active, A.redeem_final): S.depleted,
    (S.active, A.refund): S.active,
    (S.depleted, A.refund): S.active,
    (S.active, A.reload): S.active,
    (S.depleted, A.reload): S.active,
    (S.active, A.block): S.blocked,
    (S.blocked, A.unblock): S.active,
    (S.active, A.transfer_out): S.blocked,
    (S.prepared, A.transfer_in): S.active,
    (S.active, A.transfer_in): S.active,
    (S.active, A.expire): S.expired,
    (S.depleted, A.expire): S.expired,
    (S.active, A.cancel): S.cancelled,
    (S.blocked, A.cancel): S.cancelled,
}

_ELECTRONIC: dict[tuple[State, Action], State] = {
    (S.active, A.redeem): S.active,
    (S.active, A.redeem_final): S.redeemed,
    (S.active, A.refund): S.active,
    (S.redeemed, A.refund): S.active,
    (S.active, A.cancel): S.cancelled,
    (S.active, A.expire): S.expired,
    (S.redeemed, A.purge): S.purged,
    (S.cancelled, A.purge): S.purged,
    (S.expired, A.purge): S.purged,
}

_PROMOTIONAL: dict[tuple[State, Action], State] = {
    (S.generated, A.hand_over): S.handed_over,
    (S.generated, A.activate): S.active,
    (S.handed_over, A.activate): S.active,
    (S.active, A.redeem): S.active,
    (S.active, A.redeem_final): S.used,
    (S.active, A.block): S.blocked,
    (S.blocked, A.unblock): S.active,
    (S.active, A.expire): S.expired,
    (S.active, A.cancel): S.cancelled,
    (S.blocked, A.cancel): S.cancelled,
}

TRANSITIONS: Mapping[Classification, Mapping[tuple[State, Action], State]] = MappingProxyType(
    {
        Classification.printed_voucher: MappingProxyType(_PRINTED),
        Classification.gift_certificate: MappingProxyType(_CERTIFICATE),
        Classification.gift_card: MappingProxyType(_GIFT_CARD),
        Classification.electronic_voucher: MappingProxyType(_ELECTRONIC),
        Classification.refund_voucher: MappingProxyType(_ELECTRONIC),
        Classification.promotional_voucher: MappingProxyType(_PROMOTIONAL),
    }
)

INITIAL_STATES: Mapping[Classification, frozenset[State]] = MappingProxyType(
    {
        Classification.printed_voucher: frozenset({S.draft, S.accepted, S.active}),
        Classification.gift_certificate: frozenset({S.prepared, S.active}),
        Classification.gift_card: frozenset({S.prepared, S.active}),
        Classification.electronic_voucher: frozenset({S.active}),
        Classification.refund_voucher: frozenset({S.active}),
        Classification.promotional_voucher: frozenset({S.generated, S.handed_over, S.active}),
    }
)

PENDING_STATES = frozenset({State.activating, State.refunding})

_PAST_TENSE: Mapping[Action, str] = MappingProxyType(
    {
        A.accept: "accepted",
        A.reject: "rejected",
        A.activate: "activated",
        A.hand_over: "handed over",
        A.block: "blocked",
        A.unblock: "unblocked",
        A.redeem: "redeemed",
        A.redeem_final: "redeemed in full",
        A.refund: "refunded",
        A.reload: "reloaded",
        A.refund_unused: "refunded unused",
        A.refund_unused_to_prepared: "refunded unused back to prepared",
        A.transfer_out: "transferred out",
        A.transfer_in: "transferred in",
        A.expire: "expired",
        A.cancel: "cancelled",
        A.reinstate: "reinstated",
        A.purge: "purged",
    }
)


def next_state(classification: Classification, state: State, action: Action) -> State:
    """The state after ``action``; raises ``TransitionNotAllowed`` if the table has no entry."""
    target = TRANSITIONS[Classification(classification)].get((State(state), Action(action)))
    if target is None:
        raise _refusal(Classification(classification), State(state), Action(action))
    return target


def _refusal(classification: Classification, state: State, action: Action) -> TransitionNotAllowed:
    article = "an" if classification.value[0] in "aeiou" else "a"
    return TransitionNotAllowed(
        f"{article} {classification.value} in state {state.value} cannot be {_PAST_TENSE[action]}",
        classification=classification.value,
        state=state.value,
        action=action.value,
    )


def allowed_actions(classification: Classification, state: State) -> frozenset[Action]:
    """Every action the table allows from ``state``."""
    table = TRANSITIONS[Classification(classification)]
    return frozenset(action for (source, action) in table if source == state)


def states_of(classification: Classification) -> frozenset[State]:
    """Every state a voucher of ``classification`` can be in (pending states excluded)."""
    table = TRANSITIONS[Classification(classification)]
    sources = {source for (source, _) in table}
    return frozenset(sources | set(table.values()) | INITIAL_STATES[classification])


def is_usable(state: State) -> bool:
    """True if value can be spent from a voucher in ``state``."""
    return state == State.active


def sources_of(action: Action) -> frozenset[tuple[Classification, State]]:
    """Every (classification, state) from which ``action`` is allowed: what a set-based job
    (expiry, bulk operations) may select."""
    return frozenset(
        (classification, state)
        for classification, table in TRANSITIONS.items()
        for (state, candidate) in table
        if candidate is action
    )
