"""CSV and Excel files of a report: exact amounts per currency, no formulas from till text."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import load_workbook

from scrip.documents.report_files import csv_lines, write_xlsx
from scrip.domain.reports import Chart, Column, ReportResult

RESULT = ReportResult(
    title="Test",
    columns=[
        Column("day", "Day", "date"),
        Column("receipt", "Receipt", "text"),
        Column("currency", "Currency", "text"),
        Column("count", "Count", "count"),
        Column("paid_minor", "Paid", "money"),
    ],
    rows=[
        {
            "day": date(2026, 1, 2),
            "receipt": "=HYPERLINK(1)",
            "currency": "EUR",
            "count": 2,
            "paid_minor": 1205,
        },
        {
            "day": date(2026, 1, 3),
            "receipt": "R-2",
            "currency": "JPY",
            "count": 1,
            "paid_minor": 500,
        },
        {"day": None, "receipt": None, "currency": "KWD", "count": 0, "paid_minor": -1},
        {"day": None, "receipt": "big", "currency": "EUR", "count": 0, "paid_minor": 10**17 + 1},
    ],
    chart=Chart("bar", [], []),
)


def test_csv_writes_decimal_text_and_defuses_formulas() -> None:
    lines = list(csv.reader(io.StringIO("".join(csv_lines(RESULT)))))
    assert lines == [
        ["Day", "Receipt", "Currency", "Count", "Paid"],
        ["2026-01-02", "'=HYPERLINK(1)", "EUR", "2", "12.05"],
        ["2026-01-03", "R-2", "JPY", "1", "500"],
        ["", "", "KWD", "0", "-0.001"],
        ["", "big", "EUR", "0", "1000000000000000.01"],
    ]


def test_excel_writes_numbers_dates_and_text_never_formulas() -> None:
    stream = io.BytesIO()
    write_xlsx(RESULT, stream)
    sheet = load_workbook(io.BytesIO(stream.getvalue())).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]

    assert rows[0] == ["Day", "Receipt", "Currency", "Count", "Paid"]
    assert rows[1][1:] == ["=HYPERLINK(1)", "EUR", 2, 12.05]
    assert rows[1][0].date() == date(2026, 1, 2)
    assert rows[2][4] == 500 and rows[3][4] == -0.001
    assert rows[4][4] == "1000000000000000.01"  # past Excel's 15 digits: exact text instead
    assert sheet["B2"].data_type == "s" and sheet["E2"].number_format == "#,##0.00"
    assert sheet["E3"].number_format == "#,##0"
