"""Re-derive every cached balance from the ledger and check the invariants of S7.6.

Run after every service test and after every benchmark: a voucher's balance equals the sum of
its posted transfers, what it holds equals its pending debits, nothing is negative, and every
transfer stays within one currency.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

_CHECKS: dict[str, str] = {
    "voucher balance differs from its posted transfers": """
        SELECT v.id, v.balance_minor, coalesce(c.s, 0) - coalesce(d.s, 0) AS derived
          FROM vouchers v
          LEFT JOIN (SELECT credit_account_id a, sum(amount_minor) s FROM ledger_transfers
                      WHERE state = 'posted' GROUP BY 1) c ON c.a = v.account_id
          LEFT JOIN (SELECT debit_account_id a, sum(amount_minor) s FROM ledger_transfers
                      WHERE state = 'posted' GROUP BY 1) d ON d.a = v.account_id
         WHERE v.balance_minor <> coalesce(c.s, 0) - coalesce(d.s, 0)
    """,
    "voucher hold differs from its pending debits": """
        SELECT v.id, v.held_minor, coalesce(d.s, 0) AS derived
          FROM vouchers v
          LEFT JOIN (SELECT debit_account_id a, sum(amount_minor) s FROM ledger_transfers
                      WHERE state = 'pending' GROUP BY 1) d ON d.a = v.account_id
         WHERE v.held_minor <> coalesce(d.s, 0)
    """,
    "negative or over-held balance": """
        SELECT id, balance_minor, held_minor FROM vouchers
         WHERE balance_minor < 0 OR held_minor < 0 OR held_minor > balance_minor
    """,
    "transfer crosses currencies": """
        SELECT t.id FROM ledger_transfers t
          JOIN ledger_accounts d ON d.id = t.debit_account_id
          JOIN ledger_accounts c ON c.id = t.credit_account_id
         WHERE d.currency <> t.currency OR c.currency <> t.currency
    """,
    "transfer without a positive amount or with one account on both sides": """
        SELECT id FROM ledger_transfers
         WHERE amount_minor <= 0 OR debit_account_id = credit_account_id
    """,
    "pending transfer outside an open receipt": """
        SELECT t.id FROM ledger_transfers t LEFT JOIN receipts r ON r.id = t.receipt_id
         WHERE t.state = 'pending' AND (r.id IS NULL OR r.state <> 'open')
    """,
    "posted operation without a history row": """
        SELECT DISTINCT t.operation_id FROM ledger_transfers t
         WHERE t.state = 'posted' AND NOT EXISTS (
               SELECT 1 FROM voucher_history h WHERE h.operation_id = t.operation_id)
    """,
}


def violations(conn: Connection, *, sample: int = 5) -> dict[str, list[tuple[object, ...]]]:
    """Every broken invariant with up to ``sample`` offending rows; empty when the ledger holds."""
    found: dict[str, list[tuple[object, ...]]] = {}
    for name, sql in _CHECKS.items():
        rows = conn.execute(text(f"{sql} LIMIT {sample}")).all()
        if rows:
            found[name] = [tuple(row) for row in rows]
    return found
