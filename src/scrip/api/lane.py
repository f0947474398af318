"""The till's fast lane: POS routes dispatched without FastAPI's per-request machinery.

FastAPI solves every route's dependencies, validates and serializes through generic code on
every request: on this kind of machine that costs more CPU than a redemption's own work, and
the POS API is CPU-bound (issue 3: the workers share two cores with PostgreSQL). This
middleware serves the same routes by calling the same endpoint functions, with what FastAPI
would have passed them worked out once per route at start-up:

- the route table is FastAPI's own (its path patterns, in its order), so both agree on which
  endpoint a request reaches and the OpenAPI document stays FastAPI's;
- an endpoint qualifies when every parameter is a path parameter, a JSON body model or one of
  the POS dependencies (:mod:`scrip.api.deps`) and it returns a finished ``Response``;
- only the usual request is served here: whenever something is unusual — no or a foreign
  Bearer key, a missing or malformed Idempotency-Key, a body that isn't JSON of the model, a
  path parameter of the wrong type — the request goes on to FastAPI unchanged (its body
  replayed), so every refusal keeps exactly FastAPI's answer.

A mutating endpoint runs in the thread pool as FastAPI would run it (it may wait for a row
lock), at most as many at once as the database pool keeps connections; a look-up, one short
read, runs on the event loop.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, cast, get_args, get_origin, get_type_hints

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, FastAPI, params
from fastapi.params import Depends
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from scrip import crypto
from scrip.api import deps
from scrip.api.edge import read_body, replay_body
from scrip.db.registers import RegisterContext

PREFIX = "/v1/pos/"

Handler = Callable[[Request, Exception], Awaitable[Response]]

# How an endpoint's parameter is filled: from the path, the body, or a POS dependency.
Source = Callable[["_Call"], Any]


class _Decline(Exception):
    """This request is not for the lane: FastAPI answers it."""


@dataclass(slots=True)
class _Call:
    """One request as the lane sees it, with what was worked out of it so far."""

    app: FastAPI
    scope: Scope
    path_params: dict[str, str]
    body: bytes
    headers: Mapping[bytes, bytes]
    till: RegisterContext | None = None

    def register(self) -> RegisterContext:
        if self.till is None:
            scheme, _, key = (
                self.headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            )
            if scheme.lower() != "bearer" or not key:
                raise _Decline
            # Only a key already known is served here; a first sight (a database look-up)
            # and a refusal are FastAPI's.
            self.till = self.app.state.registers.cached(crypto.hash_api_key(key))
            if self.till is None:
                raise _Decline
        return self.till

    def idempotency_key(self) -> str:
        raw = self.headers.get(b"idempotency-key")
        if raw is None:
            raise _Decline
        key = raw.decode("latin-1")
        if not deps.valid_idempotency_key(key):
            raise _Decline
        return key


@dataclass(frozen=True, slots=True)
class _Route:
    pattern: re.Pattern[str]
    methods: frozenset[str]
    served: Callable[..., Response] | None  # the endpoint, or None: FastAPI serves this route
    sources: Mapping[str, Source]
    wants_body: bool
    inline: bool = False  # run on the event loop instead of in the thread pool


def _dependency(marker: Depends) -> Source | None:
    call = marker.dependency
    if call is deps.engine:
        return lambda c: c.app.state.engine
    if call is deps.register:
        return lambda c: c.register()
    if call is deps.mutation:
        return lambda c: deps.mutation_of(c.app.state, c.scope, c.register(), c.idempotency_key())
    return None


def _path_param(name: str, annotation: Any) -> Source:
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)

    def source(c: _Call) -> Any:
        try:
            return adapter.validate_python(c.path_params[name], strict=False)
        except ValidationError:
            raise _Decline from None

    return source


def _body_param(annotation: Any, *, required: bool) -> Source | None:
    models = [a for a in (get_args(annotation) or (annotation,)) if a is not type(None)]
    if len(models) != 1 or not (isinstance(models[0], type) and issubclass(models[0], BaseModel)):
        return None
    model: type[BaseModel] = models[0]

    def source(c: _Call) -> Any:
        if not c.body:
            if required:
                raise _Decline
            return None
        if not _json_content(c.headers.get(b"content-type", b"")):
            raise _Decline  # FastAPI hands the model the raw bytes, and refuses them
        # As FastAPI does it: json.loads, then the model in Python mode (its JSON mode differs
        # at the edges, e.g. NaN), so both paths accept and refuse the same bodies.
        try:
            return model.model_validate(json.loads(c.body))
        except (ValueError, ValidationError, RecursionError):  # too deep: FastAPI refuses it
            raise _Decline from None

    return source


def _json_content(content_type: bytes) -> bool:
    """FastAPI reads a body as JSON without a content type, or with application/json or
    application/*+json."""
    kind = content_type.split(b";", 1)[0].strip().lower()
    return (
        not kind
        or kind == b"application/json"
        or (kind.startswith(b"application/") and kind.endswith(b"+json"))
    )


def _whole_body(marker: object) -> bool:
    """A marker that keeps the parameter the whole JSON body (``Body()`` without embed)."""
    return (
        isinstance(marker, params.Body) and not isinstance(marker, params.Form) and not marker.embed
    )


def _compile(route: APIRoute) -> _Route:
    pattern = route.path_regex
    methods = frozenset(route.methods or ())
    declined = _Route(pattern, methods, None, {}, False)
    endpoint = route.endpoint
    if inspect.iscoroutinefunction(endpoint):
        return declined
    hints = get_type_hints(endpoint, include_extras=True)
    returns = hints.get("return")
    if not (isinstance(returns, type) and issubclass(returns, Response)):
        return declined
    path_names = set(route.param_convertors)
    sources: dict[str, Source] = {}
    wants_body = False
    for name, parameter in inspect.signature(endpoint).parameters.items():
        annotation = hints.get(name, Any)
        markers = get_args(annotation)[1:] if get_origin(annotation) is Annotated else ()
        depends = next((m for m in markers if isinstance(m, Depends)), None)
        source: Source | None
        if depends is not None:
            source = _dependency(depends)
        elif name in path_names:
            source = _path_param(name, annotation)
        elif wants_body or not all(_whole_body(m) for m in markers):
            return declined  # a query or header parameter, or a body of named parts: FastAPI's
        else:
            base = get_args(annotation)[0] if markers else annotation
            source = _body_param(base, required=parameter.default is inspect.Parameter.empty)
            wants_body = True
        if source is None:
            return declined
        sources[name] = source
    # A look-up is one short read outside a transaction: the hop to a thread and back costs
    # more than the read blocks the loop. Writes wait on row locks, so they take the hop.
    inline = methods == {"GET"}
    return _Route(pattern, methods, endpoint, sources, wants_body, inline)


class PosLane:
    """ASGI middleware: serves the qualifying POS routes, passes everything else on."""

    def __init__(self, app: ASGIApp, *, fastapi: FastAPI, routers: Sequence[APIRouter]) -> None:
        self.next = app
        self.fastapi = fastapi
        # The POS routers in the order the app includes them, which is the order FastAPI
        # matches their routes in.
        self._routes = [
            _compile(route)
            for router in routers
            for route in router.routes
            if isinstance(route, APIRoute) and route.path.startswith(PREFIX)
        ]
        self._in_flight: CapacityLimiter | None = None

    def routes(self) -> list[_Route]:
        return self._routes

    async def _in_thread(self, served: Callable[..., Response], kwargs: dict[str, Any]) -> Response:
        call = functools.partial(served, **kwargs)
        return await to_thread.run_sync(call, limiter=self._limiter())

    def _limiter(self) -> CapacityLimiter:
        # No more till calls at once than the pool keeps connections: past that, each call
        # opened an overflow connection and closed it again (a PostgreSQL backend started,
        # its statements prepared anew) — about one per 20 redemptions under load. The calls
        # past the limit wait for a thread without holding a connection.
        if self._in_flight is None:
            self._in_flight = CapacityLimiter(max(1, self.fastapi.state.engine.pool.size()))
        return self._in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.next(scope, receive, send)
            return
        found = self._match(scope)
        served = found[0].served if found is not None else None
        if found is None or served is None:
            await self.next(scope, receive, send)
            return
        route, path_params = found
        body = (await read_body(receive) or b"") if route.wants_body else b""
        call = _Call(self.fastapi, scope, path_params, body, dict(scope["headers"]))
        try:
            kwargs = {name: source(call) for name, source in route.sources.items()}
        except _Decline:
            await self.next(
                scope, replay_body(body, receive) if route.wants_body else receive, send
            )
            return
        try:
            if route.inline:
                response: Response = served(**kwargs)
            else:
                response = await self._in_thread(served, kwargs)
        except Exception as error:  # the app's handlers answer, as they would behind FastAPI
            handler = self._handler(error)
            if handler is None:
                raise
            response = await handler(Request(scope), error)
        await response(scope, receive, send)

    def _match(self, scope: Scope) -> tuple[_Route, dict[str, str]] | None:
        path, method = scope["path"], scope["method"]
        for route in self.routes():
            matched = route.pattern.match(path)
            if matched is not None and method in route.methods:
                return route, matched.groupdict()
        return None

    def _handler(self, error: Exception) -> Handler | None:
        handlers = self.fastapi.exception_handlers
        for cls in type(error).__mro__:
            if cls in handlers:
                return cast(Handler, handlers[cls])  # errors.install registers async ones
        return None
