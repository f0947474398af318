"""The admin API for the rules at the till (issue 5): promotions and holders, behind the same
admin token as the rest of ``/v1/admin``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from scrip.api.admin import admin_router, issuer_id_of
from scrip.api.auth import require
from scrip.api.deps import EngineDep
from scrip.domain.rights import Area, Level
from scrip.services import holders, promotions
from scrip.wire import till as wire

router = admin_router()
PROMOTIONS_READ = [require(Area.promotions, Level.read)]
PROMOTIONS_WRITE = [require(Area.promotions, Level.write)]
# Holders and their club cards are customer records attached to vouchers.
HOLDERS_READ = [require(Area.vouchers, Level.read)]
HOLDERS_WRITE = [require(Area.vouchers, Level.write)]


def _promotion(row: dict[str, Any]) -> wire.PromotionOut:
    return wire.PromotionOut.model_validate(row)


@router.post(
    "/promotions", status_code=201, response_model=wire.PromotionOut, dependencies=PROMOTIONS_WRITE
)
def create_promotion(body: wire.PromotionIn, engine: EngineDep) -> wire.PromotionOut:
    """Define a promotion of one of the seven kinds; it issues vouchers while ``active``."""
    issuer_id = issuer_id_of(engine, body.issuer)
    with engine.begin() as conn:
        row = promotions.create_promotion(
            conn, issuer_id=issuer_id, **body.model_dump(exclude={"issuer"})
        )
    return _promotion(row)


@router.get("/promotions", response_model=list[wire.PromotionOut], dependencies=PROMOTIONS_READ)
def list_promotions(issuer: str, engine: EngineDep) -> list[wire.PromotionOut]:
    issuer_id = issuer_id_of(engine, issuer)
    with engine.connect() as conn:
        rows = promotions.list_promotions(conn, issuer_id=issuer_id)
    return [_promotion(row) for row in rows]


@router.get("/promotions/{code}", response_model=wire.PromotionOut, dependencies=PROMOTIONS_READ)
def show_promotion(code: str, issuer: str, engine: EngineDep) -> wire.PromotionOut:
    issuer_id = issuer_id_of(engine, issuer)
    with engine.connect() as conn:
        return _promotion(promotions.get_promotion(conn, issuer_id=issuer_id, code=code))


@router.post(
    "/promotions/{code}/status", response_model=wire.PromotionOut, dependencies=PROMOTIONS_WRITE
)
def set_status(code: str, body: wire.StatusIn, engine: EngineDep) -> wire.PromotionOut:
    """Activate, pause or end a promotion."""
    issuer_id = issuer_id_of(engine, body.issuer)
    with engine.begin() as conn:
        row = promotions.set_status(conn, issuer_id=issuer_id, code=code, status=body.status)
    return _promotion(row)


def _holder(conn: Connection, issuer_id: int, ref: str) -> wire.HolderOut:
    shown = holders.view(conn, holders.get_holder(conn, issuer_id=issuer_id, holder_ref=ref))
    return wire.HolderOut.model_validate(asdict(shown))


@router.post("/holders", status_code=201, response_model=wire.HolderOut, dependencies=HOLDERS_WRITE)
def create_holder(body: wire.HolderIn, engine: EngineDep) -> wire.HolderOut:
    issuer_id = issuer_id_of(engine, body.issuer)
    with engine.begin() as conn:
        holders.create_holder(
            conn, issuer_id=issuer_id, holder_ref=body.holder_ref, name=body.name, email=body.email
        )
        return _holder(conn, issuer_id, body.holder_ref)


@router.get("/holders/{holder_ref}", response_model=wire.HolderOut, dependencies=HOLDERS_READ)
def show_holder(holder_ref: str, issuer: str, engine: EngineDep) -> wire.HolderOut:
    issuer_id = issuer_id_of(engine, issuer)
    with engine.connect() as conn:
        return _holder(conn, issuer_id, holder_ref)


@router.post(
    "/holders/{holder_ref}/cards",
    status_code=201,
    response_model=wire.HolderOut,
    dependencies=HOLDERS_WRITE,
)
def add_card(holder_ref: str, body: wire.CardIn, engine: EngineDep) -> wire.HolderOut:
    """Give the holder a club card; it is activated at a till (``activate_card``)."""
    issuer_id = issuer_id_of(engine, body.issuer)
    with engine.begin() as conn:
        holders.add_card(conn, issuer_id=issuer_id, holder_ref=holder_ref, card_id=body.card_id)
        return _holder(conn, issuer_id, holder_ref)


@router.post("/holders/{holder_ref}/vouchers", status_code=204, dependencies=HOLDERS_WRITE)
def link_voucher(holder_ref: str, body: wire.LinkIn, engine: EngineDep) -> None:
    """Link a voucher to the holder as its buyer, its recipient, or to one of its cards."""
    issuer_id = issuer_id_of(engine, body.issuer)
    with engine.begin() as conn:
        holders.link_voucher(
            conn,
            issuer_id=issuer_id,
            holder_ref=holder_ref,
            code=body.code,
            link=body.link,
            now=datetime.now(UTC),
        )


@router.get(
    "/holders/{holder_ref}/vouchers",
    response_model=list[wire.HolderVoucherOut],
    dependencies=HOLDERS_READ,
)
def holder_vouchers(holder_ref: str, issuer: str, engine: EngineDep) -> list[wire.HolderVoucherOut]:
    issuer_id = issuer_id_of(engine, issuer)
    with engine.connect() as conn:
        rows = holders.holder_vouchers(conn, issuer_id=issuer_id, holder_ref=holder_ref)
    return [wire.HolderVoucherOut.model_validate(row) for row in rows]
