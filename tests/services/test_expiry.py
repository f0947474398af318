"""Expiry and breakage (S5): vouchers past the end of their validity expire, and what was left
on them is booked as breakage income, once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Connection, text

from scrip.db import expiry as expiry_db
from scrip.domain.lifecycle import Action, State, sources_of
from scrip.domain.money import Money
from scrip.domain.validity import end_of_day
from scrip.services import expiry, pos, receipts
from scrip.services.till import ReceiptInput
from tests.builders import World, now, vouchers, world

SOFIA_END = end_of_day(date(2026, 3, 31), "Europe/Sofia")  # 2026-03-31T21:00Z


def _sold_card(conn: Connection, w: World, amount: int, *, valid_until: datetime) -> str:
    [code] = vouchers(conn, w, "card")
    pos.sell(
        conn, till=w.till, items=[pos.SaleItem(code, amount)], receipt=ReceiptInput(), now=now()
    )
    conn.execute(
        text("UPDATE vouchers SET valid_until = :u WHERE code = :c"), {"u": valid_until, "c": code}
    )
    return code


def _voucher(conn: Connection, code: str) -> tuple[str, int]:
    row = conn.execute(
        text("SELECT state, balance_minor FROM vouchers WHERE code = :c"), {"c": code}
    ).one()
    return row.state, row.balance_minor


def _breakage(conn: Connection, code: str) -> list[int]:
    return list(
        conn.execute(
            text(
                "SELECT t.amount_minor FROM ledger_transfers t JOIN vouchers v"
                " ON v.account_id = t.debit_account_id JOIN ledger_accounts a"
                " ON a.id = t.credit_account_id AND a.kind = 'breakage_income'"
                " WHERE v.code = :c AND t.code = 'breakage' AND t.state = 'posted'"
            ),
            {"c": code},
        ).scalars()
    )


def test_a_voucher_expires_at_local_midnight_and_its_rest_becomes_breakage(
    conn: Connection,
) -> None:
    w = world(conn)
    code = _sold_card(conn, w, 4000, valid_until=SOFIA_END)

    expiry.expire_due(conn, now=SOFIA_END - timedelta(minutes=1))
    assert _voucher(conn, code) == ("active", 4000)

    expiry.expire_due(conn, now=SOFIA_END)
    assert _voucher(conn, code) == ("expired", 0)
    assert _breakage(conn, code) == [4000]
    last = conn.execute(
        text(
            "SELECT h.type, h.amount_minor, h.balance_after_minor, h.state_before"
            " FROM voucher_history h JOIN vouchers v ON v.id = h.voucher_id"
            " WHERE v.code = :c ORDER BY h.id DESC LIMIT 1"
        ),
        {"c": code},
    ).one()
    assert tuple(last) == ("voucher.expired", 4000, 0, "active")


def test_running_expiry_again_books_nothing_twice(conn: Connection) -> None:
    w = world(conn)
    code = _sold_card(conn, w, 2500, valid_until=SOFIA_END)

    expiry.expire_due(conn, now=SOFIA_END)
    expiry.expire_due(conn, now=SOFIA_END + timedelta(days=30))

    assert _breakage(conn, code) == [2500]
    assert _voucher(conn, code) == ("expired", 0)


def test_an_empty_card_expires_without_a_breakage_transfer(conn: Connection) -> None:
    w = world(conn)
    code = _sold_card(conn, w, 1000, valid_until=now() + timedelta(days=1))
    pos.redeem(
        conn,
        till=w.till,
        code=code,
        amount=Money(1000, "EUR"),
        partial_allowed=False,
        pin=None,
        receipt=ReceiptInput(),
        now=now(),
    )
    conn.execute(
        text("UPDATE vouchers SET valid_until = :u WHERE code = :c"), {"u": SOFIA_END, "c": code}
    )
    assert _voucher(conn, code) == ("depleted", 0)

    expiry.expire_due(conn, now=SOFIA_END)

    assert _voucher(conn, code) == ("expired", 0)
    assert _breakage(conn, code) == []


def test_a_voucher_held_by_an_open_receipt_waits_until_the_receipt_is_settled(
    conn: Connection,
) -> None:
    w = world(conn)
    code = _sold_card(conn, w, 3000, valid_until=now() + timedelta(hours=1))
    receipt = receipts.open_receipt(
        conn, till=w.till, receipt=ReceiptInput(), timeout_s=None, now=now()
    )
    pos.redeem(
        conn,
        till=w.till,
        code=code,
        amount=Money(500, "EUR"),
        partial_allowed=False,
        pin=None,
        receipt=ReceiptInput(receipt_id=receipt.receipt_id),
        now=now(),
    )

    expiry.expire_due(conn, now=now() + timedelta(hours=2))
    assert _voucher(conn, code) == ("active", 3000)

    receipts.cancel(conn, till=w.till, receipt_id=receipt.receipt_id, now=now())
    expiry.expire_due(conn, now=now() + timedelta(hours=2))
    assert _voucher(conn, code) == ("expired", 0)
    assert _breakage(conn, code) == [3000]


def test_batches_take_the_due_vouchers_a_batch_at_a_time(conn: Connection) -> None:
    w = world(conn)
    codes = [_sold_card(conn, w, 100 * (i + 1), valid_until=SOFIA_END) for i in range(5)]

    while expiry.expire_due(conn, now=SOFIA_END, limit=2).vouchers == 2:
        pass

    assert [_voucher(conn, c) for c in codes] == [("expired", 0)] * 5
    assert [_breakage(conn, c) for c in codes] == [[100], [200], [300], [400], [500]]


def test_only_active_and_depleted_vouchers_can_expire() -> None:
    # The expression of vouchers.expires_at, which the expiry scan reads, names these two
    # states literally.
    assert {state for _, state in sources_of(Action.expire)} == {State.active, State.depleted}


@pytest.mark.parametrize("state", list(State))
def test_a_voucher_is_due_for_expiry_at_its_validity_end_only_while_it_can_expire(
    conn: Connection, state: State
) -> None:
    w = world(conn)
    [code] = vouchers(conn, w, "card")
    expires_at = conn.execute(
        text(
            "UPDATE vouchers SET state = :s, valid_until = :u WHERE code = :c RETURNING expires_at"
        ),
        {"s": state.value, "u": SOFIA_END, "c": code},
    ).scalar_one()
    can_expire = state in {s for _, s in sources_of(Action.expire)}
    assert expires_at == (SOFIA_END if can_expire else None)


def test_the_expiry_scan_reads_its_partial_index(conn: Connection) -> None:
    # With sequential scans priced out, the planner still takes one unless the index's
    # predicate follows from the scan's conditions.
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    sources = [f"{c.value}:{s.value}" for c, s in sources_of(Action.expire)]
    plan = conn.execute(
        text(f"EXPLAIN {expiry_db.DUE}"), {"now": SOFIA_END, "sources": sources}
    ).scalars()
    assert "ix_vouchers_expires_at" in "\n".join(plan)
