"""Promotions (S8): define them, list them, and preview what a receipt would earn.

Issuing what a receipt earns, within the limits of S7.4, is ``services.issuing``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, text

from scrip.db import holders as holders_db
from scrip.db import promotions as promotions_db
from scrip.domain import promotions as rules
from scrip.domain.basket import Basket
from scrip.domain.errors import InvalidInput, NotFound
from scrip.domain.lifecycle import Classification
from scrip.domain.promotions import Award, Kind, Occasion, Promotion
from scrip.domain.schedule import Schedule
from scrip.domain.scope import Scope, check_head_office, check_issuer

STATUSES = ("draft", "active", "paused", "ended")


def promotion_of(row: Mapping[str, Any]) -> Promotion:
    days = row["allowed_days"]
    return Promotion(
        id=row["id"],
        code=row["code"],
        kind=Kind(row["kind"]),
        params=row["params"],
        status=row["status"],
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        schedule=Schedule(
            days=frozenset(days) if days is not None else None,
            from_minute=row["from_minute"],
            until_minute=row["until_minute"],
        ),
        store_ids=tuple(row["store_ids"]) if row["store_ids"] is not None else None,
        receipt_text=row["receipt_text"],
        max_per_receipt=row["max_per_receipt"],
        max_per_holder=row["max_per_holder"],
    )


def create_promotion(
    conn: Connection,
    *,
    scope: Scope,
    issuer_id: int,
    code: str,
    name: str,
    kind: str,
    type_code: str,
    params: Mapping[str, Any],
    status: str = "draft",
    starts_on: date | None = None,
    ends_on: date | None = None,
    allowed_days: list[int] | None = None,
    from_minute: int | None = None,
    until_minute: int | None = None,
    store_ids: list[int] | None = None,
    receipt_text: str = "",
    max_per_receipt: int = 3,
    max_per_holder: int = 5,
) -> dict[str, Any]:
    """Check everything a promotion needs, then store it; promotions are the issuer's
    catalogue, defined at head office (``scope``)."""
    check_head_office(scope, issuer_id)
    if kind not in Kind.__members__:
        raise InvalidInput("unknown promotion kind", code="invalid_promotion", kind=kind)
    rules.check_params(Kind(kind), params)
    Schedule(
        days=frozenset(allowed_days) if allowed_days is not None else None,
        from_minute=from_minute,
        until_minute=until_minute,
    )
    _check_fields(status, starts_on, ends_on, max_per_receipt, max_per_holder)
    if promotions_db.find_promotion(conn, issuer_id=issuer_id, code=code) is not None:
        raise InvalidInput("a promotion with this code exists", code="promotion_exists")
    promotions_db.insert_promotion(
        conn,
        issuer_id=issuer_id,
        code=code,
        name=name,
        kind=kind,
        status=status,
        starts_on=starts_on,
        ends_on=ends_on,
        allowed_days=allowed_days,
        from_minute=from_minute,
        until_minute=until_minute,
        store_ids=store_ids,
        receipt_text=receipt_text,
        voucher_type_id=_promotional_type(conn, issuer_id=issuer_id, type_code=type_code),
        params=dict(params),
        max_per_receipt=max_per_receipt,
        max_per_holder=max_per_holder,
    )
    return get_promotion(conn, scope=scope, issuer_id=issuer_id, code=code)


def _check_fields(
    status: str, starts_on: date | None, ends_on: date | None, per_receipt: int, per_holder: int
) -> None:
    if status not in STATUSES:
        raise InvalidInput("status is draft, active, paused or ended", code="invalid_status")
    if starts_on and ends_on and ends_on < starts_on:
        raise InvalidInput("the promotion ends before it starts", code="invalid_dates")
    if per_receipt < 1 or per_holder < 1:
        raise InvalidInput("limits are at least 1", code="invalid_limits")


def _promotional_type(conn: Connection, *, issuer_id: int, type_code: str) -> int:
    row = conn.execute(
        text("SELECT id, classification FROM voucher_types WHERE issuer_id = :i AND code = :c"),
        {"i": issuer_id, "c": type_code},
    ).first()
    if row is None:
        raise NotFound("no voucher type with this code", code="voucher_type_not_found")
    if row[1] != Classification.promotional_voucher:
        raise InvalidInput("promotions issue promotional vouchers", code="not_a_promotional_type")
    return int(row[0])


def get_promotion(conn: Connection, *, scope: Scope, issuer_id: int, code: str) -> dict[str, Any]:
    check_issuer(scope, issuer_id)
    found = promotions_db.find_promotion(conn, issuer_id=issuer_id, code=code)
    if found is None:
        raise NotFound("no promotion with this code", code="promotion_not_found")
    return found


def set_status(
    conn: Connection, *, scope: Scope, issuer_id: int, code: str, status: str
) -> dict[str, Any]:
    check_head_office(scope, issuer_id)
    found = get_promotion(conn, scope=scope, issuer_id=issuer_id, code=code)
    _check_fields(status, None, None, 1, 1)
    promotions_db.set_status(conn, promotion_id=found["id"], status=status)
    return get_promotion(conn, scope=scope, issuer_id=issuer_id, code=code)


def list_promotions(conn: Connection, *, scope: Scope, issuer_id: int) -> list[dict[str, Any]]:
    check_issuer(scope, issuer_id)
    return promotions_db.list_promotions(conn, issuer_id=issuer_id)


def running(conn: Connection, *, issuer_id: int) -> list[Promotion]:
    return [
        promotion_of(row)
        for row in promotions_db.list_promotions(conn, issuer_id=issuer_id, status="active")
    ]


def preview(
    conn: Connection,
    *,
    issuer_id: int,
    store_code: str,
    basket: Basket,
    points_to_spend: int = 0,
    card_activated: bool = False,
    now: datetime,
) -> list[Award]:
    """What a receipt in a store would earn now, writing nothing: no limits are counted, no
    codes made, no points spent (the CLI's ``promotion evaluate``)."""
    store = conn.execute(
        text(
            "SELECT s.id, coalesce(s.timezone, i.timezone) FROM stores s"
            " JOIN issuers i ON i.id = s.issuer_id WHERE s.issuer_id = :i AND s.code = :c"
        ),
        {"i": issuer_id, "c": store_code},
    ).first()
    if store is None:
        raise NotFound("no store with this code", code="store_not_found")
    holder_ref = None
    if basket.card_id is not None:
        card = holders_db.find_card(conn, issuer_id=issuer_id, card_id=basket.card_id)
        holder = (
            holders_db.find_holder_by_id(conn, card.holder_id) if card and card.holder_id else None
        )
        holder_ref = holder.holder_ref if holder else None
    occasion = Occasion(
        basket=basket,
        store_id=int(store[0]),
        now=now,
        tz=str(store[1]),
        holder_ref=holder_ref,
        card_activated=card_activated,
        points_to_spend=points_to_spend,
    )
    return rules.evaluate(running(conn, issuer_id=issuer_id), occasion)
