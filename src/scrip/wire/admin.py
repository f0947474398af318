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
    created_by: str = Field(
        default="admin-api",
        min_length=1,
        max_length=64,
        description="ignored: the lot records the authenticated user",
    )


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


class BulkOperationIn(BaseModel):
    """A bulk operation over a selection: every given part of it must match (S9)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, max_length=32, description="issuer code")
    action: str = Field(
        description="accept, reject, activate, hand_over, block, unblock, cancel or purge"
    )
    lot_id: int | None = Field(default=None, gt=0)
    type_code: str | None = Field(default=None, min_length=1, max_length=32)
    serial_from: int | None = Field(default=None, ge=0, description="needs type_code")
    serial_to: int | None = Field(default=None, ge=0, description="needs type_code")
    codes: list[str] = Field(default_factory=list, max_length=100_000)
    states: list[str] = Field(default_factory=list, max_length=20, description="state filter")
    operator: str = Field(
        default="admin-api",
        min_length=1,
        max_length=32,
        description="ignored: the operation records the authenticated user",
    )
    reason: str | None = Field(default=None, max_length=500, description="required to cancel")
    all_or_nothing: bool = False


class RefusedVoucherOut(BaseModel):
    code: str
    serial_number: int
    state: str
    reason: str = Field(description="why it was refused, e.g. transition_not_allowed")


class BulkOperationOut(BaseModel):
    id: int
    action: str
    selection: dict[str, object]
    operator: str
    reason: str | None
    all_or_nothing: bool
    status: str = Field(description="queued, running, done or failed")
    total_count: int = Field(description="vouchers the selection held when it was made")
    selected_count: int = Field(description="vouchers looked at so far")
    done_count: int
    refused_count: int
    refused_sample: list[RefusedVoucherOut]
    progress: float = Field(description="selected_count / total_count, 0 to 1")
    error: str | None = Field(description="e.g. bulk_refused (all_or_nothing)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
