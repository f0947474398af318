"""Walk every life-cycle table: each listed pair gives its target, every other is refused."""

from __future__ import annotations

import itertools

import pytest

from scrip.domain.errors import TransitionNotAllowed
from scrip.domain.lifecycle import (
    INITIAL_STATES,
    PENDING_STATES,
    TRANSITIONS,
    Action,
    Classification,
    State,
    allowed_actions,
    is_usable,
    next_state,
    states_of,
)

C, S, A = Classification, State, Action

ALL_PAIRS = list(itertools.product(Classification, State, Action))
ALLOWED = [(c, s, a) for c, s, a in ALL_PAIRS if (s, a) in TRANSITIONS[c]]
REFUSED = [(c, s, a) for c, s, a in ALL_PAIRS if (s, a) not in TRANSITIONS[c]]

EXPECTED_COUNTS = {
    C.printed_voucher: 12,
    C.gift_certificate: 14,
    C.gift_card: 16,
    C.electronic_voucher: 9,
    C.refund_voucher: 9,
    C.promotional_voucher: 10,
}


def test_every_classification_has_a_table() -> None:
    assert set(TRANSITIONS) == set(Classification)
    assert set(INITIAL_STATES) == set(Classification)
    for classification, count in EXPECTED_COUNTS.items():
        assert len(TRANSITIONS[classification]) == count


@pytest.mark.parametrize(("classification", "state", "action"), ALLOWED)
def test_allowed_pair_gives_its_target(
    classification: Classification, state: State, action: Action
) -> None:
    assert next_state(classification, state, action) == TRANSITIONS[classification][state, action]
    assert action in allowed_actions(classification, state)


@pytest.mark.parametrize(("classification", "state", "action"), REFUSED)
def test_every_other_pair_is_refused(
    classification: Classification, state: State, action: Action
) -> None:
    with pytest.raises(TransitionNotAllowed) as caught:
        next_state(classification, state, action)
    assert caught.value.code == "transition_not_allowed"
    assert caught.value.details == {
        "classification": classification.value,
        "state": state.value,
        "action": action.value,
    }
    assert action not in allowed_actions(classification, state)


def test_refusal_message() -> None:
    with pytest.raises(
        TransitionNotAllowed, match="a gift_card in state blocked cannot be redeemed"
    ):
        next_state(C.gift_card, S.blocked, A.redeem)
    with pytest.raises(TransitionNotAllowed, match=r"^an electronic_voucher in state expired"):
        next_state(C.electronic_voucher, S.expired, A.redeem)


@pytest.mark.parametrize(
    ("classification", "state", "action", "target"),
    [
        (C.printed_voucher, S.draft, A.accept, S.accepted),
        (C.printed_voucher, S.draft, A.reject, S.not_accepted),
        (C.printed_voucher, S.redeemed, A.refund, S.active),
        (C.printed_voucher, S.not_accepted, A.purge, S.purged),
        (C.gift_certificate, S.active, A.refund_unused, S.refunded),
        (C.gift_certificate, S.active, A.refund_unused_to_prepared, S.prepared),
        (C.gift_certificate, S.refunded, A.cancel, S.cancelled),
        (C.gift_certificate, S.expired, A.cancel, S.cancelled),
        (C.gift_certificate, S.cancelled, A.reinstate, S.prepared),
        (C.gift_card, S.active, A.redeem_final, S.depleted),
        (C.gift_card, S.depleted, A.reload, S.active),
        (C.gift_card, S.active, A.transfer_out, S.blocked),
        (C.gift_card, S.prepared, A.transfer_in, S.active),
        (C.gift_card, S.depleted, A.expire, S.expired),
        (C.electronic_voucher, S.redeemed, A.purge, S.purged),
        (C.refund_voucher, S.expired, A.purge, S.purged),
        (C.promotional_voucher, S.generated, A.hand_over, S.handed_over),
        (C.promotional_voucher, S.active, A.redeem_final, S.used),
        (C.promotional_voucher, S.blocked, A.cancel, S.cancelled),
    ],
)
def test_spot_checks(
    classification: Classification, state: State, action: Action, target: State
) -> None:
    assert next_state(classification, state, action) == target


def test_certificate_cancel_from_everywhere_but_cancelled_and_purged() -> None:
    sources = {s for (s, a) in TRANSITIONS[C.gift_certificate] if a == A.cancel}
    assert sources == states_of(C.gift_certificate) - {S.cancelled}
    assert S.purged not in states_of(C.gift_certificate)


def test_electronic_and_refund_vouchers_share_a_table() -> None:
    assert TRANSITIONS[C.electronic_voucher] == TRANSITIONS[C.refund_voucher]


@pytest.mark.parametrize("classification", list(Classification))
def test_initial_states_belong_to_the_classification(classification: Classification) -> None:
    assert INITIAL_STATES[classification] <= states_of(classification)
    assert not PENDING_STATES & states_of(classification)


def test_states_of() -> None:
    assert states_of(C.electronic_voucher) == {
        S.active,
        S.redeemed,
        S.cancelled,
        S.expired,
        S.purged,
    }
    assert states_of(C.gift_card) == {
        S.prepared,
        S.active,
        S.depleted,
        S.blocked,
        S.expired,
        S.cancelled,
    }


def test_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[C.gift_card][S.active, A.purge] = S.purged  # type: ignore[index]


def test_allowed_actions_example() -> None:
    assert allowed_actions(C.gift_card, S.blocked) == {A.unblock, A.cancel}
    assert allowed_actions(C.gift_card, S.purged) == frozenset()


def test_is_usable() -> None:
    assert is_usable(S.active)
    assert not any(is_usable(state) for state in State if state != S.active)


def test_sources_of_an_action_are_exactly_the_pairs_the_tables_allow() -> None:
    from scrip.domain.lifecycle import sources_of

    for action in Action:
        for classification in Classification:
            for state in State:
                listed = (classification, state) in sources_of(action)
                assert listed == ((state, action) in TRANSITIONS[classification])
