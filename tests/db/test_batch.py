"""Write-behind: queued writes leave as one statement, and a read never misses one."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from scrip.db.batch import SnapshotRuleBroken, check_snapshot_rule, write, write_behind


@pytest.fixture
def scratch(conn: Connection) -> Connection:
    conn.execute(text("CREATE TEMP TABLE scratch (id int PRIMARY KEY, v text)"))
    return conn


INSERT = text("INSERT INTO scratch (id, v) VALUES (:id, :v)")
UPDATE = text("UPDATE scratch SET v = :v WHERE id = :id")


def _values(conn: Connection) -> list[tuple[int, str]]:
    return [tuple(r) for r in conn.execute(text("SELECT id, v FROM scratch ORDER BY id"))]


def test_queued_writes_leave_in_one_statement(
    scratch: Connection, sent_statements: list[str]
) -> None:
    with write_behind(scratch):
        write(scratch, INSERT, [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}])
        write(scratch, INSERT, {"id": 3, "v": "c"})
        assert sent_statements == []

    assert len(sent_statements) == 1 and sent_statements[0].startswith("WITH ")
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


def test_a_server_gone_mid_transaction_surfaces_as_the_database_error(engine: Engine) -> None:
    """The API answers 503 database_unavailable to an ``OperationalError``. When the server
    drops the connection at the flush, that error must reach the caller — not a
    ``PendingRollbackError`` from cleaning up the invalidated connection (a 500)."""
    with engine.connect() as victim, engine.connect() as admin:
        victim.execute(text("CREATE TEMP TABLE scratch (id int PRIMARY KEY, v text)"))
        pid = victim.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with pytest.raises(OperationalError) as raised, write_behind(victim):
            write(victim, INSERT, {"id": 1, "v": "a"})
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert raised.value.connection_invalidated
        victim.rollback()
        # the pool's next connection works
        assert victim.execute(text("SELECT 1")).scalar_one() == 1


def test_the_snapshot_rule_is_real_and_asserted(scratch: Connection) -> None:
    """The control shows the hazard: with the check off, an UPDATE queued after the INSERT of
    its row leaves in the same statement and changes nothing. With it on (as in every test),
    the queue refuses it at the write."""
    check_snapshot_rule(False)
    try:
        with write_behind(scratch):
            write(scratch, INSERT, {"id": 1, "v": "a"})
            write(scratch, UPDATE, {"id": 1, "v": "b"})
        assert _values(scratch) == [(1, "a")]  # the update saw no row
    finally:
        check_snapshot_rule(True)

    with pytest.raises(SnapshotRuleBroken), write_behind(scratch):
        write(scratch, INSERT, {"id": 2, "v": "a"})
        write(scratch, UPDATE, {"id": 2, "v": "b"})


def test_a_read_between_lets_the_update_through(scratch: Connection) -> None:
    with write_behind(scratch):
        write(scratch, INSERT, {"id": 1, "v": "a"})
        _values(scratch)  # flushes the queue
        write(scratch, UPDATE, {"id": 1, "v": "b"})
    assert _values(scratch) == [(1, "b")]
