"""Voucher rows: find and lock by code, write back state and cached balances, create."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.sql.elements import TextClause

from scrip.db import raw, rows
from scrip.db.batch import write
from scrip.db.till_rules import TILL_RULES


@dataclass(slots=True)
class VoucherRow:
    """A voucher joined with the type fields every POS decision needs."""

    id: int
    issuer_id: int
    account_id: int
    code: str
    serial_number: int
    state: str
    currency: str
    face_value_minor: int | None
    extra_value_minor: int
    balance_minor: int
    held_minor: int
    valid_from: datetime | None
    valid_until: datetime | None
    card_id: str | None
    card_holder_id: str | None
    pin_hash: str | None
    pin_failed_count: int
    pin_locked: bool
    pending_receipt_id: int | None
    activated_at: datetime | None
    type_id: int
    type_code: str
    classification: str
    value_mode: str
    multi_use: bool
    reloadable: bool
    max_balance_minor: int | None
    min_activation_receipt_minor: int
    min_payment_receipt_minor: int
    validity_basis: str
    validity_days: int | None
    valid_from_on: date | None
    valid_until_on: date | None
    return_to_prepared: bool
    # The secret number in the vault and the length the type asks for (services.lot_secrets).
    pin_length: int | None = None
    secret_key_id: str | None = None
    secret_sealed: bytes | None = field(default=None, repr=False)
    # The restrictions checked at the till (db.till_rules), read with the lock: no extra trip.
    till_rules: dict[str, Any] | None = None
    # Who set a block, at which store, and why (domain.blocks); None when not blocked.
    blocked_by: str | None = None
    block_store_id: int | None = None
    block_reason: str | None = None
    # The store that sold it (domain.scope: the store a voucher belongs to).
    activated_store_id: int | None = None


_SELECT = f"""
    SELECT v.id, v.issuer_id, v.account_id, v.code, v.serial_number, v.state, v.currency,
           v.face_value_minor, v.extra_value_minor, v.balance_minor, v.held_minor,
           v.valid_from, v.valid_until, v.card_id, v.card_holder_id, v.pin_hash,
           v.pin_failed_count, v.pin_locked, v.pending_receipt_id, v.activated_at,
           t.id AS type_id, t.code AS type_code, t.classification, t.value_mode, t.multi_use,
           t.reloadable, t.max_balance_minor, t.min_activation_receipt_minor,
           t.min_payment_receipt_minor, t.validity_basis, t.validity_days, t.valid_from_on,
           t.valid_until_on, t.return_to_prepared, t.pin_length, v.secret_key_id,
           v.secret_sealed, {TILL_RULES} AS till_rules, v.blocked_by, v.block_store_id,
           v.block_reason, v.activated_store_id
      FROM vouchers v JOIN voucher_types t ON t.id = v.type_id
"""
_BY_CODE = text(_SELECT + " WHERE v.issuer_id = :issuer_id AND v.code = :code")
# One voucher (nearly every till call) has its own statement: psycopg works out how to send a
# list parameter by looking at its elements on every execution, ~5% of a redemption's CPU.
_LOCK_BY_CODE = text(_SELECT + " WHERE v.issuer_id = :issuer_id AND v.code = :code FOR UPDATE OF v")
_LOCK_BY_CODES = text(
    _SELECT
    + " WHERE v.issuer_id = :issuer_id AND v.code = ANY(:codes) ORDER BY v.id FOR UPDATE OF v"
)
_LOCK_BY_IDS = text(_SELECT + " WHERE v.id = ANY(:ids) ORDER BY v.id FOR UPDATE OF v")


def find_voucher(conn: Connection, *, issuer_id: int, code: str) -> VoucherRow | None:
    found = raw.execute(conn, _BY_CODE, {"issuer_id": issuer_id, "code": code}, dicts=True)
    row = found.fetchone()
    return VoucherRow(**row) if row else None


def sold_at(alias: str = "v") -> str:
    """SQL for the store a voucher belongs to (``domain.scope``): where it was sold, or where
    value was first put on it by a transfer, from its recorded history at a till; NULL for a
    voucher never sold (head office's). ``activated_store_id`` wins when set. One expression
    for every query that selects by store (bulk runs, searches, reports, the voucher page)."""
    return (
        f"coalesce({alias}.activated_store_id, (SELECT sh.store_id FROM voucher_history sh"
        f" WHERE sh.voucher_id = {alias}.id AND sh.status = 'recorded'"
        " AND sh.store_id IS NOT NULL"
        " AND sh.type IN ('voucher.sold', 'voucher.transferred_in')"
        " ORDER BY sh.id DESC LIMIT 1))"
    )


def find_sold_at(conn: Connection, voucher_id: int) -> int | None:
    """The store the voucher belongs to (:func:`sold_at`; None: head office). Not on
    ``VoucherRow``: only the back office asks, and the till's statements stay as they are."""
    found = conn.execute(
        text(f"SELECT {sold_at()} FROM vouchers v WHERE v.id = :v"), {"v": voucher_id}
    ).scalar_one_or_none()
    return None if found is None else int(found)


def lock_vouchers(conn: Connection, *, issuer_id: int, codes: Sequence[str]) -> list[VoucherRow]:
    """Lock vouchers by code, always in id order so two tills never deadlock each other."""
    if len(codes) == 1:
        statement, params = _LOCK_BY_CODE, {"issuer_id": issuer_id, "code": codes[0]}
    else:
        statement, params = _LOCK_BY_CODES, {"issuer_id": issuer_id, "codes": list(codes)}
    return [VoucherRow(**row) for row in raw.execute(conn, statement, params, dicts=True)]


def lock_vouchers_by_id(conn: Connection, ids: Sequence[int]) -> list[VoucherRow]:
    rows = raw.execute(conn, _LOCK_BY_IDS, {"ids": sorted(set(ids))}, dicts=True)
    return [VoucherRow(**row) for row in rows]


_WRITABLE = (
    "state",
    "balance_minor",
    "held_minor",
    "valid_from",
    "valid_until",
    "pin_failed_count",
    "pin_locked",
    "pending_receipt_id",
    "activated_at",
    "blocked_by",
    "block_store_id",
    "block_reason",
    "activated_store_id",
)


def save_voucher(conn: Connection, voucher: VoucherRow, **extra: Any) -> None:
    """Write back the mutable fields of a locked voucher in one statement."""
    values = {name: getattr(voucher, name) for name in _WRITABLE}
    values.update(extra)
    write(conn, _update(tuple(values)), {**values, "id": voucher.id}, key=("vouchers", voucher.id))


@lru_cache(maxsize=64)
def _update(columns: tuple[str, ...]) -> TextClause:
    # Built once per set of columns: the write-behind combines statements by their text.
    assignments = ", ".join(f"{name} = :{name}" for name in columns)
    return text(f"UPDATE vouchers SET {assignments} WHERE id = :id")


def insert_voucher(conn: Connection, **values: Any) -> int | None:
    """Insert a voucher and return its id; None when its code is already taken in the issuer
    (a generated code that collided: the caller draws another)."""
    statement = rows.insert_statement(
        "vouchers", tuple(values), "id", unless_taken="issuer_id, code"
    )
    found = conn.execute(statement, values).scalar_one_or_none()
    return int(found) if found is not None else None


def next_serial(conn: Connection, type_id: int) -> int:
    # The type row is locked so two generations of one type never hand out the same serial.
    conn.execute(text("SELECT id FROM voucher_types WHERE id = :t FOR UPDATE"), {"t": type_id})
    found = conn.execute(NEXT_SERIAL, {"t": type_id}).scalar_one()
    return int(found)


# Lots reserve their serial range when they are made, before their vouchers exist.
NEXT_SERIAL = text(
    "SELECT greatest((SELECT coalesce(max(serial_number), 0) FROM vouchers WHERE type_id = :t),"
    " (SELECT coalesce(max(serial_from + count - 1), 0) FROM lots WHERE type_id = :t)) + 1"
)
