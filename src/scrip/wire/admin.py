"""The admin API's JSON contract: lots and their progress."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class LotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, max_length=32, description="issuer code")
    type_code: str = Field(min_length=1, max_length=32)
    count: int = Field(gt=0, le=10_000_000)
    state: str | None = Field(default=None, max_length=16)
    face_value_minor: int | None = Field(default=None, gt=0)
    extra_value_minor: int | None = Field(default=None, ge=0)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    campaign: str | None = Field(default=None, max_length=200)
    created_by: str = Field(default="admin-api", min_length=1, max_length=64)


class LotOut(BaseModel):
    id: int
    type_id: int
    count: int
    done_count: int
    progress: float = Field(description="done_count / count, 0 to 1")
    state: str
    status: str
    serial_from: int
    serial_to: int
    campaign: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
