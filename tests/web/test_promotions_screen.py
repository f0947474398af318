"""Promotions on screen: a marketer defines a progressive promotion, sees it as a draft,
activates it; parameters that are not JSON or that its kind refuses change nothing."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, text

from tests import builders
from tests.builders import World
from tests.web.conftest import Browser


def _status(engine: Engine, w: World, code: str) -> str | None:
    with engine.connect() as conn:
        found: str | None = conn.execute(
            text("SELECT status FROM promotions WHERE issuer_id = :i AND code = :c"),
            {"i": w.issuer_id, "c": code},
        ).scalar_one_or_none()
    return found


def test_define_list_and_activate_a_promotion(
    engine: Engine, browser_as: Callable[..., Browser]
) -> None:
    with engine.begin() as conn:
        w = builders.world(conn)
    marketer = browser_as("marketer")
    page = marketer.get(f"/admin/promotions?issuer_id={w.issuer_id}")
    assert page.status_code == 200 and 'id="new-promotion"' in page.text
    form = {
        "issuer_id": w.issuer_id,
        "code": "SPEND20",
        "name": "Spend 20, get 5",
        "kind": "progressive",
        "type_code": "promo",
        "params": '{"thresholds": [[2000, 500]]}',
        "receipt_text": "Thank you!",
    }
    made = marketer.post("/admin/promotions", form)
    assert made.status_code == 303, made.text
    assert _status(engine, w, "SPEND20") == "draft"
    listed = marketer.get(f"/admin/promotions?issuer_id={w.issuer_id}")
    assert "Spend 20, get 5" in listed.text and "progressive" in listed.text

    activated = marketer.post(
        "/admin/promotions/SPEND20/status", {"issuer_id": w.issuer_id, "status": "active"}
    )
    assert activated.status_code == 303 and _status(engine, w, "SPEND20") == "active"

    for params, code in (("not json", "invalid_params"), ("{}", None)):
        refused = marketer.post("/admin/promotions", {**form, "code": "BAD", "params": params})
        assert refused.status_code in (409, 422), refused.text
        if code:
            assert code in refused.text
    assert _status(engine, w, "BAD") is None
