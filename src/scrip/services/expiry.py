"""Expiry (S5): vouchers past the end of their validity expire, and their unspent value is
booked as breakage (liability debit, breakage income credit), idempotently and in batches.

Run by the worker. A batch is one transaction; running it again finds nothing more to do,
because an expired voucher is no longer in a state that can expire.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from scrip.db import expiry as expiry_db
from scrip.db import ledger as ledger_db
from scrip.domain.lifecycle import Action, sources_of

# "classification:state" for every pair the life-cycle tables let expire.
SOURCES = sorted(f"{c}:{s}" for c, s in sources_of(Action.expire))


@dataclass(frozen=True, slots=True)
class ExpiryBatch:
    vouchers: int
    breakage_minor: int


def expire_due(conn: Connection, *, now: datetime, limit: int = 10_000) -> ExpiryBatch:
    for issuer_id, currency in expiry_db.due_issuer_currencies(conn, now=now, sources=SOURCES):
        ledger_db.shared_account_id(
            conn, issuer_id=issuer_id, kind="breakage_income", currency=currency
        )
    vouchers, breakage = expiry_db.expire_batch(conn, now=now, sources=SOURCES, limit=limit)
    return ExpiryBatch(vouchers, breakage)
