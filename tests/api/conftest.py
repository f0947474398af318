"""API tests drive the real application over HTTP (TestClient) against real PostgreSQL;
each test commits for real and gets an issuer of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from scrip import crypto
from scrip.server import create_app
from tests import builders
from tests.builders import World


class Till:
    """A register talking to the API: sends its key and a fresh idempotency key per call."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def get(self, path: str) -> httpx.Response:
        return self.client.get(f"/v1/pos{path}", headers=self.headers)

    def post(self, path: str, body: Any = None, *, key: str | None = None) -> httpx.Response:
        headers = {**self.headers, "Idempotency-Key": key or str(uuid.uuid4())}
        return self.client.post(
            f"/v1/pos{path}", json=body if body is not None else {}, headers=headers
        )


# The break-glass admin token (SCRIP_ADMIN_TOKEN) of the ``admin`` client's app.
BREAK_GLASS = "admin-test-token"


@pytest.fixture
def admin(engine: Engine, ledger_holds: None) -> Iterator[TestClient]:
    """The app with a secret vault and a break-glass admin token, for admin API tests."""
    ring = crypto.parse_keyring(f"k1:{crypto.new_secret_key()}")
    app = create_app(engine=engine, keyring=ring, admin_token=BREAK_GLASS)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def client(engine: Engine, ledger_holds: None) -> Iterator[TestClient]:
    with TestClient(create_app(engine=engine), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def shop(engine: Engine) -> World:
    with engine.begin() as conn:
        return builders.world(conn)


@pytest.fixture
def till(client: TestClient, shop: World) -> Till:
    return Till(client, shop.key)


def issue(engine: Engine, shop: World, type_code: str, **options: Any) -> list[str]:
    with engine.begin() as conn:
        return builders.vouchers(conn, shop, type_code, **options)


def sold_card(engine: Engine, shop: World, till: Till, amount: int = 5000) -> str:
    """A gift card sold over the API for ``amount``."""
    [code] = issue(engine, shop, "card")
    sold = till.post("/sales", {"items": [{"code": code, "amount_minor": amount}]})
    assert sold.status_code == 201, sold.text
    return code


def pay(amount: int) -> dict[str, object]:
    """A redemption's body in the shop's currency."""
    return {"amount_minor": amount, "currency": "EUR"}
