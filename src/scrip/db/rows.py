"""Inserting one row from a mapping of column values, for the few tables set up that way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, text


def insert(conn: Connection, table: str, values: Mapping[str, Any]) -> int:
    """Insert one row and return its id. ``table`` and the column names come from code, never
    from input; the values are bound parameters."""
    columns = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    statement = text(f"INSERT INTO {table} ({columns}) VALUES ({params}) RETURNING id")
    return int(conn.execute(statement, dict(values)).scalar_one())
