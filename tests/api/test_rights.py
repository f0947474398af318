"""Every admin API route by every built-in role: allowed exactly when the role's grants reach
the right the route declares (or every right, for a route that declares none)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from scrip.api.auth import declared
from scrip.domain import rights
from scrip.server import create_app
from tests import builders


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute of an app, looking into included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)


APP = create_app(dsn="postgresql://unused/unused")
ROUTES = [
    (method, route)
    for route in api_routes(APP.routes)
    if route.path.startswith("/v1/admin")
    for method in sorted(route.methods)
]


@pytest.fixture(scope="module")
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine=engine), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def tokens(engine: Engine) -> dict[str, str]:
    with engine.begin() as conn:
        return {role: builders.api_token(conn, role=role) for role in rights.BUILTIN_ROLES}


def test_there_are_routes_to_walk() -> None:
    assert len(ROUTES) >= 4


@pytest.mark.parametrize("role", sorted(rights.BUILTIN_ROLES))
@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[f"{m} {r.path}" for m, r in ROUTES])
def test_route_allows_exactly_the_roles_with_the_right(
    client: TestClient, tokens: dict[str, str], method: str, route: APIRoute, role: str
) -> None:
    path = re.sub(r"\{[^}]+\}", "999999999", route.path)
    answer = client.request(
        method, path, json={}, headers={"Authorization": f"Bearer {tokens[role]}"}
    )
    found = declared(route)
    needed = rights.UNDECLARED if found is None else found
    if rights.allows(rights.BUILTIN_ROLES[role], needed):
        assert answer.status_code not in (401, 403), answer.text
    else:
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "right_missing"


def test_undeclared_route_is_for_full_administrators_only(
    engine: Engine, tokens: dict[str, str]
) -> None:
    from scrip.api.admin import router

    app = create_app(engine=engine)

    @router.get("/later-added-by-someone")
    def later() -> dict[str, str]:
        return {"ok": "yes"}

    try:
        app.include_router(router)
        with TestClient(app, raise_server_exceptions=False) as client:
            for role, token in tokens.items():
                answer = client.get(
                    "/v1/admin/later-added-by-someone",
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert answer.status_code == (200 if role == "admin" else 403), role
            assert client.get("/v1/admin/later-added-by-someone").status_code == 401
    finally:
        router.routes.pop()
