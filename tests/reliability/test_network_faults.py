"""Network faults between a till and the API, through a TCP fault proxy on loopback.

Each scenario is one logical operation; the till retries with the same key, or reverses by key,
and the operation ends with exactly one net effect: one redemption, or none at all. Balances and
history counts say so. Holds left behind by a lost confirm expire by their time-out and can't be
confirmed afterwards.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import Engine, text

from scrip.db.invariants import violations
from scrip.jobs import worker
from tests import builders
from tests.concurrency.conftest import serve
from tests.reliability.conftest import Shop, balances, new_key, open_shop, redemption
from tests.reliability.faultproxy import Fault, FaultProxy

pytestmark = pytest.mark.concurrency

BALANCE = 10_000
AMOUNT = 1_250
CLIENT_TIMEOUT_S = 1.0  # what the till waits before it gives up on an answer
HOLD_TIMEOUT_S = 30


@dataclass
class Net:
    engine: Engine
    proxy: FaultProxy
    shop: Shop
    cards: Iterator[str]

    def card(self) -> str:
        return next(self.cards)

    def call(
        self, path: str, body: dict[str, Any], key: str, *, timeout: float = 10.0
    ) -> httpx.Response | str:
        """One attempt on a fresh connection: the answer, or the transport error's name."""
        headers = {"Authorization": f"Bearer {self.shop.world.key}", "Idempotency-Key": key}
        try:
            with httpx.Client(base_url=self.proxy.url, timeout=timeout) as client:
                return client.post(path, json=body, headers=headers)
        except httpx.TransportError as error:
            return type(error).__name__

    def redeem(self, code: str, key: str, **options: Any) -> httpx.Response | str:
        return self.call(*redemption(code, AMOUNT), key, **options)

    def reverse(self, key: str) -> httpx.Response | str:
        return self.call("/v1/pos/reversals", {"idempotency_key": key}, new_key())

    def effects(self, code: str) -> tuple[int, int, int, int]:
        """(balance, held, recorded redemptions, reversals) of one card."""
        with self.engine.connect() as conn:
            balance, held = balances(self.engine, [code])[code]
            counts = conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE h.type = 'voucher.redeemed'"
                    "   AND h.status = 'recorded'),"
                    " count(*) FILTER (WHERE h.type LIKE '%revers%')"
                    " FROM voucher_history h JOIN vouchers v ON v.id = h.voucher_id"
                    " WHERE v.code = :c"
                ),
                {"c": code},
            ).one()
        return balance, held, int(counts[0]), int(counts[1])


@pytest.fixture(scope="module")
def net(engine: Engine) -> Iterator[Net]:
    shop = open_shop(engine, cards=12, balance=BALANCE)
    with serve(engine) as url:
        host, port = url.removeprefix("http://").split(":")
        proxy = FaultProxy(host, int(port))
        try:
            yield Net(engine, proxy, shop, iter(shop.codes))
        finally:
            proxy.close()
    with engine.connect() as conn:
        assert violations(conn) == {}


def answered(result: httpx.Response | str, status: int) -> httpx.Response:
    assert isinstance(result, httpx.Response), f"no answer: {result}"
    assert result.status_code == status, result.text
    return result


def failed(result: httpx.Response | str) -> str:
    assert isinstance(result, str), f"expected no answer, got {result}"
    return result


ONE_REDEMPTION = (BALANCE - AMOUNT, 0, 1, 0)
NOTHING = (BALANCE, 0, 0, 0)


def test_control_pass_through(net: Net) -> None:
    code = net.card()
    first = answered(net.redeem(code, new_key()), 201)
    assert "Idempotent-Replayed" not in first.headers
    assert net.proxy.records[-1].mode == "pass"
    assert net.effects(code) == ONE_REDEMPTION


def test_dropped_request_is_retried_by_key(net: Net) -> None:
    code, key = net.card(), new_key()
    net.proxy.plan(Fault("drop_request"))
    failed(net.redeem(code, key))
    assert net.proxy.records[-1].upstream_status is None  # the server never saw it
    assert net.effects(code) == NOTHING
    retry = answered(net.redeem(code, key), 201)
    assert "Idempotent-Replayed" not in retry.headers  # it ran now, for the first time
    assert net.effects(code) == ONE_REDEMPTION


def test_dropped_answer_is_retried_by_key_and_replayed(net: Net) -> None:
    code, key = net.card(), new_key()
    net.proxy.plan(Fault("drop_answer"))
    failed(net.redeem(code, key))
    lost = net.proxy.records[-1]
    assert lost.upstream_status == 201  # the server committed; only the answer was lost
    assert net.effects(code) == ONE_REDEMPTION
    retry = answered(net.redeem(code, key), 201)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == json.loads(lost.upstream_body)  # the first answer, replayed
    assert net.effects(code) == ONE_REDEMPTION


def test_dropped_answer_is_reversed_by_key(net: Net) -> None:
    code, key = net.card(), new_key()
    net.proxy.plan(Fault("drop_answer"), Fault("drop_answer"))
    failed(net.redeem(code, key))
    failed(net.reverse(key))  # the reversal's answer is lost too; reversing again is safe
    again = answered(net.reverse(key), 200).json()
    assert again["outcome"] == "already_reversed"
    assert net.effects(code) == (BALANCE, 0, 1, 1)  # redeemed and reversed: no net effect
    late = answered(net.redeem(code, key), 409)
    assert late.json()["error"]["code"] == "idempotency_key_reversed"
    assert net.effects(code) == (BALANCE, 0, 1, 1)


def test_request_delayed_past_the_time_out_then_retried(net: Net) -> None:
    code, key = net.card(), new_key()
    delay = Fault("delay")
    net.proxy.plan(delay)
    assert failed(net.redeem(code, key, timeout=CLIENT_TIMEOUT_S)) == "ReadTimeout"
    delayed = net.proxy.records[-1]
    retry = answered(net.redeem(code, key), 201)
    delay.release.set()  # the original finally reaches the server
    assert delayed.done.wait(timeout=30)
    assert delayed.upstream_status == 201
    assert json.loads(delayed.upstream_body) == retry.json()  # answered by replay
    assert net.effects(code) == ONE_REDEMPTION


def test_request_delayed_past_the_time_out_then_reversed(net: Net) -> None:
    code, key = net.card(), new_key()
    delay = Fault("delay")
    net.proxy.plan(delay)
    failed(net.redeem(code, key, timeout=CLIENT_TIMEOUT_S))
    delayed = net.proxy.records[-1]
    reversal = answered(net.reverse(key), 200).json()
    assert reversal["outcome"] == "nothing_to_reverse"  # leaves a tombstone for the key
    delay.release.set()
    assert delayed.done.wait(timeout=30)
    assert delayed.upstream_status == 409
    assert b"idempotency_key_reversed" in delayed.upstream_body
    assert net.effects(code) == NOTHING


def test_black_hole_then_retried_by_key(net: Net) -> None:
    code, key = net.card(), new_key()
    net.proxy.black_hole(2.5)
    attempts: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        result = net.redeem(code, key, timeout=CLIENT_TIMEOUT_S)
        if isinstance(result, httpx.Response):
            break
        attempts.append(result)
    answered(result, 201)
    # timed out, or reset when the hole closed under a waiting attempt
    assert len(attempts) >= 2 and set(attempts) <= {"ReadTimeout", "ReadError"}, attempts
    swallowed = [r for r in net.proxy.records if r.mode == "black_hole"]
    assert len(swallowed) == len(attempts)
    assert all(r.upstream_status is None for r in swallowed)  # none reached the server
    assert net.effects(code) == ONE_REDEMPTION


def _held_redemption(net: Net, code: str) -> tuple[int, float]:
    opened = answered(
        net.call("/v1/pos/receipts", {"timeout_s": HOLD_TIMEOUT_S}, new_key()), 201
    ).json()
    body = {**redemption(code, AMOUNT)[1], "receipt": {"receipt_id": opened["receipt_id"]}}
    answered(net.call(redemption(code, AMOUNT)[0], body, new_key()), 201)
    assert net.effects(code) == (BALANCE, AMOUNT, 0, 0)
    return opened["receipt_id"], time.time()


def test_hold_left_by_a_dropped_confirm_expires_and_cannot_be_confirmed(net: Net) -> None:
    code = net.card()
    receipt_id, _ = _held_redemption(net, code)
    confirm, key = f"/v1/pos/receipts/{receipt_id}/confirm", new_key()
    net.proxy.plan(Fault("drop_request"))
    failed(net.call(confirm, {}, key))
    assert net.effects(code) == (BALANCE, AMOUNT, 0, 0)  # the hold is left behind

    later = builders.now() + timedelta(seconds=HOLD_TIMEOUT_S + 1)
    assert worker.run_once(net.engine, now=later) >= 1
    assert net.effects(code) == NOTHING
    with net.engine.connect() as conn:
        states = conn.execute(
            text("SELECT state FROM ledger_transfers WHERE receipt_id = :r"), {"r": receipt_id}
        ).scalars()
        assert set(states) == {"expired"}

    refused = answered(net.call(confirm, {}, key), 409)
    assert refused.json()["error"]["code"] == "receipt_expired"
    assert net.effects(code) == NOTHING


def test_dropped_confirm_answer_is_retried_by_key(net: Net) -> None:
    code = net.card()
    receipt_id, _ = _held_redemption(net, code)
    confirm, key = f"/v1/pos/receipts/{receipt_id}/confirm", new_key()
    net.proxy.plan(Fault("drop_answer"))
    failed(net.call(confirm, {}, key))
    assert net.proxy.records[-1].upstream_status == 200
    retry = answered(net.call(confirm, {}, key), 200)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert net.effects(code) == ONE_REDEMPTION
    later = builders.now() + timedelta(seconds=HOLD_TIMEOUT_S + 1)
    worker.run_once(net.engine, now=later)  # a confirmed receipt is not touched by time-out
    assert net.effects(code) == ONE_REDEMPTION
