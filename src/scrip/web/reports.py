"""Reports (S14) on screen: the list, and each report with its parameters as a form, its chart
and its table, downloadable as CSV or Excel. The figures come from ``services.reports``, the
same service the admin API and ``scrip report`` run, so screen, file and API always agree."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from scrip.api.auth import require
from scrip.api.reports import download
from scrip.documents import report_files
from scrip.domain.reports import ReportResult, decimal_text
from scrip.domain.rights import Area, Level
from scrip.services import reports
from scrip.web.screens import now, render, scope_of, screen_router

router = screen_router()
READ = [require(Area.reports, Level.read)]

# What each parameter looks like in the form (the service checks every value it receives).
FIELDS: dict[str, tuple[str, str]] = {
    "issuer": ("Issuer code", "text"),
    "from": ("From (local day)", "date"),
    "to": ("To (local day)", "date"),
    "grouping": ("Grouping: day, month, quarter, year", "text"),
    "currency": ("Currency", "text"),
    "by": ("By: issuer, store, register", "text"),
    "as_of": ("As of (local day)", "date"),
    "days": ("Days ahead", "number"),
}


@router.get("/reports", dependencies=READ)
def list_reports(request: Request) -> Response:
    return render(request, "reports.html", reports=list(reports.REPORTS.values()))


@router.get("/reports/{name}", dependencies=READ)
def show_report(request: Request, name: str, format: str = "html") -> Response:
    report = reports.get_report(name)
    asked = request.query_params
    given = {k: v for k, v in asked.items() if k not in ("format", "run") and v}
    result: ReportResult | None = None
    if "run" in asked or given or format != "html":
        if format != "html":
            report_files.check_format(format)
        with request.app.state.engine.connect() as conn:
            result = reports.run(conn, scope=scope_of(request), name=name, raw=given, now=now())
        if format != "html":
            return download(name, format, result)
    return render(
        request,
        "report.html",
        report=report,
        fields=[(key, *FIELDS[key]) for key in report.params],
        given=given,
        query=request.url.query,
        result=result,
        **(_drawn(result) if result is not None else {}),
    )


def _drawn(result: ReportResult) -> dict[str, Any]:
    """Columns, rows and chart in the shape of the ``table_chart`` macro; money as exact decimal
    text in the row's currency (the browser gets no binary fractions from us)."""
    columns = [
        (c.key, c.label, "num" if c.kind in ("count", "money") else "") for c in result.columns
    ]
    money = {c.key for c in result.columns if c.kind == "money"}
    rows = [
        {
            key: decimal_text(int(value), str(row["currency"]))
            if key in money and isinstance(value, int)
            else ("" if value is None else value)
            for key, value in row.items()
        }
        for row in result.rows
    ]
    chart = {
        "kind": result.chart.kind,
        "labels": result.chart.labels,
        "series": [
            {
                "label": s.label,
                "data": [decimal_text(v, s.currency) if s.currency else v for v in s.values],
            }
            for s in result.chart.series
        ],
    }
    return {"columns": columns, "rows": rows, "chart": chart}
