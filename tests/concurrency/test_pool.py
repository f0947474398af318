"""Till calls never open more database connections than the pool keeps.

Past the pool's size every concurrent call used to open an overflow connection and close it
afterwards: a PostgreSQL backend started and its prepared statements made again, about once
per 20 redemptions under load. The POS lane admits at most the pool's size of calls at once;
the rest wait for a turn without a connection. The control shows the burst really is wider
than the pool.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from anyio import CapacityLimiter
from sqlalchemy import Engine, event

from scrip.api import lane
from scrip.db.engine import make_engine
from tests import builders
from tests.builders import World
from tests.concurrency.conftest import Till, race_http, serve

pytestmark = pytest.mark.concurrency

POOL = 3
CLIENTS = 24


@pytest.fixture
def small_pool(database_url: str) -> Iterator[tuple[Engine, list[object]]]:
    """An engine whose pool keeps POOL connections (overflow allowed), and every connection
    it has opened."""
    engine = make_engine(database_url, pool_size=POOL, max_overflow=40)
    opened: list[object] = []
    event.listen(engine, "connect", lambda dbapi_connection, _: opened.append(dbapi_connection))
    yield engine, opened
    engine.dispose()


def _cards(engine: Engine) -> tuple[World, list[str]]:
    with engine.begin() as conn:
        w = builders.world(conn)
        return w, builders.sold_cards(conn, w, count=CLIENTS, balance=1_000)


def _burst(engine: Engine) -> list[int]:
    """CLIENTS redemptions at once, after one look-up has made the register known."""
    w, codes = _cards(engine)
    with serve(engine) as url:
        till = Till(url, w.key)
        assert till.get(f"/vouchers/{codes[0]}").status_code == 200
        answers = race_http(
            till,
            [
                lambda t, code=code: t.post(
                    f"/vouchers/{code}/redemptions", {"amount_minor": 100, "currency": "EUR"}
                )
                for code in codes
            ],
        )
    return [a.status_code for a in answers]


def test_control_an_unlimited_burst_opens_connections_past_the_pool(
    small_pool: tuple[Engine, list[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, opened = small_pool
    monkeypatch.setattr(lane.PosLane, "_limiter", lambda self: CapacityLimiter(CLIENTS))
    assert _burst(engine) == [201] * CLIENTS
    assert len(opened) > POOL


def test_a_burst_of_till_calls_stays_within_the_pool(
    small_pool: tuple[Engine, list[object]],
) -> None:
    engine, opened = small_pool
    assert _burst(engine) == [201] * CLIENTS
    assert len(opened) <= POOL
