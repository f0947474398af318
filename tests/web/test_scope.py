"""Every back-office screen by every scope (issue 13 item 9), logged in through the login form:
the same users and records as the admin API's matrix (``tests.scope_world``). A screen that
shows one record answers it or refuses it (403, with the scope's code); a list shows exactly
the rows of the user's scope. The routes are read from the app, so a screen added without a
case here fails :func:`test_every_screen_has_a_scope_case`."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from scrip import crypto
from scrip.server import create_app
from tests import scope_world
from tests.api.test_rights import APP, api_routes
from tests.scope_world import PLACES, USERS, ScopeWorld, sees
from tests.web.conftest import Browser

SCOPE_CODES = (
    "issuer_out_of_scope",
    "store_out_of_scope",
    "head_office_only",
    "scope_not_grantable",
    "user_not_manageable",
)
# method, path, form (None for a GET)
Call = tuple[str, str, dict[str, Any] | None]


@dataclass(frozen=True)
class Case:
    kind: str
    places: tuple[str, ...]
    make: Callable[[ScopeWorld, str], Call]
    marker: Callable[[ScopeWorld, str], str] | None = None  # a list: what shows a row
    ok: frozenset[int] = frozenset({200, 303})


def _fresh() -> str:
    return uuid.uuid4().hex[:8].upper()


def _iid(w: ScopeWorld, p: str) -> int:
    return w.issuer(p).issuer_id


def _get(path: str) -> Callable[[ScopeWorld, str], Call]:
    return lambda w, p: ("GET", path, None)


def _before(ids: list[int]) -> str:
    return f"?before={max(ids) + 1}"


ISSUERS = ("A", "B")
STORES = ("A:SA1", "A:SA2", "B")


def _subject_form(w: ScopeWorld, p: str) -> dict[str, Any]:
    limits = scope_world._limits(w, p)
    return {
        "role": "viewer",
        "stores": ",".join(map(str, limits.get("store_ids", []))),
        "issuers": ",".join(map(str, limits.get("issuer_ids", []))),
        "active": "true",
    }


CASES: dict[str, Case] = {
    "GET /admin": Case(
        "head_office",
        ISSUERS,
        _get("/admin"),
        marker=lambda w, p: f"lot {w.failed_lot_ids[p]} failed",
    ),
    "GET /admin/issuers": Case(
        "catalogue",
        ISSUERS,
        lambda w, p: ("GET", "/admin/issuers" + _before([_iid(w, "A"), _iid(w, "B")]), None),
        marker=lambda w, p: f"<td>{w.issuer(p).issuer_code}</td>",
    ),
    "POST /admin/issuers": Case(
        "installation",
        ("A",),
        lambda w, p: (
            "POST",
            "/admin/issuers",
            {"code": f"I{_fresh()}", "name": "New", "currency": "EUR", "timezone": "UTC"},
        ),
    ),
    "GET /admin/stores": Case(
        "store",
        STORES,
        lambda w, p: (
            "GET",
            "/admin/stores" + _before([w.places[s].store_id or 0 for s in STORES]),
            None,
        ),
        marker=lambda w, p: f"<td>{w.places[p].store_code}</td>",
    ),
    "POST /admin/stores": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "POST",
            "/admin/stores",
            {"issuer_id": _iid(w, p), "code": f"S{_fresh()}", "name": "New"},
        ),
    ),
    "GET /admin/registers": Case(
        "store",
        STORES,
        _get("/admin/registers"),
        marker=lambda w, p: f"<td>{w.places[p].register_serial}</td>",
    ),
    "POST /admin/registers": Case(
        "store",
        STORES,
        lambda w, p: (
            "POST",
            "/admin/registers",
            {"store_id": w.places[p].store_id, "serial_number": f"R{_fresh()}"},
        ),
    ),
    "GET /admin/types": Case(
        "catalogue",
        ISSUERS,
        _get("/admin/types"),
        marker=lambda w, p: f"<td>{w.type_codes[p]}</td>",
    ),
    "POST /admin/types": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "POST",
            "/admin/types",
            {
                "issuer_id": _iid(w, p),
                "code": f"N{_fresh()}",
                "name": "New",
                "classification": "gift_card",
                "value_mode": "variable",
            },
        ),
    ),
    "POST /admin/templates": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "POST",
            "/admin/templates",
            {"issuer_id": _iid(w, p), "name": f"t{_fresh()}", "length": "12"},
        ),
    ),
    "GET /admin/lots": Case(
        "head_office",
        ISSUERS,
        lambda w, p: ("GET", "/admin/lots" + _before(list(w.failed_lot_ids.values())), None),
        marker=lambda w, p: f'href="/admin/lots/{w.lot_ids[p]}"',
    ),
    "POST /admin/lots": Case(
        "head_office",
        ISSUERS,
        lambda w, p: ("POST", "/admin/lots", {"type_id": w.card_type_ids[p], "count": "1"}),
    ),
    "GET /admin/lots/{lot_id}": Case(
        "head_office", ISSUERS, lambda w, p: ("GET", f"/admin/lots/{w.lot_ids[p]}", None)
    ),
    "GET /admin/lots/{lot_id}/progress": Case(
        "head_office", ISSUERS, lambda w, p: ("GET", f"/admin/lots/{w.lot_ids[p]}/progress", None)
    ),
    "POST /admin/lots/{lot_id}/{action}": Case(
        "head_office", ISSUERS, lambda w, p: ("POST", f"/admin/lots/{w.lot_ids[p]}/reject", {})
    ),
    "GET /admin/bulk": Case(
        "voucher",  # made at head office (A, B) or by a user of SA2 (A:SA2)
        ("A", "A:SA2", "B"),
        lambda w, p: ("GET", "/admin/bulk" + _before(list(w.bulk_ids.values())), None),
        marker=lambda w, p: f'href="/admin/bulk/{w.bulk_ids[p]}"',
    ),
    "GET /admin/bulk/preview": Case(
        "catalogue",
        ISSUERS,
        lambda w, p: ("GET", f"/admin/bulk/preview?issuer_id={_iid(w, p)}&type_code=card", None),
    ),
    "POST /admin/bulk": Case(
        "catalogue",  # reachable by the issuer's store users: their runs stay in their stores
        ISSUERS,
        lambda w, p: (
            "POST",
            "/admin/bulk",
            {"issuer_id": _iid(w, p), "action": "accept", "type_code": "printed"},
        ),
    ),
    "GET /admin/bulk/{operation_id}": Case(
        "voucher",
        ("A", "A:SA2", "B"),
        lambda w, p: ("GET", f"/admin/bulk/{w.bulk_ids[p]}", None),
    ),
    "GET /admin/bulk/{operation_id}/progress": Case(
        "voucher",
        ("A", "A:SA2", "B"),
        lambda w, p: ("GET", f"/admin/bulk/{w.bulk_ids[p]}/progress", None),
    ),
    "GET /admin/vouchers": Case(
        "voucher",
        PLACES,
        lambda w, p: (
            "GET",
            f"/admin/vouchers?issuer_id={_iid(w, p)}&q={w.places[p].voucher_code}",
            None,
        ),
        marker=lambda w, p: f'href="/admin/vouchers/{w.places[p].voucher_id}"',
    ),
    "GET /admin/vouchers/{voucher_id}": Case(
        "voucher", PLACES, lambda w, p: ("GET", f"/admin/vouchers/{w.places[p].voucher_id}", None)
    ),
    "POST /admin/vouchers/{voucher_id}/secret": Case(
        "voucher",
        PLACES,
        lambda w, p: (
            "POST",
            f"/admin/vouchers/{w.places[p].voucher_id}/secret",
            {"reason": "scope test"},
        ),
        ok=frozenset({404}),  # reached: the card has no secret number
    ),
    "GET /admin/users": Case(
        "voucher",
        PLACES,
        lambda w, p: ("GET", "/admin/users" + _before(list(w.subjects.values())), None),
        marker=lambda w, p: f"<td>{w.subject_names[p]}</td>",
    ),
    "POST /admin/users": Case(
        "voucher",
        PLACES,
        lambda w, p: (
            "POST",
            "/admin/users",
            {"username": f"u{_fresh().lower()}", **_subject_form(w, p)},
        ),
    ),
    "POST /admin/users/{user_id}": Case(
        "voucher",
        PLACES,
        lambda w, p: ("POST", f"/admin/users/{w.subjects[p]}", _subject_form(w, p)),
    ),
    "POST /admin/users/{user_id}/token": Case(
        "voucher", PLACES, lambda w, p: ("POST", f"/admin/users/{w.subjects[p]}/token", {})
    ),
    "POST /admin/users/{user_id}/tokens/revoke": Case(
        "voucher",
        PLACES,
        lambda w, p: ("POST", f"/admin/users/{w.subjects[p]}/tokens/revoke", {}),
    ),
    "POST /admin/users/{user_id}/totp": Case(
        "voucher", PLACES, lambda w, p: ("POST", f"/admin/users/{w.subjects[p]}/totp", {})
    ),
    "POST /admin/roles": Case(
        "installation",
        ("A",),
        lambda w, p: ("POST", "/admin/roles", {"name": f"r{_fresh()}", "grant_reports": "read"}),
    ),
    "GET /admin/audit": Case("installation", ("A",), _get("/admin/audit")),
    "GET /admin/audit/verify": Case("installation", ("A",), _get("/admin/audit/verify")),
    "GET /admin/promotions": Case(
        "catalogue",
        ISSUERS,
        lambda w, p: ("GET", f"/admin/promotions?issuer_id={_iid(w, p)}", None),
    ),
    "POST /admin/promotions": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "POST",
            "/admin/promotions",
            {
                "issuer_id": _iid(w, p),
                "code": f"P{_fresh()}",
                "name": "Spend",
                "kind": "progressive",
                "type_code": "promo",
                "params": '{"thresholds": [[5000, 500]]}',
            },
        ),
    ),
    "POST /admin/promotions/{code}/status": Case(
        "head_office",
        ISSUERS,
        lambda w, p: (
            "POST",
            f"/admin/promotions/{w.promotion_codes[p]}/status",
            {"issuer_id": _iid(w, p), "status": "paused"},
        ),
    ),
    "GET /admin/reports": Case("none", ("A",), _get("/admin/reports")),
    "GET /admin/reports/{name}": Case(
        "catalogue",
        ISSUERS,
        lambda w, p: ("GET", f"/admin/reports/sold?issuer={w.issuer(p).issuer_code}&run=1", None),
    ),
}
# Not walked here: the login form is public, and logging out ends the session the walk uses
# (both covered by test_screens).
UNWALKED = {"GET /admin/login", "POST /admin/login", "POST /admin/logout"}

ROUTES = sorted(
    f"{method} {route.path}"
    for route in api_routes(APP.routes)
    if route.path.startswith("/admin")
    for method in route.methods
)
pytestmark = pytest.mark.usefixtures("fast_passwords")
MATRIX = [
    (route, user, place)
    for route in sorted(CASES)
    for user in USERS
    for place in CASES[route].places
]


def test_every_screen_has_a_scope_case() -> None:
    assert sorted(set(CASES) | UNWALKED) == ROUTES


@pytest.fixture(scope="module")
def world(engine: Engine) -> ScopeWorld:
    return scope_world.build(engine)


@pytest.fixture(scope="module")
def browsers(engine: Engine, world: ScopeWorld) -> Iterator[dict[str, Browser]]:
    ring = crypto.parse_keyring(f"k1:{crypto.new_secret_key()}")
    with TestClient(create_app(engine=engine, keyring=ring)) as shared:
        found = {}
        for user in USERS:
            browser = Browser(TestClient(shared.app, raise_server_exceptions=False))
            assert browser.log_in(*world.logins[user]).status_code == 303
            found[user] = browser
        yield found


@pytest.mark.parametrize(("route", "user", "place"), MATRIX, ids=[" ".join(m) for m in MATRIX])
def test_screen_shows_exactly_the_records_of_the_users_scope(
    browsers: dict[str, Browser], world: ScopeWorld, route: str, user: str, place: str
) -> None:
    case = CASES[route]
    browser = browsers[user]
    method, path, form = case.make(world, place)
    if method == "GET":
        answer = browser.client.get(path, follow_redirects=False)
    else:
        answer = browser.post(path, form)
    allowed = sees(user, case.kind, place)
    if case.marker is not None:
        assert answer.status_code == 200, answer.text[:400]
        assert (case.marker(world, place) in answer.text) is allowed
    elif allowed:
        assert answer.status_code in case.ok, answer.text[:400]
        assert answer.headers.get("location") != "/admin/login"
    else:
        assert answer.status_code == 403, answer.text[:400]
        assert any(f'data-code="{code}"' in answer.text for code in SCOPE_CODES), answer.text
