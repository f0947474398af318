"""Lots: 5,000 vouchers set-based — unique codes, sequential serials, history, ledger; a lot
interrupted mid-way resumes to exactly N vouchers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from scrip import crypto
from scrip.db.invariants import violations
from scrip.domain.errors import InvalidInput
from scrip.domain.scope import EVERYTHING
from scrip.services import catalog, lots
from tests import builders

RING = crypto.parse_keyring(f"k1:{crypto.new_secret_key()}")


def _pinned_type(conn: Connection, w: builders.World) -> None:
    catalog.create_voucher_type(
        conn,
        issuer_id=w.issuer_id,
        code="pinned",
        name="PIN card",
        classification="gift_card",
        value_mode="variable",
        pin_length=6,
    )


def _generate_all(conn: Connection, lot_id: int) -> None:
    lot = lots.get_lot(conn, lot_id, scope=EVERYTHING)
    for index in range(lots.chunk_count(lot)):
        lots.generate_chunk(conn, lot_id=lot_id, index=index, keyring=RING, now=builders.now())


def _stats(conn: Connection, lot_id: int) -> dict[str, Any]:
    row = conn.execute(
        text(
            "SELECT count(*) n, count(DISTINCT code) codes, min(serial_number) lo,"
            " max(serial_number) hi, count(secret_sealed) sealed,"
            " (SELECT count(*) FROM voucher_history h JOIN vouchers v2 ON v2.id = h.voucher_id"
            "   WHERE v2.lot_id = :l AND h.type = 'voucher.created') history"
            " FROM vouchers WHERE lot_id = :l"
        ),
        {"l": lot_id},
    ).mappings()
    return dict(row.one())


def test_a_lot_of_5000(conn: Connection) -> None:
    w = builders.world(conn)
    _pinned_type(conn, w)
    lot_id = lots.create_lot(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        type_code="pinned",
        count=5_000,
        created_by="t",
        now=builders.now(),
        chunk_size=2_000,
    )
    _generate_all(conn, lot_id)
    stats = _stats(conn, lot_id)
    lot = lots.get_lot(conn, lot_id, scope=EVERYTHING)
    assert stats == {
        "n": 5_000,
        "codes": 5_000,
        "lo": lot.serial_from,
        "hi": lot.serial_from + 4_999,
        "sealed": 5_000,
        "history": 5_000,
    }
    assert lot.done_count == 5_000


def test_an_active_promotional_lot_is_funded_from_promotions(conn: Connection) -> None:
    w = builders.world(conn)
    lot_id = lots.create_lot(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        type_code="promo",
        count=300,
        state="active",
        created_by="t",
        now=builders.now(),
    )
    _generate_all(conn, lot_id)
    total = conn.execute(
        text("SELECT sum(balance_minor) FROM vouchers WHERE lot_id = :l"), {"l": lot_id}
    ).scalar_one()
    assert total == 300 * 1_000
    assert violations(conn) == {}


def test_a_state_the_classification_does_not_allow_is_refused(conn: Connection) -> None:
    w = builders.world(conn)
    with pytest.raises(InvalidInput) as refused:
        lots.create_lot(
            conn,
            scope=EVERYTHING,
            issuer_id=w.issuer_id,
            type_code="card",
            count=5,
            state="draft",
            created_by="t",
            now=builders.now(),
        )
    assert refused.value.code == "invalid_initial_state"


def test_later_single_vouchers_take_serials_after_a_reserved_lot(conn: Connection) -> None:
    w = builders.world(conn)
    lot_id = lots.create_lot(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        type_code="card",
        count=10,
        created_by="t",
        now=builders.now(),
    )
    lot = lots.get_lot(conn, lot_id, scope=EVERYTHING)
    (code,) = builders.vouchers(conn, w, "card")
    serial = conn.execute(
        text("SELECT serial_number FROM vouchers WHERE code = :c AND issuer_id = :i"),
        {"c": code, "i": w.issuer_id},
    ).scalar_one()
    assert serial == lot.serial_from + 10


@pytest.fixture
def committed_world(engine: Engine, ledger_holds: None) -> Iterator[builders.World]:
    with engine.begin() as conn:
        w = builders.world(conn)
        _pinned_type(conn, w)
    yield w


def test_a_crashed_lot_resumes_to_exactly_n(
    engine: Engine, committed_world: builders.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.begin() as conn:
        lot_id = lots.create_lot(
            conn,
            scope=EVERYTHING,
            issuer_id=committed_world.issuer_id,
            type_code="pinned",
            count=5_000,
            created_by="t",
            now=builders.now(),
            chunk_size=1_000,
        )
    real = lots._write_history_and_value
    calls = {"n": 0}

    def crash_on_third(conn: Connection, chunk: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        real(conn, chunk)

    monkeypatch.setattr(lots, "_write_history_and_value", crash_on_third)
    with pytest.raises(RuntimeError):
        lots.run_lot(engine, lot_id=lot_id, keyring=RING, clock=builders.now, workers=1)
    with engine.connect() as conn:
        failed = lots.get_lot(conn, lot_id, scope=EVERYTHING)
        assert failed.status == "failed" and failed.done_count == 2_000
        assert _stats(conn, lot_id)["n"] == 2_000
    monkeypatch.setattr(lots, "_write_history_and_value", real)
    done = lots.run_lot(engine, lot_id=lot_id, keyring=RING, clock=builders.now)
    assert done.status == "done" and done.done_count == 5_000
    with engine.connect() as conn:
        stats = _stats(conn, lot_id)
    assert stats == {
        "n": 5_000,
        "codes": 5_000,
        "lo": done.serial_from,
        "hi": done.serial_from + 4_999,
        "sealed": 5_000,
        "history": 5_000,
    }
