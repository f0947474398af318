"""Confirm racing cancel on the same open receipts: exactly one wins each receipt, the other is
told what happened, and no hold is left behind."""

from __future__ import annotations

from collections.abc import Callable

import httpx2 as httpx
import pytest
from sqlalchemy import Engine

from scrip.db.invariants import violations
from scrip.domain.money import Money
from scrip.services import pos, receipts
from scrip.services.till import ReceiptInput
from tests import builders
from tests.concurrency.conftest import Till, error_code, race_http

pytestmark = pytest.mark.concurrency

RECEIPTS = 16
HOLD = 500
BALANCE = 20_000


def test_confirm_racing_cancel_has_one_winner_per_receipt(
    engine: Engine, base_url: str, ledger_holds: None
) -> None:
    now = builders.now()
    with engine.begin() as conn:
        w = builders.world(conn)
        [code] = builders.vouchers(conn, w, "card")
        pos.sell(
            conn,
            till=w.till,
            items=[pos.SaleItem(code, BALANCE)],
            receipt=ReceiptInput(),
            now=now,
        )
        ids = []
        for _ in range(RECEIPTS):
            opened = receipts.open_receipt(
                conn, till=w.till, receipt=ReceiptInput(), timeout_s=600, now=now
            )
            pos.redeem(
                conn,
                till=w.till,
                code=code,
                amount=Money(HOLD, "EUR"),
                partial_allowed=False,
                pin=None,
                receipt=ReceiptInput(receipt_id=opened.receipt_id),
                now=now,
            )
            ids.append(opened.receipt_id)
    till = Till(base_url, w.key)
    assert till.get(f"/vouchers/{code}").json()["held_minor"] == RECEIPTS * HOLD

    def close(receipt_id: int, verb: str) -> Callable[[Till], httpx.Response]:
        return lambda t: t.post(f"/receipts/{receipt_id}/{verb}")

    calls = [close(i, verb) for i in ids for verb in ("confirm", "cancel")]
    answers = race_http(till, calls)

    confirmed = 0
    for n, receipt_id in enumerate(ids):
        on_confirm, on_cancel = answers[2 * n], answers[2 * n + 1]
        outcome = {
            "confirm": (on_confirm.status_code, error_code(on_confirm)),
            "cancel": (on_cancel.status_code, error_code(on_cancel)),
        }
        assert outcome in (
            {"confirm": (200, None), "cancel": (409, "receipt_confirmed")},
            {"confirm": (409, "receipt_cancelled"), "cancel": (200, None)},
        ), f"receipt {receipt_id}: {outcome}"
        confirmed += on_confirm.status_code == 200
    card = till.get(f"/vouchers/{code}").json()
    assert (card["balance_minor"], card["held_minor"]) == (BALANCE - confirmed * HOLD, 0)
    with engine.connect() as conn:
        assert violations(conn) == {}
