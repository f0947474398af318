"""What a refusal must leave untouched: one voucher's state, balance, hold, history and ledger."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from tests.builders import World


@dataclass(frozen=True)
class Snapshot:
    state: str
    balance_minor: int
    held_minor: int
    pin_failed_count: int
    history_rows: int
    transfers: int


_READ = text(
    "SELECT v.state, v.balance_minor, v.held_minor, v.pin_failed_count,"
    " (SELECT count(*) FROM voucher_history h WHERE h.voucher_id = v.id),"
    " (SELECT count(*) FROM ledger_transfers t"
    "   WHERE t.debit_account_id = v.account_id OR t.credit_account_id = v.account_id)"
    " FROM vouchers v WHERE v.issuer_id = :issuer AND v.code = :code"
)


def read(conn: Connection, issuer_id: int, code: str) -> Snapshot:
    return Snapshot(*conn.execute(_READ, {"issuer": issuer_id, "code": code}).one())


def snapshot(engine: Engine, shop: World, code: str) -> Snapshot:
    with engine.connect() as conn:
        return read(conn, shop.issuer_id, code)


def history_types(engine: Engine, shop: World, code: str) -> list[tuple[str, str]]:
    """(type, status) of every history row of the voucher, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT h.type, h.status FROM voucher_history h JOIN vouchers v"
                " ON v.id = h.voucher_id WHERE v.issuer_id = :issuer AND v.code = :code"
                " ORDER BY h.id"
            ),
            {"issuer": shop.issuer_id, "code": code},
        ).all()
    return [(r[0], r[1]) for r in rows]
