"""Settings of a bench run (environment variables) and the constants every part shares."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

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
    lot: int = field(default_factory=lambda: _env_int("BENCH_LOT", 1_000_000))
    write_docs: bool = field(default_factory=lambda: _env_int("BENCH_WRITE_DOCS", 1) == 1)
    strict: bool = field(default_factory=lambda: _env_int("BENCH_STRICT", 0) == 1)

    @property
    def main_conns(self) -> int:
        return 32 if 32 in self.connections else self.connections[0]
