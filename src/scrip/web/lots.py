"""Lots: generate (progress by HTMX polling), then accept, reject or activate the whole lot
(a bulk operation over it), and bulk operations with a preview count before they run."""

from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Form, Query, Request
from fastapi.responses import Response

from scrip.api.audit import unit
from scrip.api.auth import require
from scrip.api.deps import read
from scrip.db import backoffice
from scrip.db import bulk_operations as bulk_db
from scrip.db import lots as lots_db
from scrip.domain.bulk import Selection
from scrip.domain.errors import InvalidInput, NotFound
from scrip.domain.rights import Area, Level
from scrip.services import bulk_operations, lots
from scrip.web.screens import (
    PAGE,
    IdForm,
    MinorForm,
    OptionalInt,
    choices,
    list_page,
    now,
    number,
    redirect,
    render,
    scope_of,
    screen_router,
    vault,
)
from scrip.wire.admin import MAX_ID, MAX_SERIAL

router = screen_router()
LOT_ACTIONS = ("accept", "reject", "activate")


@router.get("/lots", dependencies=[require(Area.lots, Level.read)])
def list_lots(request: Request, before: OptionalInt = None) -> Response:
    scope = scope_of(request)
    return list_page(
        request,
        "lots.html",
        lambda conn: backoffice.list_lots(conn, scope=scope, before=before, limit=PAGE),
        types=choices(request, lambda conn: backoffice.type_choices(conn, scope=scope)),
    )


@router.post("/lots", dependencies=[require(Area.lots, Level.write)])
def create_lot(
    request: Request,
    tasks: BackgroundTasks,
    type_id: IdForm,
    count: Annotated[int, Form(gt=0, le=lots.MAX_COUNT)],
    state: Annotated[str | None, Form()] = None,
    face_value_minor: MinorForm = None,
    campaign: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    keyring = vault(request)
    engine = request.app.state.engine
    conn = unit(request).connection()
    found = lots_db.find_type(conn, type_id)
    if found is None:
        raise NotFound("no voucher type with this id", code="voucher_type_not_found")
    lot_id = lots.create_lot(
        conn,
        scope=scope_of(request),
        issuer_id=found["issuer_id"],
        type_code=found["code"],
        count=count,
        state=state or None,
        face_value_minor=face_value_minor,
        campaign=campaign or None,
        created_by=request.state.principal.username,
        now=now(),
    )
    request.state.audit = {"target": f"lot {lot_id}"}
    tasks.add_task(lots.run_lot, engine, lot_id=lot_id, keyring=keyring, clock=now)
    return redirect(f"/admin/lots/{lot_id}")


def _lot(request: Request, lot_id: int) -> lots_db.LotRow:
    scope = scope_of(request)
    return read(request.app.state.engine, lambda conn: lots.get_lot(conn, lot_id, scope=scope))


@router.get("/lots/{lot_id}", dependencies=[require(Area.lots, Level.read)])
def show_lot(request: Request, lot_id: int) -> Response:
    return render(request, "lot.html", lot=_lot(request, lot_id), actions=LOT_ACTIONS)


@router.get("/lots/{lot_id}/progress", dependencies=[require(Area.lots, Level.read)])
def lot_progress(request: Request, lot_id: int) -> Response:
    return render(request, "_lot_progress.html", lot=_lot(request, lot_id))


@router.post("/lots/{lot_id}/{action}", dependencies=[require(Area.lots, Level.write)])
def lot_action(request: Request, tasks: BackgroundTasks, lot_id: int, action: str) -> Response:
    if action not in LOT_ACTIONS:
        raise InvalidInput("a lot is accepted, rejected or activated", code="invalid_action")
    lot = _lot(request, lot_id)
    return _start_bulk(
        request, tasks, issuer_id=lot.issuer_id, action=action, selection=Selection(lot_id=lot_id)
    )


def _start_bulk(
    request: Request,
    tasks: BackgroundTasks,
    *,
    issuer_id: int,
    action: str,
    selection: Selection,
    reason: str | None = None,
) -> Response:
    engine = request.app.state.engine
    operation_id = bulk_operations.create_operation(
        unit(request).connection(),
        scope=scope_of(request),
        issuer_id=issuer_id,
        action=action,
        selection=selection,
        operator=request.state.principal.username[:32],
        reason=reason,
        now=now(),
    )
    request.state.audit = {"target": f"bulk operation {operation_id}"}
    tasks.add_task(bulk_operations.run, engine, operation_id=operation_id, clock=now)
    return redirect(f"/admin/bulk/{operation_id}")


# --- bulk operations ------------------------------------------------------------------------


@router.get("/bulk", dependencies=[require(Area.bulk, Level.read)])
def list_bulk(request: Request, before: OptionalInt = None) -> Response:
    scope = scope_of(request)
    return list_page(
        request,
        "bulk.html",
        lambda conn: backoffice.list_bulk_operations(conn, scope=scope, before=before, limit=PAGE),
        issuers=choices(request, lambda conn: backoffice.issuer_choices(conn, scope=scope)),
    )


def _selection(
    lot_id: int | None,
    type_code: str | None,
    serial_from: int | None,
    serial_to: int | None,
    states: str | None,
) -> Selection:
    return Selection(
        lot_id=lot_id,
        type_code=type_code or None,
        serial_from=serial_from,
        serial_to=serial_to,
        states=tuple(s.strip() for s in (states or "").split(",") if s.strip()),
    )


@router.get("/bulk/preview", dependencies=[require(Area.bulk, Level.read)])
def preview_bulk(
    request: Request,
    issuer_id: Annotated[int, Query(gt=0, le=MAX_ID)],
    lot_id: str | None = None,
    type_code: str | None = None,
    serial_from: str | None = None,
    serial_to: str | None = None,
    states: str | None = None,
) -> Response:
    """How many vouchers the selection holds now: shown before anything runs."""
    selection = _selection(
        number(lot_id), type_code, number(serial_from), number(serial_to), states
    )
    scope = scope_of(request)
    count = read(
        request.app.state.engine,
        lambda conn: bulk_operations.preview(
            conn, scope=scope, issuer_id=issuer_id, selection=selection
        ),
    )
    return render(request, "_bulk_preview.html", count=count)


@router.post("/bulk", dependencies=[require(Area.bulk, Level.write)])
def create_bulk(
    request: Request,
    tasks: BackgroundTasks,
    issuer_id: IdForm,
    action: Annotated[str, Form()],
    lot_id: Annotated[int | None, Form(gt=0, le=MAX_ID)] = None,
    type_code: Annotated[str | None, Form()] = None,
    serial_from: Annotated[int | None, Form(ge=0, le=MAX_SERIAL)] = None,
    serial_to: Annotated[int | None, Form(ge=0, le=MAX_SERIAL)] = None,
    states: Annotated[str | None, Form()] = None,
    reason: Annotated[str | None, Form()] = None,
) -> Response:
    selection = _selection(lot_id, type_code, serial_from, serial_to, states)
    return _start_bulk(
        request,
        tasks,
        issuer_id=issuer_id,
        action=action,
        selection=selection,
        reason=reason or None,
    )


def _operation(request: Request, operation_id: int) -> bulk_db.BulkOperationRow:
    scope = scope_of(request)
    return read(
        request.app.state.engine,
        lambda conn: bulk_operations.get_operation(conn, operation_id, scope=scope),
    )


@router.get("/bulk/{operation_id}", dependencies=[require(Area.bulk, Level.read)])
def show_bulk(request: Request, operation_id: int) -> Response:
    return render(request, "bulk_operation.html", op=_operation(request, operation_id))


@router.get("/bulk/{operation_id}/progress", dependencies=[require(Area.bulk, Level.read)])
def bulk_progress(request: Request, operation_id: int) -> Response:
    return render(request, "_bulk_progress.html", op=_operation(request, operation_id))
