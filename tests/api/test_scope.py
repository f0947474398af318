"""Every admin API route by every scope (issue 13 item 9): a user of the full ``admin`` role
limited to issuer B, or to store SA2 of issuer A, reaches exactly the records the policy gives
them (``tests.scope_world.sees``), and is refused the rest with a stable code; a user without
limits reaches everything. The routes are read from the app, so a route added without a case
here fails :func:`test_every_admin_route_has_a_scope_case`."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from scrip import crypto
from scrip.server import create_app
from tests import scope_world
from tests.api.test_rights import APP, api_routes
from tests.scope_world import PLACES, USERS, ScopeWorld, sees

SCOPE_CODES = {
    "issuer_out_of_scope",
    "store_out_of_scope",
    "head_office_only",
    "scope_not_grantable",
    "user_not_manageable",
}
Call = tuple[str, str, Any]  # method, URL, JSON body
Make = Callable[[ScopeWorld, str], Call]


@dataclass(frozen=True)
class Case:
    kind: str  # how the policy treats the record (scope_world.KINDS)
    places: tuple[str, ...]  # whose records the route is called on
    make: Make
    ok: frozenset[int] = frozenset({200, 201, 202, 204})


def _fresh() -> str:
    return uuid.uuid4().hex[:10].upper()


def _issuer(w: ScopeWorld, place: str) -> str:
    return w.issuer(place).issuer_code


def _key(place: str) -> str:
    return place.split(":")[0]


ISSUERS = ("A", "B")
EVERY_PLACE = PLACES
CASES: dict[str, Case] = {
    "POST /v1/admin/lots": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "POST",
            "/v1/admin/lots",
            {"issuer": _issuer(w, p), "type_code": "card", "count": 1},
        ),
    ),
    "GET /v1/admin/lots/{lot_id}": Case(
        "head_office", ISSUERS, lambda w, p: ("GET", f"/v1/admin/lots/{w.lot_ids[p]}", None)
    ),
    "POST /v1/admin/bulk-operations": Case(
        "voucher",
        EVERY_PLACE,
        lambda w, p: (
            "POST",
            "/v1/admin/bulk-operations",
            {
                "issuer": _issuer(w, p),
                "action": "block",
                "codes": [w.places[p].voucher_code],
                "reason": "reported stolen",
            },
        ),
    ),
    "GET /v1/admin/bulk-operations/{operation_id}": Case(
        "voucher",  # made at head office (A, B) or by a user of SA2 (A:SA2)
        ("A", "A:SA2", "B"),
        lambda w, p: ("GET", f"/v1/admin/bulk-operations/{w.bulk_ids[p]}", None),
    ),
    "POST /v1/admin/voucher-types": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "POST",
            "/v1/admin/voucher-types",
            {
                "issuer": _issuer(w, p),
                "code": f"N{_fresh()}",
                "name": "New",
                "classification": "gift_card",
                "value_mode": "variable",
            },
        ),
    ),
    "GET /v1/admin/voucher-types": Case(
        "catalogue",
        ISSUERS,
        lambda w, p: ("GET", f"/v1/admin/voucher-types?issuer={_issuer(w, p)}", None),
    ),
    "GET /v1/admin/voucher-types/{code}": Case(
        "catalogue",
        ISSUERS,
        lambda w, p: (
            "GET",
            f"/v1/admin/voucher-types/{w.type_codes[p]}?issuer={_issuer(w, p)}",
            None,
        ),
    ),
    "POST /v1/admin/code-templates": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "POST",
            "/v1/admin/code-templates",
            {"issuer": _issuer(w, p), "name": f"t{_fresh()}", "length": 12},
        ),
    ),
    "GET /v1/admin/code-templates": Case(
        "catalogue",
        ISSUERS,
        lambda w, p: ("GET", f"/v1/admin/code-templates?issuer={_issuer(w, p)}", None),
    ),
    "GET /v1/admin/code-templates/{name}": Case(
        "catalogue",
        ISSUERS,
        lambda w, p: (
            "GET",
            f"/v1/admin/code-templates/{w.template_names[p]}?issuer={_issuer(w, p)}",
            None,
        ),
    ),
    "POST /v1/admin/vouchers/{code}/secret": Case(
        "voucher",
        EVERY_PLACE,
        lambda w, p: (
            "POST",
            f"/v1/admin/vouchers/{w.places[p].voucher_code}/secret",
            {"issuer": _issuer(w, p), "reason": "scope test"},
        ),
        ok=frozenset({404}),  # reached: the card has no secret number (secret_not_found)
    ),
    "POST /v1/admin/promotions": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "POST",
            "/v1/admin/promotions",
            {
                "issuer": _issuer(w, p),
                "code": f"P{_fresh()}",
                "name": "Spend",
                "kind": "progressive",
                "type_code": "promo",
                "params": {"thresholds": [[5_000, 500]]},
            },
        ),
    ),
    "GET /v1/admin/promotions": Case(
        "catalogue",
        ISSUERS,
        lambda w, p: ("GET", f"/v1/admin/promotions?issuer={_issuer(w, p)}", None),
    ),
    "GET /v1/admin/promotions/{code}": Case(
        "catalogue",
        ISSUERS,
        lambda w, p: (
            "GET",
            f"/v1/admin/promotions/{w.promotion_codes[p]}?issuer={_issuer(w, p)}",
            None,
        ),
    ),
    "POST /v1/admin/promotions/{code}/status": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "POST",
            f"/v1/admin/promotions/{w.promotion_codes[p]}/status",
            {"issuer": _issuer(w, p), "status": "paused"},
        ),
    ),
    "POST /v1/admin/holders": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "POST",
            "/v1/admin/holders",
            {"issuer": _issuer(w, p), "holder_ref": f"H{_fresh()}"},
        ),
    ),
    "GET /v1/admin/holders/{holder_ref}": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "GET",
            f"/v1/admin/holders/{w.holder_refs[p]}?issuer={_issuer(w, p)}",
            None,
        ),
    ),
    "POST /v1/admin/holders/{holder_ref}/cards": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "POST",
            f"/v1/admin/holders/{w.holder_refs[p]}/cards",
            {"issuer": _issuer(w, p), "card_id": f"CLUB{_fresh()}"},
        ),
    ),
    "POST /v1/admin/holders/{holder_ref}/vouchers": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "POST",
            f"/v1/admin/holders/{w.holder_refs[p]}/vouchers",
            {"issuer": _issuer(w, p), "code": w.places[p].voucher_code, "link": "buyer"},
        ),
    ),
    "GET /v1/admin/holders/{holder_ref}/vouchers": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "GET",
            f"/v1/admin/holders/{w.holder_refs[p]}/vouchers?issuer={_issuer(w, p)}",
            None,
        ),
    ),
    "GET /v1/admin/reports": Case("none", ("A",), lambda w, p: ("GET", "/v1/admin/reports", None)),
    "GET /v1/admin/reports/{name}": Case(
        "catalogue",
        ISSUERS,
        lambda w, p: ("GET", f"/v1/admin/reports/sold?issuer={_issuer(w, p)}", None),
    ),
    "GET /v1/admin/users": Case("none", ("A",), lambda w, p: ("GET", "/v1/admin/users", None)),
    "POST /v1/admin/users": Case(
        "voucher",
        EVERY_PLACE,
        lambda w, p: (
            "POST",
            "/v1/admin/users",
            {
                "username": f"u{_fresh().lower()}",
                "password": "a long password",
                "role": "viewer",
                **scope_world._limits(w, p),
            },
        ),
    ),
    "PATCH /v1/admin/users/{user_id}": Case(
        "voucher",
        EVERY_PLACE,
        lambda w, p: ("PATCH", f"/v1/admin/users/{w.subjects[p]}", {"role": "viewer"}),
    ),
    "POST /v1/admin/users/{user_id}/tokens": Case(
        "voucher",
        EVERY_PLACE,
        lambda w, p: ("POST", f"/v1/admin/users/{w.subjects[p]}/tokens", {"name": "scope"}),
    ),
    "POST /v1/admin/users/{user_id}/tokens/revoke": Case(
        "voucher",
        EVERY_PLACE,
        lambda w, p: ("POST", f"/v1/admin/users/{w.subjects[p]}/tokens/revoke", None),
    ),
    "GET /v1/admin/roles": Case("none", ("A",), lambda w, p: ("GET", "/v1/admin/roles", None)),
    "PUT /v1/admin/roles/{name}": Case(
        "installation",
        ("A",),
        lambda w, p: ("PUT", f"/v1/admin/roles/r{_fresh()}", {"grants": {"reports": "read"}}),
    ),
}

ROUTES = sorted(
    f"{method} {route.path}"
    for route in api_routes(APP.routes)
    if route.path.startswith("/v1/admin")
    for method in route.methods
)
pytestmark = pytest.mark.usefixtures("fast_passwords")
MATRIX = [
    (route, user, place)
    for route in sorted(CASES)
    for user in USERS
    for place in CASES[route].places
]


def test_every_admin_route_has_a_scope_case() -> None:
    assert sorted(CASES) == ROUTES


@pytest.fixture(scope="module")
def world(engine: Engine) -> ScopeWorld:
    return scope_world.build(engine)


@pytest.fixture(scope="module")
def api(engine: Engine) -> Iterator[TestClient]:
    ring = crypto.parse_keyring(f"k1:{crypto.new_secret_key()}")
    with TestClient(create_app(engine=engine, keyring=ring), raise_server_exceptions=False) as c:
        yield c


def _send(api: TestClient, world: ScopeWorld, user: str, call: Call) -> httpx.Response:
    method, url, body = call
    headers = {"Authorization": f"Bearer {world.tokens[user]}"}
    return api.request(method, url, json=body, headers=headers)


def _state(engine: Engine, voucher_id: int | None) -> str:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT state FROM vouchers WHERE id = :v"), {"v": voucher_id}
        ).scalar_one()
    return str(found)


@pytest.mark.parametrize(("route", "user", "place"), MATRIX, ids=[" ".join(m) for m in MATRIX])
def test_route_reaches_exactly_the_records_of_the_users_scope(
    api: TestClient, world: ScopeWorld, engine: Engine, route: str, user: str, place: str
) -> None:
    case = CASES[route]
    allowed = sees(user, case.kind, place)
    before = _state(engine, world.places[place].voucher_id)
    answer = _send(api, world, user, case.make(world, place))
    if route == "POST /v1/admin/bulk-operations" and answer.status_code == 202:
        # A run by explicit codes names the codes it may not touch instead of touching them.
        refused = world.places[place].voucher_code in answer.json()["unknown_codes"]
        assert refused is not allowed, answer.text
        if not allowed:
            assert _state(engine, world.places[place].voucher_id) == before
        return
    if allowed:
        assert answer.status_code in case.ok, answer.text
    else:
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] in SCOPE_CODES, answer.text
        assert _state(engine, world.places[place].voucher_id) == before


def test_the_users_list_holds_the_users_within_the_scope(
    api: TestClient, world: ScopeWorld
) -> None:
    for user in USERS:
        listed = set()
        before: int | None = None
        while True:  # every page: the list is newest first
            url = "/v1/admin/users" + (f"?before={before}" if before else "")
            page = _send(api, world, user, ("GET", url, None)).json()
            listed |= {row["username"] for row in page}
            if len(page) < 100 or min(row["id"] for row in page) < min(world.subjects.values()):
                break
            before = min(row["id"] for row in page)
        for place, name in world.subject_names.items():
            assert (name in listed) is sees(user, "voucher", place), (user, place)


def test_a_store_users_report_counts_their_stores_only(api: TestClient, world: ScopeWorld) -> None:
    """The sales at SA1 and SA2 (2,500 each) are A's; a user of SA2 is told of SA2's alone."""

    def sold(user: str) -> int:
        issuer = world.places["A"].issuer_code
        answer = _send(api, world, user, ("GET", f"/v1/admin/reports/sold?issuer={issuer}", None))
        assert answer.status_code == 200, answer.text
        return sum(int(row["sold_minor"]) for row in answer.json()["rows"])

    assert sold("all") == 5_000
    assert sold("store_a2") == 2_500
    liability = _send(
        api,
        world,
        "store_a2",
        ("GET", f"/v1/admin/reports/liability?issuer={world.places['A'].issuer_code}", None),
    ).json()
    assert sum(int(row["liability_minor"]) for row in liability["rows"]) == 2_500
    # without an issuer named, issuer B's user is told of B's figures only
    rows = _send(api, world, "issuer_b", ("GET", "/v1/admin/reports/sold", None)).json()["rows"]
    assert {row["issuer"] for row in rows} <= {world.places["B"].issuer_code}
