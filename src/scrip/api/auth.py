"""Who is calling the admin API, and may they: authentication once per router, rights per route.

Every ``/v1/admin`` route sits behind :func:`authenticate` (a router-level dependency), so a
route added later is authenticated without anyone remembering to. A route states what it needs
with ``dependencies=[require(Area.lots, Level.write)]``; a route that states nothing needs
write on every area (``rights.UNDECLARED``): it is open to full administrators only until its
author says otherwise. The decision itself is ``domain.rights.allows``.

Bearer tokens are users' API tokens (``scrip user token NAME``, or the users screen). The
deployment's ``SCRIP_ADMIN_TOKEN``, when set, stays as a break-glass credential acting as a
full administrator named ``admin-token`` (audited like everyone else): it is how automation
that predates users keeps working, and how a locked-out installation gets back in.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scrip.api.deps import read
from scrip.domain import rights
from scrip.domain.errors import Forbidden, Unauthorized
from scrip.domain.rights import Area, Level, Principal, Right
from scrip.services import users

_bearer = HTTPBearer(auto_error=False, description="a user's API token")

BREAK_GLASS = Principal(user_id=None, username="admin-token", role="admin", grants=rights.ALL_WRITE)


class Require:
    """The dependency a route declares its right with (see :func:`require`); without an
    area it declares that any authenticated user may use the route."""

    def __init__(self, area: Area | None, level: Level = Level.read) -> None:
        self.rights = () if area is None else (Right(area, level),)

    def __call__(self, request: Request) -> Principal:
        principal = current(request)
        check(principal, self.rights)
        return principal


def require(area: Area, level: Level) -> Any:
    return Depends(Require(area, level))


def anyone() -> Any:
    """For routes every authenticated user may use (the dashboard, logging out)."""
    return Depends(Require(None))


def current(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthorized("log in first", code="not_authenticated")
    return principal


def check(principal: Principal, needed: tuple[Right, ...]) -> None:
    if not rights.allows(principal.grants, needed):
        first = next(r for r in needed if principal.grants.get(r.area, Level.none) < r.level)
        raise Forbidden(
            f"the role {principal.role} lacks {first.level.name} on {first.area.value}",
            code="right_missing",
            area=first.area.value,
            level=first.level.name,
        )


def declared(route: object) -> tuple[Right, ...] | None:
    """The rights a route declares through :class:`Require`; None when it declares none."""
    if not isinstance(route, APIRoute):
        return None
    found = [d.call for d in route.dependant.dependencies if isinstance(d.call, Require)]
    return None if not found else tuple(r for req in found for r in req.rights)


def check_declared(request: Request, principal: Principal) -> None:
    """Undeclared routes need every right (deny by default)."""
    if declared(request.scope.get("route")) is None:
        check(principal, rights.UNDECLARED)


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    given = credentials.credentials if credentials is not None else ""
    principal = _from_token(request, given) if given else None
    if principal is None:
        raise Unauthorized("send a user's API token as a Bearer token", code="api_token_invalid")
    request.state.principal = principal
    check_declared(request, principal)
    return principal


def _from_token(request: Request, token: str) -> Principal | None:
    expected: str | None = request.app.state.admin_token
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return BREAK_GLASS
    return read(request.app.state.engine, lambda conn: users.find_by_token(conn, token=token))


PrincipalDep = Annotated[Principal, Depends(current)]
