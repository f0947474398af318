"""Selling (activating) a voucher whose fixed validity window has already ended is refused with
``sale_after_validity`` and changes nothing; a window that runs from activation starts afresh."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, text

from scrip.domain.errors import VoucherExpired
from scrip.services import pos, receipts
from scrip.services.till import ReceiptInput
from tests import builders


def _facts(conn: Connection, code: str) -> dict[str, Any]:
    found = conn.execute(
        text(
            "SELECT v.state, v.balance_minor, v.valid_until,"
            " (SELECT count(*) FROM voucher_history h WHERE h.voucher_id = v.id) AS history,"
            " (SELECT count(*) FROM ledger_transfers t WHERE t.credit_account_id = v.account_id)"
            "   AS transfers FROM vouchers v WHERE v.code = :c"
        ),
        {"c": code},
    ).mappings()
    return dict(found.one())


def _sell(conn: Connection, w: builders.World, code: str, amount: int | None = None) -> Any:
    return pos.sell(
        conn,
        till=w.till,
        items=[pos.SaleItem(code, amount)],
        receipt=ReceiptInput(),
        now=builders.now(),
    )


def _end_window(conn: Connection, code: str, *, days_ago: int) -> None:
    conn.execute(
        text("UPDATE vouchers SET valid_until = now() - make_interval(days => :d) WHERE code = :c"),
        {"d": days_ago, "c": code},
    )


@pytest.mark.parametrize("receipt_open", [False, True])
def test_a_voucher_past_its_fixed_window_is_not_sold(conn: Connection, receipt_open: bool) -> None:
    w = builders.world(conn)
    [code] = builders.vouchers(conn, w, "cert")
    _end_window(conn, code, days_ago=1)
    before = _facts(conn, code)
    receipt = ReceiptInput()
    if receipt_open:
        opened = receipts.open_receipt(
            conn, till=w.till, receipt=ReceiptInput(number="R-9"), timeout_s=60,
            now=builders.now(),
        )  # fmt: skip
        receipt = ReceiptInput(receipt_id=opened.receipt_id)
    with pytest.raises(VoucherExpired) as refused:
        pos.sell(conn, till=w.till, items=[pos.SaleItem(code)], receipt=receipt, now=builders.now())
    assert refused.value.code == "sale_after_validity"
    assert _facts(conn, code) == before


def test_a_window_from_activation_starts_afresh(conn: Connection) -> None:
    w = builders.world(conn)
    builders.card_from_activation(conn, w, days=30)
    [code] = builders.vouchers(conn, w, "card30", state="prepared")
    _end_window(conn, code, days_ago=3)  # e.g. left by a lot: activation replaces it
    _sell(conn, w, code, 2_000)
    after = _facts(conn, code)
    assert after["state"] == "active"
    assert after["valid_until"] > builders.now() + timedelta(days=29)


def test_a_window_that_has_not_ended_still_sells(conn: Connection) -> None:
    w = builders.world(conn)
    [code] = builders.vouchers(conn, w, "cert")
    conn.execute(
        text("UPDATE vouchers SET valid_until = now() + interval '1 day' WHERE code = :c"),
        {"c": code},
    )
    assert _sell(conn, w, code).vouchers[0].state == "active"
