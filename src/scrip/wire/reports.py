"""The reports' JSON contract: which reports exist, and one report's columns, rows and chart.

Money in ``rows`` is integer minor units in the row's ``currency``; dates are ISO dates.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from scrip.domain.reports import ReportResult

Value = int | str | date | None


class ReportInfoOut(BaseModel):
    name: str
    title: str
    description: str
    params: list[str] = Field(description="the query parameters this report takes")


class ColumnOut(BaseModel):
    key: str
    label: str
    kind: Literal["text", "count", "money", "date"] = Field(
        description="money: integer minor units in the row's currency"
    )


class SeriesOut(BaseModel):
    label: str
    values: list[int]


class ChartOut(BaseModel):
    kind: Literal["line", "bar", "doughnut"]
    labels: list[str]
    series: list[SeriesOut]


class ReportOut(BaseModel):
    name: str
    title: str
    columns: list[ColumnOut]
    rows: list[dict[str, Value]]
    chart: ChartOut

    @classmethod
    def of(cls, name: str, result: ReportResult) -> ReportOut:
        return cls.model_validate({"name": name, **asdict(result)})
