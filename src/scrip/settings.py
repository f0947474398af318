"""Settings read from the environment. Only entry points (cli, server) read them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    host: str
    port: int
    workers: int
    pool_size: int
    log_level: str

    @property
    def embedded_pgdata(self) -> Path:
        return self.home / "pgdata"


def load() -> Settings:
    env = os.environ
    return Settings(
        home=Path(env.get("SCRIP_HOME", ".scrip")).resolve(),
        database_url=env.get("SCRIP_DATABASE_URL") or None,
        host=env.get("SCRIP_HOST", "127.0.0.1"),
        port=int(env.get("SCRIP_PORT", "8000")),
        workers=int(env.get("SCRIP_WORKERS", "2")),
        pool_size=int(env.get("SCRIP_DB_POOL_SIZE", "10")),
        log_level=env.get("SCRIP_LOG_LEVEL", "info"),
    )
