"""Who may do what (S13): areas, levels, roles, and the one decision every entry point asks.

A role grants a level (``read`` or ``write``; write includes read) per area. A user holds one
role and a scope of issuers and stores (``domain.scope``: whose records). The decision is a pure
function so that the admin API, the web screens and the tests all ask the same question and get
the same answer.

Granting (S13, issue 13): nobody grants a right they do not hold. A role may be given, or
edited, only by a user whose own grants reach every grant of it (:func:`first_beyond`), and a
scope only within the granter's own; nobody changes their own role or scope; the last active
full administrator (every right, every issuer and store) stays one. ``services.users`` enforces
it for the admin API, the screens and the CLI alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from scrip.domain.scope import EVERYTHING, Scope


class Area(StrEnum):
    types = "types"  # voucher types and code templates
    lots = "lots"
    vouchers = "vouchers"
    bulk = "bulk"  # bulk operations
    secrets = "secrets"
    promotions = "promotions"
    partners = "partners"
    finance = "finance"
    reports = "reports"
    users = "users"  # users, roles, API tokens
    settings = "settings"  # issuers, stores, registers
    audit = "audit"


class Level(IntEnum):
    none = 0
    read = 1
    write = 2


Grants = Mapping[Area, Level]

ALL_WRITE: dict[Area, Level] = {area: Level.write for area in Area}

# The roles a fresh installation starts with (S0's people); more can be made on the users screen.
BUILTIN_ROLES: dict[str, dict[Area, Level]] = {
    "admin": ALL_WRITE,
    "marketer": {
        Area.types: Level.write,
        Area.lots: Level.write,
        Area.promotions: Level.write,
        Area.vouchers: Level.read,
        Area.reports: Level.read,
    },
    "operator": {
        Area.types: Level.read,
        Area.lots: Level.write,
        Area.vouchers: Level.write,
        Area.bulk: Level.write,
        Area.settings: Level.read,
    },
    "finance": {
        Area.finance: Level.write,
        Area.partners: Level.write,
        Area.reports: Level.write,
        Area.vouchers: Level.read,
        Area.lots: Level.read,
    },
    "security": {
        Area.users: Level.write,
        Area.audit: Level.read,
        Area.secrets: Level.write,
        Area.vouchers: Level.read,
        Area.settings: Level.read,
    },
    "viewer": {area: Level.read for area in Area if area is not Area.secrets},
}


@dataclass(frozen=True, slots=True)
class Right:
    """What one route needs: a level on an area."""

    area: Area
    level: Level


# What a route that declares no right of its own needs: write on every area. Routes added to
# the admin API without thinking about rights are therefore open to full administrators only.
UNDECLARED = tuple(Right(area, Level.write) for area in Area)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a user (through a session or an API token) and what their role grants."""

    user_id: int | None
    username: str
    role: str
    grants: Grants
    scope: Scope = field(default=EVERYTHING)

    @property
    def full_administrator(self) -> bool:
        return full_administrator(self.grants, self.scope)


def grants_of(raw: Mapping[str, str]) -> dict[Area, Level]:
    """Stored grants (``{"lots": "write"}``) as enums; unknown areas or levels are refused."""
    return {Area(area): Level[level] for area, level in raw.items()}


def stored(grants: Grants) -> dict[str, str]:
    return {area.value: level.name for area, level in grants.items() if level > Level.none}


def allows(grants: Grants, rights: Iterable[Right]) -> bool:
    """True when the grants reach every one of ``rights``."""
    return all(grants.get(right.area, Level.none) >= right.level for right in rights)


def first_beyond(grants: Grants, held: Grants) -> Right | None:
    """The first right ``grants`` gives that ``held`` does not reach; None when every grant is
    within ``held`` (then a holder of ``held`` may grant them)."""
    for area in Area:
        level = grants.get(area, Level.none)
        if level > held.get(area, Level.none):
            return Right(area, level)
    return None


def full_administrator(grants: Grants, scope: Scope) -> bool:
    """Every right on every area, for every issuer and store."""
    return allows(grants, UNDECLARED) and scope.everything
