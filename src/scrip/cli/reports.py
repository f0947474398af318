"""`scrip report NAME --from --to --format csv|xlsx --out FILE`: a report (S14) as a file;
`scrip report` alone lists the reports and the parameters each takes."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from scrip import settings
from scrip.cli.database import resolve_dsn
from scrip.cli.long_runs import out, refusing
from scrip.db.engine import make_engine
from scrip.documents import report_files
from scrip.domain.scope import EVERYTHING  # the CLI acts as the installation: every issuer
from scrip.services import reports

# Options may follow the report's name (`scrip report sold --from …`).
report_app = typer.Typer(
    help="Reports: issued, sold, liability, breakage … as CSV or Excel.",
    context_settings={"allow_interspersed_args": True},
)


def _list() -> None:
    table = Table("report", "parameters", "what it shows")
    for r in reports.REPORTS.values():
        table.add_row(r.name, " ".join(r.params), r.description)
    out.print(table)


@report_app.callback(invoke_without_command=True)
def report(
    name: str | None = typer.Argument(None, help="the report; leave out to list them"),
    out_file: Path | None = typer.Option(None, "--out", help="file to write (CSV: else stdout)"),
    file_format: str = typer.Option("csv", "--format", help="csv or xlsx"),
    issuer: str | None = typer.Option(None, "--issuer", help="issuer code (all when left out)"),
    date_from: str | None = typer.Option(None, "--from", help="first local day, 2026-01-31"),
    date_to: str | None = typer.Option(None, "--to", help="last local day (default today)"),
    grouping: str | None = typer.Option(None, "--grouping", help="day, month, quarter, year"),
    currency: str | None = typer.Option(None, "--currency"),
    by: str | None = typer.Option(None, "--by", help="issuer, store or register"),
    as_of: str | None = typer.Option(None, "--as-of", help="liability at the end of this day"),
    days: str | None = typer.Option(None, "--days", help="expiring within this many days"),
) -> None:
    """Write report NAME as CSV or Excel. Exits 2 when a parameter is refused."""
    if name is None:
        _list()
        return
    raw = {
        "issuer": issuer,
        "from": date_from,
        "to": date_to,
        "grouping": grouping,
        "currency": currency,
        "by": by,
        "as_of": as_of,
        "days": days,
    }
    engine = make_engine(resolve_dsn(settings.load()), pool_size=1)
    with refusing(engine):
        report_files.check_format(file_format, ("csv", "xlsx"))
        if file_format == "xlsx" and out_file is None:
            out.print("[red]an Excel file needs --out FILE[/]")
            raise typer.Exit(2)
        with engine.connect() as conn:
            result = reports.run(conn, scope=EVERYTHING, name=name, raw=raw, now=datetime.now(UTC))
    if out_file is None:
        report_files.write_csv(result, sys.stdout)
        return
    if file_format == "csv":
        with out_file.open("w", encoding="utf-8", newline="") as stream:
            report_files.write_csv(result, stream)
    else:
        with out_file.open("wb") as binary:
            report_files.write_xlsx(result, binary)
    out.print(f"{result.title}: {len(result.rows)} rows written to {out_file}")
