"""Voucher search by any identifier, lot or state, the voucher page (balance, holds,
restrictions, full history) and secret-number retrieval with a reason.

A retrieval needs read on ``secrets``; the route itself needs only read on vouchers so that a
refused attempt reaches ``services.secrets.retrieve``, which writes it to the voucher's history.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection, text

from scrip.api.auth import require
from scrip.api.deps import read
from scrip.db import backoffice
from scrip.db import history as history_db
from scrip.db import vouchers as vouchers_db
from scrip.domain.errors import Forbidden, NotFound, ScripError
from scrip.domain.rights import Area, Level, may_see_store
from scrip.services import secrets
from scrip.services.secrets import SecretRefused
from scrip.web.screens import (
    PAGE,
    next_before,
    now,
    number,
    render,
    screen_router,
    vault,
)

router = screen_router()
READ = [require(Area.vouchers, Level.read)]


@router.get("/vouchers", dependencies=READ)
def search(
    request: Request,
    issuer_id: int | None = None,
    q: str | None = None,
    lot: Annotated[str | None, Query(alias="lot_id")] = None,
    state: str | None = None,
    before: int | None = None,
) -> Response:
    lot_id = number(lot)
    engine = request.app.state.engine
    issuers = read(engine, backoffice.issuer_choices)
    chosen = issuer_id or (issuers[0]["id"] if issuers else None)
    scope = request.state.principal.store_ids
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
                store_ids=scope,
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


def _voucher(conn: Connection, request: Request, voucher_id: int) -> vouchers_db.VoucherRow:
    found = conn.execute(
        text("SELECT issuer_id, code FROM vouchers WHERE id = :v"), {"v": voucher_id}
    ).first()
    voucher = None
    if found is not None:
        voucher = vouchers_db.find_voucher(conn, issuer_id=found.issuer_id, code=found.code)
    if voucher is None:
        raise NotFound("no voucher with this id", code="voucher_not_found")
    rules = backoffice.voucher_restrictions(conn, voucher_id)
    if not may_see_store(request.state.principal, rules["activated_store_id"]):
        raise Forbidden("this voucher belongs to another store", code="store_out_of_scope")
    return voucher


@router.get("/vouchers/{voucher_id}", dependencies=READ)
def show(request: Request, voucher_id: int) -> Response:
    with request.app.state.engine.connect() as conn:
        voucher = _voucher(conn, request, voucher_id)
        rules = backoffice.voucher_restrictions(conn, voucher_id)
        holds = backoffice.voucher_holds(conn, voucher_id)
        history = history_db.list_history(conn, voucher_id)
    return render(request, "voucher.html", v=voucher, rules=rules, holds=holds, history=history)


@router.post("/vouchers/{voucher_id}/secret", dependencies=READ)
def retrieve_secret(
    request: Request, voucher_id: int, reason: Annotated[str, Form()] = ""
) -> Response:
    keyring = vault(request)
    principal = request.state.principal
    engine = request.app.state.engine
    request.state.audit = {"target": f"voucher {voucher_id}", "after": {"reason": reason}}
    with engine.connect() as conn:
        voucher = _voucher(conn, request, voucher_id)
    cause: ScripError | None = None
    with engine.begin() as conn:
        try:
            found = secrets.retrieve(
                conn,
                issuer_id=voucher.issuer_id,
                voucher_code=voucher.code,
                user=principal.username,
                reason=reason,
                entitled=secrets.entitled(principal),
                keyring=keyring,
                now=now(),
            )
        except SecretRefused as refused:
            cause = refused.cause  # caught inside: the attempt's history row commits
    if cause is not None:
        raise cause
    return render(request, "_secret.html", secret=found.secret, code=found.code)
