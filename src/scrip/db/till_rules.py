"""What the till checks beyond balance and state: a voucher's effective restrictions (its own
override, else its type's rule), how many of its type a receipt already used, and what a
presented club card number is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from scrip.domain import restrictions
from scrip.domain.schedule import Schedule


@dataclass(frozen=True, slots=True)
class RulesRow:
    supported_products: list[str] | None
    supported_product_groups: list[str] | None
    allowed_store_ids: list[int] | None
    allowed_days: list[int] | None
    allowed_from_minute: int | None
    allowed_until_minute: int | None
    max_per_receipt: int | None
    discount_percent_bp: int | None
    earns_points: bool
    e_voucher_use: str | None
    buyer_holder_id: int | None
    recipient_holder_id: int | None

    def rules(self, *, card_id: str | None) -> restrictions.Rules:
        """The restrictions the till checks (``card_id``: the club card the voucher is bound
        to), and what a look-up shows (``services.views.Restrictions``)."""

        def listed(values: list[Any] | None) -> tuple[Any, ...] | None:
            return tuple(values) if values is not None else None

        days = self.allowed_days
        return restrictions.Rules(
            products=listed(self.supported_products),
            groups=listed(self.supported_product_groups),
            store_ids=listed(self.allowed_store_ids),
            schedule=Schedule(
                days=frozenset(days) if days is not None else None,
                from_minute=self.allowed_from_minute,
                until_minute=self.allowed_until_minute,
            ),
            max_per_receipt=self.max_per_receipt,
            card_id=card_id,
            e_voucher_use=self.e_voucher_use,
            buyer_holder_id=self.buyer_holder_id,
            recipient_holder_id=self.recipient_holder_id,
        )


# Read as one JSON value beside the voucher's row (``db.vouchers``), under the same lock.
TILL_RULES = """jsonb_build_object(
           'supported_products', coalesce(v.supported_products, t.supported_products),
           'supported_product_groups',
               coalesce(v.supported_product_groups, t.supported_product_groups),
           'allowed_store_ids', coalesce(v.allowed_store_ids, t.allowed_store_ids),
           'allowed_days', t.allowed_days, 'allowed_from_minute', t.allowed_from_minute,
           'allowed_until_minute', t.allowed_until_minute, 'max_per_receipt', t.max_per_receipt,
           'discount_percent_bp', t.discount_percent_bp, 'earns_points', t.earns_points,
           'e_voucher_use', t.e_voucher_use, 'buyer_holder_id', v.buyer_holder_id,
           'recipient_holder_id', v.recipient_holder_id)"""


def rules_of(found: dict[str, Any]) -> RulesRow:
    return RulesRow(**found)


_ON_RECEIPT = text(
    """
    SELECT count(DISTINCT h.voucher_id) FILTER (WHERE h.voucher_id <> :voucher_id),
           coalesce(sum(h.amount_minor), 0)
      FROM voucher_history h JOIN vouchers v ON v.id = h.voucher_id
     WHERE v.type_id = :type_id
       AND h.type = 'voucher.redeemed' AND h.status <> 'cancelled'
       AND (h.receipt_id = :receipt_id
            OR (CAST(:receipt_id AS BIGINT) IS NULL AND h.receipt_number = :number
                AND h.store_id = :store_id))
       -- a payment the till reversed by its key no longer pays on the receipt
       AND NOT EXISTS (
           SELECT 1 FROM voucher_history rv
            WHERE rv.voucher_id = h.voucher_id AND rv.type = 'voucher.reversed'
              AND rv.details ->> 'reversed_operation_id' = CAST(h.operation_id AS text))
    """
)


def type_on_receipt(
    conn: Connection,
    *,
    type_id: int,
    voucher_id: int,
    receipt_id: int | None,
    receipt_number: str | None,
    store_id: int,
) -> tuple[int, int]:
    """How many *other* vouchers of the type already pay on this receipt (open, or by its
    number), and how much the type's vouchers (this one too) have paid on it."""
    if receipt_id is None and receipt_number is None:
        return 0, 0
    others, paid = conn.execute(
        _ON_RECEIPT,
        {
            "type_id": type_id,
            "voucher_id": voucher_id,
            "receipt_id": receipt_id,
            "number": receipt_number,
            "store_id": store_id,
        },
    ).one()
    return int(others), int(paid)


@dataclass(frozen=True, slots=True)
class PresentedCard:
    club_card_id: int | None
    holder_id: int | None
    voucher_classification: str | None


_PRESENTED = text(
    """
    SELECT c.id AS club_card_id, c.holder_id,
           (SELECT t.classification FROM vouchers v JOIN voucher_types t ON t.id = v.type_id
             WHERE v.issuer_id = :issuer_id AND v.code = :card) AS voucher_classification
      FROM (SELECT 1) one
      LEFT JOIN club_cards c ON c.issuer_id = :issuer_id AND c.card_id = :card
    """
)


def presented_card(conn: Connection, *, issuer_id: int, card_id: str) -> PresentedCard:
    """The club card behind a presented number, and whether the number is a voucher's code."""
    row = conn.execute(_PRESENTED, {"issuer_id": issuer_id, "card": card_id}).mappings().one()
    return PresentedCard(**row)
