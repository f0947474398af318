"""The results as a table on the terminal and in docs/benchmarks.md."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from .api import Figure
from .config import DOCS, HOT


def _rows(
    result: dict[str, Any],
    figures: dict[str, dict[int, Figure]],
    mc: int,
    ref_c: int,
    ref_mean: Callable[[str, int], float],
) -> list[list[str]]:
    rows: list[list[str]] = []
    ref = result["reference"]

    def rows_of(kind: str) -> int:
        return int(result["settings"]["vouchers"]) if kind == "uniform" else HOT

    for kind in ("uniform", "hot"):
        for c in ref["before"][kind]:
            b, a = ref["before"][kind][c], ref["after"][kind][c]
            delta = ref["after_vs_before"][f"{kind}_x{c}"]
            rows.append(
                [f"reference {kind} ({rows_of(kind):,} rows)",
                 c, f"{b:,} / {a:,} tx/s", "", "", "", f"after {delta:+.0%}", ""]
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
                 str(s["errors"]), f"{s['server_cpu_ms_per_request']:.2f}",
                 f"{r['ratio']:.2f}x {r['against']}" if r else "",
                 _verdict(r) if r else ""]
            )  # fmt: skip
    s6 = result["S6"]
    if s6:
        r = result["ratios"]["S6"]
        rows.append(
            [f"S6 open loop at {s6['rate_per_s']:,.0f}/s (0.5x S1)", "open", "",
             f"{s6['p50_ms']:.1f} / {s6['p99_ms']:.1f} / {s6['p999_ms']:.1f}", str(s6["errors"]),
             "", "", ("met" if r["met"] else "NOT met") + " (p99 <= 50, p99.9 <= 200)"]
        )  # fmt: skip
    return rows


def _verdict(r: dict[str, Any]) -> str:
    verdict = ("met" if r["met"] else "NOT met") + f" (>= {r['target']}"
    if "ceiling" in r:
        verdict += f"; stack ceiling {r['ceiling']:.2f}x"
    return verdict + ")"


_HEAD = [
    "figure", "conns", "throughput", "p50 / p99 / p99.9 ms", "errors", "server CPU ms/req",
    "ratio", "target",
]  # fmt: skip


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
    product = product_bulk_line(bulk.get("product"))
    if product:
        out.print(product)
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
        f" {product_bulk_line(bulk.get('product'))}"
        f" Worker resident memory under S5: {', '.join(f'{x:.0f} MiB' for x in mem)}."
        f" Ledger: {'OK' if ledger['ok'] else 'FAILED'}"
        f" ({ledger['redeemed_history_rows']:,} redemptions checked).",
        "<!-- results:end -->",
    ]
    text_ = DOCS.read_text()
    new = re.sub(r"<!-- results:start.*?<!-- results:end -->", "\n".join(lines), text_, flags=re.S)
    DOCS.write_text(new)


def product_bulk_line(product: dict[str, Any] | None) -> str:
    if not product:
        return ""
    return (
        f"Product bulk paths: a lot of {product['vouchers']:,} printed vouchers with sealed PINs"
        f" in {product['lot_s']} s ({product['lot_vs_copy']}x a plain COPY of the same rows,"
        f" {product['plain_copy_s']} s); bulk activation of the lot in {product['activation_s']} s"
        f" ({product['activated']:,} activated, {product['activation_refused']:,} refused)."
    )
