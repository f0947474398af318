"""One table from error code to HTTP status, and the one error envelope every answer uses:
``{"error": {"code", "message", "details"}}`` — never FastAPI's default shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
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
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(envelope(code, str(exc.detail)), status_code=exc.status_code)

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
