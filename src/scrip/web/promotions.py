"""Promotions (S8) on screen: an issuer's promotions with their status, defining one of the seven
kinds (its parameters as JSON, checked by the same service as the admin API), and activating,
pausing or ending one."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from scrip.api.auth import require
from scrip.api.deps import read
from scrip.db import backoffice
from scrip.domain.errors import InvalidInput
from scrip.domain.promotions import Kind
from scrip.domain.rights import Area, Level
from scrip.services import promotions
from scrip.web.screens import choices, number, redirect, render, screen_router

router = screen_router()
READ = [require(Area.promotions, Level.read)]
WRITE = [require(Area.promotions, Level.write)]


@router.get("/promotions", dependencies=READ)
def list_promotions(request: Request, issuer_id: str | None = None) -> Response:
    issuers = choices(request, backoffice.issuer_choices)
    chosen = number(issuer_id) or (issuers[0]["id"] if issuers else None)
    rows = (
        read(
            request.app.state.engine,
            lambda conn: promotions.list_promotions(conn, issuer_id=chosen),
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
    issuer_id: Annotated[int, Form()],
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    kind: Annotated[str, Form()],
    type_code: Annotated[str, Form()],
    params: Annotated[str, Form()] = "{}",
    starts_on: Annotated[str | None, Form()] = None,
    ends_on: Annotated[str | None, Form()] = None,
    receipt_text: Annotated[str, Form()] = "",
    max_per_receipt: Annotated[int, Form()] = 3,
    max_per_holder: Annotated[int, Form()] = 5,
) -> Response:
    request.state.audit = {"target": f"promotion {code.strip()}"}
    try:
        window = _day(starts_on), _day(ends_on)
    except ValueError as error:
        raise InvalidInput("dates are YYYY-MM-DD", code="invalid_date") from error
    with request.app.state.engine.begin() as conn:
        promotions.create_promotion(
            conn,
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
    issuer_id: Annotated[int, Form()],
    status: Annotated[str, Form()],
) -> Response:
    request.state.audit = {"target": f"promotion {code}", "after": {"status": status}}
    with request.app.state.engine.begin() as conn:
        promotions.set_status(conn, issuer_id=issuer_id, code=code, status=status)
    return redirect(f"/admin/promotions?issuer_id={issuer_id}")
