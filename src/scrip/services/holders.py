"""Holders and club cards (S1): a customer account, its cards and the vouchers linked to it.

A voucher is linked to a holder as the buyer or the recipient of an e-voucher (the rule of S6
on personal and shareable e-vouchers reads these), or by being bound to one of the holder's
club cards (``vouchers.card_id``).

Holders are customer records of the issuer's head office (``domain.scope``): the functions the
back office calls take the caller's ``scope`` and refuse store users and other issuers' users.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from scrip.db import history as history_db
from scrip.db import holders as holders_db
from scrip.db import vouchers as vouchers_db
from scrip.db.history import HistoryEntry, Where
from scrip.db.holders import CardRow, HolderRow
from scrip.domain.codes import normalize
from scrip.domain.errors import InvalidInput, NotFound, TransitionNotAllowed
from scrip.domain.scope import Scope, check_head_office

LINKS = {"buyer": "buyer_holder_id", "recipient": "recipient_holder_id"}


@dataclass(frozen=True, slots=True)
class HolderView:
    holder_ref: str
    name: str | None
    email: str | None
    cards: tuple[dict[str, Any], ...]


def create_holder(
    conn: Connection,
    *,
    scope: Scope,
    issuer_id: int,
    holder_ref: str,
    name: str | None,
    email: str | None,
) -> HolderRow:
    check_head_office(scope, issuer_id)
    if holders_db.find_holder(conn, issuer_id=issuer_id, holder_ref=holder_ref) is not None:
        raise InvalidInput("a holder with this id exists", code="holder_exists")
    holders_db.insert_holder(
        conn, issuer_id=issuer_id, holder_ref=holder_ref, name=name, email=email
    )
    return get_holder(conn, scope=scope, issuer_id=issuer_id, holder_ref=holder_ref)


def get_holder(conn: Connection, *, scope: Scope, issuer_id: int, holder_ref: str) -> HolderRow:
    check_head_office(scope, issuer_id)
    found = holders_db.find_holder(conn, issuer_id=issuer_id, holder_ref=holder_ref)
    if found is None:
        raise NotFound("no holder with this id", code="holder_not_found")
    return found


def view(conn: Connection, holder: HolderRow) -> HolderView:
    cards = tuple(
        {"card_id": c.card_id, "state": c.state, "points_balance": c.points_balance}
        for c in holders_db.list_cards(conn, holder.id)
    )
    return HolderView(holder.holder_ref, holder.name, holder.email, cards)


def add_card(
    conn: Connection, *, scope: Scope, issuer_id: int, holder_ref: str, card_id: str
) -> CardRow:
    """A new club card for the holder, inactive until it is activated at a till."""
    holder = get_holder(conn, scope=scope, issuer_id=issuer_id, holder_ref=holder_ref)
    if holders_db.find_card(conn, issuer_id=issuer_id, card_id=card_id) is not None:
        raise InvalidInput("a club card with this number exists", code="club_card_exists")
    if vouchers_db.find_voucher(conn, issuer_id=issuer_id, code=normalize(card_id)):
        raise InvalidInput("this number is a voucher's code", code="not_a_loyalty_card")
    holders_db.insert_card(conn, issuer_id=issuer_id, holder_id=holder.id, card_id=card_id)
    return get_card(conn, issuer_id=issuer_id, card_id=card_id)


def get_card(conn: Connection, *, issuer_id: int, card_id: str) -> CardRow:
    found = holders_db.find_card(conn, issuer_id=issuer_id, card_id=card_id)
    if found is None:
        raise NotFound("no club card with this number", code="club_card_not_found")
    return found


def locked_card(conn: Connection, *, issuer_id: int, card_id: str) -> CardRow:
    """The card's row, locked until the transaction ends (its points and state change)."""
    card = holders_db.lock_card(conn, issuer_id=issuer_id, card_id=card_id)
    if card is None:
        raise NotFound("no club card with this number", code="club_card_not_found")
    return card


def activate_card(conn: Connection, *, issuer_id: int, card_id: str, now: datetime) -> CardRow:
    card = locked_card(conn, issuer_id=issuer_id, card_id=card_id)
    if card.state != "inactive":
        raise TransitionNotAllowed(
            f"the club card is {card.state}", code="club_card_not_inactive", state=card.state
        )
    card.state, card.activated_at = "active", now
    holders_db.save_card(conn, card)
    return card


def link_voucher(
    conn: Connection,
    *,
    scope: Scope,
    issuer_id: int,
    holder_ref: str,
    code: str,
    link: str,
    now: datetime,
) -> None:
    """Link a voucher to a holder as ``buyer`` or ``recipient``, or ``card:<card id>``; the
    link changes who may use it (S6), so it is written to the voucher's history."""
    holder = get_holder(conn, scope=scope, issuer_id=issuer_id, holder_ref=holder_ref)
    voucher = vouchers_db.find_voucher(conn, issuer_id=issuer_id, code=normalize(code))
    if voucher is None:
        raise NotFound("no voucher with this code", code="voucher_not_found")
    if link.startswith("card:"):
        card = get_card(conn, issuer_id=issuer_id, card_id=link.removeprefix("card:"))
        if card.holder_id != holder.id:
            raise InvalidInput("the card belongs to another holder", code="club_card_not_holders")
        holders_db.link_voucher(conn, voucher_id=voucher.id, card_id=card.card_id)
    elif link in LINKS:
        holders_db.link_voucher(conn, voucher_id=voucher.id, **{LINKS[link]: holder.id})
    else:
        raise InvalidInput("link is buyer, recipient or card:<card id>", code="invalid_link")
    entry = HistoryEntry(
        voucher_id=voucher.id,
        type="voucher.linked",
        status="recorded",
        state_before=voucher.state,
        state_after=voucher.state,
        amount_minor=None,
        balance_after_minor=voucher.balance_minor,
        details={"holder_ref": holder.holder_ref, "link": link},
    )
    history_db.record(conn, [entry], where=Where(), now=now)


def holder_vouchers(
    conn: Connection, *, scope: Scope, issuer_id: int, holder_ref: str
) -> list[dict[str, Any]]:
    holder = get_holder(conn, scope=scope, issuer_id=issuer_id, holder_ref=holder_ref)
    return [
        dict(row)
        for row in holders_db.list_holder_vouchers(conn, issuer_id=issuer_id, holder_id=holder.id)
    ]
