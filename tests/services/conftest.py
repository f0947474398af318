"""Fixtures shared by the service tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine

from scrip.domain.scope import EVERYTHING
from scrip.services import lots
from tests import builders
from tests.conftest import both_ways
from tests.services.bulk_jobs import ring


@pytest.fixture(params=["direct", "queued"])
def conn(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Connection]:
    yield from both_ways(request, engine)


@pytest.fixture
def printed_lot(engine: Engine, ledger_holds: None) -> Iterator[tuple[builders.World, int]]:
    """A committed lot of 1,000 printed vouchers in ``accepted``."""
    with engine.begin() as conn:
        w = builders.world(conn)
        lot_id = lots.create_lot(
            conn,
            scope=EVERYTHING,
            issuer_id=w.issuer_id,
            type_code="printed",
            count=1_000,
            state="accepted",
            created_by="t",
            now=builders.now(),
        )
    lots.run_lot(engine, lot_id=lot_id, keyring=ring(), clock=builders.now)
    yield w, lot_id
