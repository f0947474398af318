"""Promotions that issue vouchers at the till (S8): which vouchers a receipt earns.

Pure: a list of :class:`Promotion` and the :class:`Occasion` the till presents in, the
:class:`Award` list out. Storage decides nothing here; it picks or creates the vouchers,
counts the limits of S7.4 under its locks and spends the points.

The seven kinds and their ``params``:

==================  =========================================================================
kind                params → what the receipt earns
==================  =========================================================================
``prepared``        ``min_receipt_minor`` → one prepared-in-advance voucher of the type
``card_activation`` ``value_minor`` → one voucher when the club card is activated, bound to it
``points``          ``points_per_voucher``, ``value_minor`` → a voucher per that many points
                    the holder chooses to spend (points spent in the same transaction)
``personal``        ``holder_refs``, ``value_minor`` → one voucher for a selected holder
``progressive``     ``thresholds`` [[receipt_minor, value_minor], …] → one voucher of the value
                    of the highest threshold the receipt reaches
``purchased_goods`` ``group``, ``quantity``, ``value_minor`` → a voucher per ``quantity`` items
                    of the group
``campaign``        ``issuing_group``, ``min_amount_minor``, ``using_group``, ``value_minor``
                    → a voucher valid only for the using group
==================  =========================================================================

A promotion counts only while ``active``, between its dates (the store's local dates), in its
days and hours and in its stores. At most ``max_per_receipt`` awards of a promotion come from
one evaluation; the holder limit needs storage and is counted there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from scrip.domain import schedule as schedules
from scrip.domain.basket import Basket, amount_in_groups, quantity_in_group
from scrip.domain.errors import InvalidInput
from scrip.domain.schedule import Schedule
from scrip.domain.validity import zone


class Kind(StrEnum):
    prepared = "prepared"
    card_activation = "card_activation"
    points = "points"
    personal = "personal"
    progressive = "progressive"
    purchased_goods = "purchased_goods"
    campaign = "campaign"


@dataclass(frozen=True, slots=True)
class Promotion:
    id: int
    code: str
    kind: Kind
    params: Mapping[str, Any]
    status: str = "active"
    starts_on: date | None = None
    ends_on: date | None = None
    schedule: Schedule = field(default_factory=Schedule)
    store_ids: tuple[int, ...] | None = None
    receipt_text: str = ""
    max_per_receipt: int = 3
    max_per_holder: int = 5


@dataclass(frozen=True, slots=True)
class Occasion:
    """The receipt and who is at the till: the holder (by reference) behind the card shown."""

    basket: Basket
    store_id: int
    now: datetime
    tz: str
    holder_ref: str | None = None
    card_activated: bool = False
    points_to_spend: int = 0


@dataclass(frozen=True, slots=True)
class Award:
    """One voucher to issue. ``value_minor`` None: the type's (or prepared voucher's) value."""

    promotion: Promotion
    value_minor: int | None
    using_groups: tuple[str, ...] | None = None
    bind_card: bool = False
    points_spent: int = 0


def _int(params: Mapping[str, Any], name: str, *, minimum: int = 1) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(
            f"the promotion needs {name} as an integer of at least {minimum}",
            code="invalid_promotion",
            param=name,
        )
    return value


def _text(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"the promotion needs {name}", code="invalid_promotion", param=name)
    return value


def _thresholds(params: Mapping[str, Any]) -> list[tuple[int, int]]:
    raw = params.get("thresholds")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(
            "thresholds are [[receipt_minor, value_minor], …]",
            code="invalid_promotion",
            param="thresholds",
        )
    pairs = []
    for pair in raw:
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            raise InvalidInput(
                "a threshold is [receipt_minor, value_minor]",
                code="invalid_promotion",
                param="thresholds",
            )
        pairs.append(
            (
                _int({"receipt_minor": pair[0]}, "receipt_minor", minimum=0),
                _int({"value_minor": pair[1]}, "value_minor"),
            )
        )
    return sorted(pairs)


def check_params(kind: Kind, params: Mapping[str, Any]) -> None:
    """Refuse a promotion whose parameters its kind can't use (before it is stored)."""
    probe = Promotion(0, "probe", kind, params)
    _AWARDS[kind](probe, Occasion(Basket(), 0, datetime.fromtimestamp(0, UTC), "UTC"))


def receipt_amount(basket: Basket) -> int:
    return basket.total_minor if basket.total_minor is not None else basket.lines_total


def _prepared(p: Promotion, o: Occasion) -> list[Award]:
    minimum = _int(p.params, "min_receipt_minor", minimum=0)
    return [Award(p, None)] if receipt_amount(o.basket) >= minimum else []


def _card_activation(p: Promotion, o: Occasion) -> list[Award]:
    value = _int(p.params, "value_minor")
    return [Award(p, value, bind_card=True)] if o.card_activated else []


def _points(p: Promotion, o: Occasion) -> list[Award]:
    per_voucher = _int(p.params, "points_per_voucher")
    value = _int(p.params, "value_minor")
    count = o.points_to_spend // per_voucher
    return [Award(p, value, bind_card=True, points_spent=per_voucher)] * count


def _personal(p: Promotion, o: Occasion) -> list[Award]:
    value = _int(p.params, "value_minor")
    selected = p.params.get("holder_refs")
    if not isinstance(selected, list) or not all(isinstance(r, str) for r in selected):
        raise InvalidInput(
            "holder_refs is a list of card-holder ids",
            code="invalid_promotion",
            param="holder_refs",
        )
    return [Award(p, value, bind_card=True)] if o.holder_ref in selected else []


def _progressive(p: Promotion, o: Occasion) -> list[Award]:
    amount = receipt_amount(o.basket)
    reached = [value for threshold, value in _thresholds(p.params) if amount >= threshold]
    return [Award(p, reached[-1])] if reached else []


def _purchased_goods(p: Promotion, o: Occasion) -> list[Award]:
    group, per = _text(p.params, "group"), _int(p.params, "quantity")
    value = _int(p.params, "value_minor")
    return [Award(p, value)] * (quantity_in_group(o.basket, group) // per)


def _campaign(p: Promotion, o: Occasion) -> list[Award]:
    issuing, using = _text(p.params, "issuing_group"), _text(p.params, "using_group")
    minimum = _int(p.params, "min_amount_minor")
    value = _int(p.params, "value_minor")
    if amount_in_groups(o.basket, [issuing]) < minimum:
        return []
    return [Award(p, value, using_groups=(using,))]


_AWARDS = {
    Kind.prepared: _prepared,
    Kind.card_activation: _card_activation,
    Kind.points: _points,
    Kind.personal: _personal,
    Kind.progressive: _progressive,
    Kind.purchased_goods: _purchased_goods,
    Kind.campaign: _campaign,
}


def is_running(p: Promotion, o: Occasion) -> bool:
    """Active, between its dates (local to the store), in its days, hours and stores."""
    if p.status != "active":
        return False
    today = o.now.astimezone(zone(o.tz)).date()
    if (p.starts_on and today < p.starts_on) or (p.ends_on and today > p.ends_on):
        return False
    if p.store_ids is not None and o.store_id not in p.store_ids:
        return False
    return schedules.refusal(p.schedule, o.now, o.tz) is None


def evaluate(promotions: Sequence[Promotion], occasion: Occasion) -> list[Award]:
    """The vouchers the occasion earns, at most ``max_per_receipt`` per promotion."""
    awards: list[Award] = []
    for promotion in promotions:
        if is_running(promotion, occasion):
            earned = _AWARDS[promotion.kind](promotion, occasion)
            awards.extend(earned[: promotion.max_per_receipt])
    return awards
