"""One table from error code to HTTP status, and the one error envelope every answer uses:
``{"error": {"code", "message", "details"}}`` — never FastAPI's default shape.

Besides ``ScripError``, the handlers answer what the routes did not foresee without a 500:
FastAPI's own refusals (a body that would not parse, 405 with its ``Allow`` header), and, as a
backstop, values the database refused (``DataError``: out of range, not representable;
``IntegrityError``: a duplicate or a dangling reference). A backstop answer is logged as a
warning, since it means a check is missing where the value came in.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from scrip.domain import errors

log = logging.getLogger("scrip.api")

STATUS_BY_CODE: dict[str, int] = {
    "malformed_json": 400,
    "idempotency_key_required": 400,
    "invalid_idempotency_key": 400,
    "register_key_invalid": 401,
    "pin_required": 403,
    "pin_invalid": 403,
    "pin_locked": 423,
    "not_found": 404,
    "method_not_allowed": 405,
    "malformed_request": 400,
    "body_too_large": 413,
    "uri_too_long": 414,
    "headers_too_large": 431,
    "invalid_character": 422,
    "busy": 503,
    "database_unavailable": 503,
    "internal_error": 500,
}
STATUS_BY_CLASS: list[tuple[type[errors.ScripError], int]] = [
    (errors.InvalidInput, 422),
    (errors.NotFound, 404),
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.Conflict, 409),
    (errors.Busy, 503),
]


def status_of(error: errors.ScripError) -> int:
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    for cls, status in STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    return 400


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(error: errors.ScripError) -> JSONResponse:
    headers = {"Retry-After": "1"} if error.code == "busy" else None
    return JSONResponse(
        envelope(error.code, error.message, _jsonable(error.details)),
        status_code=status_of(error),
        headers=headers,
    )


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, (int, str, bool, type(None), list, dict)) else str(v)
        for k, v in details.items()
    }


def _validation_details(exc: RequestValidationError) -> tuple[str, str, dict[str, Any]]:
    problems = exc.errors()
    if any(p.get("type") == "json_invalid" for p in problems):
        return "malformed_json", "the request body is not valid JSON", {}
    fields = [
        {
            "field": ".".join(str(part) for part in p.get("loc", ())[1:]) or "body",
            "problem": p.get("type", "invalid"),
            "message": p.get("msg", ""),
        }
        for p in problems
    ]
    return "invalid_input", "the request does not match the schema", {"fields": fields}


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.ScripError)
    async def scrip_error(_: Request, exc: errors.ScripError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        code, message, details = _validation_details(exc)
        return JSONResponse(
            envelope(code, message, details), status_code=STATUS_BY_CODE.get(code, 422)
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "malformed_json", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return JSONResponse(
            envelope(code, str(exc.detail)), status_code=exc.status_code, headers=headers or None
        )

    @app.exception_handler(DataError)
    async def data_refused(request: Request, exc: DataError) -> Any:
        log.warning("the database refused a value: %s", _sqlstate(exc))
        refusal = errors.InvalidInput(
            "a value is out of range or not valid for its field", code="invalid_value"
        )
        return await _as_refusal(app, request, refusal)

    @app.exception_handler(IntegrityError)
    async def integrity_refused(request: Request, exc: IntegrityError) -> Any:
        state = _sqlstate(exc)
        log.warning("the database refused a write: %s", state)
        refusal: errors.ScripError
        if state == "23505":
            refusal = errors.Conflict(
                "a record with this name or code exists", code="already_exists"
            )
        else:
            refusal = errors.InvalidInput(
                "a value refers to nothing or breaks a rule of its field", code="invalid_value"
            )
        return await _as_refusal(app, request, refusal)

    @app.exception_handler(OperationalError)
    async def database_unavailable(_: Request, exc: OperationalError) -> JSONResponse:
        # The database is restarting or unreachable: nothing was acknowledged, and the till
        # may retry with the same key once it answers again.
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        return JSONResponse(
            envelope("database_unavailable", "the database is not answering; retry shortly"),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # The message of an unexpected error may carry request data; it stays in the log.
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(envelope("internal_error", "internal error"), status_code=500)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (one path may have several routes, and
    included routers nest theirs)."""
    path = request.scope["path"]
    return ", ".join(sorted(_methods_at(request.app.router.routes, path)))


def _methods_at(routes: list[Any], path: str) -> set[str]:
    found: set[str] = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found |= _methods_at(included.routes, path)
            continue
        methods, pattern = getattr(route, "methods", None), getattr(route, "path_regex", None)
        if methods and pattern is not None and pattern.match(path):
            found |= set(methods)
    return found


def _sqlstate(exc: Exception) -> str:
    return str(getattr(getattr(exc, "orig", None), "sqlstate", "") or type(exc).__name__)


async def _as_refusal(app: FastAPI, request: Request, refusal: errors.ScripError) -> Any:
    """Answer ``refusal`` as the app answers any ScripError (JSON, or a page under /admin)."""
    answer = app.exception_handlers[errors.ScripError](request, refusal)
    return answer if isinstance(answer, Response) else await answer
