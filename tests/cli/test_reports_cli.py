"""`scrip report`: the same figures as the service, in a CSV or an Excel file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from typer.testing import CliRunner

from scrip.cli.main import app
from tests import report_scenario
from tests.report_scenario import Scenario


@pytest.fixture(scope="module")
def shop(engine: Engine) -> Scenario:
    with engine.begin() as conn:
        return report_scenario.build(conn)


def _scrip(database_url: str, tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {"SCRIP_DATABASE_URL": database_url, "SCRIP_HOME": str(tmp_path), "COLUMNS": "200"}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_sold_by_quarter_as_csv(database_url: str, tmp_path: Path, shop: Scenario) -> None:
    target = tmp_path / "sold.csv"
    code, output = _scrip(
        database_url, tmp_path, "report", "sold", "--issuer", shop.issuer, "--from", "2026-01-01",
        "--to", "2026-06-30", "--grouping", "quarter", "--out", str(target),
    )  # fmt: skip
    assert code == 0, output
    with target.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [(r["Period"], r["Vouchers sold"], r["Sold"], r["Bonus"]) for r in rows] == [
        ("2026-Q1", "5", "260.00", "5.00")
    ]


def test_liability_as_excel(database_url: str, tmp_path: Path, shop: Scenario) -> None:
    target = tmp_path / "liability.xlsx"
    code, output = _scrip(
        database_url, tmp_path, "report", "liability", "--issuer", shop.issuer,
        "--as-of", "2026-05-01", "--format", "xlsx", "--out", str(target),
    )  # fmt: skip
    assert code == 0, output
    sheet = load_workbook(target).active
    assert sheet is not None
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert [row[header.index("Outstanding liability")] for row in rows] == [120, 10]


def test_a_refused_parameter_exits_2_with_its_code(
    database_url: str, tmp_path: Path, shop: Scenario
) -> None:
    code, output = _scrip(database_url, tmp_path, "report", "sold", "--grouping", "week")
    assert code == 2 and "invalid_grouping" in output


def test_without_a_name_it_lists_the_reports(database_url: str, tmp_path: Path) -> None:
    code, output = _scrip(database_url, tmp_path, "report")
    assert code == 0 and "liability" in output and "expiring" in output
