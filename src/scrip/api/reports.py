"""Reports (S14) over HTTP: ``GET /v1/admin/reports`` lists them, ``GET
/v1/admin/reports/{name}?issuer=&from=&to=&grouping=&currency=&by=&as_of=&days=&format=``
runs one as JSON (columns, rows, chart), CSV or Excel.

Behind the admin API's authentication, with the ``reports`` right to read. A report only reads;
it runs on its own connection, outside any write transaction. The back office's report screens
(``web.reports``) run the same service and send files through :func:`download`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Annotated

from fastapi import Query, Request
from fastapi.responses import StreamingResponse

from scrip.api.admin import admin_router
from scrip.api.auth import PrincipalDep, require
from scrip.api.deps import EngineDep
from scrip.documents import report_files
from scrip.domain.reports import ReportResult
from scrip.domain.rights import Area, Level
from scrip.services import reports
from scrip.wire.reports import ReportInfoOut, ReportOut

router = admin_router("reports")
READ = [require(Area.reports, Level.read)]

_CHUNK = 64 * 1024
_IN_MEMORY_UP_TO = 8 * 1024 * 1024

Text = Annotated[str | None, Query(max_length=64)]


@router.get("/reports", response_model=list[ReportInfoOut], dependencies=READ)
def list_reports() -> list[ReportInfoOut]:
    return [
        ReportInfoOut(name=r.name, title=r.title, description=r.description, params=list(r.params))
        for r in reports.REPORTS.values()
    ]


@router.get(
    "/reports/{name}",
    response_model=ReportOut,
    dependencies=READ,
    responses={200: {"content": {m: {} for m in report_files.MEDIA_TYPES.values()}}},
)
def show_report(
    name: str,
    request: Request,
    engine: EngineDep,
    principal: PrincipalDep,
    format: Annotated[str, Query(description="json, csv or xlsx")] = "json",
    issuer: Text = None,
    date_from: Annotated[str | None, Query(alias="from", description="local date")] = None,
    date_to: Annotated[str | None, Query(alias="to", description="local date")] = None,
    grouping: Annotated[str | None, Query(description="day, month, quarter, year")] = None,
    currency: Text = None,
    by: Annotated[str | None, Query(description="issuer, store, register")] = None,
    as_of: Annotated[str | None, Query(description="local date")] = None,
    days: Text = None,
) -> ReportOut | StreamingResponse:
    """The parameters are declared for the documentation; the report service checks the whole
    query string (a parameter the report does not take is refused, not ignored). The figures
    are those of the caller's scope: an issuer outside it is refused."""
    report_files.check_format(format)
    raw = {key: value for key, value in request.query_params.items() if key != "format"}
    with engine.connect() as conn:
        result = reports.run(conn, scope=principal.scope, name=name, raw=raw, now=datetime.now(UTC))
    if format == "json":
        return ReportOut.of(name, result)
    return download(name, format, result)


def download(name: str, format: str, result: ReportResult) -> StreamingResponse:
    headers = {"Content-Disposition": f'attachment; filename="{name}.{format}"'}
    media_type = report_files.MEDIA_TYPES[format]
    if format == "csv":
        return StreamingResponse(
            report_files.csv_lines(result), media_type=media_type, headers=headers
        )
    # Closed by _chunks once the answer is sent: the file must outlive this function.
    spool = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY_UP_TO)  # noqa: SIM115
    try:
        report_files.write_xlsx(result, spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return StreamingResponse(_chunks(spool), media_type=media_type, headers=headers)


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    with file:
        while chunk := file.read(_CHUNK):
            yield chunk
