"""A reversal by key in the reports: the negative of what it undid, in the period of the
reversal, so the flows of every period add up to the change of liability over it and a period
already reported is never changed by a later reversal.

Sofia (UTC+2 in winter): card X is sold for 100.00 on 10 Jan and pays 30.00 on receipt R-9 on
20 Jan; card Y is sold for 50.00 on 25 Jan. On 3 Feb the payment is reversed, on 4 Feb the sale
of Y. Liability: 120.00 at the end of January (X 70.00 + Y 50.00), 100.00 at the end of
February (X 100.00).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, text

from scrip.domain.money import Money
from scrip.domain.reports import ReportResult
from scrip.domain.scope import EVERYTHING
from scrip.services import pos, reports, reversal
from scrip.services.till import ReceiptInput
from tests.builders import remember_key, vouchers, world

JAN_10 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
JAN_20 = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
JAN_25 = datetime(2026, 1, 25, 10, 0, tzinfo=UTC)
FEB_3 = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
FEB_4 = datetime(2026, 2, 4, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WINTER = {"from": "2026-01-01", "to": "2026-02-28"}


@pytest.fixture
def shop(conn: Connection) -> str:
    w = world(conn)
    [x, y] = vouchers(conn, w, "card", count=2)
    for key, code, amount, at in (("sell-x", x, 10000, JAN_10), ("sell-y", y, 5000, JAN_25)):
        sold = pos.sell(
            conn, till=w.till, items=[pos.SaleItem(code, amount)], receipt=ReceiptInput(), now=at
        )
        remember_key(conn, w, key, sold.operation_id)
    paid = pos.redeem(
        conn,
        till=w.till,
        code=x,
        amount=Money(3000, "EUR"),
        partial_allowed=False,
        pin=None,
        receipt=ReceiptInput(number="R-9"),
        now=JAN_20,
    )
    remember_key(conn, w, "pay-x", paid.operation_id)
    assert (
        reversal.reverse(conn, till=w.till, key="pay-x", own_key="r1", now=FEB_3).outcome
        == "reversed"
    )
    assert (
        reversal.reverse(conn, till=w.till, key="sell-y", own_key="r2", now=FEB_4).outcome
        == "reversed"
    )
    issuer: str = conn.execute(
        text("SELECT code FROM issuers WHERE id = :i"), {"i": w.issuer_id}
    ).scalar_one()
    return issuer


def _run(conn: Connection, issuer: str, name: str, **params: str) -> ReportResult:
    return reports.run(conn, scope=EVERYTHING, name=name, raw={"issuer": issuer, **params}, now=NOW)


def _table(result: ReportResult, *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(row[k] for k in keys) for row in result.rows]


def _liability(conn: Connection, issuer: str, day: str) -> int:
    rows = _run(conn, issuer, "liability", as_of=day).rows
    return sum(int(str(row["liability_minor"])) for row in rows)


def test_a_reversal_takes_its_sale_and_its_payment_off_in_its_own_period(
    conn: Connection, shop: str
) -> None:
    sold = _run(conn, shop, "sold", **WINTER, grouping="month")
    assert _table(sold, "period", "vouchers", "sold_minor") == [
        ("2026-01", 2, 15000),
        ("2026-02", -1, -5000),
    ]
    used = _run(conn, shop, "used_where", **WINTER, by="register")
    assert _table(used, "payments", "redeemed_minor") == [(0, 0)]
    january = _run(conn, shop, "used_where", **{"from": "2026-01-01", "to": "2026-01-31"})
    assert _table(january, "payments", "redeemed_minor") == [(1, 3000)]


def test_the_flows_of_each_period_add_up_to_the_change_of_liability(
    conn: Connection, shop: str
) -> None:
    assert _liability(conn, shop, "2026-01-31") == 12000
    assert _liability(conn, shop, "2026-02-28") == 10000
    for start, end, before in (
        ("2026-01-01", "2026-01-31", 0),
        ("2026-02-01", "2026-02-28", 12000),
    ):
        period = {"from": start, "to": end}
        sold = _run(conn, shop, "sold", **period, grouping="month").rows
        used = _run(conn, shop, "used_where", **period).rows
        into = sum(int(str(r["sold_minor"])) + int(str(r["bonus_minor"])) for r in sold)
        out = sum(int(str(r["redeemed_minor"])) for r in used)
        assert before + into - out == _liability(conn, shop, end), (start, into, out)


def test_a_receipt_whose_payment_was_reversed_paid_nothing_with_vouchers(
    conn: Connection, shop: str
) -> None:
    january = _run(conn, shop, "receipts", **{"from": "2026-01-01", "to": "2026-01-31"})
    assert _table(january, "receipt_number", "paid_minor") == [("R-9", 3000)]
    winter = _run(conn, shop, "receipts", **WINTER, grouping="month")
    assert winter.rows == []


def test_activity_takes_off_the_activation_and_the_use_a_reversal_undid(
    conn: Connection, shop: str
) -> None:
    result = _run(conn, shop, "activity", **WINTER, grouping="month")
    assert _table(result, "period", "activated", "used") == [
        ("2026-01", 2, 1),
        ("2026-02", -1, -1),
    ]
