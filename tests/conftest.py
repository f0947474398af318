"""Real PostgreSQL for every test that touches storage.

The server is the embedded one under ``.scrip/test-pgdata`` or, when
``SCRIP_TEST_DATABASE_URL`` is set, that server. Either way each test run gets a database of its
own, migrated with Alembic, and dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import BaseConnection
from sqlalchemy import Connection, Engine

from scrip import embedded_db
from scrip.db.batch import check_snapshot_rule, write_behind
from scrip.db.engine import make_engine, upgrade
from scrip.db.invariants import violations

ROOT = Path(__file__).resolve().parent.parent

# Every test is a debug run of the write-behind queue: a queue that breaks its snapshot rule
# (an UPDATE of a table it inserted into) fails the test that built it.
check_snapshot_rule(True)


def _server_dsn() -> str:
    external = os.environ.get("SCRIP_TEST_DATABASE_URL")
    if external:
        return external
    return embedded_db.start(ROOT / ".scrip" / "test-pgdata", stop_at_exit=True)


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    server = _server_dsn()
    name = f"scrip_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = _with_database(server, name)
    upgrade(dsn)
    yield dsn
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=20, max_overflow=80)
    yield engine
    engine.dispose()


@contextmanager
def rolled_back(engine: Engine, *, queued: bool = False) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back afterwards; the ledger invariants
    are checked before the rollback. ``queued`` runs everything inside ``db.batch.write_behind``,
    as the API runs a till call: writes wait in the queue until the next read."""
    with engine.connect() as connection:
        transaction = connection.begin()
        with write_behind(connection) if queued else nullcontext():
            yield connection
        broken = violations(connection)
        transaction.rollback()
    assert broken == {}, f"ledger invariants broken: {broken}"


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test; the ledger
    invariants are checked before the rollback."""
    with rolled_back(engine) as connection:
        yield connection


def both_ways(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Connection]:
    """The ``conn`` of the service suites: every test runs once writing directly and once with
    its writes queued as production queues them (``db.batch.write_behind``)."""
    with rolled_back(engine, queued=request.param == "queued") as connection:
        yield connection


@pytest.fixture
def ledger_holds(engine: Engine) -> Iterator[None]:
    """For tests that commit for real: the whole database must still hold afterwards."""
    yield
    with engine.connect() as connection:
        assert violations(connection) == {}


@pytest.fixture(scope="module")
def fast_passwords() -> Iterator[None]:
    """Cheap argon2id hashes for a module that makes hundreds of users (the matrices): the
    production parameters cost 0.4 s a hash on this machine. The hashes stay real argon2id,
    so logging in with them works."""
    from argon2 import PasswordHasher

    from scrip import crypto

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(crypto, "hash_password", cheap.hash)
        yield


@pytest.fixture
def sent_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement handed to the driver from now on, whether through SQLAlchemy or
    ``db.raw``, and the transaction commands psycopg sends of its own accord (``BEGIN``,
    ``COMMIT``, ``ROLLBACK``): one entry per round trip. A ``BEGIN`` follows the statement
    whose execution sent it. Clear the list to count from a later point."""
    seen: list[str] = []
    execute = psycopg.Cursor.execute
    command = BaseConnection._exec_command

    def counting(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(query))
        return execute(cursor, query, *args, **kwargs)

    def counting_command(connection: Any, sql: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(sql.decode() if isinstance(sql, bytes) else str(sql))
        return command(connection, sql, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counting)
    monkeypatch.setattr(BaseConnection, "_exec_command", counting_command)
    return seen
