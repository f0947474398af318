"""Users, their API tokens and roles over the admin API (S13, issue 13): list, create, change
(role, scope, active), tokens, roles. What may be granted to whom is decided by
``services.users`` (with ``services.access``), the same checks the screens and the CLI pass
through: nobody grants more than they hold, nobody changes their own access, the last full
administrator stays."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request, Response

from scrip.api.admin import IdPath, admin_router, utc_now
from scrip.api.audit import unit
from scrip.api.auth import PrincipalDep, require
from scrip.api.deps import EngineDep
from scrip.db import users as users_db
from scrip.db.users import UserRow
from scrip.domain import rights
from scrip.domain.rights import Area, Level
from scrip.services import users
from scrip.wire.admin import MAX_ID
from scrip.wire.users import (
    RevokedOut,
    RoleIn,
    RoleOut,
    TokenIn,
    TokenOut,
    UserChangeIn,
    UserIn,
    UserOut,
)

router = admin_router("users")
READ = [require(Area.users, Level.read)]
WRITE = [require(Area.users, Level.write)]
PAGE = 100


def _out(user: UserRow) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        role=user.role,
        store_ids=user.store_ids,
        issuer_ids=user.issuer_ids,
        active=user.active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


@router.get("/users", response_model=list[UserOut], dependencies=READ)
def list_users(
    engine: EngineDep,
    principal: PrincipalDep,
    before: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
) -> list[UserOut]:
    """The users within the caller's scope, newest first, 100 a page (``before``: an id)."""
    with engine.connect() as conn:
        found = users.list_users(conn, actor=principal, before=before, limit=PAGE)
    return [_out(user) for user in found]


@router.post("/users", status_code=201, response_model=UserOut, dependencies=WRITE)
def create_user(body: UserIn, request: Request, principal: PrincipalDep) -> UserOut:
    """A user of a role the caller holds every right of, within the caller's scope."""
    conn = unit(request).connection()
    user_id = users.create_user(
        conn,
        actor=principal,
        username=body.username,
        password=body.password,
        role=body.role,
        store_ids=body.store_ids,
        issuer_ids=body.issuer_ids,
        now=utc_now(),
    )
    request.state.audit = {"target": f"user {user_id}"}
    return _out(users.get_user(conn, user_id))


@router.patch("/users/{user_id}", response_model=UserOut, dependencies=WRITE)
def change_user(
    body: UserChangeIn, request: Request, principal: PrincipalDep, user_id: IdPath
) -> UserOut:
    """Change a user's role, scope or active flag; the user's sessions end."""
    conn = unit(request).connection()
    given = body.model_fields_set
    before = users.get_user(conn, user_id)
    after = users.change_user(
        conn,
        actor=principal,
        user_id=user_id,
        role=body.role,
        store_ids=body.store_ids if "store_ids" in given else users.KEEP,
        issuer_ids=body.issuer_ids if "issuer_ids" in given else users.KEEP,
        active=body.active,
    )
    request.state.audit = {
        "target": f"user {user_id}",
        "before": _out(before).model_dump(mode="json", include=_AUDITED),
        "after": _out(after).model_dump(mode="json", include=_AUDITED),
    }
    return _out(after)


_AUDITED = {"role", "store_ids", "issuer_ids", "active"}


@router.post(
    "/users/{user_id}/tokens", status_code=201, response_model=TokenOut, dependencies=WRITE
)
def create_token(
    body: TokenIn,
    request: Request,
    response: Response,
    principal: PrincipalDep,
    user_id: IdPath,
) -> TokenOut:
    """A new API token acting as the user, shown once."""
    conn = unit(request).connection()
    token = users.create_token(conn, actor=principal, user_id=user_id, name=body.name)
    request.state.audit = {"target": f"user {user_id}", "after": {"name": body.name}}
    response.headers["Cache-Control"] = "no-store"
    return TokenOut(token=token)


@router.post("/users/{user_id}/tokens/revoke", response_model=RevokedOut, dependencies=WRITE)
def revoke_tokens(request: Request, principal: PrincipalDep, user_id: IdPath) -> RevokedOut:
    conn = unit(request).connection()
    revoked = users.revoke_tokens(conn, actor=principal, user_id=user_id, now=utc_now())
    request.state.audit = {"target": f"user {user_id}", "after": {"tokens_revoked": revoked}}
    return RevokedOut(revoked=revoked)


@router.get("/roles", response_model=list[RoleOut], dependencies=READ)
def list_roles(engine: EngineDep) -> list[RoleOut]:
    with engine.connect() as conn:
        return [RoleOut(name=name, grants=grants) for name, grants in users_db.list_roles(conn)]


@router.put("/roles/{name}", response_model=RoleOut, dependencies=WRITE)
def save_role(
    body: RoleIn,
    request: Request,
    principal: PrincipalDep,
    name: Annotated[str, Path(min_length=1, max_length=32)],
) -> RoleOut:
    """Create or replace a role; only within the caller's own rights, before and after."""
    grants = {Area(area): Level[level] for area, level in body.grants.items()}
    users.save_role(unit(request).connection(), actor=principal, name=name, grants=grants)
    return RoleOut(name=name, grants=rights.stored(grants))
