"""Request dependencies: the engine, the register behind the key, the idempotency key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from scrip import crypto
from scrip.db.registers import RegisterContext, find_register_by_key_hash
from scrip.domain.errors import InvalidInput, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="the register's API key")
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def engine(request: Request) -> Engine:
    found: Engine = request.app.state.engine
    return found


def register(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> RegisterContext:
    if credentials is None:
        raise Unauthorized("send the register key as a Bearer token", code="register_key_invalid")
    with engine(request).connect() as conn:
        till = find_register_by_key_hash(conn, crypto.hash_api_key(credentials.credentials))
    if till is None:
        raise Unauthorized("unknown or disabled register key", code="register_key_invalid")
    return till


def idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str:
    if key is None:
        raise InvalidInput(
            "every mutating call needs an Idempotency-Key header",
            code="idempotency_key_required",
        )
    if not _KEY.match(key):
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


def mutation(
    request: Request, engine: EngineDep, till: RegisterDep, key: IdempotencyKeyDep
) -> Mutation:
    return Mutation(engine, till, key, f"{request.method} {request.url.path}")


MutationDep = Annotated[Mutation, Depends(mutation)]
