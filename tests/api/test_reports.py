"""Reports over the admin API: JSON, CSV and Excel give the same figures; bad parameters get the
error envelope; no admin token, no report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from scrip.server import create_app
from tests import report_scenario
from tests.report_scenario import Scenario

TOKEN = "reports-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def admin(engine: Engine, ledger_holds: None) -> Iterator[TestClient]:
    app = create_app(engine=engine, admin_token=TOKEN)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def shop(engine: Engine) -> Scenario:
    with engine.begin() as conn:
        return report_scenario.build(conn)


def _query(shop: Scenario, **extra: str) -> dict[str, str]:
    window = {"from": "2026-01-01", "to": "2026-06-30", "grouping": "quarter"}
    return {"issuer": shop.issuer, **window, **extra}


def _minor(text: str) -> int:
    """Decimal text of EUR back to minor units, exactly."""
    return int(Decimal(text).scaleb(2))


def test_the_list_names_every_report_and_its_parameters(admin: TestClient) -> None:
    answer = admin.get("/v1/admin/reports", headers=AUTH)
    assert answer.status_code == 200
    listed = {r["name"]: r["params"] for r in answer.json()}
    assert listed["liability"] == ["issuer", "as_of", "currency"]
    assert {"sold", "issued", "breakage", "receipts", "expiring"} <= set(listed)


def test_json_carries_columns_rows_and_chart(admin: TestClient, shop: Scenario) -> None:
    answer = admin.get("/v1/admin/reports/sold", params=_query(shop), headers=AUTH)
    assert answer.status_code == 200, answer.text
    body = answer.json()

    assert [c["key"] for c in body["columns"]][-3:] == ["vouchers", "sold_minor", "bonus_minor"]
    assert {c["key"]: c["kind"] for c in body["columns"]}["sold_minor"] == "money"
    [row] = body["rows"]
    assert (row["period"], row["period_start"], row["sold_minor"]) == (
        "2026-Q1",
        "2026-01-01",
        26000,
    )
    assert body["chart"] == {
        "kind": "bar",
        "labels": ["2026-Q1", "2026-Q2"],
        "series": [{"label": "Sold EUR", "values": [26000, 0]}],
    }


def test_csv_parses_back_to_the_same_figures(admin: TestClient, shop: Scenario) -> None:
    as_json = admin.get("/v1/admin/reports/receipts", params=_query(shop), headers=AUTH).json()
    answer = admin.get(
        "/v1/admin/reports/receipts", params=_query(shop, format="csv"), headers=AUTH
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="receipts.csv"' in answer.headers["content-disposition"]

    lines = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["Receipt"], r["Date"], _minor(r["Paid with vouchers"])) for r in lines] == [
        (row["receipt_number"], row["paid_on"], row["paid_minor"]) for row in as_json["rows"]
    ]
    assert [r["Paid with vouchers"] for r in lines] == ["30.00", "20.00", "5.00", "20.00"]


def test_xlsx_parses_back_to_the_same_figures(admin: TestClient, shop: Scenario) -> None:
    answer = admin.get(
        "/v1/admin/reports/breakage", params=_query(shop, format="xlsx"), headers=AUTH
    )
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content), read_only=True).active
    assert sheet is not None
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header[:4] == ["Period", "Period start", "Issuer", "Currency"]
    totals = [_minor(str(row[header.index("Breakage")])) for row in rows]
    assert totals == [3000, 2500]
    assert [row[header.index("Expired vouchers with value")] for row in rows] == [0, 1]


def test_liability_as_of_a_day(admin: TestClient, shop: Scenario) -> None:
    answer = admin.get(
        "/v1/admin/reports/liability",
        params={"issuer": shop.issuer, "as_of": "2026-03-31"},
        headers=AUTH,
    )
    assert answer.status_code == 200
    assert sum(r["liability_minor"] for r in answer.json()["rows"]) == 17500


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("sold", {"from": "31.01.2026"}, 422, "invalid_date"),
        ("sold", {"grouping": "fortnight"}, 422, "invalid_grouping"),
        ("sold", {"currency": "EURO"}, 422, "invalid_currency"),
        ("sold", {"colour": "red"}, 422, "unknown_parameter"),
        ("sold", {"format": "pdf"}, 422, "invalid_format"),
        ("expiring", {"days": "0"}, 422, "invalid_days"),
        ("used_where", {"by": "country"}, 422, "invalid_place"),
        ("sold", {"issuer": "NO-SUCH"}, 404, "issuer_not_found"),
        ("nonsense", {}, 404, "report_not_found"),
    ],
)
def test_bad_parameters_get_the_error_envelope(
    admin: TestClient, path: str, params: dict[str, str], status: int, code: str
) -> None:
    answer = admin.get(f"/v1/admin/reports/{path}", params=params, headers=AUTH)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code


def test_reports_need_an_api_token(admin: TestClient) -> None:
    answer = admin.get("/v1/admin/reports/sold")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "api_token_invalid"
