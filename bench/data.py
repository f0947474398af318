"""The bench database: a fresh one, the data the scenarios run on, and the ledger check."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import text

from scrip.db import invariants
from scrip.db.engine import make_engine, upgrade
from scrip.services import catalog

from .config import BALANCE, BENCH_DB, Config


def _with_db(dsn: str, name: str) -> str:
    return re.sub(r"/[^/?]*\?", f"/{name}?", dsn, count=1)


def fresh_database(admin_dsn: str) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return _with_db(admin_dsn, BENCH_DB)


@dataclass
class Setup:
    issuer_id: int
    store_id: int
    store_account_id: int
    register_id: int
    api_key: str
    type_id: int
    pool: int
    load_s: float
    pool_s: float


_SEED = """
CREATE TEMP TABLE bench_seed ON COMMIT DROP AS
SELECT n,
       nextval(pg_get_serial_sequence('ledger_accounts', 'id')) AS account_id,
       nextval(pg_get_serial_sequence('vouchers', 'id')) AS voucher_id,
       gen_random_uuid() AS operation_id
  FROM generate_series(1, %(n)s) AS n;
"""

_ACTIVE = [
    """INSERT INTO ledger_accounts (id, issuer_id, kind, currency)
       SELECT account_id, %(issuer)s, 'voucher_liability', 'EUR' FROM bench_seed""",
    """INSERT INTO vouchers (id, issuer_id, type_id, account_id, code, serial_number, state,
                             currency, balance_minor, activated_at, activated_store_id)
       SELECT voucher_id, %(issuer)s, %(type)s, account_id, 'B' || lpad(n::text, 12, '0'), n,
              'active', 'EUR', %(balance)s, now(), %(store)s FROM bench_seed""",
    """INSERT INTO ledger_transfers (operation_id, debit_account_id, credit_account_id,
                                     amount_minor, currency, code, state, created_at, resolved_at)
       SELECT operation_id, %(store_account)s, account_id, %(balance)s, 'EUR', 'sale', 'posted',
              now(), now() FROM bench_seed""",
    """INSERT INTO voucher_history (voucher_id, operation_id, type, status, occurred_at, store_id,
                                    register_id, amount_minor, balance_after_minor, state_before,
                                    state_after, details)
       SELECT voucher_id, operation_id, 'voucher.sold', 'recorded', now(), %(store)s,
              %(register)s, %(balance)s, %(balance)s, 'prepared', 'active',
              jsonb_build_object('paid_minor', %(balance)s, 'bonus_minor', 0) FROM bench_seed""",
]

_PREPARED = [
    """INSERT INTO ledger_accounts (id, issuer_id, kind, currency)
       SELECT account_id, %(issuer)s, 'voucher_liability', 'EUR' FROM bench_seed""",
    """INSERT INTO vouchers (id, issuer_id, type_id, account_id, code, serial_number, state,
                             currency, balance_minor)
       SELECT voucher_id, %(issuer)s, %(type)s, account_id, 'P' || lpad(n::text, 12, '0'),
              %(serial_base)s + n, 'prepared', 'EUR', 0 FROM bench_seed""",
    """INSERT INTO voucher_history (voucher_id, type, status, occurred_at, balance_after_minor,
                                    state_after)
       SELECT voucher_id, 'voucher.created', 'recorded', now(), 0, 'prepared' FROM bench_seed""",
]


def prepare_data(dsn: str, cfg: Config, pool: int) -> Setup:
    upgrade(dsn)
    engine = make_engine(dsn, pool_size=1)
    with engine.begin() as conn:
        issuer = catalog.create_issuer(
            conn, code="BENCH", name="Bench Retail", currency="EUR", timezone="Europe/Sofia"
        )
        store = catalog.create_store(conn, issuer_id=issuer, code="S1", name="Bench store")
        register = catalog.create_register(conn, store_id=store, serial_number="R1")
        type_id = catalog.create_voucher_type(
            conn,
            issuer_id=issuer,
            code="GC",
            name="Bench gift card",
            classification="gift_card",
            value_mode="variable",
            multi_use=True,
            reloadable=True,
            max_balance_minor=10**12,
        )
        store_account = conn.execute(
            text("SELECT id FROM ledger_accounts WHERE kind = 'store_clearing' AND store_id = :s"),
            {"s": store},
        ).scalar_one()
    engine.dispose()
    params = {
        "issuer": issuer,
        "type": type_id,
        "store": store,
        "store_account": store_account,
        "register": register.register_id,
        "balance": BALANCE,
        "serial_base": cfg.vouchers,
    }

    def bulk(n: int, statements: list[str]) -> float:
        started = time.perf_counter()
        with psycopg.connect(dsn) as conn, conn.transaction():
            conn.execute(_SEED, {"n": n})
            for sql in statements:
                conn.execute(sql, params)
        return time.perf_counter() - started

    load_s = bulk(cfg.vouchers, _ACTIVE)
    pool_s = bulk(pool, _PREPARED)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")
    return Setup(
        issuer,
        store,
        store_account,
        register.register_id,
        register.api_key,
        type_id,
        pool,
        load_s,
        pool_s,
    )


def check_ledger(dsn: str) -> dict[str, Any]:
    engine = make_engine(dsn, pool_size=1)
    with engine.connect() as conn:
        found = invariants.violations(conn)
        negative = conn.execute(
            text("SELECT count(*) FROM vouchers WHERE balance_minor < 0 OR held_minor < 0")
        ).scalar_one()
        history = conn.execute(
            text("SELECT count(*) FROM voucher_history WHERE type = 'voucher.redeemed'")
        ).scalar_one()
        transfers = conn.execute(
            text("SELECT count(*) FROM ledger_transfers WHERE code = 'redemption'")
        ).scalar_one()
        posted = conn.execute(
            text(
                "SELECT count(*) FROM ledger_transfers WHERE code = 'redemption'"
                " AND state = 'posted'"
            )
        ).scalar_one()
    engine.dispose()
    ok = not found and negative == 0 and history == transfers
    return {
        "ok": ok,
        "violations": {k: [list(map(str, r)) for r in v] for k, v in found.items()},
        "negative_balances": negative,
        "redeemed_history_rows": history,
        "redemption_transfers": transfers,
        "posted_redemptions": posted,
    }
