"""The embedded server is started with the checkpoint settings a million-row bulk run needs."""

from __future__ import annotations

import os

import psycopg
import pytest

from scrip import embedded_db


def test_the_embedded_server_has_its_settings_on_file(database_url: str) -> None:
    if os.environ.get("SCRIP_TEST_DATABASE_URL"):
        pytest.skip("an external server keeps its own settings")
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT name, setting, applied FROM pg_file_settings"
            " WHERE sourcefile LIKE '%%postgresql.auto.conf' AND name = ANY(%s)",
            (list(embedded_db.SETTINGS),),
        ).fetchall()
    # applied: valid, and taken on a reload (none of them waits for a restart).
    assert {name: (setting, applied) for name, setting, applied in rows} == {
        name: (value, True) for name, value in embedded_db.SETTINGS.items()
    }
