"""Two vouchers locked from both ends at once (transfers A→B against B→A, sales [A, B]
against [B, A]): vouchers are locked in id order, so no till ever meets a deadlock.

The API retries deadlocks; these tests switch that retry off so a deadlock would reach the
client as a 500 instead of being hidden.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx2 as httpx
import pytest
from sqlalchemy import Engine

from scrip.api import idempotency
from scrip.db.invariants import violations
from scrip.services import pos
from scrip.services.till import ReceiptInput
from tests import builders
from tests.concurrency.conftest import Till, error_code, race_http

pytestmark = pytest.mark.concurrency

PER_SIDE = 16
REFUSALS = {"transition_not_allowed", "insufficient_balance", "held_elsewhere"}


@pytest.fixture(autouse=True)
def no_deadlock_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idempotency, "_RETRYABLE", ())


def _outcomes(answers: list[httpx.Response]) -> tuple[int, set[tuple[int, str | None]]]:
    refused = {(a.status_code, error_code(a)) for a in answers if a.status_code != 201}
    assert all(status == 409 and code in REFUSALS for status, code in refused), refused
    return sum(a.status_code == 201 for a in answers), refused


def test_opposite_transfers_neither_deadlock_nor_lose_value(
    engine: Engine, base_url: str, ledger_holds: None
) -> None:
    with engine.begin() as conn:
        w = builders.world(conn)
        a, b = builders.vouchers(conn, w, "card", count=2)
        pos.sell(
            conn,
            till=w.till,
            items=[pos.SaleItem(a, 3_000), pos.SaleItem(b, 4_000)],
            receipt=ReceiptInput(),
            now=builders.now(),
        )
    till = Till(base_url, w.key)

    def move(source: str, target: str) -> Callable[[Till], httpx.Response]:
        return lambda t: t.post(f"/vouchers/{source}/transfers", {"target_code": target})

    answers = race_http(till, [move(a, b), move(b, a)] * PER_SIDE)

    won, _ = _outcomes(answers)
    assert won == 1  # the first transfer blocks its source, which then refuses both directions
    cards = [till.get(f"/vouchers/{code}").json() for code in (a, b)]
    assert sum(c["balance_minor"] for c in cards) == 7_000
    assert sorted((c["state"], c["balance_minor"]) for c in cards) == [
        ("active", 7_000),
        ("blocked", 0),
    ]
    with engine.connect() as conn:
        assert violations(conn) == {}


def test_sales_of_the_same_pair_in_opposite_order_do_not_deadlock(
    engine: Engine, base_url: str, ledger_holds: None
) -> None:
    with engine.begin() as conn:
        w = builders.world(conn)
        pairs = [builders.vouchers(conn, w, "card", count=2) for _ in range(4)]
    till = Till(base_url, w.key)

    def sell(first: str, second: str) -> Callable[[Till], httpx.Response]:
        items = [{"code": first, "amount_minor": 1_000}, {"code": second, "amount_minor": 2_000}]
        return lambda t: t.post("/sales", {"items": items})

    calls = [sell(a, b) for a, b in pairs for _ in range(PER_SIDE // 4)]
    calls += [sell(b, a) for a, b in pairs for _ in range(PER_SIDE // 4)]
    answers = race_http(till, calls)

    won, _ = _outcomes(answers)
    assert won == len(pairs)  # each pair is sold once; every later sale finds it active
    for a, b in pairs:
        balances = sorted(till.get(f"/vouchers/{code}").json()["balance_minor"] for code in (a, b))
        assert balances == [1_000, 2_000]
    with engine.connect() as conn:
        assert violations(conn) == {}
