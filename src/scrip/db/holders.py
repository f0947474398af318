"""Holders (customer accounts), their club cards with a points account, and the vouchers
linked to them: as buyer or recipient of an e-voucher, or bound to one of their cards."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from scrip.db import rows


@dataclass(frozen=True, slots=True)
class HolderRow:
    id: int
    issuer_id: int
    holder_ref: str
    name: str | None
    email: str | None


@dataclass(slots=True)
class CardRow:
    id: int
    issuer_id: int
    holder_id: int | None
    card_id: str
    state: str
    points_balance: int
    activated_at: datetime | None


def insert_holder(conn: Connection, **values: Any) -> int:
    return rows.insert(conn, "holders", values)


def find_holder(conn: Connection, *, issuer_id: int, holder_ref: str) -> HolderRow | None:
    row = (
        conn.execute(
            text(
                "SELECT id, issuer_id, holder_ref, name, email FROM holders"
                " WHERE issuer_id = :i AND holder_ref = :r"
            ),
            {"i": issuer_id, "r": holder_ref},
        )
        .mappings()
        .first()
    )
    return HolderRow(**row) if row else None


def find_holder_by_id(conn: Connection, holder_id: int) -> HolderRow | None:
    row = (
        conn.execute(
            text("SELECT id, issuer_id, holder_ref, name, email FROM holders WHERE id = :h"),
            {"h": holder_id},
        )
        .mappings()
        .first()
    )
    return HolderRow(**row) if row else None


def insert_card(conn: Connection, **values: Any) -> int:
    return rows.insert(conn, "club_cards", values)


_CARD = (
    "SELECT id, issuer_id, holder_id, card_id, state, points_balance, activated_at"
    " FROM club_cards WHERE issuer_id = :i AND card_id = :c"
)


def find_card(conn: Connection, *, issuer_id: int, card_id: str) -> CardRow | None:
    row = conn.execute(text(_CARD), {"i": issuer_id, "c": card_id}).mappings().first()
    return CardRow(**row) if row else None


_LOCK_CARD = _CARD + " FOR UPDATE"


def lock_card(conn: Connection, *, issuer_id: int, card_id: str) -> CardRow | None:
    """Lock the card's row: its points are spent only by whoever holds this lock."""
    row = conn.execute(text(_LOCK_CARD), {"i": issuer_id, "c": card_id}).mappings().first()
    return CardRow(**row) if row else None


def save_card(conn: Connection, card: CardRow) -> None:
    conn.execute(
        text(
            "UPDATE club_cards SET state = :state, points_balance = :points,"
            " activated_at = :activated_at WHERE id = :id"
        ),
        {
            "state": card.state,
            "points": card.points_balance,
            "activated_at": card.activated_at,
            "id": card.id,
        },
    )


def insert_points_entry(
    conn: Connection,
    *,
    card: CardRow,
    kind: str,
    points: int,
    operation_id: uuid.UUID | None,
    reason: str | None,
    now: datetime,
) -> None:
    rows.insert(
        conn,
        "points_entries",
        {
            "club_card_id": card.id,
            "kind": kind,
            "points": points,
            "balance_after": card.points_balance,
            "operation_id": operation_id,
            "reason": reason,
            "occurred_at": now,
        },
    )


def list_points_entries(conn: Connection, card_row_id: int) -> list[dict[str, Any]]:
    found = conn.execute(
        text(
            "SELECT kind, points, balance_after, operation_id, reason, occurred_at"
            " FROM points_entries WHERE club_card_id = :c ORDER BY id"
        ),
        {"c": card_row_id},
    ).mappings()
    return [dict(row) for row in found]


def list_cards(conn: Connection, holder_id: int) -> list[CardRow]:
    found = conn.execute(
        text(
            "SELECT id, issuer_id, holder_id, card_id, state, points_balance, activated_at"
            " FROM club_cards WHERE holder_id = :h ORDER BY id"
        ),
        {"h": holder_id},
    ).mappings()
    return [CardRow(**row) for row in found]


def link_voucher(conn: Connection, *, voucher_id: int, **links: object) -> None:
    """Set ``buyer_holder_id``, ``recipient_holder_id`` and/or ``card_id`` of a voucher."""
    assignments = ", ".join(f"{name} = :{name}" for name in links)
    conn.execute(
        text(f"UPDATE vouchers SET {assignments} WHERE id = :id"), {**links, "id": voucher_id}
    )


_HOLDER_VOUCHERS = text(
    """
    SELECT v.code, t.code AS type_code, t.classification, v.state, v.currency,
           v.balance_minor, v.held_minor, v.valid_until, v.card_id,
           CASE WHEN v.buyer_holder_id = :h THEN 'buyer'
                WHEN v.recipient_holder_id = :h THEN 'recipient'
                ELSE 'card' END AS link
      FROM vouchers v JOIN voucher_types t ON t.id = v.type_id
     WHERE v.issuer_id = :i
       AND (v.buyer_holder_id = :h OR v.recipient_holder_id = :h
            OR v.card_id IN (SELECT card_id FROM club_cards WHERE holder_id = :h))
     ORDER BY v.id
    """
)


def list_holder_vouchers(conn: Connection, *, issuer_id: int, holder_id: int) -> list[Any]:
    return list(conn.execute(_HOLDER_VOUCHERS, {"i": issuer_id, "h": holder_id}).mappings())
