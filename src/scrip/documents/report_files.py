"""A report (``domain.reports.ReportResult``) as a CSV or an Excel file.

The first row holds the column labels, then one line per row. Money columns come from integer
minor units by integer arithmetic, in the row's currency: ``1234`` EUR is the text ``12.34`` in
CSV, and in Excel the number 12.34 (an exact ``Decimal``) formatted with the currency's number
of decimals. Excel keeps numbers as 15 significant digits, so an amount of 10^15 minor units or
more is written as text rather than rounded. Text that a spreadsheet would run as a formula
(``=``, ``+``, ``-``, ``@`` first) is written as plain text, in CSV behind an apostrophe: a
receipt number comes from a till and must not become a formula on a controller's machine.

Excel is written with openpyxl rather than XlsxWriter: the tests read the sheets back with
openpyxl, so one well-kept library serves both, and its write-only workbook streams each row to
a temporary file as it is appended, so memory stays flat however long the report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from scrip.domain.errors import InvalidInput
from scrip.domain.money import CURRENCY_EXPONENTS
from scrip.domain.reports import Column, ReportResult, decimal_amount, decimal_text

FORMATS = ("json", "csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXCEL_EXACT_BELOW = 10**15
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def check_format(text: str, allowed: tuple[str, ...] = FORMATS) -> str:
    if text not in allowed:
        raise InvalidInput(
            f"format must be one of {', '.join(allowed)}",
            code="invalid_format",
            allowed=list(allowed),
        )
    return text


def _plain(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_value(column: Column, row: dict[str, object]) -> str:
    value = row.get(column.key)
    if value is None:
        return ""
    if column.kind == "money":
        return decimal_text(_minor(value), str(row["currency"]))
    if column.kind == "date" and isinstance(value, date):
        return value.isoformat()
    if column.kind == "count":
        return str(_minor(value))
    return _plain(value)


def csv_lines(result: ReportResult) -> Iterator[str]:
    """The CSV file line by line, to be streamed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    rows = iter(result.rows)
    line: list[str] | None = [_plain(c.label) for c in result.columns]
    while line is not None:
        writer.writerow(line)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        row = next(rows, None)
        line = None if row is None else [_csv_value(c, row) for c in result.columns]


def write_csv(result: ReportResult, stream: IO[str]) -> None:
    for line in csv_lines(result):
        stream.write(line)


def _money_format(currency: str) -> str:
    exponent = CURRENCY_EXPONENTS[currency]
    return "#,##0" + ("." + "0" * exponent if exponent else "")


def _cell(sheet: WriteOnlyWorksheet, column: Column, row: dict[str, object]) -> Cell:
    value = row.get(column.key)
    if value is None:
        return WriteOnlyCell(sheet, value=None)
    if column.kind == "money":
        minor, currency = _minor(value), str(row["currency"])
        if abs(minor) >= EXCEL_EXACT_BELOW:
            return _text_cell(sheet, decimal_text(minor, currency))
        cell = _value_cell(sheet, decimal_amount(minor, currency))
        cell.number_format = _money_format(currency)
        return cell
    if column.kind == "date":
        cell = _value_cell(sheet, value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    if column.kind == "count":
        return WriteOnlyCell(sheet, value=_minor(value))
    return _text_cell(sheet, str(value))


def _value_cell(sheet: WriteOnlyWorksheet, value: Any) -> Cell:
    """A number or date cell. openpyxl takes ``Decimal`` and ``date`` values (its
    NUMERIC_TYPES and date handling), which its type stubs leave out."""
    return WriteOnlyCell(sheet, value=value)


def _text_cell(sheet: WriteOnlyWorksheet, text: str) -> Cell:
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def write_xlsx(result: ReportResult, stream: IO[bytes]) -> None:
    """One sheet: the labels, then the rows; written row by row (constant memory)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Report")
    sheet.append([_text_cell(sheet, c.label) for c in result.columns])
    for row in result.rows:
        sheet.append([_cell(sheet, c, row) for c in result.columns])
    book.save(stream)


def _minor(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("report figures are integers", code="invalid_report_value")
    return value
