"""The POS API under /v1/pos, authenticated by register key (S7).

Every mutating call takes an ``Idempotency-Key`` and runs through ``idempotency.run``: one
transaction holds the effect and the stored answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Connection

from scrip.api import idempotency
from scrip.api.deps import EngineDep, Mutation, MutationDep, RegisterDep, read
from scrip.api.idempotency import Answer
from scrip.domain.money import Money
from scrip.services import pos, receipts, reversal
from scrip.services.reversal import Call
from scrip.services.till import ReceiptInput
from scrip.services.views import OperationResult
from scrip.wire import pos as wire
from scrip.wire import till as till_wire

ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": wire.ErrorOut, "description": text}
    for status, text in {
        400: "malformed request or missing Idempotency-Key",
        401: "unknown register key",
        403: "PIN required or wrong",
        404: "no such voucher or receipt",
        409: "refused in the current state (see error.code)",
        413: "the body is too long (body_too_large)",
        414: "the URL is too long (uri_too_long)",
        422: "invalid input, e.g. a field out of bounds or a control character",
        423: "PIN locked",
        431: "the headers are too long (headers_too_large)",
        503: "busy or database unavailable: retry with the same key",
    }.items()
}

router = APIRouter(prefix="/v1/pos", tags=["pos"], responses=ERRORS)


def receipt_input(r: wire.ReceiptIn | wire.OpenReceiptIn) -> ReceiptInput:
    basket = till_wire.basket_of(r) if isinstance(r, wire.ReceiptIn) else None
    amount = r.amount_minor
    if amount is None and basket is not None and basket.has_lines:
        amount = basket.lines_total
    return ReceiptInput(
        receipt_id=getattr(r, "receipt_id", None),
        number=r.number,
        z_report=r.z_report,
        operator_code=r.operator,
        amount_minor=amount,
        basket=basket,
    )


def _run(
    m: Mutation, body: BaseModel | None, work: Callable[[Connection, datetime], Answer]
) -> Response:
    return idempotency.run(m.engine, till=m.till, key=m.key, route=m.route, body=body, work=work)


def _operation(
    m: Mutation, body: BaseModel, service: Callable[[Connection, datetime], OperationResult]
) -> Response:
    def work(conn: Connection, now: datetime) -> Answer:
        result = service(conn, now)
        out = wire.OperationOut.model_validate(result, from_attributes=True)
        return Answer(201, out, result.operation_id)

    return _run(m, body, work)


@router.get("/vouchers/{code}", response_model=wire.VoucherOut)
def look_up(code: str, engine: EngineDep, till: RegisterDep) -> Response:
    """State, balance, what is held, denomination, validity and what it may pay for."""
    found = read(engine, lambda conn: pos.look_up(conn, till=till, code=code))
    # Serialized by pydantic directly: the most frequent call skips FastAPI's second
    # validation of a model that was just built (response_model still documents it).
    answer = wire.VoucherOut.model_validate(found, from_attributes=True)
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get("/vouchers/{code}/history", response_model=wire.HistoryOut)
def history(code: str, engine: EngineDep, till: RegisterDep) -> wire.HistoryOut:
    rows = read(engine, lambda conn: pos.history(conn, till=till, code=code))
    return wire.HistoryOut(code=code, rows=[wire.HistoryRowOut.model_validate(r) for r in rows])


@router.post("/receipts", status_code=201, response_model=wire.ReceiptOut)
def open_receipt(body: wire.OpenReceiptIn, m: MutationDep) -> Response:
    """Open a receipt: operations naming it hold value until it is confirmed or cancelled."""

    def work(conn: Connection, now: datetime) -> Answer:
        result = receipts.open_receipt(
            conn, till=m.till, receipt=receipt_input(body), timeout_s=body.timeout_s, now=now
        )
        out = wire.ReceiptOut.model_validate(result, from_attributes=True)
        return Answer(201, out, None, Call.receipt_open, result.receipt_id)

    return _run(m, body, work)


def _close(m: Mutation, receipt_id: int, body: wire.ConfirmIn | None, *, confirm: bool) -> Response:
    def work(conn: Connection, now: datetime) -> Answer:
        if confirm:
            amounts = {a.operation_id: a.amount_minor for a in body.amounts} if body else None
            result = receipts.confirm(
                conn, till=m.till, receipt_id=receipt_id, now=now, amounts=amounts
            )
        else:
            result = receipts.cancel(conn, till=m.till, receipt_id=receipt_id, now=now)
        out = wire.ReceiptOut.model_validate(result, from_attributes=True)
        call = Call.receipt_confirm if confirm else Call.receipt_cancel
        return Answer(200, out, None, call, receipt_id)

    return _run(m, body, work)


@router.post("/receipts/{receipt_id}/confirm", response_model=wire.ReceiptOut)
def confirm_receipt(
    receipt_id: int, m: MutationDep, body: Annotated[wire.ConfirmIn | None, Body()] = None
) -> Response:
    """Post every hold of the receipt at once (a redemption may be confirmed for less)."""
    # An empty body and no body are the same request, also for the idempotency fingerprint.
    return _close(m, receipt_id, body if body and body.amounts else None, confirm=True)


@router.post("/receipts/{receipt_id}/cancel", response_model=wire.ReceiptOut)
def cancel_receipt(receipt_id: int, m: MutationDep) -> Response:
    """Void every hold of the receipt; vouchers return to the state they had."""
    return _close(m, receipt_id, None, confirm=False)


@router.post("/sales", status_code=201, response_model=wire.OperationOut)
def sell(body: wire.SaleIn, m: MutationDep) -> Response:
    """Sell and activate one or more vouchers (a variable amount where the type allows)."""
    items = [pos.SaleItem(i.code, i.amount_minor) for i in body.items]
    return _operation(
        m,
        body,
        lambda conn, now: pos.sell(
            conn, till=m.till, items=items, receipt=receipt_input(body.receipt), now=now
        ),
    )


@router.post("/vouchers/{code}/redemptions", status_code=201, response_model=wire.OperationOut)
def redeem(code: str, body: wire.RedeemIn, m: MutationDep) -> Response:
    """Pay with a voucher; ``partial_allowed`` takes what is available when it is less."""
    return _operation(
        m,
        body,
        lambda conn, now: pos.redeem(
            conn,
            till=m.till,
            code=code,
            amount=Money(body.amount_minor, body.currency),
            partial_allowed=body.partial_allowed,
            pin=body.pin,
            receipt=receipt_input(body.receipt),
            now=now,
            keyring=m.keyring,
        ),
    )


@router.post("/vouchers/{code}/refunds", status_code=201, response_model=wire.OperationOut)
def refund(code: str, body: wire.AmountIn, m: MutationDep) -> Response:
    """Goods paid with this voucher came back: the amount returns to it."""
    return _operation(
        m,
        body,
        lambda conn, now: pos.refund(
            conn,
            till=m.till,
            code=code,
            amount=Money(body.amount_minor, body.currency),
            receipt=receipt_input(body.receipt),
            now=now,
        ),
    )


@router.post("/vouchers/{code}/reloads", status_code=201, response_model=wire.OperationOut)
def reload(code: str, body: wire.AmountIn, m: MutationDep) -> Response:
    """Add value to a reloadable card, up to its type's maximum balance."""
    return _operation(
        m,
        body,
        lambda conn, now: pos.reload(
            conn,
            till=m.till,
            code=code,
            amount=Money(body.amount_minor, body.currency),
            receipt=receipt_input(body.receipt),
            now=now,
        ),
    )


@router.post("/vouchers/{code}/returns", status_code=201, response_model=wire.OperationOut)
def return_unused(code: str, body: wire.ReturnIn, m: MutationDep) -> Response:
    """Take back an unused certificate: the customer is paid back."""
    return _operation(
        m,
        body,
        lambda conn, now: pos.return_unused(
            conn, till=m.till, code=code, receipt=receipt_input(body.receipt), now=now
        ),
    )


@router.post("/vouchers/{code}/transfers", status_code=201, response_model=wire.OperationOut)
def transfer(code: str, body: wire.TransferIn, m: MutationDep) -> Response:
    """Move the available balance to another card; this one is blocked."""
    return _operation(
        m,
        body,
        lambda conn, now: pos.transfer_balance(
            conn,
            till=m.till,
            code=code,
            target_code=body.target_code,
            pin=body.pin,
            receipt=receipt_input(body.receipt),
            now=now,
            keyring=m.keyring,
        ),
    )


def _state_route(what: str, path: str, summary: str) -> None:
    def change(code: str, body: wire.StateChangeIn, m: MutationDep) -> Response:
        return _operation(
            m,
            body,
            lambda conn, now: pos.change_state(
                conn,
                till=m.till,
                code=code,
                what=what,
                receipt=receipt_input(body.receipt),
                now=now,
                reason=body.reason,
            ),
        )

    router.add_api_route(
        path,
        change,
        methods=["POST"],
        status_code=201,
        summary=summary,
        response_model=wire.OperationOut,
        name=what,
    )


_state_route("block", "/vouchers/{code}/block", "Block a voucher")
_state_route("unblock", "/vouchers/{code}/unblock", "Unblock a voucher")
_state_route("hand_over", "/vouchers/{code}/hand-over", "Hand a prepared voucher over")


@router.post("/reversals", response_model=wire.ReversalOut)
def reverse(body: wire.ReversalIn, m: MutationDep) -> Response:
    """Undo the operation sent under ``idempotency_key`` whose answer was lost; if it never
    arrived, make sure it never takes effect."""

    def work(conn: Connection, now: datetime) -> Answer:
        result = reversal.reverse(
            conn, till=m.till, key=body.idempotency_key, own_key=m.key, now=now
        )
        out = wire.ReversalOut.model_validate(result, from_attributes=True)
        return Answer(200, out, None, Call.reversal)

    return _run(m, body, work)
