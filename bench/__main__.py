"""`python -m bench`: reference, scenarios, ledger check, table, and one JSON line at the end.

Order of a run (every figure comes from this one invocation, on one PostgreSQL server, over
its Unix socket):

1. embedded PostgreSQL under ``.scrip/bench-pgdata``; a fresh database ``scrip_bench``,
   migrated; an issuer, a store, a register and a reloadable multi-use gift-card type through
   ``scrip.services.catalog``; then 1,000,000 active vouchers written with set-based SQL (each
   with its liability account, a posted sale transfer and a ``voucher.sold`` history row) and
   a pool of prepared cards for sales and transfers (timed);
2. the reference *before*: pgbench with the minimal redemption transaction on its own tables,
   uniform over 1,000,000 rows and on 10 hot rows, at 1, 8, 32 and 64 clients;
3. the API under uvicorn (``--workers``), driven by wrk with Lua scripts: the trivial endpoint
   (HTTP ceiling), S1, S2, S4, S3, S5 (with resident memory per worker), then S6 open loop;
4. the reference *after*, and the agreement check (within 10%);
5. the ledger check (invariants, no negative balance, redemption history = transfers); a
   mismatch fails the run (exit status 1) whatever its speed.

Settings (environment): BENCH_DURATION seconds per measurement (10), BENCH_REPEAT (1; 3 for
the medians the targets are stated in), BENCH_CONNECTIONS (``32``; e.g. ``8,32,64``),
BENCH_REF_CLIENTS (``1,8,32,64``), BENCH_VOUCHERS (1000000), BENCH_WORKERS (2),
BENCH_DB_POOL_SIZE (10), BENCH_S6 (1), BENCH_WRITE_DOCS (1: update docs/benchmarks.md),
BENCH_STRICT (0; 1: exit 2 when the reference before and after disagree by more than 10%).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from scrip import embedded_db
from scrip.db import invariants
from scrip.db.engine import make_engine, upgrade
from scrip.services import catalog

from . import openloop

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "lua"
DOCS = ROOT / "docs" / "benchmarks.md"
BENCH_DB = "scrip_bench"
BALANCE = 10_000_000
HOT = 10
TOLERANCE = 0.10
console = Console(stderr=True)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_list(name: str, default: str) -> list[int]:
    return [int(x) for x in os.environ.get(name, default).split(",") if x.strip()]


@dataclass
class Config:
    duration: int = field(default_factory=lambda: _env_int("BENCH_DURATION", 10))
    repeat: int = field(default_factory=lambda: _env_int("BENCH_REPEAT", 1))
    connections: list[int] = field(default_factory=lambda: _env_list("BENCH_CONNECTIONS", "32"))
    ref_clients: list[int] = field(
        default_factory=lambda: _env_list("BENCH_REF_CLIENTS", "1,8,32,64")
    )
    vouchers: int = field(default_factory=lambda: _env_int("BENCH_VOUCHERS", 1_000_000))
    workers: int = field(default_factory=lambda: _env_int("BENCH_WORKERS", 2))
    pool_size: int = field(default_factory=lambda: _env_int("BENCH_DB_POOL_SIZE", 10))
    s6: bool = field(default_factory=lambda: _env_int("BENCH_S6", 1) == 1)
    write_docs: bool = field(default_factory=lambda: _env_int("BENCH_WRITE_DOCS", 1) == 1)
    strict: bool = field(default_factory=lambda: _env_int("BENCH_STRICT", 0) == 1)

    @property
    def main_conns(self) -> int:
        return 32 if 32 in self.connections else self.connections[0]


# --- database -----------------------------------------------------------------------------


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


# --- reference: pgbench --------------------------------------------------------------------

_REF_SCRIPT = """\\set id random(1, {rows})
BEGIN;
SELECT balance_minor FROM ref_vouchers WHERE id = :id FOR UPDATE;
INSERT INTO ref_history (voucher_id, amount_minor, balance_after_minor)
     VALUES (:id, 1, 0);
UPDATE ref_vouchers SET balance_minor = balance_minor - 1 WHERE id = :id AND balance_minor >= 1;
COMMIT;
"""


def prepare_reference(dsn: str, rows: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE ref_vouchers (id bigint PRIMARY KEY, code text NOT NULL,"
            " balance_minor bigint NOT NULL CHECK (balance_minor >= 0))"
        )
        conn.execute(
            "CREATE TABLE ref_history (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
            " voucher_id bigint NOT NULL, amount_minor bigint NOT NULL,"
            " balance_after_minor bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            "INSERT INTO ref_vouchers SELECT n, 'B' || lpad(n::text, 12, '0'), %s"
            " FROM generate_series(1, %s) n",
            (BALANCE, rows),
        )
        conn.execute("VACUUM (ANALYZE) ref_vouchers")
        conn.execute("CHECKPOINT")


def pgbench(dsn: str, *, rows: int, clients: int, duration: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(_REF_SCRIPT.format(rows=rows))
        script = f.name
    try:
        out = subprocess.run(
            [
                str(embedded_db.bin_dir() / "pgbench"),
                "-n", "-M", "prepared", "-T", str(duration),
                "-c", str(clients), "-j", str(min(clients, 2)),
                "-f", script, dsn,
            ],
            capture_output=True, text=True, timeout=duration + 120,
            env={**os.environ, "PGOPTIONS": "-c synchronous_commit=on"},
        )  # fmt: skip
    finally:
        os.unlink(script)
    found = re.search(r"tps = ([\d.]+) \(without initial", out.stdout)
    if not found:
        raise RuntimeError(f"pgbench failed: {out.stdout[-500:]} {out.stderr[-500:]}")
    return float(found.group(1))


def reference(dsn: str, cfg: Config, rows: int) -> dict[str, dict[int, float]]:
    result: dict[str, dict[int, float]] = {"uniform": {}, "hot": {}}
    pgbench(dsn, rows=rows, clients=8, duration=3)  # warm-up, not counted
    for name, n in (("uniform", rows), ("hot", HOT)):
        for clients in cfg.ref_clients:
            tps = pgbench(dsn, rows=n, clients=clients, duration=cfg.duration)
            result[name][clients] = tps
            console.log(f"reference {name} x{clients}: {tps:,.0f} tx/s")
    return result


# --- the API server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, dsn: str, cfg: Config) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "SCRIP_DATABASE_URL": dsn,
            "SCRIP_DB_POOL_SIZE": str(cfg.pool_size),
        }
        uvicorn = Path(sys.executable).parent / "uvicorn"
        self.proc = subprocess.Popen(
            [
                str(uvicorn), "scrip.server:app_from_env", "--factory",
                "--workers", str(cfg.workers), "--host", "127.0.0.1", "--port", str(self.port),
                "--log-level", "warning", "--no-access-log",
            ],
            env=env, cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r:
                    if r.status == 200 and len(self.worker_pids()) >= cfg.workers:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("uvicorn exited at start")
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("uvicorn did not answer within 60 s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        pids: list[int] = []
        try:
            for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
                pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
        workers = []  # the API workers, not multiprocessing's resource tracker
        for pid in pids:
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    workers.append(pid)
            except OSError:
                pass
        return workers

    def rss_mib(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            found = re.search(r"VmRSS:\s+(\d+) kB", status)
            if found:
                sizes.append(int(found.group(1)) / 1024)
        return sizes

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- wrk -----------------------------------------------------------------------------------


def wrk(
    server: Server,
    script: str,
    *,
    connections: int,
    duration: int,
    threads: int | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write((LUA / "common.lua").read_text() + "\n" + (LUA / script).read_text())
        path = f.name
    threads = threads or min(connections, 2)
    try:
        out = subprocess.run(
            [
                "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
                "--timeout", "10s", "-s", path, server.url,
            ],
            capture_output=True, text=True, timeout=duration + 60,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
    finally:
        os.unlink(path)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout[-800:]} {out.stderr[-800:]}")
    data: dict[str, Any] = json.loads(line[len("BENCHJSON ") :])
    seconds = data["duration_us"] / 1e6
    data["rps"] = data["requests"] / seconds
    data["ok_rps"] = data["ok"] / seconds
    data["ops_rps"] = data["ops"] / seconds
    data["pairs_rps"] = data["done_pairs"] / seconds
    return data


@dataclass
class Figure:
    name: str
    value: float  # the headline: successful answers (or completed operations) per second
    unit: str
    runs: list[dict[str, Any]]

    def median(self, key: str) -> float:
        return float(statistics.median(r[key] for r in self.runs))

    def summary(self) -> dict[str, Any]:
        return {
            "value": round(self.value, 1),
            "unit": self.unit,
            "requests_per_s": round(self.median("rps"), 1),
            "p50_ms": round(self.median("p50_us") / 1000, 2),
            "p99_ms": round(self.median("p99_us") / 1000, 2),
            "p999_ms": round(self.median("p999_us") / 1000, 2),
            "errors": int(sum(r["bad"] + r["socket_errors"] for r in self.runs)),
            "bad_sample": next((r["bad_sample"] for r in self.runs if r["bad_sample"]), ""),
            "runs": len(self.runs),
        }


def measure(
    name: str, unit: str, key: str, cfg: Config, run: Callable[[int], dict[str, Any]]
) -> Figure:
    runs = []
    for i in range(cfg.repeat):
        data = run(i)
        runs.append(data)
        console.log(
            f"{name}: {data[key]:,.1f} {unit} (p99 {data['p99_us'] / 1000:.1f} ms,"
            f" errors {data['bad'] + data['socket_errors']}) {data['bad_sample'][:100]}"
        )
    return Figure(name, float(statistics.median(r[key] for r in runs)), unit, runs)


# --- the run -------------------------------------------------------------------------------


def fingerprint(admin_dsn: str) -> dict[str, Any]:
    with psycopg.connect(admin_dsn) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        version = str(row[0]) if row else "?"

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except OSError:
            return "?"

    return {
        "cores": os.cpu_count(),
        "postgresql": version,
        "transport": "unix socket",
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


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


def main() -> int:
    cfg = Config()
    if shutil.which("wrk") is None:
        console.print("[red]wrk is not installed (make bench installs it: apt-get install wrk)")
        return 1
    started = time.perf_counter()
    pgdata = ROOT / ".scrip" / "bench-pgdata"
    admin_dsn = embedded_db.start(pgdata, stop_at_exit=True)
    fp = fingerprint(admin_dsn)
    console.log(f"machine: {fp}")
    dsn = fresh_database(admin_dsn)
    # prepared cards for sales and transfers: a slice per connection per S5 run
    slice_per_conn = max(50, cfg.duration * 10)
    s5_runs = cfg.repeat * len(cfg.connections)
    pool = max(20_000, slice_per_conn * max(cfg.connections) * s5_runs + 1000)
    setup = prepare_data(dsn, cfg, pool)
    console.log(
        f"created {cfg.vouchers:,} active vouchers in {setup.load_s:.1f} s"
        f" ({cfg.vouchers / setup.load_s:,.0f}/s) and {pool:,} prepared in {setup.pool_s:.1f} s"
    )
    prepare_reference(dsn, cfg.vouchers)

    ref_before = reference(dsn, cfg, cfg.vouchers)

    figures: dict[str, dict[int, Figure]] = {}
    memory: list[float] = []
    s6: dict[str, Any] | None = None
    run_tag = f"{int(time.time())}"
    lua_env = {"BENCH_KEY": setup.api_key, "BENCH_N": str(cfg.vouchers)}
    pool_cursor = 0
    server = Server(dsn, cfg)
    try:
        for conns in cfg.connections:

            def simple(script: str, hot: int = 0, c: int = conns) -> Callable[[int], Any]:
                def go(run: int) -> dict[str, Any]:
                    env = {**lua_env, "BENCH_HOT": str(hot), "BENCH_RUN": f"{run_tag}{c}{run}"}
                    return wrk(server, script, connections=c, duration=cfg.duration, env=env)

                return go

            def stateful(script: str, c: int = conns) -> Callable[[int], Any]:
                def go(run: int) -> dict[str, Any]:
                    nonlocal pool_cursor
                    env = {
                        **lua_env,
                        "BENCH_RUN": f"{run_tag}{script[0]}{c}{run}",
                        "BENCH_POOL_BASE": str(pool_cursor),
                        "BENCH_POOL_SLICE": str(slice_per_conn),
                    }
                    pool_cursor += slice_per_conn * c
                    return wrk(
                        server, script, connections=c, threads=c, duration=cfg.duration, env=env
                    )

                return go

            def add(key: str, fig: Figure, c: int = conns) -> None:
                figures.setdefault(key, {})[c] = fig

            add(
                "healthz",
                measure(f"trivial x{conns}", "req/s", "ok_rps", cfg, simple("healthz.lua")),
            )
            add("S1", measure(f"S1 redeem x{conns}", "req/s", "ok_rps", cfg, simple("redeem.lua")))
            add(
                "S2", measure(f"S2 hot x{conns}", "req/s", "ok_rps", cfg, simple("redeem.lua", HOT))
            )
            add("S4", measure(f"S4 look-up x{conns}", "req/s", "ok_rps", cfg, simple("lookup.lua")))
            add(
                "S3",
                measure(
                    f"S3 two-phase x{conns}", "pairs/s", "pairs_rps", cfg, stateful("two_phase.lua")
                ),
            )

            samples: list[list[float]] = []
            stop_sampling = threading.Event()

            def sample() -> None:
                while not stop_sampling.wait(1.0):  # noqa: B023 - joined in this iteration
                    samples.append(server.rss_mib())  # noqa: B023

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            add("S5", measure(f"S5 mixed x{conns}", "ops/s", "ops_rps", cfg, stateful("mixed.lua")))
            stop_sampling.set()
            sampler.join()
            if conns == cfg.main_conns and samples:
                memory = [
                    max(s[i] for s in samples if len(s) > i) for i in range(max(map(len, samples)))
                ]

        if cfg.s6:
            s1_max = figures["S1"][cfg.main_conns].value
            rate = max(1.0, 0.5 * s1_max)
            runs = []
            for _ in range(cfg.repeat):
                res = openloop.run(
                    "127.0.0.1", server.port, rate=rate, duration_s=cfg.duration,
                    key=setup.api_key, vouchers=cfg.vouchers,
                )  # fmt: skip
                runs.append(
                    {
                        "p50_ms": res.percentile(50),
                        "p99_ms": res.percentile(99),
                        "p999_ms": res.percentile(99.9),
                        "ok": res.ok,
                        "bad": res.bad,
                        "late_starts": res.late_starts,
                    }
                )
                console.log(
                    f"S6 open loop at {rate:,.0f}/s: p50 {runs[-1]['p50_ms']:.1f} ms,"
                    f" p99 {runs[-1]['p99_ms']:.1f} ms, p99.9 {runs[-1]['p999_ms']:.1f} ms,"
                    f" errors {res.bad}, late starts {res.late_starts}"
                )
            s6 = {
                "rate_per_s": round(rate, 1),
                "client": "bench.openloop (asyncio; substitute for wrk2)",
                **{
                    k: round(statistics.median(r[k] for r in runs), 2)
                    for k in ("p50_ms", "p99_ms", "p999_ms")
                },
                "errors": sum(r["bad"] for r in runs),
                "late_starts": sum(r["late_starts"] for r in runs),
            }
    finally:
        server.stop()

    ref_after = reference(dsn, cfg, cfg.vouchers)
    ledger = check_ledger(dsn)

    # --- results ---
    def ref_mean(kind: str, clients: int) -> float:
        return (ref_before[kind][clients] + ref_after[kind][clients]) / 2

    agreement = {
        f"{kind}_x{c}": round(ref_after[kind][c] / ref_before[kind][c] - 1, 3)
        for kind in ("uniform", "hot")
        for c in cfg.ref_clients
    }
    ref_agrees = all(abs(v) <= TOLERANCE for v in agreement.values())
    mc = cfg.main_conns
    ref_c = mc if mc in cfg.ref_clients else cfg.ref_clients[-1]
    targets = {
        "S1": ("uniform", 0.35),
        "S2": ("hot", 0.5),
        "S3": ("uniform", 0.15),
        "S4": ("healthz", 0.4),
    }
    ratios: dict[str, dict[str, Any]] = {}
    for name, (against, target) in targets.items():
        base = figures["healthz"][mc].value if against == "healthz" else ref_mean(against, ref_c)
        ratio = figures[name][mc].value / base
        ratios[name] = {
            "against": f"{against}_x{ref_c}" if against != "healthz" else f"healthz_x{mc}",
            "ratio": round(ratio, 3),
            "target": target,
            "met": ratio >= target,
        }
    if s6 is not None:
        ratios["S6"] = {
            "against": "p99 <= 50 ms, p99.9 <= 200 ms",
            "ratio": None,
            "target": "p99 50 ms / p99.9 200 ms",
            "met": s6["p99_ms"] <= 50 and s6["p999_ms"] <= 200,
        }
    result: dict[str, Any] = {
        "machine": fp,
        "settings": {
            "duration_s": cfg.duration,
            "repeat": cfg.repeat,
            "connections": cfg.connections,
            "workers": cfg.workers,
            "db_pool_size": cfg.pool_size,
            "vouchers": cfg.vouchers,
        },
        "bulk": {
            "vouchers": cfg.vouchers,
            "seconds": round(setup.load_s, 1),
            "per_s": round(cfg.vouchers / setup.load_s),
            "path": "bench set-based SQL (no product bulk path yet)",
        },
        "reference": {
            "before": {k: {str(c): round(v) for c, v in d.items()} for k, d in ref_before.items()},
            "after": {k: {str(c): round(v) for c, v in d.items()} for k, d in ref_after.items()},
            "after_vs_before": agreement,
            "agree_within_10pct": ref_agrees,
        },
        "scenarios": {
            name: {str(c): fig.summary() for c, fig in by_conn.items()}
            for name, by_conn in figures.items()
        },
        "S6": s6,
        "memory_rss_mib_per_worker_under_S5": [round(m, 1) for m in memory],
        "ratios": ratios,
        "ledger": ledger,
        "valid": ledger["ok"] and ref_agrees,
        "elapsed_s": round(time.perf_counter() - started),
    }
    print_table(result, figures, mc, ref_c, ref_mean)
    if cfg.write_docs:
        write_docs(result, figures, mc, ref_c, ref_mean)
    print(json.dumps(result, separators=(",", ":")), flush=True)
    if not ledger["ok"]:
        return 1
    if cfg.strict and not ref_agrees:
        return 2
    return 0


# --- output --------------------------------------------------------------------------------


def _rows(
    result: dict[str, Any],
    figures: dict[str, dict[int, Figure]],
    mc: int,
    ref_c: int,
    ref_mean: Callable[[str, int], float],
) -> list[list[str]]:
    rows: list[list[str]] = []
    ref = result["reference"]
    for kind in ("uniform", "hot"):
        for c in ref["before"][kind]:
            b, a = ref["before"][kind][c], ref["after"][kind][c]
            delta = ref["after_vs_before"][f"{kind}_x{c}"]
            rows.append(
                [f"reference {kind} ({'1,000,000' if kind == 'uniform' else HOT} rows)",
                 c, f"{b:,} / {a:,} tx/s", "", "", f"after {delta:+.0%}", ""]
            )  # fmt: skip
    labels = {
        "healthz": "HTTP ceiling GET /healthz",
        "S1": "S1 one-call redeem, uniform",
        "S2": "S2 one-call redeem, 10 hot",
        "S3": "S3 hold + confirm (10% cancel)",
        "S4": "S4 balance look-up",
        "S5": "S5 mixed POS day",
    }
    for name, label in labels.items():
        for c, fig in figures.get(name, {}).items():
            s = fig.summary()
            r = result["ratios"].get(name) if c == mc else None
            rows.append(
                [label, str(c), f"{fig.value:,.0f} {fig.unit}",
                 f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f} / {s['p999_ms']:.1f}",
                 str(s["errors"]),
                 f"{r['ratio']:.2f}x {r['against']}" if r else "",
                 ("met" if r["met"] else "NOT met") + f" (>= {r['target']})" if r else ""]
            )  # fmt: skip
    s6 = result["S6"]
    if s6:
        r = result["ratios"]["S6"]
        rows.append(
            [f"S6 open loop at {s6['rate_per_s']:,.0f}/s (0.5x S1)", "open", "",
             f"{s6['p50_ms']:.1f} / {s6['p99_ms']:.1f} / {s6['p999_ms']:.1f}", str(s6["errors"]),
             "", ("met" if r["met"] else "NOT met") + " (p99 <= 50, p99.9 <= 200)"]
        )  # fmt: skip
    return rows


_HEAD = ["figure", "conns", "throughput", "p50 / p99 / p99.9 ms", "errors", "ratio", "target"]


def print_table(result: dict[str, Any], figures: Any, mc: int, ref_c: int, ref_mean: Any) -> None:
    table = Table(title=f"scrip bench — {result['machine']['date']}")
    for h in _HEAD:
        table.add_column(h)
    for row in _rows(result, figures, mc, ref_c, ref_mean):
        table.add_row(*map(str, row))
    out = Console(width=170)
    out.print(table)
    mem = result["memory_rss_mib_per_worker_under_S5"]
    bulk = result["bulk"]
    out.print(
        f"bulk: {bulk['vouchers']:,} vouchers in {bulk['seconds']} s ({bulk['per_s']:,}/s,"
        f" {bulk['path']}); worker RSS under S5: {', '.join(f'{m:.0f} MiB' for m in mem)}"
    )
    ledger = result["ledger"]
    out.print(
        f"ledger: {'OK' if ledger['ok'] else 'FAILED'} (invariants, no negative balance,"
        f" {ledger['redeemed_history_rows']:,} voucher.redeemed rows ="
        f" {ledger['redemption_transfers']:,} redemption transfers)"
    )
    if not result["reference"]["agree_within_10pct"]:
        out.print("[yellow]reference before/after differ by more than 10%: this run does not count")


def write_docs(result: dict[str, Any], figures: Any, mc: int, ref_c: int, ref_mean: Any) -> None:
    if not DOCS.exists():
        return
    m = result["machine"]
    dirty = " (with uncommitted changes)" if m["dirty"] else ""
    lines = [
        "<!-- results:start (written by `make bench`) -->",
        f"Run of {m['date']}: {m['cores']} cores, PostgreSQL {m['postgresql']},"
        f" {m['transport']}, commit `{m['commit']}`{dirty},"
        f" load average at start {m['loadavg_at_start']}; {result['settings']['workers']} uvicorn"
        f" workers, {result['settings']['duration_s']} s per figure, medians of"
        f" {result['settings']['repeat']}; valid: {'yes' if result['valid'] else 'NO'}.",
        "",
        "| " + " | ".join(_HEAD) + " |",
        "| " + " | ".join("---" for _ in _HEAD) + " |",
    ]
    for row in _rows(result, figures, mc, ref_c, ref_mean):
        lines.append("| " + " | ".join(str(x) for x in row) + " |")
    bulk = result["bulk"]
    mem = result["memory_rss_mib_per_worker_under_S5"]
    ledger = result["ledger"]
    lines += [
        "",
        f"Bulk: {bulk['vouchers']:,} vouchers in {bulk['seconds']} s ({bulk['path']})."
        f" Worker resident memory under S5: {', '.join(f'{x:.0f} MiB' for x in mem)}."
        f" Ledger: {'OK' if ledger['ok'] else 'FAILED'}"
        f" ({ledger['redeemed_history_rows']:,} redemptions checked).",
        "<!-- results:end -->",
    ]
    text_ = DOCS.read_text()
    new = re.sub(r"<!-- results:start.*?<!-- results:end -->", "\n".join(lines), text_, flags=re.S)
    DOCS.write_text(new)


if __name__ == "__main__":
    sys.exit(main())
