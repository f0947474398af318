"""Voucher search by any identifier, lot or state, the voucher page (balance, holds,
restrictions, full history) and secret-number retrieval with a reason.

A retrieval needs read on ``secrets``; the route itself needs only read on vouchers so that a
refused attempt reaches ``services.secrets.retrieve``, which writes it to the voucher's history.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import Response

from scrip.api.audit import unit
from scrip.api.auth import require
from scrip.api.deps import read
from scrip.db import backoffice
from scrip.db import history as history_db
from scrip.domain.rights import Area, Level
from scrip.services import lookup, secrets
from scrip.services.secrets import SecretRefused
from scrip.web.screens import (
    PAGE,
    OptionalInt,
    next_before,
    now,
    number,
    render,
    scope_of,
    screen_router,
    vault,
)

router = screen_router()
READ = [require(Area.vouchers, Level.read)]


@router.get("/vouchers", dependencies=READ)
def search(
    request: Request,
    issuer_id: OptionalInt = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    lot: Annotated[str | None, Query(alias="lot_id")] = None,
    state: Annotated[str | None, Query(max_length=32)] = None,
    before: OptionalInt = None,
) -> Response:
    lot_id = number(lot)
    engine = request.app.state.engine
    scope = scope_of(request)
    issuers = read(engine, lambda conn: backoffice.issuer_choices(conn, scope=scope))
    chosen = issuer_id or (issuers[0]["id"] if issuers else None)
    rows: list[Any] = []
    if chosen is not None:
        rows = read(
            engine,
            lambda conn: backoffice.search_vouchers(
                conn,
                issuer_id=chosen,
                identifier=(q or "").strip() or None,
                lot_id=lot_id,
                state=state or None,
                scope=scope,
                before=before,
                limit=PAGE,
            ),
        )
    query = {"issuer_id": chosen, "q": q or "", "lot_id": lot_id or "", "state": state or ""}
    return render(
        request,
        "vouchers.html",
        rows=rows,
        issuers=issuers,
        query=query,
        next_before=next_before(rows),
    )


@router.get("/vouchers/{voucher_id}", dependencies=READ)
def show(request: Request, voucher_id: int) -> Response:
    with request.app.state.engine.connect() as conn:
        voucher = lookup.voucher_by_id(conn, scope=scope_of(request), voucher_id=voucher_id)
        rules = backoffice.voucher_restrictions(conn, voucher_id)
        holds = backoffice.voucher_holds(conn, voucher_id)
        history = history_db.list_history(conn, voucher_id)
    return render(request, "voucher.html", v=voucher, rules=rules, holds=holds, history=history)


@router.post("/vouchers/{voucher_id}/secret", dependencies=READ)
def retrieve_secret(
    request: Request, voucher_id: int, reason: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    keyring = vault(request)
    principal = request.state.principal
    request.state.audit = {"target": f"voucher {voucher_id}", "after": {"reason": reason}}
    work = unit(request)
    conn = work.connection()
    voucher = lookup.voucher_by_id(conn, scope=principal.scope, voucher_id=voucher_id)
    try:
        found = secrets.retrieve(
            conn,
            scope=principal.scope,
            issuer_id=voucher.issuer_id,
            voucher_code=voucher.code,
            user=principal.username,
            reason=reason,
            entitled=secrets.entitled(principal),
            keyring=keyring,
            now=now(),
        )
    except SecretRefused as refused:
        work.keep_refusal()  # the attempt's history row commits with the refusal's audit row
        raise refused.cause from None
    return render(request, "_secret.html", secret=found.secret, code=found.code)
