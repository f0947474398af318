"""Automatic auditing: a route class that writes an audit row for every mutating call.

Routers built with ``route_class=AuditedRoute`` (the admin API and the web back office) audit
every POST, PUT, PATCH and DELETE, refused ones included, so a route added later is audited
without anyone remembering to. The row says who (``request.state.principal``), what (method and
route path, target = the path as called), when, from where (client address), the outcome
(status or error code) and ``after`` = the request body without secret fields. A route that
knows more sets ``request.state.audit = {"target": …, "before": …, "after": …}``.

The row is written in the action's own transaction (issue 13): a route that changes anything
does so on the request's :class:`Unit` (``unit(request).connection()``), which this route class
opens, and the row is appended to it just before it commits. No action commits without its row,
and no row without its action. A refused action (a ``ScripError``, a validation error, a crash)
rolls back, and its row is then written on its own; a route whose refusal must still keep
something (a refused secret retrieval's history row) says so with :meth:`Unit.keep_refusal`,
and that row commits with the refusal's audit row.
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
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import RootTransaction
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
    except (ValueError, RecursionError):
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


class Unit:
    """The one transaction of a mutating request: the action's writes and its audit row.
    Opened on first use, so a route that writes nothing opens one only for its row."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._transaction: RootTransaction | None = None
        self.kept = False

    def connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
            self._transaction = self._conn.begin()
        return self._conn

    def keep_refusal(self) -> None:
        """The refusal about to be raised keeps what was written (with its audit row)."""
        self.kept = True

    def commit(self, entry: audit.Entry) -> None:
        """Append the audit row and commit everything; on any failure nothing stays."""
        conn = self.connection()
        try:
            audit.append(conn, entry, now=datetime.now(UTC))
            assert self._transaction is not None
            self._transaction.commit()
        finally:
            self.close()

    def close(self) -> None:
        """Roll back what was not committed and give the connection back."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                if self._transaction is not None and self._transaction.is_active:
                    self._transaction.rollback()
            finally:
                conn.close()


def unit(request: Request) -> Unit:
    """The request's unit of work (only mutating requests of an audited router have one)."""
    found: Unit | None = getattr(request.state, "unit", None)
    if found is None:
        raise RuntimeError("no unit of work: only audited POST/PUT/PATCH/DELETE routes have one")
    return found


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
            work = request.state.unit = Unit(request.app.state.engine)
            try:
                response = await handle(request)
            except ScripError as error:
                await _refused(request, work, _entry(request, error.code, body))
                raise
            except Exception as error:
                outcome = str(getattr(error, "status_code", "error"))
                await _refused(request, work, _entry(request, outcome, body))
                raise
            entry = _entry(request, str(response.status_code), body)
            try:
                await run_in_threadpool(work.commit, entry)
            except Exception:
                # Nothing of the action stayed; the failed attempt is recorded on its own.
                failed = _entry(request, "error", body)
                await run_in_threadpool(_write, request, failed)
                raise
            return response

        return audited


async def _refused(request: Request, work: Unit, entry: audit.Entry) -> None:
    if work.kept:
        try:
            await run_in_threadpool(work.commit, entry)
        except Exception:
            log.exception("could not write the audit row for %s", entry.action)
        return
    await run_in_threadpool(work.close)
    await run_in_threadpool(_write, request, entry)
