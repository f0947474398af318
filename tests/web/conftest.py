"""Back-office tests drive the real application (TestClient) against real PostgreSQL, logged
in through the real login form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from scrip import crypto
from scrip.server import create_app
from tests import builders

CSRF = re.compile(r'"X-CSRF-Token": "([^"]+)"')
LOGIN_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """One logged-in user: keeps the session cookie and sends the page's CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def log_in(self, username: str, password: str, otp: str | None = None) -> httpx.Response:
        form = self.client.get("/admin/login")
        match = LOGIN_CSRF.search(form.text)
        assert match is not None
        data = {"username": username, "password": password, "csrf": match.group(1)}
        if otp is not None:
            data["otp"] = otp
        answer = self.client.post("/admin/login", data=data, follow_redirects=False)
        if answer.status_code == 303:
            self.get("/admin")
        return answer

    def get(self, path: str, **options: Any) -> httpx.Response:
        answer = self.client.get(path, **options)
        if match := CSRF.search(answer.text):
            self.csrf = match.group(1)
        return answer

    def post(self, path: str, data: dict[str, Any] | None = None, **options: Any) -> httpx.Response:
        form = {"csrf": self.csrf, **(data or {})}
        return self.client.post(path, data=form, follow_redirects=False, **options)


@pytest.fixture
def keyring() -> crypto.Keyring:
    return crypto.parse_keyring(f"k1:{crypto.new_secret_key()}")


@pytest.fixture
def app_for(engine: Engine, keyring: crypto.Keyring) -> Iterator[Callable[[], TestClient]]:
    clients: list[TestClient] = []

    def make() -> TestClient:
        client = TestClient(
            create_app(engine=engine, keyring=keyring), raise_server_exceptions=False
        )
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def browser_as(
    engine: Engine, app_for: Callable[[], TestClient], ledger_holds: None
) -> Callable[..., Browser]:
    def login(role: str = "admin", **options: Any) -> Browser:
        with engine.begin() as conn:
            _, username, password = builders.user(conn, role=role, **options)
        browser = Browser(app_for())
        assert browser.log_in(username, password).status_code == 303
        return browser

    return login
