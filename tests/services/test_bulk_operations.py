"""Bulk operations: every bulk action (life-cycle moves and the two edits) against every state
of every classification (allowed ones move or change with a history row each, refused ones are
counted, sampled and unchanged), the value rules, all-or-nothing, validity started by bulk
activation, and a crash mid-run resumed to the same result without doing anything twice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from scrip.db import bulk_operations as bulk_db
from scrip.db.invariants import violations
from scrip.domain import bulk
from scrip.domain.errors import InvalidInput, NotFound
from scrip.domain.lifecycle import (
    TRANSITIONS,
    Action,
    Classification,
    State,
    sources_of,
    states_of,
)
from scrip.domain.scope import EVERYTHING
from scrip.services import bulk_operations, catalog, lots
from tests import builders
from tests.services.bulk_jobs import create_operation, ring, run_in

TYPE_OF = {
    Classification.printed_voucher: "printed",
    Classification.gift_certificate: "cert",
    Classification.gift_card: "card",
    Classification.promotional_voucher: "promo",
    Classification.electronic_voucher: "evoucher",
}


def _evoucher_type(conn: Connection, w: builders.World) -> None:
    catalog.create_voucher_type(
        conn,
        issuer_id=w.issuer_id,
        code="evoucher",
        name="E-voucher",
        classification="electronic_voucher",
        value_mode="variable",
        e_voucher_use="shareable",
        validity_basis="from_issue",
        validity_days=365,
    )


def _voucher_in(conn: Connection, w: builders.World, type_code: str, state: State) -> str:
    """A voucher of ``type_code`` with balance 0 put straight into ``state`` (set-up only)."""
    initial = "active" if type_code == "evoucher" else None
    [code] = builders.vouchers(conn, w, type_code, state=initial)
    conn.execute(
        text("UPDATE vouchers SET state = :s WHERE issuer_id = :i AND code = :c"),
        {"s": state.value, "i": w.issuer_id, "c": code},
    )
    return code


def _facts(conn: Connection, issuer_id: int, codes: list[str]) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT v.code, v.state, v.balance_minor, v.valid_from, v.valid_until,"
            " v.face_value_minor, v.extra_value_minor, v.supported_products,"
            " v.supported_product_groups, v.allowed_store_ids,"
            " (SELECT count(*) FROM voucher_history h WHERE h.voucher_id = v.id) AS history"
            " FROM vouchers v WHERE v.issuer_id = :i AND v.code = ANY(:codes)"
        ),
        {"i": issuer_id, "codes": codes},
    ).mappings()
    return {row["code"]: dict(row) for row in rows}


# What each edit sets in the matrix below, and the columns that shows in.
CHANGES: dict[bulk.BulkAction, dict[str, Any]] = {
    bulk.Edit.change_validity: {"valid_until_on": "2031-03-31"},
    bulk.Edit.modify: {"face_value_minor": 3_000, "supported_products": ["SKU-1"]},
}
CHANGED: dict[bulk.BulkAction, dict[str, Any]] = {
    bulk.Edit.change_validity: {"valid_until": datetime(2031, 3, 31, 21, 0, tzinfo=UTC)},
    bulk.Edit.modify: {"face_value_minor": 3_000, "supported_products": ["SKU-1"]},
}


def _expected(
    classification: Classification, state: State, action: bulk.BulkAction
) -> State | None:
    if isinstance(action, bulk.Edit):
        if action is bulk.Edit.modify and classification is Classification.gift_certificate:
            return None  # fixed_denomination: the matrix's modify changes the value
        return state if state in bulk.EDITABLE_STATES[action] else None
    if action is Action.activate and classification in bulk.VALUED_ACTIVATION:
        return None
    return TRANSITIONS[classification].get((state, action))


@pytest.mark.parametrize("action", bulk.ACTIONS, ids=lambda a: a.value)
def test_every_action_against_every_state(conn: Connection, action: bulk.BulkAction) -> None:
    w = builders.world(conn)
    _evoucher_type(conn, w)
    cases = {
        _voucher_in(conn, w, type_code, state): (classification, state)
        for classification, type_code in TYPE_OF.items()
        for state in sorted(states_of(classification))
        if state is not State.purged
    }
    before = _facts(conn, w.issuer_id, list(cases))
    op_id = bulk_operations.create_operation(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        action=action.value,
        selection=bulk.Selection(codes=tuple(cases)),
        operator="op1",
        reason="test",
        now=builders.now(),
        chunk_size=7,
        changes=CHANGES.get(action),
    )
    op = run_in(conn, op_id)
    after = _facts(conn, w.issuer_id, list(cases))
    moved = 0
    for code, (classification, state) in cases.items():
        target = _expected(classification, state, action)
        if target is not None and action in bulk.ENDS_VALUE and before[code]["balance_minor"]:
            target = None
        if target is None:
            assert after[code] == before[code], (code, classification, state)
        else:
            moved += 1
            assert after[code] == {
                **before[code],
                "state": target.value,
                "history": before[code]["history"] + 1,
                **CHANGED.get(action, {}),
            }, (classification, state)
    assert (op.selected_count, op.done_count) == (len(cases), moved)
    assert op.refused_count == len(cases) - moved
    assert len(op.refused_sample) == min(op.refused_count, bulk.SAMPLE_SIZE)
    assert {entry["reason"] for entry in op.refused_sample} <= set(bulk.REFUSALS)
    assert moved > 0 or action is Action.reject  # every action moves something here


def test_history_rows_name_the_operation_and_the_operator(conn: Connection) -> None:
    w = builders.world(conn)
    codes = builders.vouchers(conn, w, "card", count=3)
    op_id = bulk_operations.create_operation(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        action="activate",
        selection=bulk.Selection(codes=tuple(codes)),
        operator="backoffice",
        now=builders.now(),
    )
    run_in(conn, op_id)
    rows = conn.execute(
        text(
            "SELECT h.type, h.status, h.operator_code, h.state_before, h.state_after, h.details,"
            " h.balance_after_minor, v.activated_at IS NOT NULL AS activated"
            " FROM voucher_history h JOIN vouchers v ON v.id = h.voucher_id"
            " WHERE v.code = ANY(:c) AND v.issuer_id = :i AND h.type = 'voucher.activated'"
        ),
        {"c": codes, "i": w.issuer_id},
    ).mappings()
    assert [dict(r) for r in rows] == [
        {
            "type": "voucher.activated",
            "status": "recorded",
            "operator_code": "backoffice",
            "state_before": "prepared",
            "state_after": "active",
            "details": {"bulk_operation_id": op_id},
            "balance_after_minor": 0,
            "activated": True,
        }
    ] * 3


def test_selection_by_type_and_serial_range_and_state(conn: Connection) -> None:
    w = builders.world(conn)
    builders.vouchers(conn, w, "printed", count=6, state="draft")
    serials = conn.execute(
        text("SELECT serial_number FROM vouchers WHERE type_id = :t ORDER BY 1"),
        {"t": w.types["printed"]},
    ).scalars()
    first = min(serials)
    op_id = bulk_operations.create_operation(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        action="accept",
        selection=bulk.Selection(
            type_code="printed", serial_from=first + 1, serial_to=first + 3, states=("draft",)
        ),
        operator="op1",
        now=builders.now(),
    )
    op = run_in(conn, op_id)
    assert (op.selected_count, op.done_count, op.refused_count) == (3, 3, 0)
    states = conn.execute(
        text("SELECT state FROM vouchers WHERE type_id = :t ORDER BY serial_number"),
        {"t": w.types["printed"]},
    ).scalars()
    assert list(states) == ["draft", "accepted", "accepted", "accepted", "draft", "draft"]


def test_cancel_refuses_vouchers_that_still_hold_value(conn: Connection) -> None:
    w = builders.world(conn)
    lot_id = lots.create_lot(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        type_code="promo",
        count=3,
        state="active",
        created_by="t",
        now=builders.now(),
    )
    lots.generate_chunk(conn, lot_id=lot_id, index=0, keyring=ring(), now=builders.now())
    op_id = bulk_operations.create_operation(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        action="cancel",
        selection=bulk.Selection(lot_id=lot_id),
        operator="op1",
        reason="compromised",
        now=builders.now(),
    )
    op = run_in(conn, op_id)
    assert (op.done_count, op.refused_count) == (0, 3)
    assert {e["reason"] for e in op.refused_sample} == {"has_balance"}


def test_requests_are_checked(conn: Connection) -> None:
    w = builders.world(conn)

    def create(**overrides: Any) -> int:
        options: dict[str, Any] = {
            "issuer_id": w.issuer_id,
            "action": "block",
            "selection": bulk.Selection(type_code="card"),
            "operator": "op1",
            "reason": "lost in transit",
            "now": builders.now(),
            **overrides,
        }
        return bulk_operations.create_operation(conn, scope=EVERYTHING, **options)

    refusals = [
        ({"action": "redeem"}, "invalid_bulk_action"),
        ({"action": "cancel", "reason": None}, "reason_required"),
        ({"reason": " "}, "reason_required"),
        ({"selection": bulk.Selection()}, "selection_empty"),
        ({"selection": bulk.Selection(codes=("X",), serial_from=1)}, "invalid_selection"),
        ({"selection": bulk.Selection(type_code="nope")}, "voucher_type_not_found"),
        ({"selection": bulk.Selection(lot_id=999_999_999)}, "lot_not_found"),
    ]
    for overrides, code in refusals:
        with pytest.raises((InvalidInput, NotFound)) as refused:
            create(**overrides)
        assert refused.value.code == code
    assert create() > 0


# --- whole runs, committed for real ---------------------------------------------------------


def _lot_facts(engine: Engine, lot_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE v.state = 'active') active,"
                " (SELECT count(*) FROM voucher_history h JOIN vouchers w ON w.id = h.voucher_id"
                "   WHERE w.lot_id = :l AND h.type = 'voucher.activated') history,"
                " (SELECT count(DISTINCT h.voucher_id) FROM voucher_history h"
                "   JOIN vouchers w ON w.id = h.voucher_id"
                "   WHERE w.lot_id = :l AND h.type = 'voucher.activated') distinct_history"
                " FROM vouchers v WHERE v.lot_id = :l"
            ),
            {"l": lot_id},
        ).mappings()
        return dict(row.one())


def test_a_lot_is_activated_chunk_by_chunk(
    engine: Engine, printed_lot: tuple[builders.World, int]
) -> None:
    w, lot_id = printed_lot
    op_id = create_operation(engine, w, lot_id, chunk_size=300)
    seen: list[int] = []
    op = bulk_operations.run(
        engine,
        operation_id=op_id,
        clock=builders.now,
        on_progress=lambda r: seen.append(r.done_count),
    )
    assert (op.status, op.selected_count, op.done_count, op.refused_count) == (
        "done",
        1000,
        1000,
        0,
    )
    assert len(seen) == 4 and max(seen) == 1000
    assert _lot_facts(engine, lot_id) == {"active": 1000, "history": 1000, "distinct_history": 1000}
    again = bulk_operations.run(engine, operation_id=op_id, clock=builders.now)
    assert again.done_count == 1000 and _lot_facts(engine, lot_id)["history"] == 1000


def test_a_crash_mid_run_resumes_to_the_same_result(
    engine: Engine, printed_lot: tuple[builders.World, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, lot_id = printed_lot
    with engine.begin() as conn:  # a few refusals, to see their counts survive the resume
        conn.execute(
            text(
                "UPDATE vouchers SET state = 'draft' WHERE lot_id = :l AND serial_number % 100 = 0"
            ),
            {"l": lot_id},
        )
    op_id = create_operation(engine, w, lot_id, chunk_size=150)
    real = bulk_db.add_progress
    calls = {"n": 0}

    def crash_in_third_chunk(*args: Any, **kwargs: Any) -> bulk_db.BulkOperationRow:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk_db, "add_progress", crash_in_third_chunk)
    with pytest.raises(RuntimeError):
        bulk_operations.run(engine, operation_id=op_id, clock=builders.now)
    with engine.connect() as conn:
        crashed = bulk_operations.get_operation(conn, op_id, scope=EVERYTHING)
    assert (crashed.status, crashed.error) == ("failed", "RuntimeError")
    assert 300 <= crashed.selected_count < 1000  # two or three chunks of 150 committed
    assert _lot_facts(engine, lot_id)["active"] == crashed.done_count
    monkeypatch.setattr(bulk_db, "add_progress", real)
    op = bulk_operations.run(engine, operation_id=op_id, clock=builders.now)
    assert (op.status, op.selected_count, op.done_count, op.refused_count) == (
        "done",
        1000,
        990,
        10,
    )
    assert _lot_facts(engine, lot_id) == {"active": 990, "history": 990, "distinct_history": 990}
    with engine.connect() as conn:
        assert violations(conn) == {}


def test_all_or_nothing_refuses_the_whole_operation(
    engine: Engine, printed_lot: tuple[builders.World, int]
) -> None:
    w, lot_id = printed_lot
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE vouchers SET state = 'draft' WHERE lot_id = :l AND serial_number % 250 = 0"
            ),
            {"l": lot_id},
        )
    op_id = create_operation(engine, w, lot_id, chunk_size=300, all_or_nothing=True)
    op = bulk_operations.run(engine, operation_id=op_id, clock=builders.now)
    assert (op.status, op.error) == ("failed", "bulk_refused")
    assert (op.selected_count, op.done_count, op.refused_count) == (1000, 0, 4)
    assert {e["reason"] for e in op.refused_sample} == {"transition_not_allowed"}
    assert {e["state"] for e in op.refused_sample} == {"draft"}
    assert _lot_facts(engine, lot_id) == {"active": 0, "history": 0, "distinct_history": 0}


def test_all_or_nothing_goes_through_when_nothing_is_refused(
    engine: Engine, printed_lot: tuple[builders.World, int]
) -> None:
    w, lot_id = printed_lot
    op_id = create_operation(engine, w, lot_id, chunk_size=300, all_or_nothing=True)
    op = bulk_operations.run(engine, operation_id=op_id, clock=builders.now)
    assert (op.status, op.selected_count, op.done_count) == ("done", 1000, 1000)
    assert _lot_facts(engine, lot_id)["history"] == 1000


def test_sources_agree_with_the_lifecycle_helper() -> None:
    for action in (a for a in bulk.ACTIONS if isinstance(a, Action)):
        pairs = {f"{c.value}:{s.value}" for c, s in sources_of(action)}
        assert (
            set(bulk.moves(action))
            | set(bulk.valued_activation_sources() if action is Action.activate else [])
            == pairs
        )
