"""The POS side of the rules at the till (issue 5): promotions evaluated and issued on a
receipt, and the points of a club card. Mutations run through ``idempotency.run`` like every
other POS call; the till's key is required."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import Connection

from scrip.api import idempotency
from scrip.api.deps import EngineDep, MutationDep, RegisterDep, read
from scrip.api.idempotency import Answer
from scrip.api.pos import ERRORS, receipt_input
from scrip.db import holders as holders_db
from scrip.services import holders, issuing
from scrip.services.loyalty import BUILT_IN, PointsMove
from scrip.wire import till as wire

router = APIRouter(prefix="/v1/pos", tags=["till rules"], responses=ERRORS)


@router.post("/promotions/evaluate", status_code=201, response_model=wire.PromotionEvaluationOut)
def evaluate(body: wire.PromotionEvaluateIn, m: MutationDep) -> Response:
    """Send the receipt; get the vouchers its promotions issue, with their print data. In an
    open receipt (``receipt.receipt_id``) they are issued when the receipt is confirmed."""

    def work(conn: Connection, now: datetime) -> Answer:
        issued = issuing.issue(
            conn,
            till=m.till,
            receipt=receipt_input(body.receipt),
            points_to_spend=body.points_to_spend,
            activate_card=body.activate_card,
            now=now,
        )
        answer = wire.PromotionEvaluationOut(
            status=issued.status,
            operation_id=issued.operation_id,
            receipt_id=issued.receipt_id,
            vouchers=[wire.PrintDataOut.model_validate(asdict(v)) for v in issued.vouchers],
            refused=[
                wire.RefusedAwardOut(promotion_code=code, reason=reason)
                for code, reason in issued.refused
            ],
            points_spent=issued.points_spent,
        )
        return Answer(201, answer, issued.operation_id)

    return idempotency.run(m.engine, till=m.till, key=m.key, route=m.route, body=body, work=work)


@router.post("/club-cards/{card_id}/points", status_code=201, response_model=wire.ClubCardOut)
def earn_points(card_id: str, body: wire.PointsIn, m: MutationDep) -> Response:
    """Credit points to an active club card (the built-in loyalty system)."""

    def work(conn: Connection, now: datetime) -> Answer:
        move = PointsMove(m.till.issuer_id, card_id, body.points, body.reason, now)
        balance = BUILT_IN.earn(conn, move)
        card = holders.get_card(conn, issuer_id=m.till.issuer_id, card_id=card_id)
        out = wire.ClubCardOut(card_id=card_id, state=card.state, points_balance=balance)
        return Answer(201, out, None)

    return idempotency.run(m.engine, till=m.till, key=m.key, route=m.route, body=body, work=work)


@router.get("/club-cards/{card_id}", response_model=wire.ClubCardOut)
def show_card(card_id: str, engine: EngineDep, till: RegisterDep) -> wire.ClubCardOut:
    """A club card's state, points and their earn / spend history."""

    def query(conn: Connection) -> wire.ClubCardOut:
        card = holders.get_card(conn, issuer_id=till.issuer_id, card_id=card_id)
        entries = holders_db.list_points_entries(conn, card.id)
        return wire.ClubCardOut(
            card_id=card.card_id,
            state=card.state,
            points_balance=card.points_balance,
            entries=[wire.PointsEntryOut.model_validate(e) for e in entries],
        )

    return read(engine, query)
