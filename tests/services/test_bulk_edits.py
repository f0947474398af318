"""Bulk edits (change validity, modify) and the validity bulk activation starts: the value rule
(no value rewritten on a voucher that holds some), windows that would end before they start,
stores by code, the history row's before and after, and the same window as an activation at the
till. The matrix of every edit against every state is in ``test_bulk_operations``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from scrip.domain import bulk
from scrip.domain.errors import InvalidInput, NotFound
from scrip.domain.scope import EVERYTHING
from scrip.services import bulk_operations, pos
from scrip.services.till import ReceiptInput
from tests import builders
from tests.services.bulk_jobs import create_operation, run_in

NOW = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 23:30 in Sofia: the local day is the 23rd


def _edit(
    conn: Connection, w: builders.World, action: str, codes: list[str], **changes: Any
) -> Any:
    op_id = bulk_operations.create_operation(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        action=action,
        selection=bulk.Selection(codes=tuple(codes)),
        operator="op1",
        now=NOW,
        changes=changes,
    )
    return run_in(conn, op_id)


def _row(conn: Connection, w: builders.World, code: str) -> dict[str, Any]:
    found = conn.execute(
        text(
            "SELECT state, balance_minor, face_value_minor, extra_value_minor, valid_from,"
            " valid_until, supported_products, supported_product_groups, allowed_store_ids"
            " FROM vouchers WHERE issuer_id = :i AND code = :c"
        ),
        {"i": w.issuer_id, "c": code},
    ).mappings()
    return dict(found.one())


def _sold_card(conn: Connection, w: builders.World, amount: int = 4_000) -> str:
    [code] = builders.vouchers(conn, w, "card")
    pos.sell(
        conn,
        till=w.till,
        items=[pos.SaleItem(code, amount)],
        receipt=ReceiptInput(),
        now=builders.now(),
    )
    return code


def test_value_is_not_rewritten_on_a_voucher_that_holds_value(conn: Connection) -> None:
    w = builders.world(conn)
    sold = _sold_card(conn, w)
    fresh = builders.vouchers(conn, w, "card")[0]
    before = _row(conn, w, sold)
    op = _edit(conn, w, "modify", [sold, fresh], face_value_minor=2_500, extra_value_minor=100)
    assert (op.done_count, op.refused_count) == (1, 1)
    assert op.refused_sample == [
        {
            "code": sold,
            "serial_number": op.refused_sample[0]["serial_number"],
            "state": "active",
            "reason": "carries_value",
        }
    ]
    assert _row(conn, w, sold) == before
    assert _row(conn, w, fresh)["face_value_minor"] == 2_500
    assert _row(conn, w, fresh)["extra_value_minor"] == 100


def test_restrictions_change_on_a_voucher_that_holds_value(conn: Connection) -> None:
    w = builders.world(conn)
    sold = _sold_card(conn, w)
    op = _edit(
        conn,
        w,
        "modify",
        [sold],
        supported_product_groups=["books", "toys", "books"],
        allowed_stores=["S1"],
        supported_products=None,
    )
    assert (op.done_count, op.refused_count) == (1, 0)
    row = _row(conn, w, sold)
    assert row["supported_product_groups"] == ["books", "toys"]
    assert row["allowed_store_ids"] == [w.store_id]
    assert row["balance_minor"] == 4_000
    details = conn.execute(
        text(
            "SELECT h.details, h.operator_code FROM voucher_history h JOIN vouchers v"
            " ON v.id = h.voucher_id WHERE v.code = :c AND h.type = 'voucher.modified'"
        ),
        {"c": sold},
    ).one()
    assert details.operator_code == "op1"
    assert details.details == {
        "bulk_operation_id": op.id,
        "changes": {
            "supported_product_groups": ["books", "toys"],
            "allowed_store_ids": [w.store_id],
            "supported_products": None,
        },
        "before": {
            "supported_product_groups": None,
            "allowed_store_ids": None,
            "supported_products": None,
        },
    }


def test_a_certificate_keeps_its_denomination(conn: Connection) -> None:
    w = builders.world(conn)
    [cert] = builders.vouchers(conn, w, "cert")
    op = _edit(conn, w, "modify", [cert], face_value_minor=9_900)
    assert [e["reason"] for e in op.refused_sample] == ["fixed_denomination"]
    assert _row(conn, w, cert)["face_value_minor"] == 5_000
    op = _edit(conn, w, "modify", [cert], allowed_stores=["S1"])
    assert op.done_count == 1  # only its value is fixed


def test_validity_by_local_days_and_windows_that_would_invert(conn: Connection) -> None:
    w = builders.world(conn)
    late, plain = builders.vouchers(conn, w, "printed", count=2)
    conn.execute(
        text("UPDATE vouchers SET valid_from = '2032-01-01T00:00Z' WHERE code = :c"), {"c": late}
    )
    op = _edit(conn, w, "change_validity", [late, plain], valid_until_on="2031-12-31")
    assert (op.done_count, [e["reason"] for e in op.refused_sample]) == (1, ["window_inverted"])
    assert _row(conn, w, late)["valid_until"] is None
    # 31 December ends at local midnight in Sofia (UTC+2 in winter).
    assert _row(conn, w, plain)["valid_until"] == datetime(2031, 12, 31, 22, 0, tzinfo=UTC)
    op = _edit(conn, w, "change_validity", [late], valid_from=None)
    assert op.done_count == 1 and _row(conn, w, late)["valid_from"] is None


@pytest.mark.parametrize(
    ("action", "changes", "code"),
    [
        ("change_validity", {}, "invalid_changes"),
        ("unblock", {"valid_until_on": "2031-01-01"}, "invalid_changes"),
        ("change_validity", {"valid_until": "2031-01-01T00:00"}, "naive_datetime"),
        (
            "change_validity",
            {"valid_from_on": "2031-02-01", "valid_until_on": "2031-01-01"},
            "window_inverted",
        ),
        (
            "change_validity",
            {"valid_until": "x", "valid_until_on": "2031-01-01"},
            "invalid_changes",
        ),
        ("modify", {"face_value_minor": 0}, "invalid_money"),
        ("modify", {"face_value_minor": 10.5}, "invalid_money"),
        ("modify", {"extra_value_minor": -1}, "invalid_money"),
        ("modify", {"state": "active"}, "invalid_changes"),
        ("modify", {"supported_products": "SKU-1"}, "invalid_restriction"),
        ("modify", {"allowed_stores": ["NOPE"]}, "store_not_found"),
    ],
)
def test_edit_requests_are_checked(
    conn: Connection, action: str, changes: dict[str, Any], code: str
) -> None:
    w = builders.world(conn)
    with pytest.raises((InvalidInput, NotFound)) as refused:
        bulk_operations.create_operation(
            conn,
            scope=EVERYTHING,
            issuer_id=w.issuer_id,
            action=action,
            selection=bulk.Selection(type_code="card"),
            operator="op1",
            now=NOW,
            changes=changes,
        )
    assert refused.value.code == code
    assert (
        conn.execute(
            text("SELECT count(*) FROM bulk_operations WHERE issuer_id = :i"), {"i": w.issuer_id}
        ).scalar_one()
        == 0
    )


def test_bulk_activation_starts_the_window_as_the_till_does(conn: Connection) -> None:
    w = builders.world(conn)
    builders.card_from_activation(conn, w, days=30)
    bulked, tilled = builders.vouchers(conn, w, "card30", count=2, state="prepared")
    [other] = builders.vouchers(conn, w, "card")  # no window: stays unbounded
    op_id = bulk_operations.create_operation(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        action="activate",
        selection=bulk.Selection(codes=(bulked, other)),
        operator="op1",
        now=NOW,
    )
    for chunk in bulk_operations.pending_chunks(conn, operation_id=op_id):
        bulk_operations.run_chunk(conn, operation_id=op_id, chunk=chunk, now=NOW)
    pos.sell(
        conn, till=w.till, items=[pos.SaleItem(tilled, 1_000)], receipt=ReceiptInput(), now=NOW
    )
    window = (_row(conn, w, bulked)["valid_from"], _row(conn, w, bulked)["valid_until"])
    assert window == (_row(conn, w, tilled)["valid_from"], _row(conn, w, tilled)["valid_until"])
    # 30 days after the local 23 November, at local midnight (UTC+2): 23 Dec 22:00 UTC.
    assert window == (NOW, datetime(2026, 12, 23, 22, 0, tzinfo=UTC))
    assert (_row(conn, w, other)["valid_from"], _row(conn, w, other)["valid_until"]) == (None, None)


def _updates(conn: Connection) -> tuple[int, int]:
    """This transaction's updates of vouchers so far: (all, HOT ones: no new index entry)."""
    row = conn.execute(
        text(
            "SELECT pg_stat_get_xact_tuples_updated('vouchers'::regclass),"
            " pg_stat_get_xact_tuples_hot_updated('vouchers'::regclass)"
        )
    ).one()
    return int(row[0]), int(row[1])


def _activate(conn: Connection, w: builders.World, codes: list[str]) -> tuple[int, int]:
    before = _updates(conn)
    op_id = bulk_operations.create_operation(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        action="activate",
        selection=bulk.Selection(codes=tuple(codes)),
        operator="op1",
        now=NOW,
    )
    for chunk in bulk_operations.pending_chunks(conn, operation_id=op_id):
        bulk_operations.run_chunk(conn, operation_id=op_id, chunk=chunk, now=NOW)
    after = _updates(conn)
    return after[0] - before[0], after[1] - before[1]


def test_bulk_activation_without_a_window_writes_no_index_entry(conn: Connection) -> None:
    # Control: a window started by activation puts the vouchers into the expiry index, so
    # their updates are not HOT; the counters do see the difference.
    w = builders.world(conn)
    builders.card_from_activation(conn, w, days=30)
    windowed = builders.vouchers(conn, w, "card30", count=3, state="prepared")
    assert _activate(conn, w, windowed) == (3, 0)

    unbounded = builders.vouchers(conn, w, "card", count=3, state="prepared")
    assert _activate(conn, w, unbounded) == (3, 3)
    states = {_row(conn, w, code)["state"] for code in windowed + unbounded}
    assert states == {"active"}


def test_all_or_nothing_edit_refuses_the_whole_selection(
    engine: Engine,
    printed_lot: tuple[builders.World, int],
) -> None:
    w, lot_id = printed_lot
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE vouchers SET valid_from = '2035-01-01T00:00Z'"
                " WHERE lot_id = :l AND serial_number % 500 = 0"
            ),
            {"l": lot_id},
        )
    op_id = create_operation(
        engine,
        w,
        lot_id,
        action="change_validity",
        chunk_size=300,
        all_or_nothing=True,
        changes={"valid_until_on": "2034-12-31"},
    )
    op = bulk_operations.run(engine, operation_id=op_id, clock=builders.now)
    assert (op.status, op.error, op.refused_count, op.done_count) == (
        "failed",
        "bulk_refused",
        2,
        0,
    )
    with engine.connect() as conn:
        changed = conn.execute(
            text("SELECT count(*) FROM vouchers WHERE lot_id = :l AND valid_until IS NOT NULL"),
            {"l": lot_id},
        ).scalar_one()
    assert changed == 0


def test_a_resumed_edit_applies_the_values_stored_with_it(
    engine: Engine,
    printed_lot: tuple[builders.World, int],
) -> None:
    w, lot_id = printed_lot
    op_id = create_operation(
        engine, w, lot_id, action="modify", chunk_size=400, changes={"extra_value_minor": 700}
    )
    with engine.begin() as conn:  # the first chunk commits, then the job stops
        [first, *_] = bulk_operations.pending_chunks(conn, operation_id=op_id)
        bulk_operations.run_chunk(conn, operation_id=op_id, chunk=first, now=builders.now())
    op = bulk_operations.run(engine, operation_id=op_id, clock=builders.now)
    assert (op.status, op.done_count) == ("done", 1_000)
    with engine.connect() as conn:
        counts = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE extra_value_minor = 700),"
                " (SELECT count(*) FROM voucher_history h JOIN vouchers x ON x.id = h.voucher_id"
                "   WHERE x.lot_id = :l AND h.type = 'voucher.modified')"
                " FROM vouchers WHERE lot_id = :l"
            ),
            {"l": lot_id},
        ).one()
    assert tuple(counts) == (1_000, 1_000)
