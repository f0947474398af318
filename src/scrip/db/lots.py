"""Lot rows (S3): the request, its status and progress, and the locks a chunk takes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from scrip.db import bulk, rows
from scrip.db import vouchers as vouchers_db

_COLUMNS = (
    "id, issuer_id, type_id, count, face_value_minor, extra_value_minor, valid_from,"
    " valid_until, campaign, state, serial_from, chunk_size, status, done_count, created_by,"
    " error, created_at, started_at, finished_at"
)


@dataclass(frozen=True, slots=True)
class LotRow:
    id: int
    issuer_id: int
    type_id: int
    count: int
    face_value_minor: int | None
    extra_value_minor: int
    valid_from: datetime | None
    valid_until: datetime | None
    campaign: str | None
    state: str
    serial_from: int
    chunk_size: int
    status: str
    done_count: int
    created_by: str
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def insert_lot(conn: Connection, values: dict[str, Any]) -> int:
    return rows.insert(conn, "lots", values)


def _one(conn: Connection, sql: str, lot_id: int) -> LotRow | None:
    row = conn.execute(text(sql), {"id": lot_id}).mappings().first()
    return None if row is None else LotRow(**row)


def find_lot(conn: Connection, lot_id: int) -> LotRow | None:
    return _one(conn, f"SELECT {_COLUMNS} FROM lots WHERE id = :id", lot_id)


def lock_lot(conn: Connection, lot_id: int) -> LotRow | None:
    return _one(conn, f"SELECT {_COLUMNS} FROM lots WHERE id = :id FOR UPDATE", lot_id)


def add_progress(conn: Connection, lot_id: int, done: int) -> LotRow:
    """Count a finished chunk; the lot row is locked only from here to the chunk's commit."""
    row = conn.execute(
        text(f"UPDATE lots SET done_count = done_count + :n WHERE id = :id RETURNING {_COLUMNS}"),
        {"n": done, "id": lot_id},
    ).mappings()
    return LotRow(**row.one())


def list_unfinished(conn: Connection) -> list[int]:
    rows = conn.execute(
        text("SELECT id FROM lots WHERE status IN ('queued', 'running') ORDER BY id")
    )
    return [int(value) for value in rows.scalars()]


def set_status(
    conn: Connection, lot_id: int, *, status: str, now: datetime, error: str | None = None
) -> None:
    conn.execute(
        text(
            "UPDATE lots SET status = :status, error = :error,"
            " started_at = coalesce(started_at, :now),"
            " finished_at = :finished WHERE id = :id"
        ),
        {
            "status": status,
            "error": error,
            "now": now,
            "finished": now if status in ("done", "failed") else None,
            "id": lot_id,
        },
    )


def _type(conn: Connection, type_id: int, lock: str) -> dict[str, Any]:
    row = conn.execute(
        text(
            "SELECT t.*, i.code_prefix, i.timezone FROM voucher_types t"
            f" JOIN issuers i ON i.id = t.issuer_id WHERE t.id = :id {lock}"
        ),
        {"id": type_id},
    ).mappings()
    return dict(row.one())


def lock_type(conn: Connection, type_id: int) -> dict[str, Any]:
    """The voucher type row (with the issuer's prefix and zone), locked: serials of a type
    are handed out one request at a time."""
    return _type(conn, type_id, "FOR UPDATE OF t")


def find_type(conn: Connection, type_id: int) -> dict[str, Any]:
    return _type(conn, type_id, "")


def next_serial(conn: Connection, type_id: int) -> int:
    """The first free serial of a type, past its vouchers and reserved lot ranges (the type
    row must be locked)."""
    return int(conn.execute(vouchers_db.NEXT_SERIAL, {"t": type_id}).scalar_one())


def serial_exists(conn: Connection, *, type_id: int, serial: int) -> bool:
    found = conn.execute(
        text("SELECT 1 FROM vouchers WHERE type_id = :t AND serial_number = :s"),
        {"t": type_id, "s": serial},
    ).first()
    return found is not None


def existing_codes(conn: Connection, *, issuer_id: int, codes: Sequence[str]) -> set[str]:
    """Which of ``codes`` the issuer already has (after a unique-index conflict)."""
    rows = conn.execute(
        text("SELECT code FROM vouchers WHERE issuer_id = :i AND code = ANY(:codes)"),
        {"i": issuer_id, "codes": list(codes)},
    )
    return {str(code) for code in rows.scalars()}


def find_type_id(conn: Connection, *, issuer_id: int, code: str) -> int | None:
    found = conn.execute(
        text("SELECT id FROM voucher_types WHERE issuer_id = :i AND code = :c"),
        {"i": issuer_id, "c": code},
    ).scalar_one_or_none()
    return None if found is None else int(found)


VOUCHER_COLUMNS = (
    "id",
    "issuer_id",
    "type_id",
    "account_id",
    "code",
    "serial_number",
    "state",
    "currency",
    "face_value_minor",
    "extra_value_minor",
    "balance_minor",
    "valid_from",
    "valid_until",
    "activated_at",
    "secret_key_id",
    "secret_sealed",
    "lot_id",
)
_CODE_INDEX = "uq_vouchers_issuer_id"


def copy_vouchers(conn: Connection, rows: Iterable[Sequence[Any]]) -> bool:
    """COPY voucher rows (:data:`VOUCHER_COLUMNS`) inside a savepoint; False, with nothing
    written, when a code is already taken (the caller draws new ones and tries again)."""
    savepoint = conn.begin_nested()
    try:
        bulk.copy_rows(conn, "vouchers", VOUCHER_COLUMNS, rows)
    except psycopg.errors.UniqueViolation as error:
        savepoint.rollback()
        if error.diag.constraint_name != _CODE_INDEX:
            raise
        return False
    savepoint.commit()
    return True


def copy_accounts(conn: Connection, *, ids: Sequence[int], issuer_id: int, currency: str) -> None:
    rows = ((account_id, issuer_id, "voucher_liability", currency) for account_id in ids)
    bulk.copy_rows(conn, "ledger_accounts", ("id", "issuer_id", "kind", "currency"), rows)


def skip_row_checks(conn: Connection) -> bool:
    """Switch off per-row foreign-key triggers for this transaction, where the role may
    (``session_replication_role``: superuser, or granted ``SET`` on it). A lot checks its
    references once, set-based, with :func:`count_unreferenced` instead: per-row checks are
    most of the cost of a million-row COPY. False (checks stay on) when not allowed."""
    savepoint = conn.begin_nested()
    try:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
    except DBAPIError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def restore_row_checks(conn: Connection) -> None:
    conn.execute(text("SET LOCAL session_replication_role = origin"))


_RANGE = "v.type_id = :type AND v.serial_number BETWEEN :first AND :last"


def count_unreferenced(conn: Connection, *, type_id: int, first: int, last: int) -> int:
    """Vouchers of a serial range whose type, issuer or account do not exist (must be 0)."""
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM vouchers v"
                " LEFT JOIN voucher_types t ON t.id = v.type_id AND t.issuer_id = v.issuer_id"
                " LEFT JOIN ledger_accounts a ON a.id = v.account_id"
                " LEFT JOIN lots l ON l.id = v.lot_id"
                f" WHERE {_RANGE} AND (t.id IS NULL OR a.id IS NULL"
                " OR (v.lot_id IS NOT NULL AND l.id IS NULL))"
            ),
            {"type": type_id, "first": first, "last": last},
        ).scalar_one()
    )


def insert_created_history(
    conn: Connection, *, type_id: int, first: int, last: int, values: dict[str, Any]
) -> None:
    """A ``voucher.created`` row for each voucher of a serial range, written by the server."""
    conn.execute(
        text(
            "INSERT INTO voucher_history (voucher_id, operation_id, type, status, occurred_at,"
            " amount_minor, balance_after_minor, state_after, details)"
            " SELECT v.id, :op, 'voucher.created', 'recorded', :now, :amount, v.balance_minor,"
            f" v.state, CAST(:details AS jsonb) FROM vouchers v WHERE {_RANGE}"
        ),
        {"type": type_id, "first": first, "last": last, **values},
    )


def insert_funding(
    conn: Connection, *, type_id: int, first: int, last: int, values: dict[str, Any]
) -> None:
    """Posted transfers from ``:debit`` to each voucher account of a serial range."""
    conn.execute(
        text(
            "INSERT INTO ledger_transfers (operation_id, debit_account_id, credit_account_id,"
            " amount_minor, currency, code, state, created_at, resolved_at)"
            " SELECT :op, :debit, v.account_id, v.balance_minor, v.currency, :code, 'posted',"
            f" :now, :now FROM vouchers v WHERE {_RANGE}"
        ),
        {"type": type_id, "first": first, "last": last, **values},
    )
