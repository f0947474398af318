"""A bulk run by explicit codes names every code it cannot touch (issue 13 item 12): before,
codes that matched no voucher were dropped ("2 selected, 2 done" for three codes). Now they
are counted as selected and refused (``not_found``) and listed; all-or-nothing refuses them
before anything is queued; a store user's run treats the vouchers of other stores the same."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from scrip.domain.bulk import Selection
from scrip.domain.errors import NotFound
from scrip.domain.scope import EVERYTHING, Scope
from scrip.services import bulk_operations, catalog, pos
from scrip.services.till import ReceiptInput
from tests import builders
from tests.services.bulk_jobs import run_in


def _state(conn: Connection, code: str) -> str:
    return str(
        conn.execute(text("SELECT state FROM vouchers WHERE code = :c"), {"c": code}).scalar_one()
    )


def _operation(
    conn: Connection, w: builders.World, codes: tuple[str, ...], **options: object
) -> int:
    return bulk_operations.create_operation(
        conn,
        scope=options.pop("scope", EVERYTHING),  # type: ignore[arg-type]
        issuer_id=w.issuer_id,
        action="accept",
        selection=Selection(codes=codes),
        operator="op1",
        now=builders.now(),
        **options,  # type: ignore[arg-type]
    )


def test_unknown_codes_are_named_as_refused(conn: Connection) -> None:
    w = builders.world(conn)
    known = builders.vouchers(conn, w, "printed", count=2, state="draft")
    codes = (*known, "NOSUCHCODE1", "nosuchcode2")
    op = run_in(conn, _operation(conn, w, codes))
    assert (op.total_count, op.selected_count, op.done_count, op.refused_count) == (4, 4, 2, 2)
    assert op.unknown_codes == ["NOSUCHCODE1", "NOSUCHCODE2"]  # normalised as the till does
    refused = {entry["code"]: entry["reason"] for entry in op.refused_sample}
    assert refused == {"NOSUCHCODE1": "not_found", "NOSUCHCODE2": "not_found"}
    assert [_state(conn, code) for code in known] == ["accepted", "accepted"]


def test_all_or_nothing_refuses_unknown_codes_before_anything_is_queued(conn: Connection) -> None:
    w = builders.world(conn)
    known = builders.vouchers(conn, w, "printed", count=1, state="draft")
    before = conn.execute(text("SELECT count(*) FROM bulk_operations")).scalar_one()
    with pytest.raises(NotFound) as refused:
        _operation(conn, w, (*known, "MISSING"), all_or_nothing=True)
    assert refused.value.code == "codes_not_found"
    assert refused.value.details == {"codes": ["MISSING"], "count": 1}
    assert conn.execute(text("SELECT count(*) FROM bulk_operations")).scalar_one() == before
    assert _state(conn, known[0]) == "draft"


def test_a_store_users_run_refuses_the_vouchers_of_other_stores(conn: Connection) -> None:
    w = builders.world(conn)
    other = catalog.create_store(conn, issuer_id=w.issuer_id, code="S2", name="Two")
    here, there = builders.vouchers(conn, w, "card", count=2)
    pos.sell(
        conn,
        till=w.till,
        items=[pos.SaleItem(here, 1_000), pos.SaleItem(there, 1_000)],
        receipt=ReceiptInput(),
        now=builders.now(),
    )
    conn.execute(  # as if sold at the other store
        text("UPDATE vouchers SET activated_store_id = :s WHERE code = :c"),
        {"s": other, "c": there},
    )
    mine = Scope(frozenset({w.issuer_id}), frozenset({w.store_id}))
    op_id = _operation(conn, w, (here, there), scope=mine)
    conn.execute(text("UPDATE bulk_operations SET action = 'block' WHERE id = :i"), {"i": op_id})
    op = run_in(conn, op_id)
    assert op.unknown_codes == [there]
    assert (_state(conn, here), _state(conn, there)) == ("blocked", "active")
    assert op.store_ids == [w.store_id]
