"""Set-based expiry: a batch of vouchers past their validity end becomes expired, and what was
left on each is moved to the issuer's breakage income, in one statement.

A lot of a million vouchers often ends on one date, so this never walks vouchers one by one.
Vouchers with a hold or inside an open receipt wait until their receipt is settled.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, text

# The vouchers due for expiry (a test explains this scan). expires_at is valid_until while the
# voucher is active or depleted, NULL otherwise; the partial index ix_vouchers_expires_at holds
# exactly those vouchers, by the instant they expire.
DUE = """
    SELECT v.id, v.issuer_id, v.account_id, v.balance_minor, v.state, v.currency
      FROM vouchers v JOIN voucher_types t ON t.id = v.type_id
     WHERE v.expires_at IS NOT NULL AND v.expires_at <= :now
       AND (t.classification || ':' || v.state) = ANY(:sources)
       AND v.held_minor = 0 AND v.pending_receipt_id IS NULL
"""

_EXPIRE = text(
    f"""
    WITH due AS ({DUE} ORDER BY v.id LIMIT :limit FOR UPDATE OF v SKIP LOCKED),
    moved AS (
        UPDATE vouchers v SET state = 'expired', balance_minor = 0
          FROM due WHERE v.id = due.id RETURNING v.id
    ),
    breakage AS (
        INSERT INTO ledger_transfers (operation_id, debit_account_id, credit_account_id,
                                      amount_minor, currency, code, state, created_at,
                                      resolved_at)
        SELECT :op, due.account_id, a.id, due.balance_minor, due.currency, 'breakage',
               'posted', :now, :now
          FROM due JOIN ledger_accounts a
            ON a.issuer_id = due.issuer_id AND a.kind = 'breakage_income'
           AND a.currency = due.currency AND a.store_id IS NULL
         WHERE due.balance_minor > 0
    ),
    history AS (
        INSERT INTO voucher_history (voucher_id, operation_id, type, status, occurred_at,
                                     amount_minor, balance_after_minor, state_before,
                                     state_after, details, recorded_at)
        SELECT due.id, :op, 'voucher.expired', 'recorded', :now, due.balance_minor, 0,
               due.state, 'expired', jsonb_build_object('breakage_minor', due.balance_minor),
               clock_timestamp()
          FROM due
    )
    SELECT count(*) AS vouchers, coalesce(sum(balance_minor), 0) AS breakage_minor FROM due
    """
)


def due_issuer_currencies(
    conn: Connection, *, now: datetime, sources: Iterable[str]
) -> list[tuple[int, str]]:
    """The (issuer, currency) pairs of vouchers now due, so their breakage accounts exist
    before the set-based statement joins on them."""
    rows = conn.execute(
        text(f"SELECT DISTINCT issuer_id, currency FROM ({DUE}) due"),
        {"now": now, "sources": list(sources)},
    ).all()
    return [(int(issuer), str(currency)) for issuer, currency in rows]


def expire_batch(
    conn: Connection, *, now: datetime, sources: Iterable[str], limit: int
) -> tuple[int, int]:
    """Expire up to ``limit`` due vouchers; returns (vouchers expired, breakage booked)."""
    row = conn.execute(
        _EXPIRE, {"now": now, "sources": list(sources), "limit": limit, "op": uuid.uuid4()}
    ).one()
    return int(row.vouchers), int(row.breakage_minor)
