"""Write-behind: writes that return nothing leave in one statement at the end of a transaction.

On the POS hot path the voucher row stays locked from ``SELECT … FOR UPDATE`` until COMMIT, so
every round trip in between lengthens the time other tills wait for it. Inside
``write_behind(conn)`` the write functions (ledger transfers, the voucher's new balance, its
history row, the stored idempotent answer) queue their statements; they are sent together as
one statement of data-modifying CTEs when the block ends — or earlier, before any other
statement runs on the connection, so a read always sees every write queued before it.

A queued statement may carry a ``key``: a later statement with the same key replaces it (the
voucher row is written whole, and one statement must never update a row twice).

**The snapshot rule.** Every part of one statement sees the same snapshot, taken before any
part of it ran. So an UPDATE or DELETE queued after an INSERT into the same table, in one
queue, cannot see the inserted row and silently changes nothing. Never queue one: read in
between (a read flushes), or write the row whole in its INSERT. :func:`check_snapshot_rule`
turns on an assertion of the rule (the test suite does, for every test), refusing such a queue
with :class:`SnapshotRuleBroken` at the write that breaks it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.sql.elements import BindParameter, TextClause
from sqlalchemy.types import NullType, TypeEngine

from scrip.db import raw

_QUEUE = "scrip.write_behind"
_FLUSHING = "scrip.write_behind.flushing"
_PARAM = re.compile(r"(?<![:\w]):(\w+)")
_TARGET = re.compile(r"^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)
_checking = False


class SnapshotRuleBroken(AssertionError):
    """A write-behind queue holds an UPDATE or DELETE of a table it inserted into."""


def check_snapshot_rule(enabled: bool = True) -> None:
    """Assert the snapshot rule (see the module docstring) on every queued write from now on."""
    global _checking
    _checking = enabled


@lru_cache(maxsize=1024)
def _target(sql: str) -> tuple[str, str] | None:
    """(verb, table) of a write statement: ``("INSERT", "voucher_history")``."""
    found = _TARGET.match(sql)
    return (found.group(1).split()[0].upper(), found.group(2).lower()) if found else None


def _check(queue: Sequence[_Write], statement: TextClause) -> None:
    target = _target(statement.text)
    if target is None or target[0] == "INSERT":
        return
    inserted = {_target(w.statement.text) for w in queue}
    if ("INSERT", target[1]) in inserted:
        raise SnapshotRuleBroken(
            f"{target[0]} {target[1]} queued after an INSERT into it: the combined statement's"
            " snapshot cannot see the inserted row (db.batch, the snapshot rule)"
        )


@dataclass(frozen=True, slots=True)
class _Write:
    statement: TextClause
    params: Mapping[str, Any]
    key: object | None


@contextmanager
def write_behind(conn: Connection) -> Iterator[None]:
    conn.info[_QUEUE] = []
    try:
        yield
        flush(conn)
    finally:
        _forget(conn, _QUEUE)


def write(
    conn: Connection,
    statement: TextClause,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    key: object | None = None,
) -> None:
    """Execute a write that returns nothing now, or queue it inside ``write_behind``."""
    queue: list[_Write] | None = conn.info.get(_QUEUE)
    if queue is None:
        conn.execute(statement, params)
        return
    rows = [params] if isinstance(params, Mapping) else list(params)
    if _checking:
        _check(queue, statement)
    if key is not None:
        queue[:] = [w for w in queue if w.key != key]
    queue.extend(_Write(statement, row, key) for row in rows)


def flush(conn: Connection) -> None:
    queue: list[_Write] | None = conn.info.get(_QUEUE)
    if not queue:
        return
    writes = list(queue)
    queue.clear()
    statement, params = _combine(writes)
    conn.info[_FLUSHING] = True
    try:
        raw.execute(conn, statement, params)
    finally:
        _forget(conn, _FLUSHING)


def _forget(conn: Connection, name: str) -> None:
    # A connection invalidated by a dropped server refuses ``info`` until its transaction is
    # rolled back, and reading it would hide the real error (the till's 503 became a 500). The
    # pool clears that ``info`` when it reconnects, so there is nothing to clean up then.
    if not conn.invalidated:
        conn.info.pop(name, None)


def is_flushing(conn: Connection) -> bool:
    return bool(conn.info.get(_FLUSHING))


def _combine(writes: list[_Write]) -> tuple[TextClause, dict[str, Any]]:
    """One statement: ``WITH w0 AS (…), w1 AS (…) <last>``, parameters renamed apart."""
    params = {
        f"w{i}_{name}": value for i, w in enumerate(writes) for name, value in w.params.items()
    }
    shape = tuple((w.statement.text, _typed_binds(w.statement)) for w in writes)
    return _combined(shape), params


@lru_cache(maxsize=1024)
def _typed_binds(statement: TextClause) -> tuple[tuple[str, TypeEngine[Any]], ...]:
    return tuple(
        (name, bind.type)
        for name, bind in statement._bindparams.items()
        if not isinstance(bind.type, NullType)
    )


@lru_cache(maxsize=512)
def _combined(
    shape: tuple[tuple[str, tuple[tuple[str, TypeEngine[Any]], ...]], ...],
) -> TextClause:
    """The combined statement for a sequence of statements, built once per shape: the same
    operation always queues the same statements, so this is computed a handful of times."""
    parts = [_PARAM.sub(f":w{i}_\\1", sql) for i, (sql, _) in enumerate(shape)]
    binds = [
        BindParameter(f"w{i}_{name}", type_=type_)
        for i, (_, typed) in enumerate(shape)
        for name, type_ in typed
    ]
    if len(parts) == 1:
        combined = parts[0]
    else:
        ctes = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(parts[:-1]))
        combined = f"WITH {ctes} {parts[-1]}"
    return text(combined).bindparams(*binds)


@event.listens_for(Connection, "before_execute")
def _flush_before_anything_else(conn: Connection, *_: Any) -> None:
    if conn.info.get(_QUEUE) and not conn.info.get(_FLUSHING):
        flush(conn)
