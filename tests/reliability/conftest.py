"""Reliability harness: a PostgreSQL server of our own that we may kill, the API as a uvicorn
subprocess whose workers we may kill, clients that keep a journal, and the audit that compares
the journal with the ledger.

Everything runs on loopback or a Unix socket, every wait is bounded, and every process started
here is stopped by its process id.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2 as httpx
import psutil
import psycopg
import pytest
from sqlalchemy import Engine, text

from scrip import embedded_db
from scrip.db.engine import upgrade
from scrip.db.invariants import violations
from tests import builders

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PG_USER = "embedded_postgres"
WAIT_S = 60.0
RETRYABLE = {500, 502, 503}


# -- a PostgreSQL server of our own ------------------------------------------------------------


class PrivatePostgres:
    """An embedded PostgreSQL under ``.scrip/crash-pgdata-<random>``, run as its OS user, that a
    test may stop immediately and start again; removed at the end."""

    def __init__(self, settings: dict[str, str]) -> None:
        self.pgdata = ROOT / ".scrip" / f"crash-pgdata-{secrets.token_hex(4)}"
        self.settings = settings
        self.bin = embedded_db.bin_dir()
        self.dsn = f"postgresql://postgres@/postgres?host={quote(str(self.pgdata), safe='')}"

    def _run(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", PG_USER, "--", *args],
            check=True,
            timeout=WAIT_S,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def init(self) -> None:
        self.pgdata.mkdir(parents=True, mode=0o700)
        shutil.chown(self.pgdata, PG_USER, PG_USER)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.pgdata),
            "--auth=trust",
            "--encoding=utf8",
            "-U",
            "postgres",
            "--no-sync",
        )

    def start(self) -> None:
        options = " ".join(
            [f"-h '' -k {self.pgdata}"] + [f"-c {k}={v}" for k, v in self.settings.items()]
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.pgdata),
            "-w",
            "-t",
            str(int(WAIT_S)),
            "-o",
            options,
            "-l",
            str(self.pgdata / "log"),
            "start",
        )

    def stop(self, mode: str) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", mode, "stop")

    def running(self) -> bool:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return False
        return psutil.pid_exists(int(pid_file.read_text().split()[0]))

    def new_database(self) -> str:
        # A test that failed during its outage leaves the server stopped; the next test must
        # not fail for that reason too.
        if not self.running():
            self.start()
        name = f"scrip_crash_{secrets.token_hex(3)}"
        with psycopg.connect(self.dsn, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        dsn = self.dsn.replace("@/postgres?", f"@/{name}?")
        upgrade(dsn)
        return dsn

    def remove(self) -> None:
        if self.running():
            self.stop("fast")
        shutil.rmtree(self.pgdata, ignore_errors=True)


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    # wal_writer_delay at its maximum widens the window of a synchronous_commit=off control;
    # the application pins synchronous_commit=on per connection, so it makes no other difference.
    server = PrivatePostgres({"wal_writer_delay": "10s", "fsync": "on"})
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


# -- the API as a subprocess ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ApiProcess:
    """``uvicorn scrip.server:app_from_env --factory --workers N`` on a loopback port."""

    def __init__(self, dsn: str, *, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SCRIP_DATABASE_URL": dsn, "SCRIP_DB_POOL_SIZE": "10"}
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "uvicorn"),
                "scrip.server:app_from_env",
                "--factory",
                "--workers",
                str(workers),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.workers = workers

    def worker_pids(self) -> list[int]:
        master = psutil.Process(self.process.pid)
        return sorted(
            child.pid
            for child in master.children()
            if child.is_running()
            and child.status() != psutil.STATUS_ZOMBIE
            and any("spawn_main" in part for part in child.cmdline())  # not the resource tracker
        )

    def busiest_worker(self) -> int:
        """The worker holding the most client connections (the kernel may give them all to
        one worker; killing an idle one would test nothing)."""

        def established(pid: int) -> int:
            connections = psutil.Process(pid).net_connections(kind="tcp")
            return sum(
                c.status == psutil.CONN_ESTABLISHED and c.laddr.port == self.port
                for c in connections
            )

        return max(self.worker_pids(), key=established)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + WAIT_S
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while True:
                assert self.process.poll() is None, "uvicorn exited"
                assert time.monotonic() < deadline, "uvicorn did not come up in time"
                try:
                    if client.get("/healthz").status_code == 200 and (
                        len(self.worker_pids()) == self.workers
                    ):
                        return
                except httpx.TransportError:
                    pass
                _wait_briefly(self.process)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=WAIT_S / 2)
            except subprocess.TimeoutExpired:
                for pid in self.worker_pids():
                    os.kill(pid, signal.SIGKILL)
                self.process.kill()
                self.process.wait(timeout=WAIT_S / 2)


def _wait_briefly(process: subprocess.Popen[bytes]) -> None:
    """A bounded wait on the process itself between polls (returns early if it exits)."""
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=0.05)


@contextmanager
def api_process(dsn: str, *, workers: int = 2) -> Iterator[ApiProcess]:
    api = ApiProcess(dsn, workers=workers)
    try:
        api.wait_ready()
        yield api
    finally:
        api.stop()


# -- clients and their journal ------------------------------------------------------------------


@dataclass
class Entry:
    """One logical operation: its key, what was asked, every attempt, and the answer."""

    key: str
    path: str
    body: dict[str, Any]
    attempts: list[str] = field(default_factory=list)
    status: int | None = None
    answer: Any = None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Journal:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.entries: list[Entry] = []
        self._acked = 0

    def add(self, entry: Entry) -> None:
        with self._lock:
            self.entries.append(entry)

    def answered(self, entry: Entry) -> None:
        with self._lock:
            self._acked += entry.acknowledged
            self._lock.notify_all()

    def wait_acknowledged(self, count: int, *, timeout: float = WAIT_S) -> None:
        with self._lock:
            assert self._lock.wait_for(lambda: self._acked >= count, timeout=timeout), (
                f"only {self._acked} of {count} operations acknowledged in time"
            )

    def acknowledged(self) -> list[Entry]:
        with self._lock:
            return [e for e in self.entries if e.acknowledged]


def redemption(code: str, amount: int) -> tuple[str, dict[str, Any]]:
    return f"/v1/pos/vouchers/{code}/redemptions", {
        "amount_minor": amount,
        "currency": "EUR",
        "receipt": {},
    }


def send(
    client: httpx.Client,
    api_key: str,
    entry: Entry,
    *,
    deadline: float,
    gate: threading.Event | None = None,
    give_up: threading.Event | None = None,
) -> Entry:
    """Send until answered (not 5xx, no transport error), always with the same key, until the
    deadline. After a failure the client waits for ``gate`` (set while the service is meant to
    be up), a bounded wait that stands in for a till's back-off; after a failure it stops trying
    once ``give_up`` is set."""
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": entry.key}
    while time.monotonic() < deadline:
        try:
            response = client.post(entry.path, json=entry.body, headers=headers)
        except httpx.TransportError as error:
            entry.attempts.append(type(error).__name__)
        else:
            if response.status_code not in RETRYABLE:
                entry.attempts.append(str(response.status_code))
                entry.status = response.status_code
                entry.answer = response.json()
                return entry
            entry.attempts.append(str(response.status_code))
        if give_up is not None and give_up.is_set():
            return entry
        if gate is not None:
            gate.wait(timeout=max(0.0, deadline - time.monotonic()))
    return entry


def new_key() -> str:
    return str(uuid.uuid4())


# -- the world under test -------------------------------------------------------------------------


@dataclass
class Shop:
    world: builders.World
    codes: list[str]
    sold: int


def open_shop(engine: Engine, *, cards: int, balance: int) -> Shop:
    with engine.begin() as conn:
        w = builders.world(conn)
        codes = builders.sold_cards(conn, w, count=cards, balance=balance)
    return Shop(w, codes, balance)


def balances(engine: Engine, codes: list[str]) -> dict[str, tuple[int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT code, balance_minor, held_minor FROM vouchers WHERE code = ANY(:c)"),
            {"c": codes},
        ).all()
    return {row.code: (row.balance_minor, row.held_minor) for row in rows}


# -- the audit ----------------------------------------------------------------------------------


@dataclass
class Audit:
    missing: list[str]  # acknowledged operations that are not in the ledger
    key_effects: dict[str, tuple[int | None, int, int]]  # key -> (status, history, transfers)
    orphans: int  # redemptions in the ledger that no stored key accounts for
    broken: dict[str, Any]  # ledger invariants


def in_ledger(engine: Engine, operation_ids: list[str]) -> dict[str, tuple[int, int]]:
    """operation id -> (recorded `voucher.redeemed` rows, posted redemption transfers)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT o.op::text AS op,"
                " (SELECT count(*) FROM voucher_history h WHERE h.operation_id = o.op"
                "   AND h.type = 'voucher.redeemed' AND h.status = 'recorded') AS history,"
                " (SELECT count(*) FROM ledger_transfers t WHERE t.operation_id = o.op"
                "   AND t.code = 'redemption' AND t.state = 'posted') AS transfers"
                " FROM unnest(CAST(:ops AS uuid[])) AS o(op)"
            ),
            {"ops": operation_ids},
        ).all()
    return {row.op: (row.history, row.transfers) for row in rows}


def audit(engine: Engine, shop: Shop, journal: Journal) -> Audit:
    acked = journal.acknowledged()
    found = in_ledger(engine, [e.answer["operation_id"] for e in acked])
    missing = [e.key for e in acked if found.get(e.answer["operation_id"]) != (1, 1)]
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT k.key, k.status_code,"
                " (SELECT count(*) FROM voucher_history h WHERE h.operation_id = k.operation_id"
                "   AND h.type = 'voucher.redeemed') AS history,"
                " (SELECT count(*) FROM ledger_transfers t WHERE t.operation_id = k.operation_id"
                "   AND t.code = 'redemption') AS transfers"
                " FROM idempotency_keys k WHERE k.register_id = :r"
                " AND k.status_code IS NOT NULL AND k.operation_id IS NOT NULL"
            ),
            {"r": shop.world.till.register_id},
        ).all()
        orphans = conn.execute(
            text(
                "SELECT count(*) FROM voucher_history h"
                " WHERE h.register_id = :r AND h.type = 'voucher.redeemed'"
                " AND NOT EXISTS (SELECT 1 FROM idempotency_keys k"
                "   WHERE k.register_id = :r AND k.operation_id = h.operation_id)"
            ),
            {"r": shop.world.till.register_id},
        ).scalar_one()
        broken = violations(conn)
    effects = {row.key: (row.status_code, row.history, row.transfers) for row in rows}
    return Audit(missing, effects, int(orphans), broken)


def assert_converges(engine: Engine, api_url: str, shop: Shop, journal: Journal) -> None:
    """The full check after a crash: every acknowledged operation is in the ledger, nothing is
    half-written, and re-sending every journalled key changes nothing and replays the first
    answer."""
    unanswered = [e for e in journal.entries if e.status is None]
    assert not unanswered, f"{len(unanswered)} operations never answered: {unanswered[:3]}"
    acked = journal.acknowledged()
    assert len(acked) == len(journal.entries), [e for e in journal.entries if not e.acknowledged][
        :3
    ]

    result = audit(engine, shop, journal)
    assert result.missing == [], f"acknowledged but not in the ledger: {result.missing[:5]}"
    assert result.broken == {}, result.broken
    assert result.orphans == 0, "a redemption in the ledger without a stored key"
    assert all(effect == (201, 1, 1) for effect in result.key_effects.values()), {
        k: v for k, v in result.key_effects.items() if v != (201, 1, 1)
    }
    assert set(result.key_effects) == {e.key for e in acked}

    spent = {code: 0 for code in shop.codes}
    for entry in acked:
        spent[entry.path.split("/")[4]] += entry.body["amount_minor"]
    before = balances(engine, shop.codes)
    assert before == {code: (shop.sold - spent[code], 0) for code in shop.codes}

    with httpx.Client(base_url=api_url, timeout=WAIT_S) as client:
        for entry in journal.entries:
            response = client.post(
                entry.path,
                json=entry.body,
                headers={
                    "Authorization": f"Bearer {shop.world.key}",
                    "Idempotency-Key": entry.key,
                },
            )
            assert response.status_code == entry.status, (entry, response.text)
            assert response.headers.get("Idempotent-Replayed") == "true", entry.key
            assert response.json() == entry.answer, entry.key
    assert balances(engine, shop.codes) == before
    again = audit(engine, shop, journal)
    assert (again.missing, again.orphans, again.broken) == ([], 0, {})
    assert again.key_effects == result.key_effects


class Load:
    """Client threads that redeem ``amount`` round-robin over the shop's cards, each operation
    under a fresh key, sent until answered; every operation goes into the journal first."""

    def __init__(
        self,
        url: str,
        shop: Shop,
        journal: Journal,
        *,
        threads: int,
        amount: int,
        gate: threading.Event | None = None,
    ) -> None:
        self.url, self.shop, self.journal, self.amount = url, shop, journal, amount
        self.gate = gate
        self.stop = threading.Event()
        self.give_up = threading.Event()
        self.errors: list[BaseException] = []
        self.deadline = time.monotonic() + 4 * WAIT_S
        self.threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)
        ]

    def _run(self, n: int) -> None:
        try:
            with httpx.Client(base_url=self.url, timeout=WAIT_S / 4) as client:
                i = n
                while not self.stop.is_set() and time.monotonic() < self.deadline:
                    code = self.shop.codes[i % len(self.shop.codes)]
                    i += 1
                    entry = Entry(new_key(), *redemption(code, self.amount))
                    self.journal.add(entry)
                    send(
                        client,
                        self.shop.world.key,
                        entry,
                        deadline=self.deadline,
                        gate=self.gate,
                        give_up=self.give_up,
                    )
                    self.journal.answered(entry)
        except BaseException as error:  # reported by the test thread in __exit__
            self.errors.append(error)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.stop.set()
        if exc_type is not None:  # the test failed: let waiting clients go
            self.give_up.set()
            if self.gate is not None:
                self.gate.set()
        for thread in self.threads:
            thread.join(timeout=2 * WAIT_S)
        assert not any(t.is_alive() for t in self.threads), "a client did not finish in time"
        if self.errors:
            raise self.errors[0]
