"""Promotions, the vouchers they issued, and the counters behind the limits of S7.4."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Connection, text

from scrip.db import raw, rows

_COLUMNS = (
    "p.id, p.issuer_id, p.code, p.name, p.kind, p.status, p.starts_on, p.ends_on,"
    " p.allowed_days, p.from_minute, p.until_minute, p.store_ids, p.receipt_text,"
    " p.voucher_type_id, t.code AS type_code, p.params, p.max_per_receipt, p.max_per_holder,"
    " p.created_at"
)
_FROM = " FROM promotions p JOIN voucher_types t ON t.id = p.voucher_type_id"


def insert_promotion(conn: Connection, **values: Any) -> int:
    return rows.insert(conn, "promotions", {**values, "params": json.dumps(values["params"])})


def list_promotions(
    conn: Connection, *, issuer_id: int, status: str | None = None
) -> list[dict[str, Any]]:
    sql = f"SELECT {_COLUMNS}{_FROM} WHERE p.issuer_id = :i"
    if status is not None:
        sql += " AND p.status = :s"
    found = conn.execute(text(sql + " ORDER BY p.id"), {"i": issuer_id, "s": status}).mappings()
    return [dict(row) for row in found]


def find_promotion(conn: Connection, *, issuer_id: int, code: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            text(f"SELECT {_COLUMNS}{_FROM} WHERE p.issuer_id = :i AND p.code = :c"),
            {"i": issuer_id, "c": code},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def set_status(conn: Connection, *, promotion_id: int, status: str) -> None:
    conn.execute(
        text("UPDATE promotions SET status = :s WHERE id = :p"), {"s": status, "p": promotion_id}
    )


def take_prepared(conn: Connection, *, type_id: int) -> tuple[int, str] | None:
    """One prepared-in-advance voucher of the type still in stock, locked; ``SKIP LOCKED`` so
    two tills handing out vouchers never wait for each other or get the same one."""
    row = conn.execute(
        text(
            "SELECT v.id, v.code FROM vouchers v WHERE v.type_id = :t AND v.state = 'generated'"
            " AND v.pending_receipt_id IS NULL AND NOT EXISTS (SELECT 1 FROM promotion_issues i"
            "  WHERE i.voucher_id = v.id) ORDER BY v.id LIMIT 1 FOR UPDATE OF v SKIP LOCKED"
        ),
        {"t": type_id},
    ).first()
    return (int(row[0]), str(row[1])) if row else None


def insert_issue(
    conn: Connection,
    *,
    promotion_id: int,
    voucher_id: int,
    holder_id: int | None,
    receipt_id: int | None,
    operation_id: uuid.UUID,
    state: str,
) -> None:
    rows.insert(
        conn,
        "promotion_issues",
        {
            "promotion_id": promotion_id,
            "voucher_id": voucher_id,
            "holder_id": holder_id,
            "receipt_id": receipt_id,
            "operation_id": operation_id,
            "state": state,
        },
    )


# The counter row is locked, read, compared and written back: without the lock two tills
# would read the same count and both write count + 1 (the control test does exactly that).
_ENSURE_COUNTER = text(
    "INSERT INTO issue_counters (scope, issued_count) VALUES (:s, 0) ON CONFLICT DO NOTHING"
)
_LOCK_COUNTER = text("SELECT issued_count FROM issue_counters WHERE scope = :s FOR UPDATE")
_SET_COUNTER = text("UPDATE issue_counters SET issued_count = :n WHERE scope = :s")


def claim(conn: Connection, *, scope: str, limit: int) -> bool:
    """Count one more voucher in ``scope`` if that stays within ``limit``; False if not."""
    conn.execute(_ENSURE_COUNTER, {"s": scope})
    count = int(conn.execute(_LOCK_COUNTER, {"s": scope}).scalar_one())
    if count + 1 > limit:
        return False
    conn.execute(_SET_COUNTER, {"s": scope, "n": count + 1})
    return True


def unclaim(conn: Connection, *, scope: str) -> None:
    conn.execute(
        text("UPDATE issue_counters SET issued_count = issued_count - 1 WHERE scope = :s"),
        {"s": scope},
    )


def settle_receipt(conn: Connection, *, receipt_id: int, state: str) -> None:
    """The receipt closed: a pending issue is issued when the receipt was confirmed with its
    sale (a sale reversed inside the receipt doesn't count), else cancelled; a cancelled one
    no longer counts against the limits and its points go back to the card."""
    # Every receipt that closes runs this (most have no promotion): db.raw, the till's path.
    settled = raw.execute(
        conn, _SETTLE, {"confirmed": state == "confirmed", "r": receipt_id}, dicts=True
    ).fetchall()
    cancelled = [row for row in settled if row["state"] == "cancelled"]
    _give_back(
        conn,
        cancelled,
        receipt_scope=receipt_scope(receipt_id=receipt_id),
        reason="receipt cancelled",
    )


def cancel_issued(conn: Connection, *, operation_id: uuid.UUID, scope: str | None) -> None:
    """An issue that was posted is reversed (by key): it is cancelled, no longer counts against
    the limits (``scope``: the receipt's, if it claimed one) and its points go back."""
    cancelled = (
        conn.execute(
            text(
                "UPDATE promotion_issues SET state = 'cancelled'"
                " WHERE operation_id = :op AND state = 'issued'"
                " RETURNING promotion_id, holder_id, operation_id"
            ),
            {"op": operation_id},
        )
        .mappings()
        .all()
    )
    _give_back(conn, [dict(row) for row in cancelled], receipt_scope=scope, reason="reversed")


def _give_back(
    conn: Connection, cancelled: list[dict[str, Any]], *, receipt_scope: str | None, reason: str
) -> None:
    for operation_id in {row["operation_id"] for row in cancelled}:
        conn.execute(_GIVE_POINTS_BACK, {"op": operation_id, "reason": reason})
    for row in cancelled:
        if receipt_scope is not None:
            unclaim(conn, scope=receipt_scope)
        if row["holder_id"] is not None:
            unclaim(
                conn,
                scope=holder_scope(promotion_id=row["promotion_id"], holder_id=row["holder_id"]),
            )


_SETTLE = text(
    """
    UPDATE promotion_issues i
       SET state = CASE WHEN :confirmed AND EXISTS (
                   SELECT 1 FROM receipt_operations o WHERE o.operation_id = i.operation_id
                      AND o.voucher_id = i.voucher_id AND o.state = 'confirmed')
                   THEN 'issued' ELSE 'cancelled' END
     WHERE i.receipt_id = :r AND i.state = 'pending'
    RETURNING i.promotion_id, i.holder_id, i.operation_id, i.state
    """
)


# Points spent on vouchers of a cancelled receipt or a reversed issue go back to the card, as an
# adjustment.
_GIVE_POINTS_BACK = text(
    """
    WITH spent AS (
        SELECT club_card_id, -points AS points FROM points_entries
         WHERE operation_id = :op AND kind = 'spend'
    ), back AS (
        UPDATE club_cards c SET points_balance = c.points_balance + spent.points
          FROM spent WHERE c.id = spent.club_card_id
        RETURNING c.id, spent.points, c.points_balance
    )
    INSERT INTO points_entries (club_card_id, kind, points, balance_after, operation_id,
                                reason, occurred_at)
    SELECT id, 'adjust', points, points_balance, :op, :reason, now() FROM back
    """
)


def receipt_scope(*, receipt_id: int | None = None, issuer_id: int = 0, number: str = "") -> str:
    return f"r:{receipt_id}" if receipt_id is not None else f"n:{issuer_id}:{number}"


def holder_scope(*, promotion_id: int, holder_id: int) -> str:
    return f"h:{promotion_id}:{holder_id}"


def count_issued(conn: Connection, *, promotion_id: int, holder_id: int) -> int:
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM promotion_issues WHERE promotion_id = :p"
                " AND holder_id = :h AND state <> 'cancelled'"
            ),
            {"p": promotion_id, "h": holder_id},
        ).scalar_one()
    )
