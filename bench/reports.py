"""`python -m bench.reports`: every report over a million vouchers, timed.

A fresh database ``scrip_bench_reports`` on the embedded server under ``.scrip/test-pgdata``
(dropped at the end): the demo's issuer, store and gift-card type (``services.demo``), then
with set-based SQL ``BENCH_VOUCHERS`` (1,000,000) sold vouchers (serials from 1001, past the
demo's own), their sales spread over 2026,
a redemption on every second one and a validity end spread over the first 60 days of 2027 —
each movement with its posted transfer and history row, as the POS writes them. Each report
runs ``BENCH_REPEAT`` (3) times, over a year and over one month where it takes dates; the
median time is printed. ``BENCH_KEEP=1`` keeps the database afterwards (to look at plans)
and reuses a kept one.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from scrip import embedded_db
from scrip.db.engine import make_engine, upgrade
from scrip.domain.scope import EVERYTHING
from scrip.services import demo, reports

ROOT = Path(__file__).resolve().parent.parent
DB = "scrip_bench_reports"
console = Console()

_SEED = """
CREATE TEMP TABLE seed ON COMMIT DROP AS
SELECT n,
       nextval(pg_get_serial_sequence('ledger_accounts', 'id')) AS account_id,
       nextval(pg_get_serial_sequence('vouchers', 'id')) AS voucher_id,
       gen_random_uuid() AS sale_op, gen_random_uuid() AS pay_op,
       timestamptz '2026-01-01 08:00+00' + (n %% 365) * interval '1 day'
           + (n %% 600) * interval '1 minute' AS sold_at
  FROM generate_series(1, %(n)s) AS n
"""

_WRITES = [
    """INSERT INTO ledger_accounts (id, issuer_id, kind, currency)
       SELECT account_id, %(issuer)s, 'voucher_liability', 'EUR' FROM seed""",
    """INSERT INTO vouchers (id, issuer_id, type_id, account_id, code, serial_number, state,
                             currency, balance_minor, activated_at, activated_store_id,
                             valid_until)
       SELECT voucher_id, %(issuer)s, %(type)s, account_id, 'B' || lpad(n::text, 12, '0'), 1000 + n,
              'active', 'EUR', CASE WHEN n %% 2 = 0 THEN 3000 ELSE 5000 END, sold_at, %(store)s,
              timestamptz '2027-01-01 00:00+02' + (n %% 60) * interval '1 day' FROM seed""",
    """INSERT INTO ledger_transfers (operation_id, debit_account_id, credit_account_id,
                                     amount_minor, currency, code, state, created_at, resolved_at)
       SELECT sale_op, %(store_account)s, account_id, 5000, 'EUR', 'sale', 'posted', sold_at,
              sold_at FROM seed""",
    """INSERT INTO ledger_transfers (operation_id, debit_account_id, credit_account_id,
                                     amount_minor, currency, code, state, created_at, resolved_at)
       SELECT pay_op, account_id, %(store_account)s, 2000, 'EUR', 'redemption', 'posted',
              sold_at + interval '2 days', sold_at + interval '2 days'
         FROM seed WHERE n %% 2 = 0""",
    """INSERT INTO voucher_history (voucher_id, operation_id, type, status, occurred_at, store_id,
                                    register_id, amount_minor, balance_after_minor, state_before,
                                    state_after)
       SELECT voucher_id, sale_op, 'voucher.sold', 'recorded', sold_at, %(store)s, %(register)s,
              5000, 5000, 'prepared', 'active' FROM seed""",
    """INSERT INTO voucher_history (voucher_id, operation_id, type, status, occurred_at, store_id,
                                    register_id, receipt_number, amount_minor,
                                    balance_after_minor, state_before, state_after)
       SELECT voucher_id, pay_op, 'voucher.redeemed', 'recorded', sold_at + interval '2 days',
              %(store)s, %(register)s, 'R-' || n, 2000, 3000, 'active', 'active'
         FROM seed WHERE n %% 2 = 0""",
]

YEAR = {"from": "2026-01-01", "to": "2026-12-31"}
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
# (what is measured, report, its parameters besides the issuer)
CASES: list[tuple[str, str, dict[str, str]]] = [
    ("issued, a year by month", "issued", {**YEAR, "grouping": "month"}),
    ("sold, a year by quarter", "sold", {**YEAR, "grouping": "quarter"}),
    ("sold, one month by day", "sold", {**MARCH, "grouping": "day"}),
    ("issued_where by register", "issued_where", {**YEAR, "by": "register"}),
    ("used_where by register", "used_where", {**YEAR, "by": "register"}),
    ("liability at the end of 2026", "liability", {"as_of": "2026-12-31"}),
    ("liability at the end of March", "liability", {"as_of": "2026-03-31"}),
    ("breakage, a year by month", "breakage", {**YEAR, "grouping": "month"}),
    ("activity, a year by month", "activity", {**YEAR, "grouping": "month"}),
    ("receipts, a year", "receipts", {**YEAR, "grouping": "month"}),
    ("receipts, one month", "receipts", {**MARCH, "grouping": "day"}),
    ("expiring in 30 days", "expiring", {"days": "30"}),
]


_PLACE = """
SELECT i.id AS issuer, s.id AS store, a.id AS store_account, r.id AS register, t.id AS type
  FROM issuers i JOIN stores s ON s.issuer_id = i.id AND s.code = 'S001'
  JOIN ledger_accounts a ON a.store_id = s.id AND a.kind = 'store_clearing'
  JOIN registers r ON r.store_id = s.id JOIN voucher_types t ON t.issuer_id = i.id
 WHERE i.code = 'DEMO' AND t.code = 'GC'
"""


def _seed(dsn: str, n: int) -> float:
    """The demo's issuer, store S001, its register and gift-card type, then ``n`` vouchers."""
    upgrade(dsn)
    engine = make_engine(dsn, pool_size=1)
    with engine.begin() as conn:
        demo.load(conn, now=datetime.now(UTC))
        place = dict(conn.execute(text(_PLACE)).mappings().one())
    engine.dispose()
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.transaction():
        binds = {"n": n, **place}
        conn.execute(_SEED, binds)
        for sql in _WRITES:
            conn.execute(sql, binds)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


def main() -> None:
    n = int(os.environ.get("BENCH_VOUCHERS", "1000000"))
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    server = embedded_db.start(ROOT / ".scrip" / "test-pgdata", stop_at_exit=True)
    keep = os.environ.get("BENCH_KEEP") == "1"
    with psycopg.connect(server, autocommit=True) as admin:
        kept = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone()
        if not (keep and kept):
            admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {DB}")
    dsn = re.sub(r"/[^/?]*(\?|$)", f"/{DB}\\1", server, count=1)
    try:
        if keep and kept:
            console.print("reusing the kept database")
        else:
            seeded = _seed(dsn, n)
            console.print(f"seeded {n:,} vouchers in {seeded:.1f} s")
        table = Table("report", "rows", "median s", "runs")
        engine = make_engine(dsn, pool_size=1)
        now = datetime(2026, 12, 20, 12, tzinfo=UTC)
        for what, name, extra in CASES:
            raw = {"issuer": "DEMO", **extra}
            times, rows = [], 0
            for _ in range(repeat):
                started = time.perf_counter()
                with engine.connect() as conn:
                    rows = len(
                        reports.run(conn, scope=EVERYTHING, name=name, raw=raw, now=now).rows
                    )
                times.append(time.perf_counter() - started)
            table.add_row(what, f"{rows:,}", f"{statistics.median(times):.2f}", str(repeat))
        engine.dispose()
        console.print(table)
    finally:
        if not keep:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
