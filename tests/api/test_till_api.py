"""Promotions and holders over HTTP: defined through the admin API, evaluated and issued by a
till (idempotently), points earned and spent, a holder's vouchers listed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from scrip.server import create_app
from tests import builders
from tests.api.conftest import Till, issue
from tests.builders import World
from tests.till.helpers import promo_type

TOKEN = "admin-till-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def app_client(engine: Engine, ledger_holds: None) -> Iterator[TestClient]:
    with TestClient(create_app(engine=engine, admin_token=TOKEN)) as client:
        yield client


def gift_type(engine: Engine, shop: World) -> None:
    with engine.begin() as conn:
        promo_type(conn, shop, "GIFT", 1_000)


def admin_post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    answer = client.post(f"/v1/admin{path}", json=body, headers=ADMIN)
    assert answer.status_code in (201, 204), answer.text
    return answer.json() if answer.status_code == 201 else None


def test_promotions_and_holders_end_to_end(
    app_client: TestClient, engine: Engine, shop: World
) -> None:
    issuer = builders.issuer_code(engine, shop)
    gift_type(engine, shop)
    till = Till(app_client, shop.key)
    holder = admin_post(
        app_client,
        "/holders",
        {"issuer": issuer, "holder_ref": "ANNA", "email": "anna@example.com"},
    )
    assert holder == {"holder_ref": "ANNA", "name": None, "email": "anna@example.com", "cards": []}
    admin_post(app_client, "/holders/ANNA/cards", {"issuer": issuer, "card_id": "CARD-1"})
    for kind, params in (
        ("card_activation", {"value_minor": 500}),
        ("points", {"points_per_voucher": 1_000, "value_minor": 1_000}),
    ):
        made = admin_post(
            app_client,
            "/promotions",
            {
                "issuer": issuer,
                "code": kind.upper(),
                "name": kind,
                "kind": kind,
                "type_code": "GIFT",
                "params": params,
                "status": "active",
                "receipt_text": f"{kind} gift",
            },
        )
        assert (made["max_per_receipt"], made["max_per_holder"]) == (3, 5)

    key = str(uuid.uuid4())
    body = {
        "receipt": {
            "card_id": "CARD-1",
            "lines": [{"item_code": "MILK", "item_group": "dairy", "amount_minor": 300}],
        },
        "activate_card": True,
    }
    first = till.post("/promotions/evaluate", body, key=key)
    assert first.status_code == 201, first.text
    [printed] = first.json()["vouchers"]
    assert (printed["value_minor"], printed["receipt_text"]) == (500, "card_activation gift")
    again = till.post("/promotions/evaluate", body, key=key)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"

    earned = till.post("/club-cards/CARD-1/points", {"points": 2_000})
    assert earned.json()["points_balance"] == 2_000
    spent = till.post(
        "/promotions/evaluate", {"receipt": {"card_id": "CARD-1"}, "points_to_spend": 1_000}
    )
    assert spent.json()["points_spent"] == 1_000
    card = till.get("/club-cards/CARD-1").json()
    assert card["points_balance"] == 1_000
    assert [(e["kind"], e["points"]) for e in card["entries"]] == [
        ("earn", 2_000),
        ("spend", -1_000),
    ]

    listed = app_client.get(
        "/v1/admin/holders/ANNA/vouchers", params={"issuer": issuer}, headers=ADMIN
    ).json()
    assert [(v["state"], v["balance_minor"], v["link"]) for v in listed] == [
        ("active", 500, "recipient"),
        ("active", 1_000, "recipient"),
    ]
    [cert] = issue(engine, shop, "cert")
    admin_post(
        app_client, "/holders/ANNA/vouchers", {"issuer": issuer, "code": cert, "link": "buyer"}
    )
    relisted = app_client.get(
        "/v1/admin/holders/ANNA/vouchers", params={"issuer": issuer}, headers=ADMIN
    ).json()
    assert (relisted[-1]["code"], relisted[-1]["link"]) == (cert, "buyer")
    shown = app_client.get("/v1/admin/promotions", params={"issuer": issuer}, headers=ADMIN).json()
    assert [p["code"] for p in shown] == ["CARD_ACTIVATION", "POINTS"]


def test_a_certificate_is_refused_as_a_club_card(
    app_client: TestClient, engine: Engine, shop: World
) -> None:
    [cert] = issue(engine, shop, "cert")
    answer = Till(app_client, shop.key).post("/promotions/evaluate", {"receipt": {"card_id": cert}})
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "not_a_loyalty_card"


def test_admin_refusals_use_the_envelope(
    app_client: TestClient, engine: Engine, shop: World
) -> None:
    issuer = builders.issuer_code(engine, shop)
    bad = app_client.post(
        "/v1/admin/promotions",
        headers=ADMIN,
        json={
            "issuer": issuer,
            "code": "X",
            "name": "x",
            "kind": "lottery",
            "type_code": "promo",
            "params": {},
        },
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_promotion")
    missing = app_client.get("/v1/admin/holders/NOBODY", params={"issuer": issuer}, headers=ADMIN)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "holder_not_found")
    assert app_client.get("/v1/admin/promotions", params={"issuer": issuer}).status_code == 401


def test_a_reversed_issue_inside_a_receipt_is_not_issued_on_confirmation(
    app_client: TestClient, engine: Engine, shop: World
) -> None:
    issuer = builders.issuer_code(engine, shop)
    gift_type(engine, shop)
    admin_post(
        app_client,
        "/promotions",
        {
            "issuer": issuer,
            "code": "ALL",
            "name": "everyone",
            "kind": "progressive",
            "type_code": "GIFT",
            "params": {"thresholds": [[0, 400]]},
            "status": "active",
        },
    )
    till = Till(app_client, shop.key)
    receipt_id = till.post("/receipts", {}).json()["receipt_id"]
    key = str(uuid.uuid4())
    got = till.post("/promotions/evaluate", {"receipt": {"receipt_id": receipt_id}}, key=key)
    [printed] = got.json()["vouchers"]
    assert (got.json()["status"], printed["state"]) == ("pending", "activating")

    reversed_ = till.post("/reversals", {"idempotency_key": key})
    assert reversed_.json()["outcome"] == "reversed", reversed_.text
    assert till.post(f"/receipts/{receipt_id}/confirm").status_code == 200

    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT v.state, i.state FROM promotion_issues i JOIN vouchers v"
                " ON v.id = i.voucher_id WHERE v.code = :c"
            ),
            {"c": printed["code"]},
        ).one()
        counted = conn.execute(
            text("SELECT issued_count FROM issue_counters WHERE scope = :s"),
            {"s": f"r:{receipt_id}"},
        ).scalar_one()
    assert (tuple(row), counted) == (("generated", "cancelled"), 0)


def test_reversing_a_posted_issue_gives_back_the_points_and_the_limits(
    app_client: TestClient, engine: Engine, shop: World
) -> None:
    """One call, no open receipt: the issue is posted at once. Reversing it by key takes the
    voucher back, and the points spent on it and its place under the limits go back too."""
    issuer = builders.issuer_code(engine, shop)
    gift_type(engine, shop)
    till = Till(app_client, shop.key)
    admin_post(app_client, "/holders", {"issuer": issuer, "holder_ref": "ANNA"})
    admin_post(app_client, "/holders/ANNA/cards", {"issuer": issuer, "card_id": "CARD-1"})
    admin_post(
        app_client,
        "/promotions",
        {
            "issuer": issuer,
            "code": "POINTS",
            "name": "points",
            "kind": "points",
            "type_code": "GIFT",
            "params": {"points_per_voucher": 1_000, "value_minor": 1_000},
            "status": "active",
        },
    )
    activated = till.post(
        "/promotions/evaluate", {"receipt": {"card_id": "CARD-1"}, "activate_card": True}
    )
    assert activated.status_code == 201, activated.text
    assert till.post("/club-cards/CARD-1/points", {"points": 2_000}).status_code == 201
    key = str(uuid.uuid4())
    body = {"receipt": {"card_id": "CARD-1", "number": "R-77"}, "points_to_spend": 1_000}
    spent = till.post("/promotions/evaluate", body, key=key)
    assert (spent.json()["status"], spent.json()["points_spent"]) == ("recorded", 1_000), spent.text
    assert till.get("/club-cards/CARD-1").json()["points_balance"] == 1_000

    reversed_ = till.post("/reversals", {"idempotency_key": key})

    assert reversed_.json()["outcome"] == "reversed", reversed_.text
    card = till.get("/club-cards/CARD-1").json()
    assert card["points_balance"] == 2_000
    assert [(e["kind"], e["points"]) for e in card["entries"]][-1] == ("adjust", 1_000)
    [printed] = spent.json()["vouchers"]
    with engine.connect() as conn:
        state, promotion_id, holder_id = conn.execute(
            text(
                "SELECT i.state, i.promotion_id, i.holder_id FROM promotion_issues i"
                " JOIN vouchers v ON v.id = i.voucher_id WHERE v.code = :c AND v.issuer_id = :i"
            ),
            {"c": printed["code"], "i": shop.issuer_id},
        ).one()
        scopes = [f"n:{shop.issuer_id}:R-77", f"h:{promotion_id}:{holder_id}"]
        counters = conn.execute(
            text("SELECT scope, issued_count FROM issue_counters WHERE scope = ANY(:s)"),
            {"s": scopes},
        ).all()
    assert state == "cancelled"
    assert {str(scope): int(count) for scope, count in counters} == dict.fromkeys(scopes, 0)
