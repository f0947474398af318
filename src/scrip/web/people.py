"""Users and roles (create, change role and stores, API tokens, second factor) and the audit
trail with its chain check. Passwords, tokens and TOTP secrets appear once, in the answer to
the request that made them."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

from scrip.api.auth import require
from scrip.db import users as users_db
from scrip.domain import rights
from scrip.domain.rights import Area, Level
from scrip.services import audit, users
from scrip.web.screens import (
    PAGE,
    choices,
    list_page,
    now,
    redirect,
    render,
    screen_router,
    vault,
)

router = screen_router()
WRITE_USERS = [require(Area.users, Level.write)]


def _stores(raw: str | None) -> list[int] | None:
    """``"3, 5"`` -> ``[3, 5]``; blank means every store."""
    ids = [int(part) for part in (raw or "").replace(" ", "").split(",") if part]
    return ids or None


@router.get("/users", dependencies=[require(Area.users, Level.read)])
def list_users(request: Request, before: int | None = None) -> Response:
    return list_page(
        request,
        "users.html",
        lambda conn: users_db.list_users(conn, before=before, limit=PAGE),
        roles=choices(request, users_db.list_roles),
        areas=list(Area),
    )


@router.post("/users", dependencies=WRITE_USERS)
def create_user(
    request: Request,
    username: Annotated[str, Form()],
    role: Annotated[str, Form()],
    stores: Annotated[str | None, Form()] = None,
) -> Response:
    password = secrets.token_urlsafe(12)
    with request.app.state.engine.begin() as conn:
        user_id = users.create_user(
            conn,
            username=username.strip(),
            password=password,
            role=role,
            store_ids=_stores(stores),
            now=now(),
        )
    request.state.audit = {"target": f"user {user_id}"}
    return render(request, "shown_once.html", what=f"password of {username}", value=password)


@router.post("/users/{user_id}", dependencies=WRITE_USERS)
def change_user(
    request: Request,
    user_id: int,
    role: Annotated[str, Form()],
    stores: Annotated[str | None, Form()] = None,
    active: Annotated[bool, Form()] = False,
) -> Response:
    with request.app.state.engine.begin() as conn:
        before = users.get_user(conn, user_id)
        after = users.change_user(
            conn,
            user_id=user_id,
            role=role,
            store_ids=_stores(stores),
            all_stores=_stores(stores) is None,
            active=active,
        )
    request.state.audit = {
        "target": f"user {user_id}",
        "before": {"role": before.role, "stores": before.store_ids, "active": before.active},
        "after": {"role": after.role, "stores": after.store_ids, "active": after.active},
    }
    return redirect("/admin/users")


@router.post("/users/{user_id}/token", dependencies=WRITE_USERS)
def create_token(request: Request, user_id: int) -> Response:
    with request.app.state.engine.begin() as conn:
        token = users.create_token(conn, user_id=user_id, name="back office")
    request.state.audit = {"target": f"user {user_id}"}
    return render(request, "shown_once.html", what="API token", value=token)


@router.post("/users/{user_id}/tokens/revoke", dependencies=WRITE_USERS)
def revoke_tokens(request: Request, user_id: int) -> Response:
    with request.app.state.engine.begin() as conn:
        revoked = users.revoke_tokens(conn, user_id=user_id, now=now())
    request.state.audit = {"target": f"user {user_id}", "after": {"tokens_revoked": revoked}}
    return redirect("/admin/users")


@router.post("/users/{user_id}/totp", dependencies=WRITE_USERS)
def enable_totp(request: Request, user_id: int) -> Response:
    with request.app.state.engine.begin() as conn:
        uri = users.enable_totp(conn, user_id=user_id, keyring=vault(request))
    request.state.audit = {"target": f"user {user_id}"}
    return render(request, "shown_once.html", what="authenticator URI", value=uri)


@router.post("/roles", dependencies=WRITE_USERS)
async def save_role(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("name", "")).strip()
    grants = {
        area: Level[str(form.get(f"grant_{area.value}", "none"))]
        for area in Area
        if form.get(f"grant_{area.value}", "none") != "none"
    }
    request.state.audit = {"target": f"role {name}", "after": rights.stored(grants)}
    with request.app.state.engine.begin() as conn:
        users.save_role(conn, name=name, grants=grants)
    return redirect("/admin/users")


@router.get("/audit", dependencies=[require(Area.audit, Level.read)])
def list_audit(request: Request, before: int | None = None) -> Response:
    return list_page(
        request, "audit.html", lambda conn: audit.list_entries(conn, before=before, limit=PAGE)
    )


@router.get("/audit/verify", dependencies=[require(Area.audit, Level.read)])
def verify_audit(request: Request) -> Response:
    with request.app.state.engine.connect() as conn:
        verdict = audit.verify(conn)
    return render(request, "_audit_verdict.html", verdict=verdict)
