"""The POS hot path's statements, sent on the driver connection instead of through SQLAlchemy.

SQLAlchemy's statement execution costs about 200 µs of CPU per statement on this kind of
machine against about 55 µs for psycopg's own ``execute`` of a prepared statement (measured in
issue 3: the API's redemptions are CPU-bound, on two cores shared with PostgreSQL). The few
statements every till call runs — find or lock the voucher, the write-behind flush that
carries the stored answer — go through here. Everything else keeps SQLAlchemy.

The statements stay SQLAlchemy ``text()`` clauses with ``:name`` parameters (one way of writing
SQL in the code base); they are translated once to psycopg's ``%(name)s`` form. They run in the
same transaction as everything else on the ``Connection``, and psycopg errors are raised as the
same SQLAlchemy exceptions the callers already handle (busy, deadlock retry, a dropped connection
invalidated so the pool replaces it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.elements import TextClause

from scrip.db import batch

_PARAM = re.compile(r"(?<![:\w]):(\w+)")


@lru_cache(maxsize=1024)
def _pyformat(sql: str) -> str:
    """The psycopg form of a ``text()`` statement's SQL, cached by text (some are built
    per call)."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


@lru_cache(maxsize=1024)
def _json_params(statement: TextClause) -> tuple[str, ...]:
    # Per statement object (module constants, or cached per shape), not per execution.
    return tuple(
        name for name, bind in statement._bindparams.items() if isinstance(bind.type, JSONB)
    )


def _driver(conn: Connection) -> psycopg.Connection[Any]:
    driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    return driver


def execute(
    conn: Connection, statement: TextClause, params: Mapping[str, Any], *, dicts: bool = False
) -> psycopg.Cursor[Any]:
    """Run ``statement`` on ``conn``'s own database connection and return the psycopg cursor
    (rows as tuples, or as dicts with ``dicts=True``). Writes queued behind go first."""
    if not batch.is_flushing(conn):
        batch.flush(conn)
    sql = _pyformat(statement.text)
    values = dict(params)
    for name in _json_params(statement):
        values[name] = Jsonb(values[name])
    driver = _driver(conn)
    cursor = driver.cursor(row_factory=dict_row) if dicts else driver.cursor()
    try:
        return cursor.execute(sql, values, prepare=True)
    except psycopg.Error as error:
        raise _as_sqlalchemy(conn, driver, cursor, error, sql, values) from error


def _as_sqlalchemy(
    conn: Connection, driver: Any, cursor: Any, error: Any, sql: str, values: Mapping[str, Any]
) -> StatementError:
    """The exception SQLAlchemy itself would raise: a ``DBAPIError`` subclass (``OperationalError``
    for a dropped connection, which is invalidated here so the pool replaces it)."""
    disconnected = conn.dialect.is_disconnect(error, driver, cursor)
    if disconnected:
        conn.invalidate(error)
    wrapped: StatementError = DBAPIError.instance(
        sql,
        dict(values),
        error,
        psycopg.Error,
        hide_parameters=True,  # parameters may hold a PIN or a secret number
        connection_invalidated=disconnected,
        dialect=conn.dialect,
    )
    return wrapped
