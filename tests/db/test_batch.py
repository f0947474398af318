"""Write-behind: queued writes leave as one statement, and a read never misses one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from scrip.db.batch import write, write_behind


@pytest.fixture
def scratch(conn: Connection) -> Connection:
    conn.execute(text("CREATE TEMP TABLE scratch (id int PRIMARY KEY, v text)"))
    return conn


@pytest.fixture
def statements(scratch: Connection, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement handed to the driver, whether through SQLAlchemy or ``db.raw``."""
    seen: list[str] = []
    execute = psycopg.Cursor.execute

    def counting(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(query))
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counting)
    yield seen


INSERT = text("INSERT INTO scratch (id, v) VALUES (:id, :v)")
UPDATE = text("UPDATE scratch SET v = :v WHERE id = :id")


def _values(conn: Connection) -> list[tuple[int, str]]:
    return [tuple(r) for r in conn.execute(text("SELECT id, v FROM scratch ORDER BY id"))]


def test_queued_writes_leave_in_one_statement(scratch: Connection, statements: list[str]) -> None:
    with write_behind(scratch):
        write(scratch, INSERT, [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}])
        write(scratch, INSERT, {"id": 3, "v": "c"})
        assert statements == []

    assert len(statements) == 1 and statements[0].startswith("WITH ")
    assert _values(scratch) == [(1, "a"), (2, "b"), (3, "c")]


def test_a_read_sees_every_write_queued_before_it(scratch: Connection) -> None:
    with write_behind(scratch):
        write(scratch, INSERT, {"id": 1, "v": "a"})
        assert _values(scratch) == [(1, "a")]
        write(scratch, UPDATE, {"id": 1, "v": "b"})
    assert _values(scratch) == [(1, "b")]


def test_a_later_write_with_the_same_key_replaces_the_earlier(scratch: Connection) -> None:
    scratch.execute(INSERT, {"id": 1, "v": "a"})
    with write_behind(scratch):
        write(scratch, UPDATE, {"id": 1, "v": "first"}, key=("scratch", 1))
        write(scratch, UPDATE, {"id": 1, "v": "last"}, key=("scratch", 1))
    assert _values(scratch) == [(1, "last")]


def test_a_refusal_inside_the_block_sends_nothing(scratch: Connection) -> None:
    with pytest.raises(RuntimeError), write_behind(scratch):
        write(scratch, INSERT, {"id": 1, "v": "a"})
        raise RuntimeError("refused")
    assert _values(scratch) == []


def test_outside_the_block_a_write_runs_at_once(scratch: Connection) -> None:
    write(scratch, INSERT, {"id": 1, "v": "a"})
    assert _values(scratch) == [(1, "a")]


@pytest.fixture
def table(engine: Engine) -> Iterator[str]:
    name = f"scratch_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {name} (id int PRIMARY KEY, v text NOT NULL)"))
    yield name
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {name}"))


def test_a_committing_block_commits_with_its_last_statement(engine: Engine, table: str) -> None:
    insert = text(f"INSERT INTO {table} (id, v) VALUES (:id, :v)")
    with engine.begin() as conn, write_behind(conn, commit=True):
        write(conn, insert, {"id": 1, "v": "a"})
        write(conn, insert, {"id": 2, "v": "b"})

    with engine.connect() as other:
        rows = other.execute(text(f"SELECT id, v FROM {table} ORDER BY id")).all()
        assert rows == [(1, "a"), (2, "b")]


def test_a_failing_last_statement_keeps_nothing_and_leaves_the_connection_usable(
    engine: Engine, table: str
) -> None:
    insert = text(f"INSERT INTO {table} (id, v) VALUES (:id, :v)")
    with pytest.raises(IntegrityError), engine.begin() as conn, write_behind(conn, commit=True):
        conn.execute(insert, {"id": 1, "v": "a"})  # sent at once, in the same transaction
        write(conn, insert, {"id": 2, "v": None})  # NOT NULL: the last statement fails

    with engine.begin() as conn:  # the pool hands out a healthy connection
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
