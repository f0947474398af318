"""The admin API (``/v1/admin``): lots and bulk operations — start one, watch its progress.

Every route is authenticated by the router (a user's API token, see ``api.auth``) and audited
by its route class (``api.audit``); each declares the right it needs with ``require``. Every
route hands the caller's scope (``principal.scope``, ``domain.scope``) to the service, which
decides whose records they may touch. A mutating route writes on the request's unit of work
(``api.audit.unit``), so its audit row commits with it. Errors use the same envelope as the POS
API (``api.errors``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request
from sqlalchemy import Connection, Engine, text

from scrip.api.audit import AuditedRoute, unit
from scrip.api.auth import PrincipalDep, authenticate, require
from scrip.api.deps import EngineDep
from scrip.crypto import Keyring
from scrip.db.bulk_operations import BulkOperationRow
from scrip.db.lots import LotRow
from scrip.domain.bulk import Selection
from scrip.domain.errors import Busy, NotFound
from scrip.domain.rights import Area, Level
from scrip.services import bulk_operations, lots
from scrip.wire.admin import (
    MAX_ID,
    BulkOperationIn,
    BulkOperationOut,
    LotIn,
    LotOut,
    RefusedVoucherOut,
)
from scrip.wire.pos import ErrorOut

ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in {
        400: "malformed request",
        401: "missing or wrong API token",
        403: "the user's role lacks the right this route needs (right_missing), or the record"
        " is outside the user's issuers or stores (issuer_out_of_scope, store_out_of_scope,"
        " head_office_only)",
        404: "no such issuer, voucher type, lot or bulk operation",
        409: "refused, e.g. the code template is full (see error.code)",
        413: "the body is too long (body_too_large)",
        414: "the URL is too long (uri_too_long)",
        422: "invalid input, e.g. a field out of bounds or a control character",
        431: "the headers are too long (headers_too_large)",
        503: "busy, or the secret vault has no keys",
    }.items()
}


def admin_router(tag: str = "admin") -> APIRouter:
    """A router under ``/v1/admin`` whose every route is authenticated (``api.auth``: a route
    that declares no right is for full administrators only) and audited (``api.audit``)."""
    return APIRouter(
        prefix="/v1/admin",
        tags=[tag],
        dependencies=[Depends(authenticate)],
        responses=ERRORS,
        route_class=AuditedRoute,
    )


router = admin_router()


def utc_now() -> datetime:
    return datetime.now(UTC)


def vault_keyring(request: Request) -> Keyring:
    found: Keyring | None = request.app.state.keyring
    if found is None:
        raise Busy("the secret vault has no keys configured", code="vault_not_configured")
    return found


def _out(lot: LotRow) -> LotOut:
    return LotOut(
        id=lot.id,
        type_id=lot.type_id,
        count=lot.count,
        done_count=lot.done_count,
        progress=lot.done_count / lot.count,
        state=lot.state,
        status=lot.status,
        serial_from=lot.serial_from,
        serial_to=lot.serial_from + lot.count - 1,
        campaign=lot.campaign,
        error=lot.error,
        created_at=lot.created_at,
        finished_at=lot.finished_at,
    )


def issuer_id_of(engine: Engine | Connection, code: str) -> int:
    """The id of the issuer ``code`` (``issuer_not_found``); whether the caller may see it is
    the service's to decide, with the caller's scope."""
    if isinstance(engine, Connection):
        found = engine.execute(
            text("SELECT id FROM issuers WHERE code = :c"), {"c": code}
        ).scalar_one_or_none()
    else:
        with engine.connect() as conn:
            return issuer_id_of(conn, code)
    if found is None:
        raise NotFound("no issuer with this code", code="issuer_not_found")
    return int(found)


# Ids in paths, bounded (an Annotated alias: FastAPI copies its Path for every route).
IdPath = Annotated[int, Path(gt=0, le=MAX_ID)]


@router.post(
    "/lots",
    status_code=202,
    response_model=LotOut,
    dependencies=[require(Area.lots, Level.write)],
)
def create_lot(
    body: LotIn,
    engine: EngineDep,
    request: Request,
    tasks: BackgroundTasks,
    principal: PrincipalDep,
) -> LotOut:
    """Queue a lot; it is generated in the background. Poll ``GET /lots/{id}`` for progress."""
    keyring = vault_keyring(request)
    conn = unit(request).connection()
    lot_id = lots.create_lot(
        conn,
        scope=principal.scope,
        issuer_id=issuer_id_of(conn, body.issuer),
        now=utc_now(),
        **body.model_dump(exclude={"issuer", "created_by"}),
        created_by=principal.username,
    )
    lot = lots.get_lot(conn, lot_id, scope=principal.scope)
    tasks.add_task(lots.run_lot, engine, lot_id=lot_id, keyring=keyring, clock=utc_now)
    return _out(lot)


@router.get("/lots/{lot_id}", response_model=LotOut, dependencies=[require(Area.lots, Level.read)])
def show_lot(engine: EngineDep, principal: PrincipalDep, lot_id: IdPath) -> LotOut:
    with engine.connect() as conn:
        return _out(lots.get_lot(conn, lot_id, scope=principal.scope))


def _bulk_out(op: BulkOperationRow) -> BulkOperationOut:
    return BulkOperationOut(
        id=op.id,
        action=op.action,
        selection=op.selection,
        operator=op.operator,
        reason=op.reason,
        all_or_nothing=op.all_or_nothing,
        changes=op.changes,
        status=op.status,
        total_count=op.total_count,
        selected_count=op.selected_count,
        done_count=op.done_count,
        refused_count=op.refused_count,
        refused_sample=[RefusedVoucherOut(**entry) for entry in op.refused_sample],
        unknown_codes=op.unknown_codes,
        progress=1.0
        if op.status == "done"
        else min(1.0, op.selected_count / (op.total_count or 1)),
        error=op.error,
        created_at=op.created_at,
        started_at=op.started_at,
        finished_at=op.finished_at,
    )


@router.post(
    "/bulk-operations",
    status_code=202,
    response_model=BulkOperationOut,
    dependencies=[require(Area.bulk, Level.write)],
)
def create_bulk_operation(
    body: BulkOperationIn,
    engine: EngineDep,
    request: Request,
    tasks: BackgroundTasks,
    principal: PrincipalDep,
) -> BulkOperationOut:
    """Queue a bulk operation; it runs in the background, a chunk per transaction. Poll
    ``GET /bulk-operations/{id}`` for progress, counts and a sample of refused vouchers.
    Explicit codes that match no voucher the caller may touch are refused as ``not_found``
    and listed in ``unknown_codes``; a store user's operation touches their stores' only."""
    conn = unit(request).connection()
    selection = Selection(
        lot_id=body.lot_id,
        type_code=body.type_code,
        serial_from=body.serial_from,
        serial_to=body.serial_to,
        codes=tuple(body.codes),
        states=tuple(body.states),
    )
    operation_id = bulk_operations.create_operation(
        conn,
        scope=principal.scope,
        issuer_id=issuer_id_of(conn, body.issuer),
        action=body.action,
        selection=selection,
        operator=principal.username[:32],
        reason=body.reason,
        all_or_nothing=body.all_or_nothing,
        changes=body.changes.model_dump(exclude_unset=True, mode="json") if body.changes else None,
        now=utc_now(),
    )
    op = bulk_operations.get_operation(conn, operation_id, scope=principal.scope)
    tasks.add_task(bulk_operations.run, engine, operation_id=operation_id, clock=utc_now)
    return _bulk_out(op)


@router.get(
    "/bulk-operations/{operation_id}",
    response_model=BulkOperationOut,
    dependencies=[require(Area.bulk, Level.read)],
)
def show_bulk_operation(
    engine: EngineDep, principal: PrincipalDep, operation_id: IdPath
) -> BulkOperationOut:
    with engine.connect() as conn:
        return _bulk_out(bulk_operations.get_operation(conn, operation_id, scope=principal.scope))
