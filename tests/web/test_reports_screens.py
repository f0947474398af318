"""Reports on screen: a finance user runs one over a half year made by the POS services and sees
the hand-worked figure in the table and in the CSV the screen offers; a bad parameter is refused
on the page with its code; a role without the right gets no report."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import Engine

from tests import report_scenario
from tests.web.conftest import Browser


def test_liability_on_screen_and_as_csv(engine: Engine, browser_as: Callable[..., Browser]) -> None:
    with engine.begin() as conn:
        shop = report_scenario.build(conn)
    finance = browser_as("finance")
    listed = finance.get("/admin/reports")
    assert listed.status_code == 200 and 'href="/admin/reports/liability"' in listed.text

    form = finance.get("/admin/reports/liability")
    assert 'id="report-form"' in form.text and 'name="as_of"' in form.text
    assert 'id="report"' not in form.text  # nothing runs before it is asked for

    query = f"issuer={shop.issuer}&as_of=2026-03-31&run=1"
    shown = finance.get(f"/admin/reports/liability?{query}")
    assert shown.status_code == 200, shown.text
    assert 'id="report"' in shown.text and "new Chart(" in shown.text
    cells = [_cells(row) for row in re.findall(r"<tr>(.*?)</tr>", _table(shown.text), re.S)]
    money = [Decimal(c) for row in cells for c in row if re.fullmatch(r"-?\d+\.\d\d", c)]
    assert sum(money) == Decimal("175.00")  # A 105 + P 25 + D 35 + M 10, worked out by hand

    csv = finance.get(f"/admin/reports/liability?{query}&format=csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    for row in cells:  # the file holds what the screen shows
        assert all(cell in csv.text for cell in row if cell)

    refused = finance.get(f"/admin/reports/liability?issuer={shop.issuer}&as_of=31.03.2026")
    assert refused.status_code == 422 and "invalid_date" in refused.text


def _table(page: str) -> str:
    found = re.search(r'<table id="report">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert found is not None
    return found.group(1)


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_a_role_without_the_reports_right_gets_none(browser_as: Callable[..., Browser]) -> None:
    operator = browser_as("operator")
    assert operator.get("/admin/reports").status_code == 403
    assert 'href="/admin/reports"' not in operator.get("/admin").text
