"""The reports (S14): a registry of named reports, each a description, the parameters it takes
and one set-based query (``db.reports``), answering with one ``ReportResult`` shape.

``REPORTS[name].run(conn, params, within, now)`` runs one; :func:`run` takes the parameters as
text (a query string, a command line) and the caller's scope, checks them and runs the report
over the issuers and stores of that scope (``domain.scope``). Read-only: nothing here writes, so
a report can later run on a replica.

Refusals: ``report_not_found`` and ``issuer_not_found`` (``NotFound``), ``issuer_out_of_scope``
(``Forbidden``), and the parameter codes of ``domain.reports`` (``InvalidInput``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection

from scrip.db import reports as sql
from scrip.db.reports import Measure, Scope
from scrip.domain import scope as access
from scrip.domain import validity
from scrip.domain.errors import NotFound
from scrip.domain.reports import (
    MAX_PERIODS,
    Chart,
    Column,
    Params,
    ReportResult,
    parse_params,
    period_label,
    period_start,
    periods,
    series_by_currency,
    series_of_counts,
)

Run = Callable[[Connection, Params, "Within", datetime], ReportResult]
ChartKind = Literal["line", "bar", "doughnut"]
# A chart: its kind, its labels, and the row key that names the label each row adds to.
ChartSpec = tuple[ChartKind, list[str], str]

RANGE = ("issuer", "from", "to", "currency")
PERIODIC = (*RANGE, "grouping")

# What a ledger code means to a report: value put onto vouchers from outside them (a sale, its
# bonus, a promotional or lot issue), and value taken out of them for good.
ISSUE_CODES = ("sale", "promo_issue")
ISSUED_VALUE_CODES = ("sale", "bonus", "promo_issue")
BREAKAGE_CODES = ("breakage", "forfeit")


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    description: str
    params: tuple[str, ...]
    run: Run


def _text(key: str, label: str) -> Column:
    return Column(key, label, "text")


def _count(key: str, label: str) -> Column:
    return Column(key, label, "count")


def _money(key: str, label: str) -> Column:
    return Column(key, label, "money")


PERIOD_COLUMNS = [
    _text("period", "Period"),
    Column("period_start", "Period start", "date"),
    _text("issuer", "Issuer"),
    _text("currency", "Currency"),
]


@dataclass(frozen=True)
class Within:
    """The limits of whoever runs the report (``domain.scope.Scope``) as the SQL binds them."""

    issuer_ids: tuple[int, ...] | None
    store_ids: tuple[int, ...] | None

    @classmethod
    def of(cls, scope: access.Scope) -> Within:
        return cls(
            None if scope.issuer_ids is None else tuple(sorted(scope.issuer_ids)),
            None if scope.store_ids is None else tuple(sorted(scope.store_ids)),
        )


def _scope(p: Params, w: Within) -> Scope:
    return Scope(p.issuer, p.date_from, p.date_to, p.currency, w.issuer_ids, w.store_ids)


def _project(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]
) -> list[dict[str, object]]:
    return [{c.key: row.get(c.key) for c in columns} for row in rows]


def _period_labels(p: Params) -> list[str]:
    return [
        period_label(s, p.grouping)
        for s in periods(p.date_from, p.date_to, p.grouping, limit=MAX_PERIODS)
    ]


def _with_periods(rows: list[dict[str, Any]], p: Params) -> list[dict[str, Any]]:
    for row in rows:
        row["period"] = period_label(row["period_start"], p.grouping)
    return rows


@dataclass(frozen=True)
class Flows:
    """Ledger flows into (``credit``) or out of (``debit``) vouchers: the measures with their
    column labels, and the money measure the chart draws per currency."""

    side: str
    measures: tuple[tuple[Measure, str], ...]
    chart_key: str

    def columns(self) -> list[Column]:
        return [(_money if m.how == "sum" else _count)(m.key, label) for m, label in self.measures]

    def chart_label(self) -> str:
        return dict((m.key, label) for m, label in self.measures)[self.chart_key]

    def only_measures(self) -> list[Measure]:
        return [m for m, _ in self.measures]


def _money_result(
    title: str,
    columns: list[Column],
    rows: list[dict[str, Any]],
    chart: ChartSpec,
    value_key: str,
    name: str,
) -> ReportResult:
    """The result with one chart series per currency of ``value_key``."""
    kind, labels, label_key = chart
    series = series_by_currency(
        rows, label_key=label_key, labels=labels, value_key=value_key, name=name
    )
    return ReportResult(title, columns, _project(rows, columns), Chart(kind, labels, series))


def _flow_report(title: str, flows: Flows, kind: ChartKind) -> Run:
    """A report of ledger flows per period."""

    def run(conn: Connection, p: Params, w: Within, now: datetime) -> ReportResult:
        found = sql.flows_by_period(
            conn,
            scope=_scope(p, w),
            grouping=p.grouping,
            side=flows.side,
            measures=flows.only_measures(),
        )
        columns = PERIOD_COLUMNS + flows.columns()
        chart: ChartSpec = (kind, _period_labels(p), "period")
        rows = _with_periods(found, p)
        return _money_result(title, columns, rows, chart, flows.chart_key, flows.chart_label())

    return run


def _place_report(title: str, flows: Flows) -> Run:
    """A report of ledger flows per issuer, store or register (``by``)."""

    def run(conn: Connection, p: Params, w: Within, now: datetime) -> ReportResult:
        rows = sql.flows_by_place(
            conn, scope=_scope(p, w), place=p.by, side=flows.side, measures=flows.only_measures()
        )
        place = [_text("issuer", "Issuer")]
        if p.by != "issuer":
            place.append(_text("store", "Store"))
        if p.by == "register":
            place.append(_text("register", "Register"))
        columns = [*place, _text("currency", "Currency"), *flows.columns()]
        for row in rows:
            row["place"] = " / ".join(str(row[c.key] or "-") for c in place)
        labels = list(dict.fromkeys(str(row["place"]) for row in rows))
        chart: ChartSpec = ("bar", labels, "place")
        return _money_result(title, columns, rows, chart, flows.chart_key, flows.chart_label())

    return run


def _liability(conn: Connection, p: Params, w: Within, now: datetime) -> ReportResult:
    as_of = p.as_of or p.date_to
    rows = sql.liability_as_of(conn, scope=_scope(p, w), as_of=as_of)
    columns = [
        _text("issuer", "Issuer"),
        _text("type", "Voucher type"),
        _text("type_name", "Type name"),
        _text("currency", "Currency"),
        _count("vouchers", "Vouchers with value"),
        _money("liability_minor", "Outstanding liability"),
    ]
    for row in rows:
        row["label"] = f"{row['issuer']} {row['type']}"
    labels = list(dict.fromkeys(str(row["label"]) for row in rows))
    title = f"Outstanding liability at the end of {as_of.isoformat()}"
    chart: ChartSpec = ("doughnut", labels, "label")
    return _money_result(title, columns, rows, chart, "liability_minor", "Liability")


def _receipts(conn: Connection, p: Params, w: Within, now: datetime) -> ReportResult:
    rows = sql.receipts_paid(conn, scope=_scope(p, w))
    columns = [
        Column("paid_on", "Date", "date"),
        _text("receipt_number", "Receipt"),
        _text("issuer", "Issuer"),
        _text("store", "Store"),
        _text("register", "Register"),
        _text("currency", "Currency"),
        _count("vouchers", "Vouchers"),
        _money("paid_minor", "Paid with vouchers"),
    ]
    for row in rows:
        row["period"] = period_label(period_start(row["paid_on"], p.grouping), p.grouping)
    title = "Receipts paid with vouchers"
    chart: ChartSpec = ("bar", _period_labels(p), "period")
    return _money_result(title, columns, rows, chart, "paid_minor", "Paid with vouchers")


def _activity(conn: Connection, p: Params, w: Within, now: datetime) -> ReportResult:
    rows = _with_periods(sql.activity_by_period(conn, scope=_scope(p, w), grouping=p.grouping), p)
    counts = [
        _count("activated", "Activated"),
        _count("used", "Used"),
        _count("refunded", "Refunded"),
        _count("returned", "Returned"),
        _count("expired", "Expired"),
    ]
    columns = [c for c in PERIOD_COLUMNS if c.key != "currency"] + counts
    labels = _period_labels(p)
    series = series_of_counts(rows, label_key="period", labels=labels, columns=counts)
    return ReportResult(
        "Vouchers activated, used and returned",
        columns,
        _project(rows, columns),
        Chart("line", labels, series),
    )


def _expiring(conn: Connection, p: Params, w: Within, now: datetime) -> ReportResult:
    rows = sql.expiring(conn, scope=_scope(p, w), days=p.days, now=now)
    columns = [
        Column("last_valid_on", "Last valid day", "date"),
        _text("issuer", "Issuer"),
        _text("type", "Voucher type"),
        _text("currency", "Currency"),
        _count("vouchers", "Vouchers"),
        _money("balance_minor", "Value expiring"),
    ]
    for row in rows:
        row["day"] = row["last_valid_on"].isoformat()
    labels = sorted({str(row["day"]) for row in rows})
    title = f"Value expiring in the next {p.days} days"
    chart: ChartSpec = ("bar", labels, "day")
    return _money_result(title, columns, rows, chart, "balance_minor", "Value expiring")


_ISSUED = (
    (Measure("vouchers", "count", ISSUE_CODES), "Vouchers issued"),
    (Measure("value_minor", "sum", ISSUED_VALUE_CODES), "Value issued"),
)

_REPORTS = [
    Report(
        "issued",
        "Vouchers issued over time",
        "Vouchers put into circulation per period (sold, or issued by a promotion or a lot) and"
        " the value loaded on them, bonus included.",
        PERIODIC,
        _flow_report("Vouchers issued over time", Flows("credit", _ISSUED, "value_minor"), "line"),
    ),
    Report(
        "sold",
        "Vouchers sold",
        "Sales per day, month, quarter or year: vouchers sold, the amount paid for them and the"
        " bonus (extra value) they carried. A sale the till reversed is taken off in the period"
        " of the reversal.",
        PERIODIC,
        _flow_report(
            "Vouchers sold",
            Flows(
                "credit",
                (
                    (Measure("vouchers", "count", ("sale",)), "Vouchers sold"),
                    (Measure("sold_minor", "sum", ("sale",)), "Sold"),
                    (Measure("bonus_minor", "sum", ("bonus",)), "Bonus"),
                ),
                "sold_minor",
            ),
            "bar",
        ),
    ),
    Report(
        "issued_where",
        "Where vouchers were issued",
        "Vouchers issued and their value per issuer, store or register (by=issuer|store|register).",
        (*RANGE, "by"),
        _place_report("Where vouchers were issued", Flows("credit", _ISSUED, "value_minor")),
    ),
    Report(
        "used_where",
        "Where vouchers were used",
        "Payments with vouchers and the amount paid per issuer, store or register; a payment the"
        " till reversed is taken off where and when it was reversed.",
        (*RANGE, "by"),
        _place_report(
            "Where vouchers were used",
            Flows(
                "debit",
                (
                    (Measure("payments", "count", ("redemption",)), "Payments"),
                    (Measure("redeemed_minor", "sum", ("redemption",)), "Paid with vouchers"),
                ),
                "redeemed_minor",
            ),
        ),
    ),
    Report(
        "liability",
        "Outstanding liability",
        "What the issuer owes voucher holders at the end of a day (as_of), from the ledger, per"
        " voucher type.",
        ("issuer", "as_of", "currency"),
        _liability,
    ),
    Report(
        "breakage",
        "Breakage",
        "Value that will never be spent and became income: left on expired vouchers, and the rest"
        " of one-time vouchers used for less than their value.",
        PERIODIC,
        _flow_report(
            "Breakage",
            Flows(
                "debit",
                (
                    (Measure("expired", "count", ("breakage",)), "Expired vouchers with value"),
                    (Measure("breakage_minor", "sum", ("breakage",)), "Left on expired vouchers"),
                    (Measure("forfeited_minor", "sum", ("forfeit",)), "Forfeited rest"),
                    (Measure("total_minor", "sum", BREAKAGE_CODES), "Breakage"),
                ),
                "total_minor",
            ),
            "bar",
        ),
    ),
    Report(
        "activity",
        "Vouchers activated, used and returned",
        "How many vouchers were activated, how many payments, refunds, returns of unused"
        " vouchers and expiries there were per period, less those the till reversed (in the"
        " period of the reversal).",
        PERIODIC,
        _activity,
    ),
    Report(
        "receipts",
        "Receipts paid with vouchers",
        "Each receipt paid (partly) with vouchers: number, date, place, vouchers and amount,"
        " less payments the till reversed.",
        PERIODIC,
        _receipts,
    ),
    Report(
        "expiring",
        "Value expiring soon",
        "Vouchers with value whose last valid day is within the next N days (days, default 30).",
        ("issuer", "currency", "days"),
        _expiring,
    ),
]

REPORTS: dict[str, Report] = {report.name: report for report in _REPORTS}


def get_report(name: str) -> Report:
    found = REPORTS.get(name)
    if found is None:
        raise NotFound("no report with this name", code="report_not_found", known=sorted(REPORTS))
    return found


def run(
    conn: Connection,
    *,
    scope: access.Scope,
    name: str,
    raw: Mapping[str, str | None],
    now: datetime,
) -> ReportResult:
    """Check the text parameters ``raw`` and run report ``name`` over what ``scope`` may see:
    an issuer outside it is refused, and without one named only the issuers within it are
    reported; a store user's figures are their stores'. Without ``to`` the range ends today
    in the issuer's time zone (UTC when no issuer is named)."""
    report = get_report(name)
    tz = "UTC"
    issuer = raw.get("issuer")
    if issuer:
        found = sql.find_issuer(conn, issuer)
        if found is None:
            raise NotFound("no issuer with this code", code="issuer_not_found", issuer=issuer)
        access.check_issuer(scope, found[0])
        tz = found[1]
    today = now.astimezone(validity.zone(tz)).date()
    params = parse_params(raw, accepted=report.params, today=today)
    return report.run(conn, params, Within.of(scope), now)
