"""POS operations per classification, called directly on a rolled-back connection; the ledger
invariants are checked after every test by the ``conn`` fixture."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, text

from scrip.domain.errors import ScripError
from scrip.domain.money import Money
from scrip.services import pos
from scrip.services.till import ReceiptInput
from scrip.services.views import OperationResult
from tests.api.snapshots import Snapshot, read
from tests.builders import World, now, vouchers, world
from tests.till.helpers import pay

NO_RECEIPT = ReceiptInput()


@pytest.fixture
def w(conn: Connection) -> World:
    return world(conn)


def _sell(conn: Connection, w: World, code: str, amount: int | None = None) -> OperationResult:
    return pos.sell(
        conn, till=w.till, items=[pos.SaleItem(code, amount)], receipt=NO_RECEIPT, now=now()
    )


def _reload(conn: Connection, w: World, code: str, amount: int) -> OperationResult:
    return pos.reload(
        conn, till=w.till, code=code, amount=Money(amount, "EUR"), receipt=NO_RECEIPT, now=now()
    )


def _refund(conn: Connection, w: World, code: str, amount: int) -> OperationResult:
    return pos.refund(
        conn, till=w.till, code=code, amount=Money(amount, "EUR"), receipt=NO_RECEIPT, now=now()
    )


def _change(conn: Connection, w: World, code: str, what: str) -> OperationResult:
    return pos.change_state(conn, till=w.till, code=code, what=what, receipt=NO_RECEIPT, now=now())


def _card(conn: Connection, w: World, amount: int) -> str:
    [code] = vouchers(conn, w, "card")
    _sell(conn, w, code, amount)
    return code


def _transfers(conn: Connection, operation_id: uuid.UUID) -> list[tuple[str, int, str, str]]:
    """(code, amount, debit account kind, credit account kind) of an operation, by code: legs
    written in one statement of the write-behind queue get their ids in no set order."""
    rows = conn.execute(
        text(
            "SELECT t.code, t.amount_minor, d.kind, c.kind FROM ledger_transfers t"
            " JOIN ledger_accounts d ON d.id = t.debit_account_id"
            " JOIN ledger_accounts c ON c.id = t.credit_account_id"
            " WHERE t.operation_id = :op AND t.state = 'posted' ORDER BY t.code, t.id"
        ),
        {"op": operation_id},
    ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _refused(
    conn: Connection, w: World, codes: list[str], call: Callable[[], Any], code: str
) -> ScripError:
    """The call is refused with ``code`` and, its savepoint rolled back as the API's transaction
    would be, nothing about the vouchers has changed."""
    before: list[Snapshot] = [read(conn, w.issuer_id, c) for c in codes]
    with pytest.raises(ScripError) as refused, conn.begin_nested():
        call()
    assert refused.value.code == code
    assert [read(conn, w.issuer_id, c) for c in codes] == before
    return refused.value


def _state(conn: Connection, w: World, code: str) -> tuple[str, int]:
    snap = read(conn, w.issuer_id, code)
    return snap.state, snap.balance_minor


def test_selling_a_printed_voucher_adds_the_bonus_from_promotions(
    conn: Connection, w: World
) -> None:
    [code] = vouchers(conn, w, "printed")

    sold = _sell(conn, w, code)

    assert (sold.amount_minor, sold.status) == (2000, "recorded")
    assert _state(conn, w, code) == ("active", 2500)
    assert _transfers(conn, sold.operation_id) == [
        ("bonus", 500, "promo_expense", "voucher_liability"),
        ("sale", 2000, "store_clearing", "voucher_liability"),
    ]


def test_a_variable_amount_is_required_and_a_fixed_value_is_not_negotiable(
    conn: Connection, w: World
) -> None:
    [card] = vouchers(conn, w, "card")
    [cert] = vouchers(conn, w, "cert")

    _refused(conn, w, [card], lambda: _sell(conn, w, card), "amount_required")
    _refused(conn, w, [cert], lambda: _sell(conn, w, cert, 4000), "fixed_value")
    _refused(conn, w, [card], lambda: _sell(conn, w, card, 100_001), "max_balance_exceeded")

    assert _sell(conn, w, cert, 5000).amount_minor == 5000
    assert _state(conn, w, cert) == ("active", 5000)


def test_a_sale_of_several_refuses_whole_when_one_item_is_wrong(conn: Connection, w: World) -> None:
    [cert] = vouchers(conn, w, "cert")
    [card] = vouchers(conn, w, "card")
    items = [pos.SaleItem(cert), pos.SaleItem(card)]

    _refused(
        conn,
        w,
        [cert, card],
        lambda: pos.sell(conn, till=w.till, items=items, receipt=NO_RECEIPT, now=now()),
        "amount_required",
    )


def test_an_active_voucher_can_not_be_sold_again(conn: Connection, w: World) -> None:
    code = _card(conn, w, 1000)

    _refused(conn, w, [code], lambda: _sell(conn, w, code, 1000), "transition_not_allowed")


def test_a_one_time_certificate_used_in_part_forfeits_the_rest(conn: Connection, w: World) -> None:
    [code] = vouchers(conn, w, "cert")
    _sell(conn, w, code)

    paid = pay(conn, w, code, 2000)

    assert paid.amount_minor == 2000
    assert _state(conn, w, code) == ("redeemed", 0)
    assert _transfers(conn, paid.operation_id) == [
        ("forfeit", 3000, "voucher_liability", "breakage_income"),
        ("redemption", 2000, "voucher_liability", "store_clearing"),
    ]
    _refused(conn, w, [code], lambda: pay(conn, w, code, 100), "transition_not_allowed")


def test_a_multi_use_certificate_stays_active_until_zero(conn: Connection, w: World) -> None:
    [code] = vouchers(conn, w, "multi_cert")
    _sell(conn, w, code)

    pay(conn, w, code, 2000)
    assert _state(conn, w, code) == ("active", 3000)
    _refused(conn, w, [code], lambda: pay(conn, w, code, 3001), "insufficient_balance")
    last = pay(conn, w, code, 3000)

    assert _state(conn, w, code) == ("redeemed", 0)
    assert [t[0] for t in _transfers(conn, last.operation_id)] == ["redemption"]


def test_a_gift_card_is_depleted_at_zero_and_a_reload_revives_it(
    conn: Connection, w: World
) -> None:
    code = _card(conn, w, 3000)

    pay(conn, w, code, 3000)
    assert _state(conn, w, code) == ("depleted", 0)
    _refused(conn, w, [code], lambda: pay(conn, w, code, 1), "transition_not_allowed")
    reloaded = _reload(conn, w, code, 1500)

    assert reloaded.vouchers[0].state == "active"
    assert _state(conn, w, code) == ("active", 1500)
    assert _transfers(conn, reloaded.operation_id) == [
        ("reload", 1500, "store_clearing", "voucher_liability")
    ]


def test_a_reload_above_the_maximum_balance_is_refused(conn: Connection, w: World) -> None:
    code = _card(conn, w, 90_000)

    _refused(conn, w, [code], lambda: _reload(conn, w, code, 10_001), "max_balance_exceeded")
    _reload(conn, w, code, 10_000)

    assert _state(conn, w, code) == ("active", 100_000)


def test_a_certificate_is_not_reloadable(conn: Connection, w: World) -> None:
    [code] = vouchers(conn, w, "multi_cert")
    _sell(conn, w, code)

    _refused(conn, w, [code], lambda: _reload(conn, w, code, 100), "transition_not_allowed")


def test_a_refund_returns_at_most_what_was_spent(conn: Connection, w: World) -> None:
    code = _card(conn, w, 5000)
    pay(conn, w, code, 1000)

    _refused(conn, w, [code], lambda: _refund(conn, w, code, 1001), "refund_exceeds_spent")
    refunded = _refund(conn, w, code, 1000)

    assert _state(conn, w, code) == ("active", 5000)
    assert _transfers(conn, refunded.operation_id) == [
        ("refund", 1000, "store_clearing", "voucher_liability")
    ]
    _refused(conn, w, [code], lambda: _refund(conn, w, code, 1), "refund_exceeds_spent")


def test_an_unused_certificate_is_returned(conn: Connection, w: World) -> None:
    [code] = vouchers(conn, w, "cert")
    _sell(conn, w, code)

    returned = pos.return_unused(conn, till=w.till, code=code, receipt=NO_RECEIPT, now=now())

    assert returned.amount_minor == 5000
    assert _state(conn, w, code) == ("refunded", 0)
    assert _transfers(conn, returned.operation_id) == [
        ("return_unused", 5000, "voucher_liability", "store_clearing")
    ]


def test_a_used_certificate_can_not_be_returned(conn: Connection, w: World) -> None:
    [code] = vouchers(conn, w, "multi_cert")
    _sell(conn, w, code)
    pay(conn, w, code, 1000)

    _refused(
        conn,
        w,
        [code],
        lambda: pos.return_unused(conn, till=w.till, code=code, receipt=NO_RECEIPT, now=now()),
        "voucher_used",
    )


def test_a_balance_transfer_blocks_the_old_card(conn: Connection, w: World) -> None:
    source = _card(conn, w, 3000)
    pay(conn, w, source, 500)
    [target] = vouchers(conn, w, "card")

    moved = pos.transfer_balance(
        conn,
        till=w.till,
        code=source,
        target_code=target,
        pin=None,
        receipt=NO_RECEIPT,
        now=now(),
    )

    assert moved.amount_minor == 2500
    assert _state(conn, w, source) == ("blocked", 0)
    assert _state(conn, w, target) == ("active", 2500)
    assert _transfers(conn, moved.operation_id) == [
        ("transfer", 2500, "voucher_liability", "voucher_liability")
    ]


def test_a_balance_transfer_from_an_empty_card_is_refused(conn: Connection, w: World) -> None:
    source = _card(conn, w, 1000)
    pay(conn, w, source, 1000)  # depleted: not a state transfers start from
    [target] = vouchers(conn, w, "card")

    _refused(
        conn,
        w,
        [source, target],
        lambda: pos.transfer_balance(
            conn,
            till=w.till,
            code=source,
            target_code=target,
            pin=None,
            receipt=NO_RECEIPT,
            now=now(),
        ),
        "transition_not_allowed",
    )


def test_block_and_unblock(conn: Connection, w: World) -> None:
    code = _card(conn, w, 2000)

    _change(conn, w, code, "block")
    assert _state(conn, w, code) == ("blocked", 2000)
    _refused(conn, w, [code], lambda: pay(conn, w, code, 100), "transition_not_allowed")
    _refused(conn, w, [code], lambda: _change(conn, w, code, "block"), "transition_not_allowed")
    _change(conn, w, code, "unblock")

    assert _state(conn, w, code) == ("active", 2000)
    pay(conn, w, code, 100)
    assert _state(conn, w, code) == ("active", 1900)


def test_a_promotional_voucher_is_handed_over_then_activated_at_promo_expense(
    conn: Connection, w: World
) -> None:
    [code] = vouchers(conn, w, "promo")

    _change(conn, w, code, "hand_over")
    assert _state(conn, w, code) == ("handed_over", 0)
    _refused(conn, w, [code], lambda: _change(conn, w, code, "hand_over"), "transition_not_allowed")
    sold = _sell(conn, w, code)

    assert _state(conn, w, code) == ("active", 1000)
    assert _transfers(conn, sold.operation_id) == [
        ("promo_issue", 1000, "promo_expense", "voucher_liability")
    ]
    pay(conn, w, code, 1000)
    assert _state(conn, w, code) == ("used", 0)


def test_every_operation_writes_its_history_row(conn: Connection, w: World) -> None:
    code = _card(conn, w, 3000)
    pay(conn, w, code, 1000)
    _refund(conn, w, code, 500)
    _reload(conn, w, code, 700)
    _change(conn, w, code, "block")

    rows = conn.execute(
        text(
            "SELECT h.type, h.status, h.balance_after_minor FROM voucher_history h"
            " JOIN vouchers v ON v.id = h.voucher_id WHERE v.code = :c ORDER BY h.id"
        ),
        {"c": code},
    ).all()

    assert [tuple(r) for r in rows] == [
        ("voucher.created", "recorded", 0),
        ("voucher.sold", "recorded", 3000),
        ("voucher.redeemed", "recorded", 2000),
        ("voucher.refunded", "recorded", 2500),
        ("voucher.reloaded", "recorded", 3200),
        ("voucher.blocked", "recorded", 3200),
    ]
