"""Every restriction of S6, allowed and refused, as plain values; each refusal names its rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from scrip.domain.basket import Basket, Line, check_total
from scrip.domain.errors import InvalidInput, RestrictionRefused
from scrip.domain.restrictions import Rules, Use, check_card_presented, check_payment
from scrip.domain.schedule import Schedule

NOON = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)  # a Wednesday, 12:00 in Sofia
BASKET = Basket(
    lines=(
        Line("MILK", "dairy", 2, 300),
        Line("WINE", "alcohol", 1, 1_500),
        Line("BREAD", "bakery", 1, 200),
    ),
    card_id="CARD-1",
)
USE = Use(store_id=1, now=NOON, tz="Europe/Sofia", basket=BASKET, holder_id=7)


def refused(rules: Rules, use: Use = USE) -> tuple[str, str]:
    with pytest.raises(RestrictionRefused) as caught:
        check_payment(rules, use)
    return caught.value.code, caught.value.details["rule"]


def test_no_restrictions_allow_everything_with_no_limit() -> None:
    assert check_payment(Rules(), USE) is None
    assert check_payment(Rules(), replace(USE, basket=Basket())) is None


def test_allowed_stores() -> None:
    assert check_payment(Rules(store_ids=(1, 2)), USE) is None
    assert refused(Rules(store_ids=(2,))) == ("store_not_allowed", "allowed_stores")


def test_days_and_hours() -> None:
    assert check_payment(Rules(schedule=Schedule(days=frozenset({3}))), USE) is None
    assert refused(Rules(schedule=Schedule(days=frozenset({6, 7})))) == (
        "day_not_allowed",
        "schedule",
    )
    evening = Schedule(from_minute=18 * 60, until_minute=23 * 60)
    assert refused(Rules(schedule=evening)) == ("outside_hours", "schedule")


def test_products_and_groups_limit_what_it_pays_for() -> None:
    assert check_payment(Rules(products=("MILK",)), USE) == 300
    assert check_payment(Rules(groups=("dairy", "bakery")), USE) == 500
    assert check_payment(Rules(products=("WINE",), groups=("bakery",)), USE) == 1_700
    assert refused(Rules(groups=("toys",))) == ("no_qualifying_items", "supported_products")
    assert refused(Rules(products=("MILK",)), replace(USE, basket=Basket())) == (
        "receipt_lines_required",
        "supported_products",
    )


def test_goods_are_paid_for_once_by_vouchers_of_a_type() -> None:
    dairy = Rules(groups=("dairy",))
    assert check_payment(dairy, replace(USE, paid_by_type_on_receipt=100)) == 200
    assert refused(dairy, replace(USE, paid_by_type_on_receipt=300)) == (
        "qualifying_items_paid",
        "supported_products",
    )


def test_card_binding() -> None:
    assert check_payment(Rules(card_id="CARD-1"), USE) is None
    assert refused(Rules(card_id="CARD-2")) == ("card_mismatch", "card_binding")
    no_card = replace(USE, basket=replace(BASKET, card_id=None))
    assert refused(Rules(card_id="CARD-1"), no_card) == ("card_required", "card_binding")


def test_personal_e_voucher_only_by_its_buyer() -> None:
    personal = Rules(e_voucher_use="personal", buyer_holder_id=7, recipient_holder_id=8)
    assert check_payment(personal, USE) is None
    assert refused(personal, replace(USE, holder_id=8)) == ("not_the_buyer", "e_voucher_use")
    assert refused(personal, replace(USE, holder_id=None)) == ("holder_required", "e_voucher_use")


def test_shareable_e_voucher_only_by_its_recipient() -> None:
    shareable = Rules(e_voucher_use="shareable", buyer_holder_id=7, recipient_holder_id=8)
    assert check_payment(shareable, replace(USE, holder_id=8)) is None
    assert refused(shareable) == ("not_the_recipient", "e_voucher_use")


def test_at_most_n_per_receipt() -> None:
    rules = Rules(max_per_receipt=2)
    assert check_payment(rules, replace(USE, same_type_on_receipt=1)) is None
    assert refused(rules, replace(USE, same_type_on_receipt=2)) == (
        "too_many_vouchers_on_receipt",
        "max_per_receipt",
    )


def test_certificates_are_not_loyalty_cards() -> None:
    check_card_presented(card_is_voucher_of=None)
    with pytest.raises(RestrictionRefused) as caught:
        check_card_presented(card_is_voucher_of="gift_certificate")
    assert caught.value.code == "not_a_loyalty_card"
    assert caught.value.details["rule"] == "certificate_not_loyalty_card"


def test_a_total_below_its_lines_is_refused() -> None:
    check_total(replace(BASKET, total_minor=2_000))
    with pytest.raises(InvalidInput) as caught:
        check_total(replace(BASKET, total_minor=1_999))
    assert caught.value.code == "receipt_total_below_lines"
