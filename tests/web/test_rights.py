"""Every back-office screen route by every built-in role, logged in through the login form:
allowed exactly when the role's grants reach the right the route declares."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from scrip import crypto
from scrip.api.auth import declared
from scrip.domain import rights
from scrip.server import create_app
from tests import builders
from tests.api.test_rights import APP, api_routes
from tests.web.conftest import Browser

PUBLIC = {"/admin/login"}
ROUTES = [
    (method, route)
    for route in api_routes(APP.routes)
    if route.path.startswith("/admin") and route.path not in PUBLIC
    for method in sorted(route.methods)
    if route.path != "/admin/logout"  # ends the session the walk uses; covered by test_screens
]


@pytest.fixture(scope="module")
def browsers(engine: Engine) -> Iterator[dict[str, Browser]]:
    ring = crypto.parse_keyring(f"k1:{crypto.new_secret_key()}")
    with TestClient(create_app(engine=engine, keyring=ring)) as shared:
        found = {}
        for role in rights.BUILTIN_ROLES:
            with engine.begin() as conn:
                _, name, password = builders.user(conn, role=role)
            client = TestClient(shared.app, raise_server_exceptions=False)
            browser = Browser(client)
            assert browser.log_in(name, password).status_code == 303
            found[role] = browser
        yield found


def test_there_are_screens_to_walk() -> None:
    assert len(ROUTES) >= 20


@pytest.mark.parametrize("role", sorted(rights.BUILTIN_ROLES))
@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[f"{m} {r.path}" for m, r in ROUTES])
def test_screen_allows_exactly_the_roles_with_the_right(
    browsers: dict[str, Browser], method: str, route: APIRoute, role: str
) -> None:
    browser = browsers[role]
    path = re.sub(r"\{[^}]+\}", "999999999", route.path)
    if method == "GET":
        answer = browser.client.get(path, follow_redirects=False)
    else:
        answer = browser.post(path, {})
    found = declared(route)
    needed = rights.UNDECLARED if found is None else found
    if rights.allows(rights.BUILTIN_ROLES[role], needed):
        assert answer.status_code not in (401, 403), answer.text[:400]
        assert answer.headers.get("location") != "/admin/login"
    else:
        assert answer.status_code == 403, answer.text[:400]
        assert 'data-code="right_missing"' in answer.text
