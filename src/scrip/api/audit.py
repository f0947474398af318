"""Automatic auditing: a route class that writes an audit row for every mutating call.

Routers built with ``route_class=AuditedRoute`` (the admin API and the web back office) audit
every POST, PUT, PATCH and DELETE, refused ones included, so a route added later is audited
without anyone remembering to. The row says who (``request.state.principal``), what (method and
route path, target = the path as called), when, from where (client address), the outcome
(status or error code) and ``after`` = the request body without secret fields. A route that
knows more sets ``request.state.audit = {"target": …, "before": …, "after": …}``.

The row is written in its own transaction after the action's: an action whose row could not be
written is logged as an error rather than undone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from scrip.domain.errors import ScripError
from scrip.domain.rights import Principal
from scrip.services import audit

log = logging.getLogger("scrip.audit")

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
SECRET_WORDS = ("password", "csrf", "otp", "token", "secret", "pin", "key")


def without_secrets(body: Any) -> Any:
    """``body`` without any field named like a secret, at any depth (a PIN inside a list of
    items is as secret as one at the top)."""
    if isinstance(body, dict):
        return {
            k: without_secrets(v)
            for k, v in body.items()
            if not any(w in str(k).lower() for w in SECRET_WORDS)
        }
    if isinstance(body, list):
        return [without_secrets(v) for v in body]
    return body


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return without_secrets(dict(parse_qsl(raw.decode(errors="replace"))))
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {"unparsed_bytes": len(raw)}
    return without_secrets(parsed)


def _entry(request: Request, outcome: str, body: Any) -> audit.Entry:
    principal: Principal | None = getattr(request.state, "principal", None)
    extra: dict[str, Any] = getattr(request.state, "audit", {})
    route = request.scope.get("route")
    return audit.Entry(
        actor=principal.username if principal else "anonymous",
        user_id=principal.user_id if principal else None,
        action=f"{request.method} {getattr(route, 'path', request.url.path)}",
        target=extra.get("target", request.url.path),
        ip=request.client.host if request.client else None,
        outcome=outcome,
        before=extra.get("before"),
        after=extra.get("after", body),
    )


def _write(request: Request, entry: audit.Entry) -> None:
    try:
        with request.app.state.engine.begin() as conn:
            audit.append(conn, entry, now=datetime.now(UTC))
    except Exception:
        log.exception("could not write the audit row for %s", entry.action)


class AuditedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def audited(request: Request) -> Response:
            if request.method not in MUTATING:
                return await handle(request)
            # Read first: Starlette replays a read body to the form and JSON parsers.
            body = await _body(request)
            try:
                response = await handle(request)
            except ScripError as error:
                await run_in_threadpool(_write, request, _entry(request, error.code, body))
                raise
            except Exception as error:
                outcome = str(getattr(error, "status_code", "error"))
                await run_in_threadpool(_write, request, _entry(request, outcome, body))
                raise
            entry = _entry(request, str(response.status_code), body)
            await run_in_threadpool(_write, request, entry)
            return response

        return audited
