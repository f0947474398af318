"""The audit row and its action are one transaction (issue 13 item 11): no action commits
without its row, a refused action leaves its row and nothing else, and input PostgreSQL cannot
store (a NUL) is refused before anything runs, or stored spelled out in the trail."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from scrip.domain.errors import Conflict
from scrip.domain.scope import EVERYTHING
from scrip.services import audit, lots
from tests import builders
from tests.builders import World


@pytest.fixture
def token(engine: Engine) -> str:
    with engine.begin() as conn:
        return builders.api_token(conn, role="admin")


def _lots(engine: Engine, shop: World) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM lots WHERE issuer_id = :i"), {"i": shop.issuer_id}
            ).scalar_one()
        )


def _rows(engine: Engine, action: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT * FROM audit_log WHERE action = :a ORDER BY id"), {"a": action}
        ).mappings()
        return [dict(row) for row in found]


def _intact(engine: Engine) -> bool:
    with engine.connect() as conn:
        return audit.verify(conn, scope=EVERYTHING).intact


def test_a_nul_in_a_body_is_refused_before_anything_runs(
    admin: TestClient, engine: Engine, shop: World, token: str
) -> None:
    """The reported case: ``created_by: "x\\u0000y"`` made a lot with no audit row."""
    body = {
        "issuer": builders.issuer_code(engine, shop),
        "type_code": "cert",
        "count": 1,
        "created_by": "x\u0000y",
    }
    before = _lots(engine, shop), len(_rows(engine, "POST /v1/admin/lots"))
    answer = admin.post("/v1/admin/lots", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_character"
    assert answer.json()["error"]["details"] == {"where": "body"}
    assert (_lots(engine, shop), len(_rows(engine, "POST /v1/admin/lots"))) == before
    assert _intact(engine)


def test_an_action_whose_audit_row_fails_does_not_happen(
    admin: TestClient,
    engine: Engine,
    shop: World,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = {"issuer": builders.issuer_code(engine, shop), "type_code": "cert", "count": 1}
    append = audit.append
    calls: list[str] = []

    def failing_once(conn: Connection, entry: audit.Entry, *, now: Any) -> int:
        calls.append(entry.outcome)
        if len(calls) == 1:
            raise RuntimeError("the audit row could not be written")
        return append(conn, entry, now=now)

    monkeypatch.setattr(audit, "append", failing_once)
    before = _lots(engine, shop)
    answer = admin.post("/v1/admin/lots", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 500
    assert _lots(engine, shop) == before  # the lot was in the same transaction: gone with it
    assert calls == ["202", "error"]  # the failed attempt is recorded on its own
    assert _rows(engine, "POST /v1/admin/lots")[-1]["outcome"] == "error"
    assert _intact(engine)


def test_a_refusal_after_writes_rolls_them_back_and_keeps_its_row(
    admin: TestClient,
    engine: Engine,
    shop: World,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lot row is written, then the route is refused: the lot goes, the refusal stays."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Conflict("refused after the lot was written", code="late_refusal")

    monkeypatch.setattr(lots, "get_lot", refuse)
    body = {"issuer": builders.issuer_code(engine, shop), "type_code": "cert", "count": 1}
    before = _lots(engine, shop)
    answer = admin.post("/v1/admin/lots", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "late_refusal"
    assert _lots(engine, shop) == before
    assert _rows(engine, "POST /v1/admin/lots")[-1]["outcome"] == "late_refusal"
    assert _intact(engine)


def test_every_done_action_has_its_row_in_the_same_commit(
    admin: TestClient, engine: Engine, shop: World, token: str
) -> None:
    body = {
        "issuer": builders.issuer_code(engine, shop),
        "code": "atomic",
        "name": "Atomic",
        "classification": "gift_card",
        "value_mode": "variable",
    }
    made = admin.post(
        "/v1/admin/voucher-types", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert made.status_code == 201, made.text
    with engine.connect() as conn:
        # Both rows were written by one transaction: PostgreSQL stamps them with its xid.
        xids = conn.execute(
            text(
                "SELECT (SELECT xmin::text FROM voucher_types WHERE id = :t),"
                " (SELECT xmin::text FROM audit_log WHERE action = 'POST /v1/admin/voucher-types'"
                "  ORDER BY id DESC LIMIT 1)"
            ),
            {"t": made.json()["id"]},
        ).one()
    assert xids[0] == xids[1]


def test_a_nul_reaching_the_trail_is_stored_spelled_out(conn: Connection) -> None:
    entry = audit.Entry(actor="a\x00b", action="POST /x", outcome="422", after={"k\x00": ["v\x00"]})
    row_id = audit.append(conn, entry, now=builders.now())
    stored = conn.execute(
        text("SELECT actor, after FROM audit_log WHERE id = :i"), {"i": row_id}
    ).one()
    assert stored.actor == "a\\u0000b" and stored.after == {"k\\u0000": ["v\\u0000"]}
    assert audit.verify(conn, scope=EVERYTHING).intact
