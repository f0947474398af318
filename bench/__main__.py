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
5. the product's bulk paths (``bulk.py``): a lot of a million through ``services.lots``, a plain
   COPY of the same rows for the ratio, a bulk activation of the lot;
6. the ledger check (invariants, no negative balance, redemption history = transfers); a
   mismatch fails the run (exit status 1) whatever its speed.

Settings (environment): BENCH_DURATION seconds per measurement (10), BENCH_REPEAT (1; 3 for
the medians the targets are stated in), BENCH_CONNECTIONS (``32``; e.g. ``8,32,64``),
BENCH_REF_CLIENTS (``1,8,32,64``), BENCH_VOUCHERS (1000000), BENCH_WORKERS (2),
BENCH_DB_POOL_SIZE (10), BENCH_S6 (1), BENCH_LOT (1000000; 0 skips the bulk paths),
BENCH_WRITE_DOCS (1: update docs/benchmarks.md), BENCH_STRICT (0; 1: exit 2 when the
reference before and after disagree by more than 10%).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from scrip import embedded_db

from . import bulk, openloop
from .api import Figure, Server, measure, wrk
from .config import HOT, ROOT, TOLERANCE, Config, console
from .data import check_ledger, fresh_database, prepare_data
from .reference import prepare_reference, reference
from .report import print_table, write_docs


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
                        "failures": res.failures,
                    }
                )
                console.log(
                    f"S6 open loop at {rate:,.0f}/s: p50 {runs[-1]['p50_ms']:.1f} ms,"
                    f" p99 {runs[-1]['p99_ms']:.1f} ms, p99.9 {runs[-1]['p999_ms']:.1f} ms,"
                    f" errors {res.bad} {res.failures or ''}, late starts {res.late_starts}"
                )
            s6 = {
                "rate_per_s": round(rate, 1),
                "client": "bench.openloop (asyncio; substitute for wrk2)",
                **{
                    k: round(statistics.median(r[k] for r in runs), 2)
                    for k in ("p50_ms", "p99_ms", "p999_ms")
                },
                "errors": sum(r["bad"] for r in runs),
                "failures": {
                    kind: sum(r["failures"].get(kind, 0) for r in runs)
                    for kind in sorted({k for r in runs for k in r["failures"]})
                },
                "late_starts": sum(r["late_starts"] for r in runs),
            }
    finally:
        server.stop()

    ref_after = reference(dsn, cfg, cfg.vouchers)
    # After the API figures and the reference, so a million more rows can't disturb them;
    # before the ledger check, so it covers what the bulk paths wrote too.
    product_bulk = bulk.measure(dsn, issuer_id=setup.issuer_id, count=cfg.lot) if cfg.lot else None
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
    # What a call could reach at best on this stack, as if its own work cost nothing: what a
    # look-up through the till's lane costs the machine (S4, CPU-bound at these connections:
    # the client, HTTP, the worker, one indexed read) plus what one reference transaction
    # costs it, per write. An S3 pair is three such calls (open, hold, confirm or cancel).
    lookup_s = 1 / figures["S4"][mc].value
    calls_per_figure = {"S1": 1, "S2": 1, "S3": 3}
    for name, calls in calls_per_figure.items():
        ref = ref_mean(targets[name][0], ref_c)
        best = 1 / (calls * (lookup_s + 1 / ref))
        ratios[name]["ceiling"] = round(best / ref, 3)
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
            "path": "bench set-based SQL (active with a balance: no bulk path sells)",
            "product": product_bulk,
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


if __name__ == "__main__":
    sys.exit(main())
