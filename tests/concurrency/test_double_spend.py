"""Many tills spend one card at the same instant: never more than its balance, each success
recorded once. The control comes first: with the row lock switched off, the race is real."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from scrip.db import vouchers as vouchers_db
from scrip.db.invariants import violations
from scrip.services import pos
from scrip.services.till import ReceiptInput
from tests import builders
from tests.builders import World
from tests.concurrency.conftest import Till, error_code, race_http, redeemed_rows, serve

pytestmark = pytest.mark.concurrency

BALANCE = 10_000
PRICE = 700
CLIENTS = 64


def _sold_card(engine: Engine, balance: int = BALANCE) -> tuple[World, str]:
    with engine.begin() as conn:
        w = builders.world(conn)
        [code] = builders.vouchers(conn, w, "card")
        pos.sell(
            conn,
            till=w.till,
            items=[pos.SaleItem(code, balance)],
            receipt=ReceiptInput(),
            now=builders.now(),
        )
    return w, code


def _without_row_locks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same queries minus ``FOR UPDATE``: what the hot path would be without its lock."""
    for name in ("_LOCK_BY_CODE", "_LOCK_BY_CODES", "_LOCK_BY_IDS"):
        sql = getattr(vouchers_db, name).text
        assert "FOR UPDATE OF v" in sql
        monkeypatch.setattr(vouchers_db, name, text(sql.replace(" FOR UPDATE OF v", "")))


def _spend(code: str, *, amount: int = PRICE) -> dict[str, object]:
    return {"amount_minor": amount, "currency": "EUR"}


def test_control_without_the_lock_the_card_is_overspent(
    scratch_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_row_locks(monkeypatch)
    w, code = _sold_card(scratch_engine)
    with serve(scratch_engine) as url:
        answers = race_http(
            Till(url, w.key),
            [lambda till: till.post(f"/vouchers/{code}/redemptions", _spend(code))] * CLIENTS,
        )
    assert {a.status_code for a in answers} <= {201, 409}
    taken = PRICE * sum(a.status_code == 201 for a in answers)
    with scratch_engine.connect() as conn:
        broken = violations(conn)
    assert taken > BALANCE or broken, (
        "the control did not reproduce the double spend: the concurrency test proves nothing"
    )


def test_sixty_four_tills_never_spend_more_than_the_balance(
    engine: Engine, base_url: str, ledger_holds: None
) -> None:
    w, code = _sold_card(engine)
    till = Till(base_url, w.key)
    answers = race_http(
        till, [lambda t: t.post(f"/vouchers/{code}/redemptions", _spend(code))] * CLIENTS
    )

    won = [a for a in answers if a.status_code == 201]
    refused = [(a.status_code, error_code(a)) for a in answers if a.status_code != 201]
    assert len(won) == BALANCE // PRICE
    assert set(refused) == {(409, "insufficient_balance")}
    for answer in won:
        assert redeemed_rows(engine, answer.json()["operation_id"]) == 1
    card = till.get(f"/vouchers/{code}").json()
    assert (card["balance_minor"], card["held_minor"], card["state"]) == (
        BALANCE - len(won) * PRICE,
        0,
        "active",
    )
    with engine.connect() as conn:
        assert violations(conn) == {}


def test_one_key_sent_sixteen_times_at_once_takes_effect_once(
    engine: Engine, base_url: str, ledger_holds: None
) -> None:
    w, code = _sold_card(engine)
    till = Till(base_url, w.key)
    key = "same-key-" + code
    answers = race_http(
        till,
        [lambda t: t.post(f"/vouchers/{code}/redemptions", _spend(code), key=key)] * 16,
    )

    assert {a.status_code for a in answers} == {201}
    assert all(a.json() == answers[0].json() for a in answers)
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 15
    assert redeemed_rows(engine, answers[0].json()["operation_id"]) == 1
    card = till.get(f"/vouchers/{code}").json()
    assert card["balance_minor"] == BALANCE - PRICE
    with engine.connect() as conn:
        redeemed = conn.execute(
            text(
                "SELECT count(*) FROM voucher_history h JOIN vouchers v ON v.id = h.voucher_id"
                " WHERE v.code = :code AND v.issuer_id = :issuer AND h.type = 'voucher.redeemed'"
            ),
            {"code": code, "issuer": w.issuer_id},
        ).scalar_one()
    assert redeemed == 1
