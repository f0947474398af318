"""Exactly once: run a mutating call and store its answer under its key in one transaction.

A replay returns the stored answer and does nothing again; the same key with another request
is refused; a refusal is remembered too (after rolling back the work) so a retry of a refused
call cannot succeed later by surprise. Deadlocks and serialization failures are retried here;
a lock that can't be had in time becomes ``busy``, which is not remembered, so the till may
retry with the same key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from fastapi.responses import JSONResponse, Response
from psycopg import errors as pg_errors
from pydantic import BaseModel
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from scrip import crypto
from scrip.api.errors import error_response
from scrip.db import idempotency as keys_db
from scrip.db.batch import write_behind
from scrip.db.registers import RegisterContext
from scrip.domain.errors import Busy, IdempotencyRefused, ScripError
from scrip.services import refusals


class Answer(NamedTuple):
    """What a call's work answers: its status and body, the operation it made (what a reversal
    by its key undoes), and for the receipt calls what they were (``services.reversal.Call``)
    and the receipt."""

    status: int
    body: BaseModel
    operation_id: uuid.UUID | None
    call: str | None = None
    receipt_id: int | None = None


Work = Callable[[Connection, datetime], Answer]
_RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
_ATTEMPTS = 5


def utc_now() -> datetime:
    return datetime.now(UTC)


def fingerprint(route: str, body: BaseModel | None) -> str:
    payload = body.model_dump(mode="json") if body is not None else None
    canonical = json.dumps([route, payload], sort_keys=True, separators=(",", ":"))
    return crypto.request_fingerprint(canonical.encode())


def run(
    engine: Engine,
    *,
    till: RegisterContext,
    key: str,
    route: str,
    body: BaseModel | None,
    work: Work,
) -> Response:
    request_hash = fingerprint(route, body)
    for attempt in range(_ATTEMPTS):
        try:
            return _once(engine, till=till, key=key, request_hash=request_hash, work=work)
        except DBAPIError as error:
            if _key_known(error):
                return _replay_known(engine, till=till, key=key, request_hash=request_hash)
            if isinstance(error.orig, pg_errors.LockNotAvailable):
                return error_response(Busy("the voucher is busy; retry with the same key"))
            # A deadlock or a connection the server dropped (the pool does not ping first) is
            # retried whole: the key makes a second attempt safe even if the first committed.
            retryable = error.connection_invalidated or isinstance(error.orig, _RETRYABLE)
            if not retryable or attempt == _ATTEMPTS - 1:
                raise
        except Busy as error:
            return error_response(error)
        except ScripError as error:
            return _remember_refusal(
                engine, till=till, key=key, request_hash=request_hash, error=error
            )
    raise AssertionError("unreachable")


def _once(
    engine: Engine, *, till: RegisterContext, key: str, request_hash: str, work: Work
) -> Response:
    # The writes of the operation and its key with the stored answer leave together in one
    # statement. A key already known fails that statement (``keys_db.insert_answered``), so
    # nothing of this attempt is kept and the stored answer is replayed instead.
    with engine.begin() as conn, write_behind(conn):
        answer = work(conn, utc_now())
        body = answer.body.model_dump_json()
        keys_db.insert_answered(
            conn,
            register_id=till.register_id,
            key=key,
            request_hash=request_hash,
            status_code=answer.status,
            response_json=body,
            operation_id=answer.operation_id,
            call=answer.call,
            receipt_id=answer.receipt_id,
        )
    return Response(body, status_code=answer.status, media_type="application/json")


def _key_known(error: DBAPIError) -> bool:
    orig = error.orig
    return (
        isinstance(orig, pg_errors.UniqueViolation)
        and orig.diag.constraint_name == keys_db.KEY_CONSTRAINT
    )


def _replay_known(
    engine: Engine, *, till: RegisterContext, key: str, request_hash: str
) -> Response:
    with engine.begin() as conn:
        try:
            return _replay(conn, till=till, key=key, request_hash=request_hash)
        except IdempotencyRefused as refused:
            return error_response(refused)


def _replay(conn: Connection, *, till: RegisterContext, key: str, request_hash: str) -> Response:
    stored = keys_db.lock_key(conn, register_id=till.register_id, key=key)
    assert stored is not None
    if stored.reversed_at is not None:
        raise IdempotencyRefused(
            "this key was reversed; use a new key", code="idempotency_key_reversed"
        )
    if stored.request_hash != request_hash:
        raise IdempotencyRefused(
            "this key was used for a different request", code="idempotency_key_reused"
        )
    response: Any = stored.response
    return JSONResponse(
        response, status_code=stored.status_code or 200, headers={"Idempotent-Replayed": "true"}
    )


def _remember_refusal(
    engine: Engine, *, till: RegisterContext, key: str, request_hash: str, error: ScripError
) -> Response:
    if isinstance(error, IdempotencyRefused):
        return error_response(error)
    response = error_response(error)
    try:
        with engine.begin() as conn:
            # What the refusal itself keeps (a wrong PIN counts), then its answer under the
            # key: a key already known fails the insert and takes both back, as on success.
            refusals.keep(conn, error, where=till, now=utc_now())
            keys_db.insert_answered(
                conn,
                register_id=till.register_id,
                key=key,
                request_hash=request_hash,
                status_code=response.status_code,
                response_json=bytes(response.body).decode(),
                operation_id=None,
            )
    except DBAPIError as failed:
        if not _key_known(failed):
            raise
        return _replay_known(engine, till=till, key=key, request_hash=request_hash)
    return response
