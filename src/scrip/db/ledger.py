"""Ledger storage: accounts, transfers (pending → posted / voided / expired) and their state.

Shared accounts (store clearing, promotional expense, breakage income) carry no balance column:
their balance is a sum over transfers, so no till ever waits on another till's row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from scrip.db import raw
from scrip.db.batch import write


@dataclass(frozen=True, slots=True)
class NewTransfer:
    debit_account_id: int
    credit_account_id: int
    amount_minor: int
    code: str
    reverses: int | None = None  # the transfer a reversal compensates


@dataclass(frozen=True, slots=True)
class PostedTransfer:
    id: int
    debit_account_id: int
    credit_account_id: int
    amount_minor: int
    code: str

    def compensation(self) -> NewTransfer:
        """The reversal of this transfer: the same amount the other way, naming it."""
        return NewTransfer(
            self.credit_account_id, self.debit_account_id, self.amount_minor, "reversal", self.id
        )


def insert_account(
    conn: Connection, *, issuer_id: int, kind: str, currency: str, store_id: int | None = None
) -> int:
    return int(
        conn.execute(
            text(
                "INSERT INTO ledger_accounts (issuer_id, kind, currency, store_id)"
                " VALUES (:issuer_id, :kind, :currency, :store_id) RETURNING id"
            ),
            {"issuer_id": issuer_id, "kind": kind, "currency": currency, "store_id": store_id},
        ).scalar_one()
    )


def shared_account_id(conn: Connection, *, issuer_id: int, kind: str, currency: str) -> int:
    """The issuer-wide account of a kind (promotional expense, breakage), made on first use."""
    found = conn.execute(
        text(
            "SELECT id FROM ledger_accounts WHERE issuer_id = :i AND kind = :k"
            " AND currency = :c AND store_id IS NULL"
        ),
        {"i": issuer_id, "k": kind, "c": currency},
    ).scalar_one_or_none()
    if found is not None:
        return int(found)
    return insert_account(conn, issuer_id=issuer_id, kind=kind, currency=currency)


# Built once: parsing a text() clause's parameters costs more than sending the statement.
_INSERT_TRANSFER = text(
    "INSERT INTO ledger_transfers (operation_id, debit_account_id, credit_account_id,"
    " amount_minor, currency, code, state, receipt_id, created_at, resolved_at,"
    " reverses_transfer_id) VALUES (:op, :debit, :credit, :amount, :currency, :code, :state,"
    " :receipt, :now, :resolved, :reverses)"
)


def insert_transfers(
    conn: Connection,
    *,
    operation_id: uuid.UUID,
    transfers: Sequence[NewTransfer],
    currency: str,
    state: str,
    receipt_id: int | None,
    now: datetime,
) -> None:
    if not transfers:
        return
    write(
        conn,
        _INSERT_TRANSFER,
        [
            {
                "op": operation_id,
                "debit": t.debit_account_id,
                "credit": t.credit_account_id,
                "amount": t.amount_minor,
                "currency": currency,
                "code": t.code,
                "state": state,
                "receipt": receipt_id,
                "now": now,
                "resolved": now if state == "posted" else None,
                "reverses": t.reverses,
            }
            for t in transfers
        ],
    )


def resolve_pending(
    conn: Connection,
    *,
    operation_id: uuid.UUID,
    account_ids: Sequence[int],
    state: str,
    now: datetime,
) -> list[NewTransfer]:
    """Move the pending transfers of an operation that touch ``account_ids`` (one voucher's
    part of the operation) to ``state`` (posted, voided, expired)."""
    rows = raw.execute(
        conn,
        _RESOLVE_PENDING,
        {"state": state, "now": now, "op": operation_id, "accounts": list(account_ids)},
    ).fetchall()
    return [NewTransfer(*row) for row in rows]


# On every confirmation and cancellation of a receipt (the till's second phase): db.raw.
_RESOLVE_PENDING = text(
    "UPDATE ledger_transfers SET state = :state, resolved_at = :now"
    " WHERE operation_id = :op AND state = 'pending'"
    " AND (debit_account_id = ANY(:accounts) OR credit_account_id = ANY(:accounts))"
    " RETURNING debit_account_id, credit_account_id, amount_minor, code"
)


def posted_transfers_of(
    conn: Connection, operation_ids: Sequence[uuid.UUID]
) -> list[PostedTransfer]:
    rows = conn.execute(
        text(
            "SELECT id, debit_account_id, credit_account_id, amount_minor, code"
            " FROM ledger_transfers WHERE operation_id = ANY(:ops) AND state = 'posted'"
            " ORDER BY id"
        ),
        {"ops": list(operation_ids)},
    ).all()
    return [PostedTransfer(*row) for row in rows]


# What was paid with the voucher and not given back: posted payments net of their reversals,
# less refunds posted or held (net of reversed refunds). The most a refund may still return.
_REFUNDABLE = text(
    "SELECT coalesce(sum(CASE"
    " WHEN t.code = 'redemption' THEN CASE WHEN t.state = 'posted' THEN t.amount_minor END"
    " WHEN t.code = 'refund' THEN CASE WHEN t.state IN ('posted', 'pending')"
    "  THEN -t.amount_minor END"
    " WHEN o.code = 'redemption' THEN -t.amount_minor"
    " WHEN o.code = 'refund' THEN t.amount_minor END), 0)"
    " FROM ledger_transfers t LEFT JOIN ledger_transfers o ON o.id = t.reverses_transfer_id"
    " WHERE (t.debit_account_id = :a OR t.credit_account_id = :a)"
    " AND (t.code IN ('redemption', 'refund') OR (t.code = 'reversal' AND t.state = 'posted'))"
)


def refundable_minor(conn: Connection, account_id: int) -> int:
    """What a refund to the voucher whose liability account is ``account_id`` may return."""
    return int(conn.execute(_REFUNDABLE, {"a": account_id}).scalar_one())


def pending_credits_minor(conn: Connection, account_id: int) -> int:
    """What open receipts hold *for* the voucher: credits that confirming would post."""
    found = conn.execute(
        text(
            "SELECT coalesce(sum(amount_minor), 0) FROM ledger_transfers"
            " WHERE credit_account_id = :a AND state = 'pending'"
        ),
        {"a": account_id},
    ).scalar_one()
    return int(found)
