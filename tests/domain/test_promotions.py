"""Every promotion kind on a qualifying and a non-qualifying receipt, and when a promotion
runs at all (status, dates, stores, days and hours)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from scrip.domain.basket import Basket, Line
from scrip.domain.errors import InvalidInput
from scrip.domain.promotions import Kind, Occasion, Promotion, check_params, evaluate
from scrip.domain.schedule import Schedule

NOON = datetime(2026, 5, 13, 9, 0, tzinfo=UTC)  # Wednesday 12:00 in Sofia
BASKET = Basket(
    lines=(
        Line("COLA", "drinks", 6, 900),
        Line("CHIPS", "snacks", 2, 500),
        Line("TV", "electronics", 1, 40_000),
    )
)
AT_TILL = Occasion(basket=BASKET, store_id=1, now=NOON, tz="Europe/Sofia", holder_ref="H-1")


def promo(kind: Kind, **params: Any) -> Promotion:
    return Promotion(1, "P1", kind, params)


def values(p: Promotion, occasion: Occasion = AT_TILL) -> list[int | None]:
    return [a.value_minor for a in evaluate([p], occasion)]


def small(**changes: Any) -> Occasion:
    return replace(AT_TILL, basket=Basket(lines=(Line("GUM", "snacks", 1, 100),)), **changes)


def test_prepared_vouchers_on_a_receipt_amount() -> None:
    p = promo(Kind.prepared, min_receipt_minor=20_000)
    assert values(p) == [None]  # the prepared voucher's own value
    assert values(p, small()) == []


def test_vouchers_on_club_card_activation_are_bound_to_the_card() -> None:
    p = promo(Kind.card_activation, value_minor=500)
    [award] = evaluate([p], replace(AT_TILL, card_activated=True))
    assert (award.value_minor, award.bind_card) == (500, True)
    assert values(p) == []


def test_vouchers_against_points() -> None:
    p = promo(Kind.points, points_per_voucher=1_000, value_minor=1_000)
    awards = evaluate([p], replace(AT_TILL, points_to_spend=2_500))
    assert [(a.value_minor, a.points_spent) for a in awards] == [(1_000, 1_000)] * 2
    assert values(p, replace(AT_TILL, points_to_spend=999)) == []


def test_personalised_vouchers_for_selected_holders() -> None:
    p = promo(Kind.personal, holder_refs=["H-1", "H-9"], value_minor=700)
    assert values(p) == [700]
    assert values(p, replace(AT_TILL, holder_ref="H-2")) == []
    assert values(p, replace(AT_TILL, holder_ref=None)) == []


def test_progressive_thresholds_give_the_highest_reached() -> None:
    p = promo(Kind.progressive, thresholds=[[10_000, 500], [30_000, 2_000], [5_000, 200]])
    assert values(p) == [2_000]  # 414.00 reaches 300.00
    assert values(p, replace(AT_TILL, basket=replace(BASKET, total_minor=6_000))) == [200]
    assert values(p, small()) == []


def test_purchased_goods_give_a_voucher_per_quantity() -> None:
    p = promo(Kind.purchased_goods, group="drinks", quantity=3, value_minor=100)
    assert values(p) == [100, 100]  # six drinks, a voucher per three
    assert values(p, small()) == []


def test_campaign_issues_a_voucher_valid_only_for_the_using_group() -> None:
    p = promo(
        Kind.campaign,
        issuing_group="electronics",
        min_amount_minor=10_000,
        using_group="accessories",
        value_minor=1_500,
    )
    [award] = evaluate([p], AT_TILL)
    assert (award.value_minor, award.using_groups) == (1_500, ("accessories",))
    assert values(p, small()) == []


def test_at_most_max_per_receipt_from_one_evaluation() -> None:
    p = replace(promo(Kind.points, points_per_voucher=1, value_minor=1), max_per_receipt=3)
    assert len(evaluate([p], replace(AT_TILL, points_to_spend=50))) == 3


@pytest.mark.parametrize(
    "change",
    [
        dict(status="paused"),
        dict(starts_on=date(2026, 5, 14)),
        dict(ends_on=date(2026, 5, 12)),
        dict(store_ids=(2,)),
        dict(schedule=Schedule(days=frozenset({6, 7}))),
        dict(schedule=Schedule(from_minute=13 * 60, until_minute=20 * 60)),
    ],
)
def test_a_promotion_outside_its_status_dates_stores_or_hours_gives_nothing(
    change: dict[str, Any],
) -> None:
    p = promo(Kind.prepared, min_receipt_minor=0)
    assert values(p) == [None]
    assert values(replace(p, **change)) == []


def test_the_last_day_counts_in_the_store_time_zone() -> None:
    p = replace(promo(Kind.prepared, min_receipt_minor=0), ends_on=date(2026, 5, 13))
    late_evening = replace(AT_TILL, now=datetime(2026, 5, 13, 20, 30, tzinfo=UTC))  # 23:30
    after_midnight = replace(AT_TILL, now=datetime(2026, 5, 13, 21, 30, tzinfo=UTC))  # 00:30
    assert values(p, late_evening) == [None]
    assert values(p, after_midnight) == []


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        (Kind.prepared, {}),
        (Kind.points, {"points_per_voucher": 0, "value_minor": 1}),
        (Kind.personal, {"value_minor": 1, "holder_refs": "H-1"}),
        (Kind.progressive, {"thresholds": [[100]]}),
        (Kind.purchased_goods, {"group": "", "quantity": 1, "value_minor": 1}),
        (Kind.campaign, {"issuing_group": "a", "using_group": "b", "value_minor": 1.5}),
    ],
)
def test_parameters_a_kind_cant_use_are_refused(kind: Kind, params: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_params(kind, params)
    assert caught.value.code == "invalid_promotion"
