"""The admin API's JSON contract for users, their API tokens and roles (S13, issue 13).

A scope is a list of ids or ``null`` for every one; in a change a field left out stays as it
is. Passwords and tokens travel only in the request that sets them and the answer that makes
them; the audit trail drops them (``api.audit``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from scrip.wire.admin import Id

Username = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^\S+$")]
RoleName = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Ids = Annotated[list[Id], Field(min_length=1, max_length=1_000)]
LevelName = Literal["read", "write"]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: str = Field(min_length=10, max_length=200, description="at least 10 characters")
    role: RoleName
    store_ids: Ids | None = Field(default=None, description="null: every store")
    issuer_ids: Ids | None = Field(default=None, description="null: every issuer")


class UserChangeIn(BaseModel):
    """What to change; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    role: RoleName | None = None
    store_ids: Ids | None = Field(default=None, description="null: every store")
    issuer_ids: Ids | None = Field(default=None, description="null: every issuer")
    active: bool | None = None


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    store_ids: list[int] | None
    issuer_ids: list[int] | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "admin-api"


class TokenOut(BaseModel):
    token: str = Field(description="shown once; only its hash is kept")


class RevokedOut(BaseModel):
    revoked: int


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grants: dict[
        Literal[
            "types",
            "lots",
            "vouchers",
            "bulk",
            "secrets",
            "promotions",
            "partners",
            "finance",
            "reports",
            "users",
            "settings",
            "audit",
        ],
        LevelName,
    ] = Field(description="level per area; an area left out is not granted")


class RoleOut(BaseModel):
    name: str
    grants: dict[str, str]
