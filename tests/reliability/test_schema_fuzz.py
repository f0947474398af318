"""Bad input, generated from the OpenAPI document: no 500, no answer outside the schema, and
every error in scrip's envelope (never FastAPI's default shape).

Bounded: a fixed number of examples per operation, derandomized so CI sees the same cases.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine

from scrip.server import create_app
from tests import builders

# The schema is read from an app object at import; the engine it holds is replaced by the
# test database's engine before any call is made.
app = create_app(engine=create_engine("postgresql+psycopg://", pool_size=1))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def register_key(engine: Any) -> str:
    app.state.engine = engine
    with engine.begin() as conn:
        shop = builders.world(conn)
        builders.vouchers(conn, shop, "card", count=3)
    return shop.key


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_pos_api_survives_generated_input(case: Any, register_key: str) -> None:
    case.headers = {
        **(case.headers or {}),
        "Authorization": f"Bearer {register_key}",
        "Idempotency-Key": str(uuid.uuid4()),
    }
    response = case.call_and_validate(
        checks=[
            not_a_server_error,
            response_schema_conformance,
            status_code_conformance,
            content_type_conformance,
        ]
    )
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "details"}, body
