"""Logging in and out. The login form is the one screen without a session; it is protected
from login CSRF by a double-submit cookie (a random value in a cookie and in the form)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from scrip.api.audit import AuditedRoute, unit
from scrip.api.auth import anyone
from scrip.domain.errors import Forbidden, Unauthorized
from scrip.services import users
from scrip.web.screens import COOKIE, now, redirect, render, screen_router

LOGIN_CSRF = "scrip_login_csrf"

public = APIRouter(prefix="/admin", route_class=AuditedRoute, include_in_schema=False)
router = screen_router()


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@public.get("/login", response_class=HTMLResponse)
def login_form(request: Request, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    page = render(request, "login.html", login_csrf=token, error=error)
    page.set_cookie(
        LOGIN_CSRF, token, httponly=True, samesite="strict", secure=_secure(request), path="/admin"
    )
    return page


@public.post("/login", response_class=HTMLResponse)
def log_in(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=200)],
    otp: Annotated[str | None, Form(max_length=20)] = None,
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
        raise Forbidden("the login form is stale; reload it", code="csrf_invalid")
    ip = request.client.host if request.client else None
    try:
        login = users.log_in(
            unit(request).connection(),
            username=username,
            password=password,
            otp=otp or None,
            ip=ip,
            now=now(),
            keyring=request.app.state.keyring,
        )
    except Unauthorized as refused:  # answered, not raised: the failure count commits
        request.state.audit = {"target": username[:64], "after": {"refused": refused.code}}
        return login_form(request, error=refused.message)
    request.state.principal = login.principal
    request.state.audit = {"target": login.principal.username}
    answer = redirect("/admin")
    answer.set_cookie(
        COOKIE,
        login.session_token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
        max_age=int(users.SESSION_TTL.total_seconds()),
    )
    answer.delete_cookie(LOGIN_CSRF, path="/admin")
    return answer


@router.post("/logout", dependencies=[anyone()])
def log_out(request: Request) -> Response:
    token = request.cookies.get(COOKIE, "")
    users.log_out(unit(request).connection(), session_token=token)
    answer = redirect("/admin/login")
    answer.delete_cookie(COOKIE, path="/")
    return answer
