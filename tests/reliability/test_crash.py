"""Crashes under load: an API worker killed with SIGKILL, PostgreSQL stopped immediately.

Clients journal every operation (key, request, answer) and retry with the same key until
answered. Afterwards every acknowledged operation is in the ledger, nothing is half-written, and
re-sending every journalled key converges to exactly one effect per key. A control run with
``synchronous_commit=off`` shows the audit really catches a lost acknowledged write.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx2 as httpx
import psycopg
import pytest
from sqlalchemy import Engine, create_engine, text

from scrip.db.engine import make_engine, sqlalchemy_url
from tests.concurrency.conftest import serve
from tests.reliability.conftest import (
    WAIT_S,
    Entry,
    Journal,
    Load,
    PrivatePostgres,
    api_process,
    assert_converges,
    audit,
    new_key,
    open_shop,
    redemption,
    send,
)

pytestmark = pytest.mark.concurrency

CLIENTS = 6
AMOUNT = 100
BEFORE = 80  # acknowledged operations before the crash
AFTER = 80  # and after it
CONTROL_ATTEMPTS = 5


def test_kill_9_of_an_api_worker_loses_no_acknowledged_operation(
    engine: Engine, database_url: str
) -> None:
    shop = open_shop(engine, cards=6, balance=100_000)
    journal = Journal()
    with api_process(database_url, workers=2) as api:
        with Load(api.url, shop, journal, threads=CLIENTS, amount=AMOUNT):
            journal.wait_acknowledged(BEFORE)
            victim = api.busiest_worker()
            os.kill(victim, signal.SIGKILL)
            journal.wait_acknowledged(BEFORE + AFTER)
        assert victim not in api.worker_pids()
        felt = [e for e in journal.entries if len(e.attempts) > 1]
        assert felt, "no client noticed the kill; the worker was idle"
        assert_converges(engine, api.url, shop, journal)
    print(f"kill -9: {len(journal.entries)} operations, {len(felt)} retried after the kill")


def test_postgres_stopped_immediately_loses_no_acknowledged_operation(
    private_pg: PrivatePostgres,
) -> None:
    dsn = private_pg.new_database()
    engine = make_engine(dsn, pool_size=2)
    try:
        shop = open_shop(engine, cards=6, balance=100_000)
        journal = Journal()
        up = threading.Event()
        up.set()
        with api_process(dsn, workers=2) as api:
            with Load(api.url, shop, journal, threads=CLIENTS, amount=AMOUNT, gate=up):
                journal.wait_acknowledged(BEFORE)
                up.clear()
                private_pg.stop("immediate")

                # during the outage an operation fails; it is retried after the restart
                probe = Entry(new_key(), *redemption(shop.codes[0], AMOUNT))
                journal.add(probe)
                with httpx.Client(base_url=api.url, timeout=WAIT_S) as client:
                    one_try = threading.Event()
                    one_try.set()
                    send(
                        client,
                        shop.world.key,
                        probe,
                        deadline=time.monotonic() + 5,
                        give_up=one_try,
                    )
                    assert probe.status is None
                    # each attempt failed: 503 database_unavailable (never a 500) or no answer
                    assert probe.attempts and all(
                        not a.isdigit() or int(a) == 503 for a in probe.attempts
                    ), probe.attempts

                    private_pg.start()
                    engine.dispose()
                    up.set()
                    send(client, shop.world.key, probe, deadline=time.monotonic() + WAIT_S)
                journal.answered(probe)
                assert probe.status == 201, probe
                journal.wait_acknowledged(BEFORE + AFTER)
            assert_converges(engine, api.url, shop, journal)
        retried = [e for e in journal.entries if len(e.attempts) > 1]
        print(f"postgres stop: {len(journal.entries)} operations, {len(retried)} retried,")
        print(f"  the probe during the outage got {probe.attempts}")
    finally:
        engine.dispose()


def test_control_synchronous_commit_off_loses_acknowledged_writes_and_the_audit_sees_it(
    private_pg: PrivatePostgres,
) -> None:
    """The audit above must be able to fail. With synchronous_commit off, commits are
    acknowledged before their WAL is flushed, so an immediate stop right after a burst of them
    loses some; the audit has to report them as acknowledged but missing."""
    dsn = private_pg.new_database()
    safe = make_engine(dsn, pool_size=2)
    # Server-wide off changes nothing for the application: make_engine pins it on per connection.
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("ALTER SYSTEM SET synchronous_commit = off")
        admin.execute("SELECT pg_reload_conf()")
    with safe.connect() as conn:
        assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
    # So the control bypasses that pin with an engine of its own.
    unsafe = create_engine(
        sqlalchemy_url(dsn),
        pool_size=10,
        pool_pre_ping=True,
        connect_args={"options": "-c synchronous_commit=off -c timezone=UTC"},
    )
    try:
        with unsafe.connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == "off"
        shop = open_shop(safe, cards=6, balance=100_000)
        losses: list[int] = []
        acknowledged: list[int] = []
        with serve(unsafe) as url:
            for _ in range(CONTROL_ATTEMPTS):
                journal = Journal()
                up = threading.Event()
                up.set()
                with Load(url, shop, journal, threads=CLIENTS, amount=AMOUNT, gate=up) as load:
                    journal.wait_acknowledged(BEFORE)
                    up.clear()
                    private_pg.stop("immediate")
                    load.give_up.set()
                    up.set()
                private_pg.start()
                safe.dispose()
                unsafe.dispose()
                result = audit(safe, shop, journal)
                assert result.broken == {}, "a lost commit is lost whole, never half"
                losses.append(len(result.missing))
                acknowledged.append(len(journal.acknowledged()))
                if result.missing:
                    break
    finally:
        unsafe.dispose()
        safe.dispose()
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("ALTER SYSTEM RESET synchronous_commit")
            admin.execute("SELECT pg_reload_conf()")
    print(
        "synchronous_commit=off control: lost/acknowledged per attempt"
        f" {list(zip(losses, acknowledged, strict=True))}"
    )
    if not any(losses):
        pytest.xfail(
            f"could not reproduce a lost acknowledged write in {CONTROL_ATTEMPTS} attempts"
        )
    assert losses[-1] > 0
