"""Inserting one row from a mapping of column values, for the few tables set up that way."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.sql.elements import TextClause


def insert(conn: Connection, table: str, values: Mapping[str, Any]) -> int:
    """Insert one row and return its id. ``table`` and the column names come from code, never
    from input; the values are bound parameters."""
    statement = insert_statement(table, tuple(values), "id")
    return int(conn.execute(statement, dict(values)).scalar_one())


@lru_cache(maxsize=256)
def insert_statement(
    table: str, columns: tuple[str, ...], returning: str = "", *, unless_taken: str = ""
) -> TextClause:
    """``INSERT INTO table (columns) VALUES (:columns…) [ON CONFLICT (unless_taken) DO NOTHING]
    [RETURNING …]``, built once per set of columns: parsing a text() clause costs more than
    sending it (the till's receipts)."""
    names = ", ".join(columns)
    params = ", ".join(f":{name}" for name in columns)
    skip = f" ON CONFLICT ({unless_taken}) DO NOTHING" if unless_taken else ""
    tail = f" RETURNING {returning}" if returning else ""
    return text(f"INSERT INTO {table} ({names}) VALUES ({params}){skip}{tail}")
