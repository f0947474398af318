"""The admin API's JSON contract: lots and their progress, bulk operations, types, templates,
secrets and users.

Every number an input carries is bounded (issue 13): money like the POS's (``MAX_MINOR``), ids
and serials within PostgreSQL's BIGINT, counts and days by what they mean. A value past its
bound is refused as ``invalid_input`` naming the field, never left to the database.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_MINOR = 10**15  # as wire.pos: a quadrillion minor units, far below BIGINT's 9.2e18
MAX_ID = 2**63 - 1
MAX_SERIAL = 2**62  # the serial range's open end in db.bulk_statement
Minor = Annotated[int, Field(ge=0, le=MAX_MINOR)]
PositiveMinor = Annotated[int, Field(gt=0, le=MAX_MINOR)]
Id = Annotated[int, Field(gt=0, le=MAX_ID)]
Serial = Annotated[int, Field(ge=0, le=MAX_SERIAL)]


class LotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, max_length=32, description="issuer code")
    type_code: str = Field(min_length=1, max_length=32)
    count: int = Field(gt=0, le=10_000_000)
    state: str | None = Field(default=None, max_length=16)
    face_value_minor: PositiveMinor | None = None
    extra_value_minor: Minor | None = None
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


class BulkChangesIn(BaseModel):
    """What an edit sets; a field left out stays as it is, ``null`` clears it (no restriction,
    or an unbounded window). ``change_validity`` takes the validity fields, ``modify`` the rest."""

    model_config = ConfigDict(extra="forbid")

    valid_from: datetime | None = Field(default=None, description="an instant with its offset")
    valid_until: datetime | None = Field(default=None, description="the first instant not valid")
    valid_from_on: date | None = Field(default=None, description="from the issuer's local day")
    valid_until_on: date | None = Field(default=None, description="to the end of that local day")
    face_value_minor: PositiveMinor | None = None
    extra_value_minor: Minor | None = None
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
    lot_id: Id | None = None
    type_code: str | None = Field(default=None, min_length=1, max_length=32)
    serial_from: Serial | None = Field(default=None, description="needs type_code")
    serial_to: Serial | None = Field(default=None, description="needs type_code")
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
    changes: BulkChangesIn | None = Field(default=None, description="for change_validity, modify")


class RefusedVoucherOut(BaseModel):
    code: str
    serial_number: int | None = Field(description="null: the code matched no voucher")
    state: str | None = Field(description="null: the code matched no voucher")
    reason: str = Field(
        description="why it was refused, e.g. transition_not_allowed, or not_found for a code"
        " that matches no voucher the operation may touch"
    )


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
    unknown_codes: list[str] = Field(
        description="every code of the selection that matched no voucher (refused: not_found)"
    )
    progress: float = Field(description="selected_count / total_count, 0 to 1")
    error: str | None = Field(description="e.g. bulk_refused (all_or_nothing)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class VoucherTypeIn(BaseModel):
    """A voucher type (S2, S4); the rules a definition must keep are in
    ``domain.voucher_types`` and refused with their own codes."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, max_length=32, description="issuer code")
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    classification: str = Field(
        description="printed_voucher, gift_certificate, gift_card, electronic_voucher,"
        " refund_voucher or promotional_voucher"
    )
    value_mode: str = Field(default="fixed", description="fixed or variable")
    face_value_minor: Minor | None = None
    extra_value_minor: Minor = 0
    multi_use: bool = Field(default=True, description="false: one-time")
    reloadable: bool = False
    max_balance_minor: Minor | None = None
    min_activation_receipt_minor: Minor = 0
    min_payment_receipt_minor: Minor = 0
    validity_basis: str = Field(
        default="from_activation", description="fixed, from_issue or from_activation"
    )
    validity_days: int | None = Field(default=None, ge=0, le=36_600, description="up to 100 years")
    valid_from_on: date | None = None
    valid_until_on: date | None = None
    pin_length: int | None = Field(
        default=None, ge=0, le=64, description="digits of the secret number"
    )
    return_to_prepared: bool = False
    refund_method: str | None = Field(default=None, max_length=32, description="refund vouchers")
    e_voucher_use: str | None = Field(default=None, description="personal or shareable")
    supported_products: list[str] | None = Field(default=None, max_length=10_000)
    supported_product_groups: list[str] | None = Field(default=None, max_length=10_000)
    allowed_stores: list[str] | None = Field(
        default=None, max_length=10_000, description="store codes; null: every store"
    )
    template: str | None = Field(default=None, max_length=64, description="code template name")


class VoucherTypeOut(BaseModel):
    id: int
    code: str
    name: str
    classification: str
    currency: str
    value_mode: str
    face_value_minor: int | None
    extra_value_minor: int
    multi_use: bool
    reloadable: bool
    max_balance_minor: int | None
    min_activation_receipt_minor: int
    min_payment_receipt_minor: int
    validity_basis: str
    validity_days: int | None
    valid_from_on: date | None
    valid_until_on: date | None
    pin_length: int | None
    return_to_prepared: bool
    refund_method: str | None
    e_voucher_use: str | None
    supported_products: list[str] | None
    supported_product_groups: list[str] | None
    allowed_store_ids: list[int] | None
    template: str | None
    created_at: datetime


class CodeTemplateIn(BaseModel):
    """How a type's codes look (S3): ``length`` or ``pattern`` (``#`` a random character)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, max_length=32, description="issuer code")
    name: str = Field(min_length=1, max_length=64)
    prefix: str = Field(default="", max_length=16)
    length: int | None = Field(default=None, gt=0, le=64)
    pattern: str | None = Field(default=None, max_length=64, description="e.g. GC-####-####")
    alphabet: str = Field(default="digits", description="digits or safe_alnum")
    check_digit: bool = True
    banned_words: list[str] = Field(default_factory=list, max_length=1_000)
    max_guess_ratio_ppm: int = Field(
        default=100, ge=0, le=1_000_000, description="valid codes per million"
    )


class CodeTemplateOut(BaseModel):
    id: int
    name: str
    prefix: str
    length: int | None
    pattern: str | None
    alphabet: str
    check_digit: bool
    banned_words: list[str]
    max_guess_ratio_ppm: int
    capacity: int = Field(description="distinct valid codes the template can make")


class SecretRetrievalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, max_length=32, description="issuer code")
    reason: str = Field(
        default="", max_length=500, description="why it is needed (required; audited)"
    )
    user: str = Field(
        default="admin-api",
        min_length=1,
        max_length=64,
        description="ignored: the retrieval is recorded under the user the API token belongs to",
    )


class SecretOut(BaseModel):
    code: str
    secret: str = Field(description="the secret number / PIN; its retrieval is in the history")
