"""Many tills issue promotion vouchers to one holder at the same instant: never more than the
holder's limit (S7.4), and points are never spent twice. Each starts with its control: with
the row lock switched off the race really happens."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from scrip.db import holders as holders_db
from scrip.db import promotions as promotions_db
from scrip.db.invariants import violations
from scrip.domain.errors import InsufficientBalance
from scrip.domain.scope import EVERYTHING
from scrip.services import promotions
from scrip.services.loyalty import BUILT_IN, PointsMove
from tests import builders
from tests.builders import World
from tests.concurrency.conftest import Till, race, race_http, serve
from tests.till.helpers import holder_with_card, promo_type

pytestmark = pytest.mark.concurrency

CLIENTS = 32
LIMIT = 5
POINTS = 5_000
PER_VOUCHER = 1_000


def _shop(engine: Engine, kind: str, params: dict[str, Any], **limits: int) -> World:
    with engine.begin() as conn:
        w = builders.world(conn)
        promo_type(conn, w)
        holder_with_card(conn, w, "ANNA", "CLUB-A", points=POINTS)
        promotions.create_promotion(
            conn,
            scope=EVERYTHING,
            issuer_id=w.issuer_id,
            code="P",
            name="race",
            kind=kind,
            type_code="GIFT",
            params=params,
            status="active",
            **limits,
        )
    return w


def _personal(engine: Engine) -> World:
    return _shop(engine, "personal", {"holder_refs": ["ANNA"], "value_minor": 100})


def _points(engine: Engine) -> World:
    params = {"points_per_voucher": PER_VOUCHER, "value_minor": 1_000}
    return _shop(engine, "points", params, max_per_holder=1_000)


def _evaluate(points: int = 0) -> Any:
    body = {"receipt": {"card_id": "CLUB-A"}, "points_to_spend": points}
    return lambda till: till.post("/promotions/evaluate", body)


def _issued(engine: Engine, w: World) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM promotion_issues i JOIN promotions p"
                    " ON p.id = i.promotion_id WHERE p.issuer_id = :i AND i.state = 'issued'"
                ),
                {"i": w.issuer_id},
            ).scalar_one()
        )


def _race(url: str, w: World, call: Any) -> Any:
    answers = race_http(Till(url, w.key), [call] * CLIENTS)
    assert {a.status_code for a in answers} == {201}, {a.text for a in answers}
    return answers


def test_control_without_the_counter_lock_the_holder_limit_is_exceeded(
    scratch_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = promotions_db._LOCK_COUNTER.text
    assert locked.endswith(" FOR UPDATE")
    monkeypatch.setattr(promotions_db, "_LOCK_COUNTER", text(locked.removesuffix(" FOR UPDATE")))
    w = _personal(scratch_engine)
    with serve(scratch_engine) as url:
        _race(url, w, _evaluate())
    assert _issued(scratch_engine, w) > LIMIT, (
        "the control did not reproduce the race: the limit test proves nothing"
    )


def test_thirty_two_tills_never_issue_past_the_holder_limit(
    engine: Engine, base_url: str, ledger_holds: None
) -> None:
    w = _personal(engine)
    answers = _race(base_url, w, _evaluate())

    issued = [a for a in answers if a.json()["vouchers"]]
    assert len(issued) == LIMIT == _issued(engine, w)
    limited = [a.json()["refused"] for a in answers if not a.json()["vouchers"]]
    assert limited == [[{"promotion_code": "P", "reason": "limit_reached"}]] * (CLIENTS - LIMIT)
    with engine.connect() as conn:
        assert violations(conn) == {}


def _spend_once(engine: Engine, w: World) -> bool:
    """One till's transaction spending points through the loyalty seam; False if refused."""
    try:
        with engine.begin() as conn:
            BUILT_IN.spend(
                conn, PointsMove(w.issuer_id, "CLUB-A", PER_VOUCHER, "race", builders.now())
            )
    except InsufficientBalance:
        return False
    return True


def test_control_without_the_card_lock_points_are_spent_twice(
    scratch_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert holders_db._LOCK_CARD.endswith(" FOR UPDATE")
    monkeypatch.setattr(holders_db, "_LOCK_CARD", holders_db._CARD)
    w = _points(scratch_engine)
    won = race([lambda: _spend_once(scratch_engine, w)] * CLIENTS)
    assert sum(won) > POINTS // PER_VOUCHER, (
        "the control did not reproduce the double spend of points: the test proves nothing"
    )


def test_thirty_two_spends_of_one_card_take_its_points_once(
    engine: Engine, ledger_holds: None
) -> None:
    w = _points(engine)
    won = race([lambda: _spend_once(engine, w)] * CLIENTS)
    assert sum(won) == POINTS // PER_VOUCHER
    with engine.connect() as conn:
        card = holders_db.find_card(conn, issuer_id=w.issuer_id, card_id="CLUB-A")
        assert card is not None and card.points_balance == 0
        entries = holders_db.list_points_entries(conn, card.id)
        assert [e["balance_after"] for e in entries] == list(range(POINTS, -1, -PER_VOUCHER))


def test_points_are_never_spent_twice(engine: Engine, base_url: str, ledger_holds: None) -> None:
    w = _points(engine)
    answers = _race(base_url, w, _evaluate(PER_VOUCHER))

    spent = [a.json()["points_spent"] for a in answers]
    assert sorted(spent, reverse=True)[: POINTS // PER_VOUCHER + 1] == [PER_VOUCHER] * (
        POINTS // PER_VOUCHER
    ) + [0]
    assert _issued(engine, w) == POINTS // PER_VOUCHER
    with engine.connect() as conn:
        card = holders_db.find_card(conn, issuer_id=w.issuer_id, card_id="CLUB-A")
        assert card is not None and card.points_balance == 0
        entries = holders_db.list_points_entries(conn, card.id)
        assert sum(e["points"] for e in entries) == 0
        assert [e["points"] for e in entries].count(-PER_VOUCHER) == POINTS // PER_VOUCHER
        assert violations(conn) == {}
