"""The admin API: start a lot and watch it finish; no token, no entry; the break-glass token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from scrip.services import users
from scrip.services.access import INSTALLATION
from tests import builders
from tests.api.conftest import BREAK_GLASS
from tests.builders import World


@pytest.fixture(scope="module")
def token(engine: Engine) -> str:
    """An administrator's API token."""
    with engine.begin() as conn:
        return builders.api_token(conn, role="admin")


def test_lot_is_generated_and_shows_progress(
    admin: TestClient, engine: Engine, shop: World, token: str
) -> None:
    body = {"issuer": builders.issuer_code(engine, shop), "type_code": "cert", "count": 120}
    headers = {"Authorization": f"Bearer {token}"}
    created = admin.post("/v1/admin/lots", json=body, headers=headers)
    assert created.status_code == 202, created.text
    lot_id = created.json()["id"]
    # TestClient runs background tasks before returning the answer.
    shown = admin.get(f"/v1/admin/lots/{lot_id}", headers=headers).json()
    assert shown["status"] == "done" and shown["done_count"] == 120 and shown["progress"] == 1.0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_admin_needs_a_token(admin: TestClient, headers: dict[str, str]) -> None:
    answer = admin.get("/v1/admin/lots/1", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "api_token_invalid"


def test_the_deployment_token_acts_as_a_full_administrator(
    admin: TestClient, engine: Engine, shop: World
) -> None:
    body = {"issuer": builders.issuer_code(engine, shop), "type_code": "cert", "count": 2}
    created = admin.post(
        "/v1/admin/lots", json=body, headers={"Authorization": f"Bearer {BREAK_GLASS}"}
    )
    assert created.status_code == 202, created.text
    with engine.connect() as conn:
        by = conn.execute(
            text("SELECT created_by FROM lots WHERE id = :i"), {"i": created.json()["id"]}
        ).scalar_one()
    assert by == "admin-token"


def test_a_revoked_or_disabled_user_token_stops_working(admin: TestClient, engine: Engine) -> None:
    with engine.begin() as conn:
        user_id, _, _ = builders.user(conn, role="operator")
        token = users.create_token(conn, actor=INSTALLATION, user_id=user_id, name="t")
    headers = {"Authorization": f"Bearer {token}"}
    assert admin.get("/v1/admin/lots/999999999", headers=headers).status_code == 404
    with engine.begin() as conn:
        users.change_user(conn, actor=INSTALLATION, user_id=user_id, active=False)
    assert admin.get("/v1/admin/lots/999999999", headers=headers).status_code == 401


def test_unknown_lot_is_404_in_the_envelope(admin: TestClient, token: str) -> None:
    answer = admin.get("/v1/admin/lots/999999999", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "lot_not_found"


def test_bulk_operation_runs_and_reports_refusals(
    admin: TestClient, engine: Engine, shop: World, token: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    issuer = builders.issuer_code(engine, shop)
    lot = admin.post(
        "/v1/admin/lots",
        json={"issuer": issuer, "type_code": "card", "count": 30, "state": "prepared"},
        headers=headers,
    ).json()
    with engine.begin() as conn:  # three already active: refused
        conn.execute(
            text(
                "UPDATE vouchers SET state = 'active' WHERE lot_id = :l AND serial_number % 10 = 0"
            ),
            {"l": lot["id"]},
        )
    body = {"issuer": issuer, "action": "activate", "lot_id": lot["id"], "operator": "anna"}
    created = admin.post("/v1/admin/bulk-operations", json=body, headers=headers)
    assert created.status_code == 202, created.text
    assert created.json()["total_count"] == 30
    shown = admin.get(f"/v1/admin/bulk-operations/{created.json()['id']}", headers=headers)
    answer = shown.json()
    assert (answer["status"], answer["progress"]) == ("done", 1.0)
    assert (answer["selected_count"], answer["done_count"], answer["refused_count"]) == (30, 27, 3)
    assert {v["reason"] for v in answer["refused_sample"]} == {"transition_not_allowed"}
    assert {v["state"] for v in answer["refused_sample"]} == {"active"}


def test_bulk_operation_requests_are_checked(
    admin: TestClient, engine: Engine, shop: World, token: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    body = {"issuer": builders.issuer_code(engine, shop), "action": "cancel", "type_code": "card"}
    refused = admin.post("/v1/admin/bulk-operations", json=body, headers=headers)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "reason_required"
    missing = admin.get("/v1/admin/bulk-operations/999999999", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "bulk_operation_not_found"


def test_bulk_edits_through_the_admin_api(
    admin: TestClient, engine: Engine, shop: World, token: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    issuer = builders.issuer_code(engine, shop)
    lot = admin.post(
        "/v1/admin/lots",
        json={"issuer": issuer, "type_code": "card", "count": 5, "state": "prepared"},
        headers=headers,
    ).json()
    body = {
        "issuer": issuer,
        "action": "modify",
        "lot_id": lot["id"],
        "changes": {"allowed_stores": ["S1"], "supported_products": None},
    }
    created = admin.post("/v1/admin/bulk-operations", json=body, headers=headers)
    assert created.status_code == 202, created.text
    assert created.json()["changes"] == {
        "allowed_store_ids": [shop.store_id],
        "supported_products": None,
    }
    shown = admin.get(f"/v1/admin/bulk-operations/{created.json()['id']}", headers=headers)
    assert (shown.json()["status"], shown.json()["done_count"]) == ("done", 5)
    with engine.connect() as conn:
        stores = conn.execute(
            text("SELECT DISTINCT allowed_store_ids FROM vouchers WHERE lot_id = :l"),
            {"l": lot["id"]},
        ).scalars()
        assert list(stores) == [[shop.store_id]]
    naive = {
        **body,
        "action": "change_validity",
        "changes": {"valid_until_on": "2031-12-31", "face_value_minor": 100},
    }
    refused = admin.post("/v1/admin/bulk-operations", json=naive, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_changes"


def _last_audit(engine: Engine, actor: str) -> dict[str, object]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT * FROM audit_log WHERE actor = :a ORDER BY id DESC LIMIT 1"), {"a": actor}
        ).mappings()
        return dict(row.one())


def test_every_mutating_call_is_audited_refusals_included(
    admin: TestClient, engine: Engine, shop: World
) -> None:
    with engine.begin() as conn:
        marketer_id, marketer, _ = builders.user(conn, role="marketer")
        marketer_token = users.create_token(conn, actor=INSTALLATION, user_id=marketer_id, name="t")
        viewer_id, viewer, _ = builders.user(conn, role="viewer")
        viewer_token = users.create_token(conn, actor=INSTALLATION, user_id=viewer_id, name="t")
    body = {"issuer": builders.issuer_code(engine, shop), "type_code": "cert", "count": 3}
    for token in (marketer_token, viewer_token):
        admin.post("/v1/admin/lots", json=body, headers={"Authorization": f"Bearer {token}"})
    done = _last_audit(engine, marketer)
    assert (done["action"], done["outcome"], done["user_id"]) == (
        "POST /v1/admin/lots",
        "202",
        marketer_id,
    )
    assert done["after"] == body and done["ip"] == "testclient"
    refused = _last_audit(engine, viewer)
    assert refused["outcome"] == "right_missing"
    admin.get("/v1/admin/lots/1", headers={"Authorization": f"Bearer {viewer_token}"})
    assert _last_audit(engine, viewer)["id"] == refused["id"]  # reads are not audited
