"""Request dependencies: the engine, the register behind the key, the idempotency key."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.types import Scope

from scrip import crypto
from scrip.db.registers import RegisterContext, find_register_by_key_hash
from scrip.domain.errors import InvalidInput, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="the register's API key")
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


# The dependencies are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the
# thread pool, one hop per dependency per request, and these do no blocking I/O (the register
# look-up blocks only on a cache miss, and then takes the hop itself).


async def engine(request: Request) -> Engine:
    found: Engine = request.app.state.engine
    return found


T = TypeVar("T")


def read(engine: Engine, query: Callable[[Connection], T]) -> T:
    """Run a one-statement read outside a transaction; a connection the server dropped (a
    restart) is replaced once, since the pool does not ping before every checkout."""
    try:
        with _autocommit(engine) as conn:
            return query(conn)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    with _autocommit(engine) as conn:
        return query(conn)


def _autocommit(engine: Engine) -> Connection:
    # One statement needs no transaction: without one, a read is one round trip instead of
    # three (BEGIN, the query, ROLLBACK).
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


class KnownRegisters:
    """Register contexts by key hash, kept for a few seconds so the hot path does not pay a
    second database round trip per request. A disabled key stops working within ``ttl_s``."""

    def __init__(self, ttl_s: float = 5.0) -> None:
        self.ttl_s = ttl_s
        self._known: dict[str, tuple[float, RegisterContext]] = {}

    def cached(self, key_hash: str) -> RegisterContext | None:
        cached = self._known.get(key_hash)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return None

    def forget(self) -> None:
        """Drop every cached register: the next call of each key looks it up again."""
        self._known.clear()

    def find(self, engine: Engine, key_hash: str) -> RegisterContext | None:
        till = self.cached(key_hash)
        if till is not None:
            return till
        now = time.monotonic()
        till = read(engine, lambda conn: find_register_by_key_hash(conn, key_hash))
        if till is not None:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[key_hash] = (now + self.ttl_s, till)
        return till


async def register(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> RegisterContext:
    if credentials is None:
        raise Unauthorized("send the register key as a Bearer token", code="register_key_invalid")
    registers: KnownRegisters = request.app.state.registers
    key_hash = crypto.hash_api_key(credentials.credentials)
    till = registers.cached(key_hash)
    if till is None:
        found: Engine = request.app.state.engine
        till = await run_in_threadpool(registers.find, found, key_hash)
    if till is None:
        raise Unauthorized("unknown or disabled register key", code="register_key_invalid")
    return till


def valid_idempotency_key(key: str) -> bool:
    return _KEY.match(key) is not None


def route_name(scope: Scope) -> str:
    """The route an idempotency key is bound to (part of the request's fingerprint): method and
    decoded path, straight from the ASGI scope (building the URL cost ~3% of a redemption)."""
    return f"{scope['method']} {scope['path']}"


async def idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str:
    if key is None:
        raise InvalidInput(
            "every mutating call needs an Idempotency-Key header",
            code="idempotency_key_required",
        )
    if not valid_idempotency_key(key):
        raise InvalidInput(
            "an Idempotency-Key is 1-128 characters of letters, digits and _.:-",
            code="invalid_idempotency_key",
        )
    return key


EngineDep = Annotated[Engine, Depends(engine)]
RegisterDep = Annotated[RegisterContext, Depends(register)]
IdempotencyKeyDep = Annotated[str, Depends(idempotency_key)]


@dataclass(frozen=True, slots=True)
class Mutation:
    """Everything a mutating call needs besides its body: who, which key, which route."""

    engine: Engine
    till: RegisterContext
    key: str
    route: str
    keyring: crypto.Keyring | None = None  # the vault, for lot vouchers' secret numbers


def mutation_of(state: State, scope: Scope, till: RegisterContext, key: str) -> Mutation:
    """The mutation of a request (FastAPI's dependency below, and the POS lane)."""
    return Mutation(state.engine, till, key, route_name(scope), getattr(state, "keyring", None))


async def mutation(request: Request, till: RegisterDep, key: IdempotencyKeyDep) -> Mutation:
    return mutation_of(request.app.state, request.scope, till, key)


MutationDep = Annotated[Mutation, Depends(mutation)]
