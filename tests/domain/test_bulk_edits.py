"""Bulk edits in the domain: which states each edit touches, and the changes it accepts,
normalised once (local days to instants at the issuer's midnight, lists sorted)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scrip.domain import bulk
from scrip.domain.errors import InvalidInput
from scrip.domain.lifecycle import Action, Classification, State


def test_edits_keep_the_state_and_touch_only_editable_states() -> None:
    for edit in bulk.Edit:
        found = bulk.moves(edit)
        assert all(source.endswith(f":{target}") for source, target in found.items())
        assert {State(target) for target in found.values()} <= bulk.EDITABLE_STATES[edit]
    assert "printed_voucher:redeemed" not in bulk.moves(bulk.Edit.change_validity)
    assert "gift_card:blocked" in bulk.moves(bulk.Edit.change_validity)
    assert "gift_card:blocked" not in bulk.moves(bulk.Edit.modify)
    assert "printed_voucher:draft" in bulk.moves(bulk.Edit.modify)


def test_a_value_change_refuses_certificates_whatever_they_hold() -> None:
    refused = bulk.refused_sources(bulk.Edit.modify, {"face_value_minor": 100})
    assert set(refused.values()) == {"fixed_denomination"}
    assert {source.split(":")[0] for source in refused} == {Classification.gift_certificate.value}
    assert bulk.refused_sources(bulk.Edit.modify, {"supported_products": ["A"]}) == {}
    assert set(bulk.refused_sources(Action.activate, {}).values()) == {"activation_carries_value"}


def test_local_days_become_the_issuer_s_midnights_across_daylight_saving() -> None:
    summer = bulk.changes_of(
        bulk.Edit.change_validity,
        {"valid_from_on": "2027-03-28", "valid_until_on": "2027-10-31"},
        tz="Europe/Sofia",
    )
    # 28 March starts at 00:00 EET (UTC+2); 31 October ends at 1 November 00:00 EET again.
    assert summer == {
        "valid_from": datetime(2027, 3, 27, 22, 0, tzinfo=UTC).isoformat(),
        "valid_until": datetime(2027, 10, 31, 22, 0, tzinfo=UTC).isoformat(),
    }
    cleared = bulk.changes_of(bulk.Edit.change_validity, {"valid_until": None}, tz="UTC")
    assert cleared == {"valid_until": None}


def test_modifications_are_checked_and_normalised() -> None:
    changes = bulk.changes_of(
        bulk.Edit.modify,
        {"extra_value_minor": 0, "supported_products": ["b", "a", "b"], "allowed_store_ids": None},
        tz="UTC",
    )
    assert changes == {
        "extra_value_minor": 0,
        "supported_products": ["a", "b"],
        "allowed_store_ids": None,
    }


@pytest.mark.parametrize(
    ("action", "given", "code"),
    [
        (bulk.Edit.modify, {}, "invalid_changes"),
        (Action.block, {"face_value_minor": 1}, "invalid_changes"),
        (bulk.Edit.modify, {"face_value_minor": True}, "invalid_money"),
        (bulk.Edit.modify, {"valid_until": None}, "invalid_changes"),
        (bulk.Edit.change_validity, {"face_value_minor": 5}, "invalid_changes"),
        (bulk.Edit.change_validity, {"valid_from_on": "31.12.2027"}, "invalid_changes"),
        (bulk.Edit.change_validity, {"valid_until": "2027-01-01T00:00"}, "naive_datetime"),
        (
            bulk.Edit.change_validity,
            {"valid_from": "2027-01-02T00:00Z", "valid_until": "2027-01-01T00:00Z"},
            "window_inverted",
        ),
    ],
)
def test_bad_changes_are_refused(
    action: bulk.BulkAction, given: dict[str, object], code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        bulk.changes_of(action, given, tz="Europe/Sofia")
    assert refused.value.code == code
