"""Registers and the context a register key opens: its store, issuer and shared accounts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text


@dataclass(frozen=True, slots=True)
class RegisterContext:
    register_id: int
    serial_number: str
    store_id: int
    store_code: str
    issuer_id: int
    currency: str
    timezone: str
    store_timezone: str
    receipt_number_required: bool
    pin_max_attempts: int
    receipt_timeout_s: int
    store_account_id: int


_BY_KEY = text(
    """
    SELECT r.id AS register_id, r.serial_number, s.id AS store_id, s.code AS store_code,
           i.id AS issuer_id, i.currency, i.timezone,
           coalesce(s.timezone, i.timezone) AS store_timezone,
           i.receipt_number_required, i.pin_max_attempts, i.receipt_timeout_s,
           a.id AS store_account_id
      FROM registers r
      JOIN stores s ON s.id = r.store_id
      JOIN issuers i ON i.id = s.issuer_id
      JOIN ledger_accounts a ON a.issuer_id = i.id AND a.kind = 'store_clearing'
                            AND a.store_id = s.id AND a.currency = i.currency
     WHERE r.api_key_hash = :key_hash AND r.active
    """
)


def find_register_by_key_hash(conn: Connection, key_hash: str) -> RegisterContext | None:
    row = conn.execute(_BY_KEY, {"key_hash": key_hash}).mappings().first()
    return RegisterContext(**row) if row else None


def insert_register(
    conn: Connection, *, store_id: int, serial_number: str, key_hash: str, key_hint: str
) -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO registers (store_id, serial_number, api_key_hash, api_key_hint)"
                " VALUES (:store_id, :serial, :hash, :hint) RETURNING id"
            ),
            {"store_id": store_id, "serial": serial_number, "hash": key_hash, "hint": key_hint},
        ).scalar_one()
    )
