"""Promotions (S8) on screen: an issuer's promotions with their status, defining one of the seven
kinds (its parameters as JSON, checked by the same service as the admin API), and activating,
pausing or ending one."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from scrip.api.audit import unit
from scrip.api.auth import require
from scrip.api.deps import read
from scrip.db import backoffice
from scrip.domain.errors import InvalidInput
from scrip.domain.promotions import Kind
from scrip.domain.rights import Area, Level
from scrip.services import promotions
from scrip.web.screens import (
    IdForm,
    choices,
    number,
    redirect,
    render,
    scope_of,
    screen_router,
)

router = screen_router()
READ = [require(Area.promotions, Level.read)]
WRITE = [require(Area.promotions, Level.write)]


@router.get("/promotions", dependencies=READ)
def list_promotions(request: Request, issuer_id: str | None = None) -> Response:
    scope = scope_of(request)
    issuers = choices(request, lambda conn: backoffice.issuer_choices(conn, scope=scope))
    chosen = number(issuer_id) or (issuers[0]["id"] if issuers else None)
    rows = (
        read(
            request.app.state.engine,
            lambda conn: promotions.list_promotions(conn, scope=scope, issuer_id=chosen),
        )
        if chosen is not None
        else []
    )
    return render(
        request,
        "promotions.html",
        rows=rows,
        issuers=issuers,
        issuer_id=chosen,
        kinds=[kind.value for kind in Kind],
    )


def _params(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text or "{}")
    except json.JSONDecodeError as error:
        raise InvalidInput("the parameters are not JSON", code="invalid_params") from error
    if not isinstance(found, dict):
        raise InvalidInput("the parameters are a JSON object", code="invalid_params")
    return found


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


@router.post("/promotions", dependencies=WRITE)
def create_promotion(
    request: Request,
    issuer_id: IdForm,
    code: Annotated[str, Form(min_length=1, max_length=32)],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    kind: Annotated[str, Form(max_length=32)],
    type_code: Annotated[str, Form(min_length=1, max_length=32)],
    params: Annotated[str, Form(max_length=100_000)] = "{}",
    starts_on: Annotated[str | None, Form(max_length=10)] = None,
    ends_on: Annotated[str | None, Form(max_length=10)] = None,
    receipt_text: Annotated[str, Form(max_length=500)] = "",
    max_per_receipt: Annotated[int, Form(ge=1, le=1000)] = 3,
    max_per_holder: Annotated[int, Form(ge=1, le=100_000)] = 5,
) -> Response:
    request.state.audit = {"target": f"promotion {code.strip()}"}
    try:
        window = _day(starts_on), _day(ends_on)
    except ValueError as error:
        raise InvalidInput("dates are YYYY-MM-DD", code="invalid_date") from error
    promotions.create_promotion(
        unit(request).connection(),
        scope=scope_of(request),
        issuer_id=issuer_id,
        code=code.strip(),
        name=name.strip(),
        kind=kind,
        type_code=type_code.strip(),
        params=_params(params),
        starts_on=window[0],
        ends_on=window[1],
        receipt_text=receipt_text,
        max_per_receipt=max_per_receipt,
        max_per_holder=max_per_holder,
    )
    return redirect(f"/admin/promotions?issuer_id={issuer_id}")


@router.post("/promotions/{code}/status", dependencies=WRITE)
def set_status(
    request: Request,
    code: str,
    issuer_id: IdForm,
    status: Annotated[str, Form(max_length=16)],
) -> Response:
    request.state.audit = {"target": f"promotion {code}", "after": {"status": status}}
    promotions.set_status(
        unit(request).connection(),
        scope=scope_of(request),
        issuer_id=issuer_id,
        code=code,
        status=status,
    )
    return redirect(f"/admin/promotions?issuer_id={issuer_id}")
