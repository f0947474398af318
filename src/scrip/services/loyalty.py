"""Loyalty points: a points account per club card, with its earn / spend history.

``LoyaltySystem`` is the seam to an external loyalty program; :data:`BUILT_IN` keeps the
points in scrip's own tables and is the default. Points are spent under the card's row lock,
in the caller's transaction, so two tills can never spend the same points (the balance and its
history row change together, and the balance can't go below zero).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from scrip.db import holders as holders_db
from scrip.db.holders import CardRow
from scrip.domain.errors import InsufficientBalance, InvalidInput, NotFound, TransitionNotAllowed


class LoyaltySystem(Protocol):
    """What scrip asks of a loyalty program. Each returns the card's points after the call."""

    def balance(self, conn: Connection, *, issuer_id: int, card_id: str) -> int: ...

    def earn(
        self,
        conn: Connection,
        *,
        issuer_id: int,
        card_id: str,
        points: int,
        operation_id: uuid.UUID | None,
        reason: str,
        now: datetime,
    ) -> int: ...

    def spend(
        self,
        conn: Connection,
        *,
        issuer_id: int,
        card_id: str,
        points: int,
        operation_id: uuid.UUID | None,
        reason: str,
        now: datetime,
    ) -> int: ...


class BuiltInLoyalty:
    """Points in ``club_cards.points_balance``, history in ``points_entries``."""

    def balance(self, conn: Connection, *, issuer_id: int, card_id: str) -> int:
        card = holders_db.find_card(conn, issuer_id=issuer_id, card_id=card_id)
        if card is None:
            raise NotFound("no club card with this number", code="club_card_not_found")
        return card.points_balance

    def earn(
        self,
        conn: Connection,
        *,
        issuer_id: int,
        card_id: str,
        points: int,
        operation_id: uuid.UUID | None,
        reason: str,
        now: datetime,
    ) -> int:
        card = _locked_active(conn, issuer_id=issuer_id, card_id=card_id, points=points)
        card.points_balance += points
        return _book(conn, card, "earn", points, operation_id, reason, now)

    def spend(
        self,
        conn: Connection,
        *,
        issuer_id: int,
        card_id: str,
        points: int,
        operation_id: uuid.UUID | None,
        reason: str,
        now: datetime,
    ) -> int:
        card = _locked_active(conn, issuer_id=issuer_id, card_id=card_id, points=points)
        if card.points_balance < points:
            raise InsufficientBalance(
                "not enough points on the card",
                code="insufficient_points",
                available=card.points_balance,
                requested=points,
            )
        card.points_balance -= points
        return _book(conn, card, "spend", -points, operation_id, reason, now)


def _locked_active(conn: Connection, *, issuer_id: int, card_id: str, points: int) -> CardRow:
    if points <= 0:
        raise InvalidInput("points must be positive", code="invalid_points")
    card = holders_db.lock_card(conn, issuer_id=issuer_id, card_id=card_id)
    if card is None:
        raise NotFound("no club card with this number", code="club_card_not_found")
    if card.state != "active":
        raise TransitionNotAllowed(
            f"the club card is {card.state}", code="club_card_not_active", state=card.state
        )
    return card


def _book(
    conn: Connection,
    card: CardRow,
    kind: str,
    points: int,
    operation_id: uuid.UUID | None,
    reason: str,
    now: datetime,
) -> int:
    holders_db.save_card(conn, card)
    holders_db.insert_points_entry(
        conn, card=card, kind=kind, points=points, operation_id=operation_id, reason=reason, now=now
    )
    return card.points_balance


BUILT_IN: LoyaltySystem = BuiltInLoyalty()
