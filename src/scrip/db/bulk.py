"""Set-based writes for lots of a million: ids taken from sequences in one query, rows
streamed with PostgreSQL ``COPY … FROM STDIN`` through psycopg 3 instead of one INSERT each.

The raw psycopg connection is the one under the SQLAlchemy connection, so COPY joins the
caller's transaction (and its savepoints) like any other statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection

from scrip.db import batch


def raw(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under ``conn``, in the same transaction; writes queued by
    ``batch.write_behind`` go out first, since the driver bypasses its hooks."""
    batch.flush(conn)
    driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    return driver


def allocate_ids(conn: Connection, table: str, count: int) -> list[int]:
    """``count`` fresh ids from the identity sequence of ``table``.id, in ascending order."""
    with raw(conn).cursor() as cursor:
        # The sequence is looked up once: as a call per row it would cost more than nextval.
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,))
        sequence = cursor.fetchone()
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
            (sequence[0] if sequence else table, count),
        )
        return sorted(int(row[0]) for row in cursor.fetchall())


def copy_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Stream ``rows`` into ``table`` with COPY (text format; psycopg adapts each value)."""
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with raw(conn).cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
