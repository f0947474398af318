"""What every back-office screen shares: the session, CSRF, rights, templates and errors.

Each screen module makes its router with :func:`screen_router`: every route behind it needs a
logged-in session (else a redirect to the login page), every POST must carry the session's
CSRF token (form field ``csrf`` or header ``X-CSRF-Token``, which ``base.html`` adds to every
HTMX request), every route declares its right with ``api.auth.require`` like the admin API
(undeclared: full administrators only), and every mutating call is audited (``AuditedRoute``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from scrip.api import errors as api_errors
from scrip.api.audit import MUTATING, AuditedRoute
from scrip.api.auth import check_declared
from scrip.api.deps import read
from scrip.crypto import Keyring
from scrip.domain import rights
from scrip.domain.errors import Busy, Forbidden, InvalidInput, ScripError
from scrip.domain.money import CURRENCY_EXPONENTS, Money
from scrip.domain.rights import Area, Level, Principal, Right
from scrip.domain.scope import Scope
from scrip.services import users
from scrip.wire.admin import MAX_ID, MAX_MINOR

HERE = Path(__file__).parent
COOKIE = "scrip_session"
PAGE = 50

templates = Jinja2Templates(directory=HERE / "templates")

# Numbers from forms and query strings, bounded like the admin API's (wire.admin): a value past
# them is refused as invalid input, never handed to the database.
IdForm = Annotated[int, Form(gt=0, le=MAX_ID)]
MinorForm = Annotated[int | None, Form(ge=0, le=MAX_MINOR)]
OptionalInt = Annotated[int | None, Query(gt=0, le=MAX_ID)]


def money(minor: int | None, currency: str) -> str:
    if minor is None:
        return ""
    return Money(int(minor), currency).format() if currency in CURRENCY_EXPONENTS else str(minor)


templates.env.filters["money"] = money
templates.env.filters["when"] = lambda at: "" if at is None else f"{at:%Y-%m-%d %H:%M:%S}"


@dataclass(frozen=True, slots=True)
class NavEntry:
    label: str
    url: str
    area: Area | None  # None: everyone logged in


# The navigation, in the order the screens are shown.
NAV: list[NavEntry] = [
    NavEntry("Dashboard", "/admin", None),
    NavEntry("Issuers", "/admin/issuers", Area.settings),
    NavEntry("Stores", "/admin/stores", Area.settings),
    NavEntry("Registers", "/admin/registers", Area.settings),
    NavEntry("Types", "/admin/types", Area.types),
    NavEntry("Lots", "/admin/lots", Area.lots),
    NavEntry("Vouchers", "/admin/vouchers", Area.vouchers),
    NavEntry("Bulk", "/admin/bulk", Area.bulk),
    NavEntry("Promotions", "/admin/promotions", Area.promotions),
    NavEntry("Reports", "/admin/reports", Area.reports),
    NavEntry("Users", "/admin/users", Area.users),
    NavEntry("Audit", "/admin/audit", Area.audit),
]


def now() -> datetime:
    return datetime.now(UTC)


class LoginRequired(Exception):
    """No valid session: the browser goes to the login page."""


async def session(request: Request) -> Principal:
    token = request.cookies.get(COOKIE)
    found = None
    if token:
        found = await run_in_threadpool(
            read,
            request.app.state.engine,
            lambda conn: users.find_session(conn, session_token=token, now=now()),
        )
    if found is None:
        raise LoginRequired()
    request.state.principal = found.principal
    request.state.csrf = found.csrf_token
    if request.method in MUTATING:
        await _check_csrf(request, found.csrf_token)
    check_declared(request, found.principal)
    return found.principal


async def _check_csrf(request: Request, expected: str) -> None:
    given = request.headers.get("X-CSRF-Token")
    if given is None:
        form = await request.form()
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("the form is stale or forged; reload the page", code="csrf_invalid")


def screen_router() -> APIRouter:
    return APIRouter(
        prefix="/admin",
        dependencies=[Depends(session)],
        route_class=AuditedRoute,
        include_in_schema=False,
        default_response_class=HTMLResponse,
    )


def scope_of(request: Request) -> Scope:
    """The logged-in user's scope, which every screen hands to the services it calls."""
    principal: Principal = request.state.principal
    return principal.scope


def may(principal: Principal, area: Area, level: Level = Level.read) -> bool:
    return rights.allows(principal.grants, (Right(area, level),))


# Every screen: never framed by another site (clickjacking), never kept by a cache (passwords,
# keys and secret numbers are shown once in a page), no referrer leaving with a voucher code.
SCREEN_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    principal: Principal | None = getattr(request.state, "principal", None)
    nav = [
        entry
        for entry in NAV
        if principal is not None and (entry.area is None or may(principal, entry.area))
    ]
    return templates.TemplateResponse(
        request,
        name,
        {
            "me": principal,
            "csrf": getattr(request.state, "csrf", ""),
            "nav": nav,
            "may": (lambda area, level="read": may(principal, Area(area), Level[level]))
            if principal
            else (lambda *_: False),
            **context,
        },
        status_code=status_code,
        headers=SCREEN_HEADERS,
    )


def vault(request: Request) -> Keyring:
    """The secret vault's keys, or a refusal when none are configured."""
    found: Keyring | None = request.app.state.keyring
    if found is None:
        raise Busy("the secret vault has no keys configured", code="vault_not_configured")
    return found


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def number(raw: str | None) -> int | None:
    """A query-string number from a form that sends empty fields as "": blank means none."""
    text = (raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput("a number was expected", code="invalid_input", value=text[:20])
    return int(text)


def list_page(
    request: Request, template: str, page_of: Callable[[Connection], list[Any]], **context: Any
) -> Response:
    """A screen whose main table is one keyset page (``page_of`` reads it)."""
    rows = read(request.app.state.engine, page_of)
    return render(request, template, rows=rows, next_before=next_before(rows), **context)


def choices(request: Request, query: Callable[[Connection], list[Any]]) -> list[Any]:
    """The options of a form's select (issuers, stores, types)."""
    return read(request.app.state.engine, query)


def next_before(rows: Sequence[Any], key: str = "id") -> int | None:
    """Keyset pagination: the id the next page starts below, or None on the last page."""
    if len(rows) < PAGE:
        return None
    last = rows[-1]
    return int(last[key] if isinstance(last, dict) else getattr(last, key))


def install(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Mount the screens, their static files, and HTML answers for refusals under /admin."""
    app.mount("/admin/static", StaticFiles(directory=HERE / "static"), name="admin-static")
    for router in routers:
        app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _: LoginRequired) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=200, headers={"HX-Redirect": "/admin/login"})
        return redirect("/admin/login")

    api_invalid = app.exception_handlers[RequestValidationError]

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        if not request.url.path.startswith("/admin"):
            answer = api_invalid(request, error)
            return answer if isinstance(answer, Response) else await answer
        fields = ", ".join(str(p.get("loc", ("", ""))[-1]) for p in error.errors())
        return await refused(request, InvalidInput(f"check these fields: {fields}"))

    @app.exception_handler(ScripError)
    async def refused(request: Request, error: ScripError) -> Response:
        if not request.url.path.startswith("/admin"):
            answer: JSONResponse = api_errors.error_response(error)
            return answer
        status = api_errors.status_of(error)
        if request.headers.get("HX-Request"):
            # htmx swaps only 2xx answers: show the refusal in the page's message area.
            fragment = render(request, "_error.html", error=error)
            fragment.headers.update({"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
            return fragment
        return render(request, "error.html", status_code=status, error=error)
