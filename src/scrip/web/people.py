"""Users and roles (create, change role, stores and issuers, API tokens, second factor) and the
audit trail with its chain check. Passwords, tokens and TOTP secrets appear once, in the answer
to the request that made them. What a user may grant is ``services.users``'s to decide, with the
logged-in user as the actor."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from scrip.api.audit import unit
from scrip.api.auth import require
from scrip.db import users as users_db
from scrip.domain import rights
from scrip.domain.errors import InvalidInput
from scrip.domain.rights import Area, Level
from scrip.services import audit, users
from scrip.web.screens import (
    PAGE,
    OptionalInt,
    choices,
    list_page,
    now,
    redirect,
    render,
    scope_of,
    screen_router,
    vault,
)

router = screen_router()
WRITE_USERS = [require(Area.users, Level.write)]


def _ids(raw: str | None, what: str) -> list[int] | None:
    """``"3, 5"`` -> ``[3, 5]``; blank means every one; anything else is refused."""
    parts = [part for part in (raw or "").replace(" ", "").split(",") if part]
    if not all(part.isdigit() and len(part) <= 18 for part in parts):
        raise InvalidInput(
            f"{what} are ids separated by commas (blank: every one)",
            code=f"invalid_{what}",
            value=(raw or "")[:40],
        )
    return [int(part) for part in parts] or None


@router.get("/users", dependencies=[require(Area.users, Level.read)])
def list_users(request: Request, before: OptionalInt = None) -> Response:
    actor = request.state.principal
    return list_page(
        request,
        "users.html",
        lambda conn: users.list_users(conn, actor=actor, before=before, limit=PAGE),
        roles=choices(request, users_db.list_roles),
        areas=list(Area),
    )


@router.post("/users", dependencies=WRITE_USERS)
def create_user(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=32)],
    stores: Annotated[str | None, Form(max_length=2000)] = None,
    issuers: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    password = secrets.token_urlsafe(12)
    user_id = users.create_user(
        unit(request).connection(),
        actor=request.state.principal,
        username=username.strip(),
        password=password,
        role=role,
        store_ids=_ids(stores, "stores"),
        issuer_ids=_ids(issuers, "issuers"),
        now=now(),
    )
    request.state.audit = {"target": f"user {user_id}"}
    return render(request, "shown_once.html", what=f"password of {username}", value=password)


@router.post("/users/{user_id}", dependencies=WRITE_USERS)
def change_user(
    request: Request,
    user_id: int,
    role: Annotated[str, Form(max_length=32)],
    stores: Annotated[str | None, Form(max_length=2000)] = None,
    issuers: Annotated[str | None, Form(max_length=2000)] = None,
    active: Annotated[bool, Form()] = False,
) -> Response:
    """The row's form sends every field; those left as they were are no change."""
    conn = unit(request).connection()
    before = users.get_user(conn, user_id)
    after = users.change_user(
        conn,
        actor=request.state.principal,
        user_id=user_id,
        role=role,
        store_ids=_ids(stores, "stores"),
        issuer_ids=_ids(issuers, "issuers"),
        active=active,
    )
    request.state.audit = {
        "target": f"user {user_id}",
        "before": _access(before),
        "after": _access(after),
    }
    return redirect("/admin/users")


def _access(user: users_db.UserRow) -> dict[str, object]:
    return {
        "role": user.role,
        "stores": user.store_ids,
        "issuers": user.issuer_ids,
        "active": user.active,
    }


@router.post("/users/{user_id}/token", dependencies=WRITE_USERS)
def create_token(request: Request, user_id: int) -> Response:
    token = users.create_token(
        unit(request).connection(),
        actor=request.state.principal,
        user_id=user_id,
        name="back office",
    )
    request.state.audit = {"target": f"user {user_id}"}
    return render(request, "shown_once.html", what="API token", value=token)


@router.post("/users/{user_id}/tokens/revoke", dependencies=WRITE_USERS)
def revoke_tokens(request: Request, user_id: int) -> Response:
    revoked = users.revoke_tokens(
        unit(request).connection(), actor=request.state.principal, user_id=user_id, now=now()
    )
    request.state.audit = {"target": f"user {user_id}", "after": {"tokens_revoked": revoked}}
    return redirect("/admin/users")


@router.post("/users/{user_id}/totp", dependencies=WRITE_USERS)
def enable_totp(request: Request, user_id: int) -> Response:
    uri = users.enable_totp(
        unit(request).connection(),
        actor=request.state.principal,
        user_id=user_id,
        keyring=vault(request),
    )
    request.state.audit = {"target": f"user {user_id}"}
    return render(request, "shown_once.html", what="authenticator URI", value=uri)


@router.post("/roles", dependencies=WRITE_USERS)
async def save_role(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("name", "")).strip()
    levels = {area: str(form.get(f"grant_{area.value}", "none")) for area in Area}
    if not all(level in ("none", "read", "write") for level in levels.values()):
        raise InvalidInput("a grant is none, read or write", code="invalid_role")
    grants = {area: Level[level] for area, level in levels.items() if level != "none"}
    request.state.audit = {"target": f"role {name[:32]}", "after": rights.stored(grants)}
    actor = request.state.principal
    work = unit(request)
    await run_in_threadpool(
        lambda: users.save_role(work.connection(), actor=actor, name=name, grants=grants)
    )
    return redirect("/admin/users")


@router.get("/audit", dependencies=[require(Area.audit, Level.read)])
def list_audit(request: Request, before: OptionalInt = None) -> Response:
    scope = scope_of(request)
    return list_page(
        request,
        "audit.html",
        lambda conn: audit.list_entries(conn, scope=scope, before=before, limit=PAGE),
    )


@router.get("/audit/verify", dependencies=[require(Area.audit, Level.read)])
def verify_audit(request: Request) -> Response:
    with request.app.state.engine.connect() as conn:
        verdict = audit.verify(conn, scope=scope_of(request))
    return render(request, "_audit_verdict.html", verdict=verdict)
