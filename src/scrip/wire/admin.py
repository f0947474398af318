"""The admin API's JSON contract: lots and their progress."""

from __future__ import annotations

from datetime import date, datetime

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


class BulkChangesIn(BaseModel):
    """What an edit sets; a field left out stays as it is, ``null`` clears it (no restriction,
    or an unbounded window). ``change_validity`` takes the validity fields, ``modify`` the rest."""

    model_config = ConfigDict(extra="forbid")

    valid_from: datetime | None = Field(default=None, description="an instant with its offset")
    valid_until: datetime | None = Field(default=None, description="the first instant not valid")
    valid_from_on: date | None = Field(default=None, description="from the issuer's local day")
    valid_until_on: date | None = Field(default=None, description="to the end of that local day")
    face_value_minor: int | None = Field(default=None, gt=0)
    extra_value_minor: int | None = Field(default=None, ge=0)
    supported_products: list[str] | None = Field(default=None, max_length=10_000)
    supported_product_groups: list[str] | None = Field(default=None, max_length=10_000)
    allowed_stores: list[str] | None = Field(
        default=None, max_length=10_000, description="store codes (business units)"
    )


class BulkOperationIn(BaseModel):
    """A bulk operation over a selection: every given part of it must match (S9)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, max_length=32, description="issuer code")
    action: str = Field(
        description="accept, reject, activate, hand_over, block, unblock, cancel, purge,"
        " change_validity or modify"
    )
    lot_id: int | None = Field(default=None, gt=0)
    type_code: str | None = Field(default=None, min_length=1, max_length=32)
    serial_from: int | None = Field(default=None, ge=0, description="needs type_code")
    serial_to: int | None = Field(default=None, ge=0, description="needs type_code")
    codes: list[str] = Field(default_factory=list, max_length=100_000)
    states: list[str] = Field(default_factory=list, max_length=20, description="state filter")
    operator: str = Field(default="admin-api", min_length=1, max_length=32)
    reason: str | None = Field(default=None, max_length=500, description="required to cancel")
    all_or_nothing: bool = False
    changes: BulkChangesIn | None = Field(default=None, description="for change_validity, modify")


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
    changes: dict[str, object] = Field(description="what an edit sets, as stored (store ids)")
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
