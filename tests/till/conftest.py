"""The till's rules run both ways, like the service tests (``tests.conftest.both_ways``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine

from tests.conftest import both_ways


@pytest.fixture(params=["direct", "queued"])
def conn(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Connection]:
    yield from both_ways(request, engine)
