"""Reports (S14) on real PostgreSQL: each figure is checked against the hand-made figures of
``tests/report_scenario.py`` and reconciled with the ledger by an independent query."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, text

from scrip.domain.errors import InvalidInput, NotFound
from scrip.domain.reports import ReportResult
from scrip.domain.scope import EVERYTHING
from scrip.domain.validity import end_of_day, start_of_day
from scrip.services import reports
from tests import report_scenario
from tests.report_scenario import TZ, Scenario

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def shop(conn: Connection) -> Scenario:
    return report_scenario.build(conn)


def _run(conn: Connection, shop: Scenario, name: str, **params: str) -> ReportResult:
    return reports.run(
        conn, scope=EVERYTHING, name=name, raw={"issuer": shop.issuer, **params}, now=NOW
    )


def _table(result: ReportResult, *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(row[k] for k in keys) for row in result.rows]


def _posted(conn: Connection, shop: Scenario, *, where: str, **binds: Any) -> int:
    """The ledger's own sum of posted transfers of the scenario's issuer matching ``where``
    (``d`` and ``c`` are the debit and credit accounts)."""
    return int(
        conn.execute(
            text(
                "SELECT coalesce(sum(t.amount_minor), 0) FROM ledger_transfers t"
                " JOIN ledger_accounts d ON d.id = t.debit_account_id"
                " JOIN ledger_accounts c ON c.id = t.credit_account_id"
                f" WHERE t.state = 'posted' AND d.issuer_id = :i AND t.currency = 'EUR'"
                f" AND {where}"
            ),
            {"i": shop.world.issuer_id, **binds},
        ).scalar_one()
    )


def _liability_posted(conn: Connection, shop: Scenario, day: date) -> int:
    until = {"until": end_of_day(day, TZ)}
    credits = _posted(
        conn, shop, where="c.kind = 'voucher_liability' AND t.resolved_at < :until", **until
    )
    debits = _posted(
        conn, shop, where="d.kind = 'voucher_liability' AND t.resolved_at < :until", **until
    )
    return credits - debits


def _total(result: ReportResult, key: str, currency: str = "EUR") -> int:
    return sum(int(str(row[key])) for row in result.rows if row["currency"] == currency)


def test_every_report_is_registered_with_its_parameters() -> None:
    assert set(reports.REPORTS) == {
        "issued",
        "sold",
        "issued_where",
        "used_where",
        "liability",
        "breakage",
        "activity",
        "receipts",
        "expiring",
    }
    assert reports.REPORTS["liability"].params == ("issuer", "as_of", "currency")


def test_sold_by_quarter_equals_the_sale_postings(conn: Connection, shop: Scenario) -> None:
    result = _run(
        conn, shop, "sold", **{"from": "2026-01-01", "to": "2026-06-30"}, grouping="quarter"
    )

    assert _table(result, "period", "currency", "vouchers", "sold_minor", "bonus_minor") == [
        ("2026-Q1", "EUR", 5, 26000, 500),
    ]
    assert result.chart.labels == ["2026-Q1", "2026-Q2"]
    assert [(s.label, s.values) for s in result.chart.series] == [("Sold EUR", [26000, 0])]
    assert _total(result, "sold_minor") == _posted(conn, shop, where="t.code = 'sale'")


def test_days_are_each_issuers_local_days_and_currencies_stay_apart(
    conn: Connection, shop: Scenario
) -> None:
    """D and A were both sold on 14 January in UTC: in Sofia D on the 14th and A on the 15th.
    U was sold at A's instant in New York, where it was still the 14th."""
    result = reports.run(
        conn, scope=EVERYTHING, name="sold", raw={"from": "2026-01-14", "to": "2026-01-15"}, now=NOW
    )
    ours = [row for row in result.rows if row["issuer"] in (shop.issuer, shop.dollar_issuer)]

    assert [(r["period_start"], r["issuer"], r["currency"], r["sold_minor"]) for r in ours] == [
        (date(2026, 1, 14), shop.issuer, "EUR", 4000),
        (date(2026, 1, 14), shop.dollar_issuer, "USD", 7000),
        (date(2026, 1, 15), shop.issuer, "EUR", 17000),
    ]
    assert {"Sold EUR", "Sold USD"} <= {series.label for series in result.chart.series}


def test_issued_counts_every_voucher_put_into_circulation(conn: Connection, shop: Scenario) -> None:
    result = _run(
        conn, shop, "issued", **{"from": "2026-01-01", "to": "2026-12-31"}, grouping="year"
    )

    assert _table(result, "period", "currency", "vouchers", "value_minor") == [
        ("2026", "EUR", 6, 27500),
    ]
    assert _total(result, "value_minor") == _posted(
        conn,
        shop,
        where="c.kind = 'voucher_liability' AND t.code IN ('sale', 'bonus', 'promo_issue')",
    )


def test_liability_as_of_any_day_equals_the_liability_postings_up_to_it(
    conn: Connection, shop: Scenario
) -> None:
    march = _run(conn, shop, "liability", as_of="2026-03-31")
    may = _run(conn, shop, "liability", as_of="2026-05-01")

    assert (
        _total(march, "liability_minor")
        == 17500
        == _liability_posted(conn, shop, date(2026, 3, 31))
    )
    assert (
        _total(may, "liability_minor") == 13000 == _liability_posted(conn, shop, date(2026, 5, 1))
    )
    assert _table(may, "type", "vouchers", "liability_minor") == [
        ("card", 2, 12000),
        ("promo", 1, 1000),
    ]
    assert may.chart.kind == "doughnut"
    assert may.chart.labels == [f"{shop.issuer} card", f"{shop.issuer} promo"]
    assert [(s.label, s.values) for s in may.chart.series] == [("Liability EUR", [12000, 1000])]
    dollars = reports.run(
        conn,
        scope=EVERYTHING,
        name="liability",
        raw={"issuer": shop.dollar_issuer, "as_of": "2026-05-01"},
        now=NOW,
    )
    assert _table(dollars, "currency", "liability_minor") == [("USD", 7000)]


def test_liability_today_equals_the_cached_balances(conn: Connection, shop: Scenario) -> None:
    today = _run(conn, shop, "liability", as_of="2026-11-30", currency="EUR")
    cached = conn.execute(
        text("SELECT sum(balance_minor) FROM vouchers WHERE issuer_id = :i AND currency = 'EUR'"),
        {"i": shop.world.issuer_id},
    ).scalar_one()
    assert _total(today, "liability_minor") == cached == 13000


def test_breakage_equals_the_postings_to_breakage_income(conn: Connection, shop: Scenario) -> None:
    result = _run(
        conn, shop, "breakage", **{"from": "2026-01-01", "to": "2026-06-30"}, grouping="quarter"
    )

    assert _table(
        result, "period", "expired", "breakage_minor", "forfeited_minor", "total_minor"
    ) == [("2026-Q1", 0, 0, 3000, 3000), ("2026-Q2", 1, 2500, 0, 2500)]
    assert _total(result, "total_minor") == _posted(conn, shop, where="c.kind = 'breakage_income'")


def test_where_issued_and_used_by_register(conn: Connection, shop: Scenario) -> None:
    window = {"from": "2026-01-01", "to": "2026-06-30", "currency": "EUR"}
    used = _run(conn, shop, "used_where", **window, by="register")
    issued = _run(conn, shop, "issued_where", **window, by="store")

    assert _table(used, "store", "register", "payments", "redeemed_minor") == [
        ("S1", "R1", 4, 7000),
        ("S1", "R2", 1, 500),
    ]
    assert _total(used, "redeemed_minor") == _posted(conn, shop, where="t.code = 'redemption'")
    assert used.chart.labels == [f"{shop.issuer} / S1 / R1", f"{shop.issuer} / S1 / R2"]
    assert _table(issued, "store", "vouchers", "value_minor") == [("S1", 6, 27500)]


def test_receipts_paid_with_vouchers(conn: Connection, shop: Scenario) -> None:
    result = _run(
        conn, shop, "receipts", **{"from": "2026-01-01", "to": "2026-06-30"}, grouping="month"
    )

    assert _table(result, "paid_on", "receipt_number", "register", "vouchers", "paid_minor") == [
        (date(2026, 2, 10), "R-1", "R1", 1, 3000),
        (date(2026, 2, 10), "R-2", "R1", 1, 2000),
        (date(2026, 3, 5), "R-5", "R2", 1, 500),
        (date(2026, 4, 2), "R-4", "R1", 2, 2000),
    ]
    assert result.chart.labels == [f"2026-{m:02d}" for m in range(1, 7)]
    assert result.chart.series[0].values == [0, 5000, 500, 2000, 0, 0]


def test_activity_counts_activated_used_and_returned(conn: Connection, shop: Scenario) -> None:
    result = _run(
        conn, shop, "activity", **{"from": "2026-01-01", "to": "2026-06-30"}, grouping="quarter"
    )

    keys = ("period", "activated", "used", "refunded", "returned", "expired")
    assert _table(result, *keys) == [("2026-Q1", 6, 3, 1, 1, 0), ("2026-Q2", 1, 2, 0, 0, 1)]
    assert [s.label for s in result.chart.series] == [
        "Activated",
        "Used",
        "Refunded",
        "Returned",
        "Expired",
    ]


def test_expiring_soon_counts_value_whose_last_day_is_near(
    conn: Connection, shop: Scenario
) -> None:
    d = shop.codes["D"]
    last_day = (NOW + timedelta(days=10)).date()
    conn.execute(
        text("UPDATE vouchers SET valid_until = :u WHERE code = :c"),
        {"u": start_of_day(last_day + timedelta(days=1), TZ), "c": d},
    )
    soon = _run(conn, shop, "expiring", days="10")
    too_far = _run(conn, shop, "expiring", days="9")

    assert _table(soon, "last_valid_on", "type", "vouchers", "balance_minor") == [
        (last_day, "card", 1, 3000)
    ]
    assert too_far.rows == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-02-30"}, "invalid_date"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "invalid_date_range"),
        ({"grouping": "week"}, "invalid_grouping"),
        ({"currency": "XXX"}, "invalid_currency"),
        ({"as_of": "2026-01-01"}, "unknown_parameter"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "too_many_periods"),
    ],
)
def test_bad_parameters_are_refused_with_a_stable_code(
    conn: Connection, params: dict[str, str], code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        reports.run(conn, scope=EVERYTHING, name="sold", raw=params, now=NOW)
    assert refused.value.code == code


def test_unknown_report_and_issuer_are_not_found(conn: Connection) -> None:
    with pytest.raises(NotFound) as no_report:
        reports.run(conn, scope=EVERYTHING, name="nope", raw={}, now=NOW)
    with pytest.raises(NotFound) as no_issuer:
        reports.run(conn, scope=EVERYTHING, name="sold", raw={"issuer": "NOPE"}, now=NOW)
    assert (no_report.value.code, no_issuer.value.code) == ("report_not_found", "issuer_not_found")
