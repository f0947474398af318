"""The admin API for the rules at the till (issue 5): promotions and holders, behind the same
admin token as the rest of ``/v1/admin``. Promotions are the issuer's catalogue, holders head
office's customer records; the services decide with the caller's scope."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from sqlalchemy import Connection

from scrip.api.admin import admin_router, issuer_id_of
from scrip.api.audit import unit
from scrip.api.auth import PrincipalDep, require
from scrip.api.deps import EngineDep
from scrip.domain.rights import Area, Level
from scrip.domain.scope import Scope
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
def create_promotion(
    body: wire.PromotionIn, request: Request, principal: PrincipalDep
) -> wire.PromotionOut:
    """Define a promotion of one of the seven kinds; it issues vouchers while ``active``."""
    conn = unit(request).connection()
    row = promotions.create_promotion(
        conn,
        scope=principal.scope,
        issuer_id=issuer_id_of(conn, body.issuer),
        **body.model_dump(exclude={"issuer"}),
    )
    return _promotion(row)


@router.get("/promotions", response_model=list[wire.PromotionOut], dependencies=PROMOTIONS_READ)
def list_promotions(
    issuer: str, engine: EngineDep, principal: PrincipalDep
) -> list[wire.PromotionOut]:
    with engine.connect() as conn:
        rows = promotions.list_promotions(
            conn, scope=principal.scope, issuer_id=issuer_id_of(conn, issuer)
        )
    return [_promotion(row) for row in rows]


@router.get("/promotions/{code}", response_model=wire.PromotionOut, dependencies=PROMOTIONS_READ)
def show_promotion(
    code: str, issuer: str, engine: EngineDep, principal: PrincipalDep
) -> wire.PromotionOut:
    with engine.connect() as conn:
        found = promotions.get_promotion(
            conn, scope=principal.scope, issuer_id=issuer_id_of(conn, issuer), code=code
        )
    return _promotion(found)


@router.post(
    "/promotions/{code}/status", response_model=wire.PromotionOut, dependencies=PROMOTIONS_WRITE
)
def set_status(
    code: str, body: wire.StatusIn, request: Request, principal: PrincipalDep
) -> wire.PromotionOut:
    """Activate, pause or end a promotion."""
    conn = unit(request).connection()
    row = promotions.set_status(
        conn,
        scope=principal.scope,
        issuer_id=issuer_id_of(conn, body.issuer),
        code=code,
        status=body.status,
    )
    return _promotion(row)


def _holder(conn: Connection, scope: Scope, issuer_id: int, ref: str) -> wire.HolderOut:
    found = holders.get_holder(conn, scope=scope, issuer_id=issuer_id, holder_ref=ref)
    return wire.HolderOut.model_validate(asdict(holders.view(conn, found)))


@router.post("/holders", status_code=201, response_model=wire.HolderOut, dependencies=HOLDERS_WRITE)
def create_holder(body: wire.HolderIn, request: Request, principal: PrincipalDep) -> wire.HolderOut:
    conn = unit(request).connection()
    issuer_id = issuer_id_of(conn, body.issuer)
    holders.create_holder(
        conn,
        scope=principal.scope,
        issuer_id=issuer_id,
        holder_ref=body.holder_ref,
        name=body.name,
        email=body.email,
    )
    return _holder(conn, principal.scope, issuer_id, body.holder_ref)


@router.get("/holders/{holder_ref}", response_model=wire.HolderOut, dependencies=HOLDERS_READ)
def show_holder(
    holder_ref: str, issuer: str, engine: EngineDep, principal: PrincipalDep
) -> wire.HolderOut:
    with engine.connect() as conn:
        return _holder(conn, principal.scope, issuer_id_of(conn, issuer), holder_ref)


@router.post(
    "/holders/{holder_ref}/cards",
    status_code=201,
    response_model=wire.HolderOut,
    dependencies=HOLDERS_WRITE,
)
def add_card(
    holder_ref: str, body: wire.CardIn, request: Request, principal: PrincipalDep
) -> wire.HolderOut:
    """Give the holder a club card; it is activated at a till (``activate_card``)."""
    conn = unit(request).connection()
    issuer_id = issuer_id_of(conn, body.issuer)
    holders.add_card(
        conn,
        scope=principal.scope,
        issuer_id=issuer_id,
        holder_ref=holder_ref,
        card_id=body.card_id,
    )
    return _holder(conn, principal.scope, issuer_id, holder_ref)


@router.post("/holders/{holder_ref}/vouchers", status_code=204, dependencies=HOLDERS_WRITE)
def link_voucher(
    holder_ref: str, body: wire.LinkIn, request: Request, principal: PrincipalDep
) -> None:
    """Link a voucher to the holder as its buyer, its recipient, or to one of its cards."""
    conn = unit(request).connection()
    holders.link_voucher(
        conn,
        scope=principal.scope,
        issuer_id=issuer_id_of(conn, body.issuer),
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
def holder_vouchers(
    holder_ref: str, issuer: str, engine: EngineDep, principal: PrincipalDep
) -> list[wire.HolderVoucherOut]:
    with engine.connect() as conn:
        rows = holders.holder_vouchers(
            conn,
            scope=principal.scope,
            issuer_id=issuer_id_of(conn, issuer),
            holder_ref=holder_ref,
        )
    return [wire.HolderVoucherOut.model_validate(row) for row in rows]
