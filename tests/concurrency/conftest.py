"""Concurrency tests: the real application served by uvicorn on loopback, many real clients.

Every test commits for real, gets an issuer of its own, starts its clients on a
``threading.Barrier`` and never sleeps: every wait is bounded. A control test, run against a
scratch database of its own, shows first that the race really happens with the lock off.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx2 as httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy import Engine, text

from scrip.db.engine import make_engine, upgrade
from scrip.server import create_app

T = TypeVar("T")
WAIT_S = 60.0


@contextmanager
def serve(engine: Engine, **app_options: Any) -> Iterator[str]:
    """Serve the real app on a free loopback port in a background thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(engine=engine, **app_options),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        backlog=512,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_until_started(server, thread)
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/healthz", timeout=10).json() == {"status": "ok"}
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT_S)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + WAIT_S
    while not server.started:
        assert thread.is_alive(), "uvicorn exited before it started"
        assert time.monotonic() < deadline, "uvicorn did not start in time"
        thread.join(timeout=0.01)  # a bounded wait on the server thread, not a sleep


@pytest.fixture(scope="session")
def base_url(engine: Engine) -> Iterator[str]:
    with serve(engine) as url:
        yield url


class Till:
    """One register over real HTTP; one ``httpx.Client`` per thread (clients are not shared)."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {key}"}
        self._local = threading.local()

    @property
    def client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.base_url, timeout=WAIT_S)
            self._local.client = client
        return client

    def close(self) -> None:
        client = getattr(self._local, "client", None)
        if client is not None:
            client.close()

    def get(self, path: str) -> httpx.Response:
        """Reads are never part of a race: a client of their own, closed at once."""
        with httpx.Client(base_url=self.base_url, timeout=WAIT_S) as client:
            return client.get(f"/v1/pos{path}", headers=self.headers)

    def post(self, path: str, body: Any = None, *, key: str | None = None) -> httpx.Response:
        headers = {**self.headers, "Idempotency-Key": key or str(uuid.uuid4())}
        return self.client.post(
            f"/v1/pos{path}", json=body if body is not None else {}, headers=headers
        )


def race(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run every call in its own thread, all released at once by one barrier; the results in
    order. An exception in any thread is raised here."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=WAIT_S)
            results[index] = call()
        except BaseException as error:
            errors.append(error)
            barrier.abort()

    threads = [
        threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_S * 2)
    assert not any(t.is_alive() for t in threads), "a client did not finish in time"
    if errors:
        raise errors[0]
    return results


def race_http(till: Till, calls: Sequence[Callable[[Till], T]]) -> list[T]:
    """``race`` where each call gets the till; each thread closes its own client afterwards."""

    def wrapped(call: Callable[[Till], T]) -> Callable[[], T]:
        def run() -> T:
            try:
                return call(till)
            finally:
                till.close()

        return run

    return race([wrapped(call) for call in calls])


def error_code(response: httpx.Response) -> str | None:
    if response.status_code < 400:
        return None
    code: str = response.json()["error"]["code"]
    return code


def _with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path="/" + name))


@pytest.fixture
def scratch_engine(database_url: str) -> Iterator[Engine]:
    """A database of its own on the same server, for a control test that breaks the ledger on
    purpose; dropped afterwards so no other test ever sees it."""
    server = _with_database(database_url, "postgres")
    name = f"scrip_control_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = _with_database(database_url, name)
        upgrade(dsn)
        engine = make_engine(dsn, pool_size=20, max_overflow=50)
        try:
            yield engine
        finally:
            engine.dispose()
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redeemed_rows(engine: Engine, operation_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM voucher_history"
                    " WHERE operation_id = :op AND type = 'voucher.redeemed'"
                ),
                {"op": operation_id},
            ).scalar_one()
        )
