"""Posting rules and spending checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrip.domain.errors import (
    HeldElsewhere,
    InsufficientBalance,
    InvalidInput,
    LimitExceeded,
)
from scrip.domain.ledger import (
    AccountKind,
    Leg,
    TransferCode,
    available,
    breakage_legs,
    check_refund,
    check_reload,
    check_spend,
    forfeit_legs,
    promo_issue_legs,
    redemption_legs,
    refund_legs,
    reload_legs,
    return_unused_legs,
    sale_legs,
    transfer_legs,
)

T = TransferCode


def test_account_kinds() -> None:
    assert {kind.value for kind in AccountKind} == {
        "voucher_liability",
        "store_clearing",
        "promo_expense",
        "breakage_income",
        "partner_receivable",
    }


def test_sale_with_bonus() -> None:
    assert sale_legs(5000, 500) == [
        Leg("store", "voucher", 5000, T.sale),
        Leg("promo", "voucher", 500, T.bonus),
    ]
    assert sale_legs(5000, 0) == [Leg("store", "voucher", 5000, T.sale)]
    assert sale_legs(0, 500) == [Leg("promo", "voucher", 500, T.bonus)]


@pytest.mark.parametrize(("paid", "bonus"), [(0, 0), (-1, 5), (5, -1)])
def test_bad_sales(paid: int, bonus: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        sale_legs(paid, bonus)
    assert caught.value.code == "invalid_amount"


@pytest.mark.parametrize(
    ("legs", "expected"),
    [
        (redemption_legs, Leg("voucher", "store", 7, T.redemption)),
        (refund_legs, Leg("store", "voucher", 7, T.refund)),
        (reload_legs, Leg("store", "voucher", 7, T.reload)),
        (transfer_legs, Leg("voucher", "voucher_target", 7, T.transfer)),
        (breakage_legs, Leg("voucher", "breakage", 7, T.breakage)),
        (forfeit_legs, Leg("voucher", "breakage", 7, T.forfeit)),
        (promo_issue_legs, Leg("promo", "voucher", 7, T.promo_issue)),
    ],
)
def test_single_leg_rules(legs: Callable[[int], list[Leg]], expected: Leg) -> None:
    assert legs(7) == [expected]
    with pytest.raises(InvalidInput):
        legs(-1)
    with pytest.raises(InvalidInput):
        legs(1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "legs", [redemption_legs, refund_legs, reload_legs, transfer_legs, promo_issue_legs]
)
def test_requested_amounts_must_be_positive(legs: Callable[[int], list[Leg]]) -> None:
    with pytest.raises(InvalidInput) as caught:
        legs(0)
    assert caught.value.code == "invalid_amount"


@pytest.mark.parametrize("legs", [breakage_legs, forfeit_legs])
def test_zero_balances_post_nothing(legs: Callable[[int], list[Leg]]) -> None:
    assert legs(0) == []


@pytest.mark.parametrize(
    ("balance", "bonus", "expected"),
    [
        (
            2_500,
            500,
            [
                Leg("voucher", "store", 2_000, T.return_unused),
                Leg("voucher", "promo", 500, T.return_unused),
            ],
        ),
        (5_000, 0, [Leg("voucher", "store", 5_000, T.return_unused)]),
        (300, 500, [Leg("voucher", "promo", 300, T.return_unused)]),
        (0, 500, []),
    ],
)
def test_a_return_pays_back_the_price_and_takes_back_the_bonus(
    balance: int, bonus: int, expected: list[Leg]
) -> None:
    assert return_unused_legs(balance, bonus) == expected
    assert -voucher_balance(expected) == balance


def test_a_refund_returns_at_most_what_is_refundable() -> None:
    check_refund(amount=300, refundable=300)
    with pytest.raises(InsufficientBalance) as caught:
        check_refund(amount=301, refundable=300)
    assert (caught.value.code, caught.value.details["spent_minor"]) == ("refund_exceeds_spent", 300)


def voucher_balance(legs: list[Leg]) -> int:
    """Credits minus debits on the voucher's liability account."""
    return sum(leg.amount for leg in legs if leg.credit == "voucher") - sum(
        leg.amount for leg in legs if leg.debit == "voucher"
    )


@given(st.integers(1, 10**9), st.integers(0, 10**6), st.data())
def test_life_of_a_voucher_balances(paid: int, bonus: int, data: st.DataObject) -> None:
    legs = sale_legs(paid, bonus)
    assert voucher_balance(legs) == paid + bonus
    spent = data.draw(st.integers(1, paid + bonus))
    legs += redemption_legs(
        check_spend(balance=paid + bonus, held=0, amount=spent, partial_allowed=False)
    )
    legs += breakage_legs(voucher_balance(legs))
    assert voucher_balance(legs) == 0
    assert all(leg.amount > 0 for leg in legs)


def test_available() -> None:
    assert available(100, 30) == 70
    for balance, held in [(-1, 0), (10, -1), (10, 11)]:
        with pytest.raises(InvalidInput):
            available(balance, held)


def test_spend_examples() -> None:
    assert check_spend(balance=100, held=0, amount=100, partial_allowed=False) == 100
    assert check_spend(balance=100, held=30, amount=50, partial_allowed=False) == 50
    assert check_spend(balance=100, held=30, amount=90, partial_allowed=True) == 70
    assert check_spend(balance=100, held=0, amount=500, partial_allowed=True) == 100


def test_spend_more_than_the_balance() -> None:
    with pytest.raises(InsufficientBalance) as caught:
        check_spend(balance=100, held=0, amount=101, partial_allowed=False)
    assert caught.value.code == "insufficient_balance"
    assert caught.value.details == {"available": 100, "requested": 101}


def test_spend_value_held_by_another_receipt() -> None:
    with pytest.raises(HeldElsewhere) as caught:
        check_spend(balance=100, held=30, amount=90, partial_allowed=False)
    assert caught.value.code == "held_elsewhere"
    assert caught.value.details["available"] == 70
    assert caught.value.details["held"] == 30
    with pytest.raises(HeldElsewhere):
        check_spend(balance=100, held=100, amount=10, partial_allowed=True)
    with pytest.raises(InsufficientBalance):
        check_spend(balance=100, held=100, amount=101, partial_allowed=True)
    with pytest.raises(InsufficientBalance):
        check_spend(balance=0, held=0, amount=1, partial_allowed=True)


@pytest.mark.parametrize("amount", [0, -5])
def test_spend_needs_a_positive_amount(amount: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_spend(balance=100, held=0, amount=amount, partial_allowed=True)
    assert caught.value.code == "invalid_amount"


@given(
    st.integers(0, 10**6).flatmap(lambda b: st.tuples(st.just(b), st.integers(0, b))),
    st.integers(1, 2 * 10**6),
    st.booleans(),
)
def test_spend_properties(balance_held: tuple[int, int], amount: int, partial: bool) -> None:
    balance, held = balance_held
    free = balance - held
    try:
        taken = check_spend(balance=balance, held=held, amount=amount, partial_allowed=partial)
    except HeldElsewhere:
        assert free < amount <= balance
        assert not partial or free == 0
    except InsufficientBalance:
        assert amount > balance
        assert not partial or free == 0
    else:
        assert 0 < taken <= min(amount, free)
        assert taken == amount or (partial and taken == free)


def test_reload_limits() -> None:
    check_reload(balance=100, held_credit=0, amount=900, max_balance=1000)
    check_reload(balance=100, held_credit=500, amount=900, max_balance=None)
    with pytest.raises(LimitExceeded) as caught:
        check_reload(balance=100, held_credit=50, amount=900, max_balance=1000)
    assert caught.value.code == "max_balance_exceeded"
    assert caught.value.details == {"max_balance": 1000, "would_be": 1050}
    with pytest.raises(InvalidInput):
        check_reload(balance=100, held_credit=0, amount=0, max_balance=1000)
