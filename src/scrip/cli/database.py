"""Where the database is: an external DSN from settings, or the embedded server."""

from __future__ import annotations

import os

from rich.console import Console

from scrip import embedded_db, settings
from scrip.db.engine import upgrade

console = Console(stderr=True)


def resolve_dsn(config: settings.Settings) -> str:
    if config.database_url:
        return config.database_url
    with console.status("starting the embedded PostgreSQL server…"):
        dsn = embedded_db.start(config.embedded_pgdata, stop_at_exit=False)
    os.environ["SCRIP_DATABASE_URL"] = dsn
    return dsn


def migrate(dsn: str) -> None:
    with console.status("applying migrations…"):
        upgrade(dsn)
