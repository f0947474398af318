"""Voucher type definitions: a sound one per classification passes, and each rule refuses with
its own code."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from scrip.domain.errors import InvalidInput
from scrip.domain.lifecycle import Classification
from scrip.domain.voucher_types import TypeDefinition, check, restriction

SOUND: dict[Classification, TypeDefinition] = {
    Classification.printed_voucher: TypeDefinition(
        "printed_voucher", face_value_minor=2_000, extra_value_minor=500
    ),
    Classification.gift_certificate: TypeDefinition(
        "gift_certificate", face_value_minor=5_000, multi_use=False, return_to_prepared=True
    ),
    Classification.gift_card: TypeDefinition(
        "gift_card", value_mode="variable", reloadable=True, max_balance_minor=50_000
    ),
    Classification.electronic_voucher: TypeDefinition(
        "electronic_voucher",
        value_mode="variable",
        e_voucher_use="personal",
        validity_basis="from_issue",
        validity_days=365,
    ),
    Classification.refund_voucher: TypeDefinition(
        "refund_voucher",
        value_mode="variable",
        refund_method="cash",
        validity_basis="from_issue",
        validity_days=90,
    ),
    Classification.promotional_voucher: TypeDefinition(
        "promotional_voucher",
        face_value_minor=1_000,
        validity_basis="fixed",
        valid_until_on=date(2027, 1, 31),
        supported_product_groups=("toys",),
        allowed_store_ids=(1, 2),
    ),
}


def test_every_classification_has_a_sound_definition() -> None:
    assert set(SOUND) == set(Classification)
    for definition in SOUND.values():
        check(definition)


REFUSED: list[tuple[Classification, dict[str, Any], str]] = [
    (Classification.gift_card, {"classification": "coupon"}, "invalid_classification"),
    (Classification.gift_card, {"value_mode": "free"}, "invalid_value_mode"),
    (Classification.printed_voucher, {"face_value_minor": None}, "face_value_required"),
    (Classification.printed_voucher, {"face_value_minor": -5}, "face_value_required"),
    (Classification.gift_card, {"face_value_minor": 100}, "face_value_not_allowed"),
    (
        Classification.gift_certificate,
        {"value_mode": "variable", "face_value_minor": None},
        "certificate_fixed_denomination",
    ),
    (Classification.printed_voucher, {"reloadable": True}, "reloadable_not_allowed"),
    (Classification.gift_certificate, {"reloadable": True}, "reloadable_not_allowed"),
    (Classification.gift_card, {"multi_use": False}, "one_time_not_reloadable"),
    (Classification.gift_card, {"multi_use": False, "reloadable": False}, "gift_card_multi_use"),
    (Classification.printed_voucher, {"max_balance_minor": 2_499}, "invalid_max_balance"),
    (Classification.gift_card, {"max_balance_minor": 0}, "invalid_max_balance"),
    (Classification.printed_voucher, {"extra_value_minor": -1}, "invalid_money"),
    (Classification.gift_card, {"min_payment_receipt_minor": -1}, "invalid_money"),
    (Classification.gift_card, {"return_to_prepared": True}, "return_to_prepared_not_allowed"),
    (Classification.refund_voucher, {"refund_method": None}, "refund_method_required"),
    (Classification.refund_voucher, {"refund_method": " "}, "refund_method_required"),
    (Classification.gift_card, {"refund_method": "cash"}, "refund_method_not_allowed"),
    (Classification.electronic_voucher, {"e_voucher_use": None}, "e_voucher_use_required"),
    (Classification.electronic_voucher, {"e_voucher_use": "gift"}, "e_voucher_use_required"),
    (Classification.gift_card, {"e_voucher_use": "personal"}, "e_voucher_use_not_allowed"),
    (Classification.electronic_voucher, {"validity_days": None}, "validity_duration_required"),
    (
        Classification.refund_voucher,
        {"validity_basis": "fixed", "validity_days": None, "valid_until_on": date(2027, 1, 1)},
        "validity_duration_required",
    ),
    (Classification.gift_card, {"validity_basis": "forever"}, "invalid_validity_rule"),
    (
        Classification.gift_card,
        {"validity_basis": "fixed", "validity_days": 30},
        "invalid_validity_rule",
    ),
    (
        Classification.promotional_voucher,
        {"valid_from_on": date(2027, 2, 1)},
        "invalid_validity_rule",
    ),
    (Classification.gift_card, {"validity_days": -1}, "invalid_validity_rule"),
    (Classification.gift_card, {"pin_length": 3}, "invalid_pin_length"),
    (Classification.gift_card, {"pin_length": 13}, "invalid_pin_length"),
    (Classification.gift_card, {"supported_products": "SKU"}, "invalid_restriction"),
    (Classification.gift_card, {"supported_product_groups": [""]}, "invalid_restriction"),
    (Classification.gift_card, {"allowed_store_ids": ["S1"]}, "invalid_restriction"),
]


@pytest.mark.parametrize(("base", "change", "code"), REFUSED, ids=[c for _, _, c in REFUSED])
def test_each_rule_refuses_with_its_code(
    base: Classification, change: dict[str, Any], code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check(dataclasses.replace(SOUND[base], **change))
    assert refused.value.code == code


def test_restrictions_come_back_sorted_without_repeats() -> None:
    assert restriction(["b", "a", "b"], "supported_products") == ["a", "b"]
    assert restriction((3, 1), "allowed_store_ids") == [1, 3]
    with pytest.raises(InvalidInput):
        restriction([True], "allowed_store_ids")
