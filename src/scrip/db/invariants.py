"""Re-derive every cached balance from the ledger and check the invariants of S7.6.

Run after every service test and after every benchmark: a voucher's balance equals the sum of
its posted transfers, what it holds equals its pending debits, nothing is negative, and every
transfer stays within one currency.

Conservation, per voucher: value flows in only by the codes that credit a voucher (sale, bonus,
promotional issue, refund, reload, a transfer in, a reversal) and out only by those that debit
one (payment, forfeit, breakage, return, a transfer out, a reversal), so value in equals value
out plus the balance by kind; refunds (posted or held) never exceed what was paid with the
voucher net of reversals; and every reversal mirrors, once, the transfer it names.
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
    "refunds exceed what was paid with the voucher, net of reversals": """
        SELECT v.id, sum(CASE
                   WHEN t.code = 'redemption' AND t.state = 'posted' THEN t.amount_minor
                   WHEN t.code = 'refund' AND t.state IN ('posted', 'pending')
                        THEN -t.amount_minor
                   WHEN t.code = 'reversal' AND o.code = 'redemption' THEN -t.amount_minor
                   WHEN t.code = 'reversal' AND o.code = 'refund' THEN t.amount_minor
                   ELSE 0 END) AS refundable
          FROM ledger_transfers t
          JOIN vouchers v ON v.account_id IN (t.debit_account_id, t.credit_account_id)
          LEFT JOIN ledger_transfers o ON o.id = t.reverses_transfer_id
         WHERE t.code IN ('redemption', 'refund')
            OR (t.code = 'reversal' AND t.state = 'posted' AND o.code IN ('redemption', 'refund'))
         GROUP BY v.id
        HAVING sum(CASE
                   WHEN t.code = 'redemption' AND t.state = 'posted' THEN t.amount_minor
                   WHEN t.code = 'refund' AND t.state IN ('posted', 'pending')
                        THEN -t.amount_minor
                   WHEN t.code = 'reversal' AND o.code = 'redemption' THEN -t.amount_minor
                   WHEN t.code = 'reversal' AND o.code = 'refund' THEN t.amount_minor
                   ELSE 0 END) < 0
    """,
    "value moved onto or off a voucher by a code that moves it the other way": """
        SELECT t.id, t.code FROM ledger_transfers t
          JOIN ledger_accounts d ON d.id = t.debit_account_id
          JOIN ledger_accounts c ON c.id = t.credit_account_id
         WHERE (c.kind = 'voucher_liability' AND t.code NOT IN
                ('sale', 'bonus', 'promo_issue', 'refund', 'reload', 'transfer', 'reversal'))
            OR (d.kind = 'voucher_liability' AND t.code NOT IN
                ('redemption', 'forfeit', 'breakage', 'return_unused', 'transfer', 'reversal'))
    """,
    "reversal that does not mirror the transfer it names": """
        SELECT t.id, t.reverses_transfer_id FROM ledger_transfers t
          LEFT JOIN ledger_transfers o ON o.id = t.reverses_transfer_id
         WHERE t.reverses_transfer_id IS NOT NULL
           AND (t.code <> 'reversal' OR o.id IS NULL OR o.state <> 'posted'
                OR o.amount_minor <> t.amount_minor OR o.debit_account_id <> t.credit_account_id
                OR o.credit_account_id <> t.debit_account_id)
    """,
    "transfer reversed more than once": """
        SELECT reverses_transfer_id, count(*) FROM ledger_transfers
         WHERE reverses_transfer_id IS NOT NULL AND state = 'posted'
         GROUP BY 1 HAVING count(*) > 1
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
