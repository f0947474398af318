"""Loyalty points: a points account per club card, with its earn / spend history.

``LoyaltySystem`` is the seam to an external loyalty program; :data:`BUILT_IN` keeps the
points in scrip's own tables and is the default. Points are spent under the card's row lock,
in the caller's transaction, so two tills can never spend the same points (the balance and its
history row change together, and the balance can't go below zero).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from scrip.db import holders as holders_db
from scrip.domain.errors import InsufficientBalance, InvalidInput, TransitionNotAllowed
from scrip.services.holders import get_card, locked_card


@dataclass(frozen=True, slots=True)
class PointsMove:
    """Points earned on or spent from one club card, and why."""

    issuer_id: int
    card_id: str
    points: int
    reason: str
    now: datetime
    operation_id: uuid.UUID | None = None


class LoyaltySystem(Protocol):
    """What scrip asks of a loyalty program. Each returns the card's points after the call."""

    def balance(self, conn: Connection, *, issuer_id: int, card_id: str) -> int: ...

    def earn(self, conn: Connection, move: PointsMove) -> int: ...

    def spend(self, conn: Connection, move: PointsMove) -> int: ...


class BuiltInLoyalty:
    """Points in ``club_cards.points_balance``, history in ``points_entries``."""

    def balance(self, conn: Connection, *, issuer_id: int, card_id: str) -> int:
        return get_card(conn, issuer_id=issuer_id, card_id=card_id).points_balance

    def earn(self, conn: Connection, move: PointsMove) -> int:
        return _book(conn, move, "earn", move.points)

    def spend(self, conn: Connection, move: PointsMove) -> int:
        return _book(conn, move, "spend", -move.points)


def _book(conn: Connection, move: PointsMove, kind: str, delta: int) -> int:
    if move.points <= 0:
        raise InvalidInput("points must be positive", code="invalid_points")
    card = locked_card(conn, issuer_id=move.issuer_id, card_id=move.card_id)
    if card.state != "active":
        raise TransitionNotAllowed(
            f"the club card is {card.state}", code="club_card_not_active", state=card.state
        )
    if card.points_balance + delta < 0:
        raise InsufficientBalance(
            "not enough points on the card",
            code="insufficient_points",
            available=card.points_balance,
            requested=move.points,
        )
    card.points_balance += delta
    holders_db.save_card(conn, card)
    holders_db.insert_points_entry(
        conn,
        card=card,
        kind=kind,
        points=delta,
        operation_id=move.operation_id,
        reason=move.reason,
        now=move.now,
    )
    return card.points_balance


BUILT_IN: LoyaltySystem = BuiltInLoyalty()
