"""Every kind of value-moving operation (``domain.operations``) ends the same whether it is
posted in one call or held in a receipt and confirmed: the same states, balances, ledger legs
and history, the held phase showing the kind's pending state and holding nothing twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, text

from scrip.domain.money import Money
from scrip.domain.operations import SPECS, Kind
from scrip.services import pos, receipts
from scrip.services.till import ReceiptInput
from scrip.services.views import OperationResult
from tests import builders
from tests.builders import World, now
from tests.till.helpers import pay


@dataclass(frozen=True)
class Case:
    """A voucher (and a transfer's target) made ready, then the operation on them."""

    prepare: Callable[[Connection, World], list[str]]
    run: Callable[[Connection, World, list[str], ReceiptInput], OperationResult]


def _sold(type_code: str, amount: int | None = None) -> Callable[[Connection, World], list[str]]:
    def prepare(conn: Connection, w: World) -> list[str]:
        [code] = builders.vouchers(conn, w, type_code)
        pos.sell(conn, till=w.till, items=[pos.SaleItem(code, amount)], receipt=_ONE, now=now())
        return [code]

    return prepare


def _spent(conn: Connection, w: World) -> list[str]:
    [code] = _sold("card", 5_000)(conn, w)
    pay(conn, w, code, 2_000)
    return [code]


def _with_target(conn: Connection, w: World) -> list[str]:
    return _sold("card", 5_000)(conn, w) + builders.vouchers(conn, w, "card")


_ONE = ReceiptInput()
EUR = "EUR"

CASES: dict[str, tuple[Kind, Case]] = {
    "sell": (
        Kind.sell,
        Case(
            lambda conn, w: builders.vouchers(conn, w, "card"),
            lambda conn, w, c, r: pos.sell(
                conn, till=w.till, items=[pos.SaleItem(c[0], 3_000)], receipt=r, now=now()
            ),
        ),
    ),
    "sell_with_bonus": (
        Kind.sell,
        Case(
            lambda conn, w: builders.vouchers(conn, w, "printed"),
            lambda conn, w, c, r: pos.sell(
                conn, till=w.till, items=[pos.SaleItem(c[0])], receipt=r, now=now()
            ),
        ),
    ),
    "redeem": (
        Kind.redeem,
        Case(_sold("card", 5_000), lambda conn, w, c, r: pay(conn, w, c[0], 1_200, rcpt=r)),
    ),
    "redeem_one_time": (
        Kind.redeem,
        Case(_sold("cert"), lambda conn, w, c, r: pay(conn, w, c[0], 1_200, rcpt=r)),
    ),
    "refund": (
        Kind.refund,
        Case(
            _spent,
            lambda conn, w, c, r: pos.refund(
                conn, till=w.till, code=c[0], amount=Money(1_000, EUR), receipt=r, now=now()
            ),
        ),
    ),
    "reload": (
        Kind.reload,
        Case(
            _sold("card", 5_000),
            lambda conn, w, c, r: pos.reload(
                conn, till=w.till, code=c[0], amount=Money(1_000, EUR), receipt=r, now=now()
            ),
        ),
    ),
    "return": (
        Kind.return_unused,
        Case(
            _sold("cert"),
            lambda conn, w, c, r: pos.return_unused(
                conn, till=w.till, code=c[0], receipt=r, now=now()
            ),
        ),
    ),
    "transfer": (
        Kind.transfer,
        Case(
            _with_target,
            lambda conn, w, c, r: pos.transfer_balance(
                conn, till=w.till, code=c[0], target_code=c[1], pin=None, receipt=r, now=now()
            ),
        ),
    ),
}


Outcome = tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]


def _outcome(conn: Connection, w: World, codes: list[str], operation: OperationResult) -> Outcome:
    """What the operation left, independent of ids: each voucher's state, balance and hold,
    the operation's posted legs, and its history rows."""
    vouchers = [
        tuple(r)
        for r in conn.execute(
            text(
                "SELECT state, balance_minor, held_minor, blocked_by FROM vouchers"
                " WHERE issuer_id = :i AND code = ANY(:c) ORDER BY array_position(:c, code)"
            ),
            {"i": w.issuer_id, "c": codes},
        )
    ]
    legs = sorted(
        tuple(r)
        for r in conn.execute(
            text(
                "SELECT t.code, t.amount_minor, d.kind, c.kind FROM ledger_transfers t"
                " JOIN ledger_accounts d ON d.id = t.debit_account_id"
                " JOIN ledger_accounts c ON c.id = t.credit_account_id"
                " WHERE t.operation_id = :op AND t.state = 'posted'"
            ),
            {"op": operation.operation_id},
        )
    )
    history = sorted(
        tuple(r)
        for r in conn.execute(
            text(
                "SELECT type, status, amount_minor, state_before, state_after, balance_after_minor"
                " FROM voucher_history WHERE operation_id = :op"
            ),
            {"op": operation.operation_id},
        )
    )
    return vouchers, legs, history


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_call_and_two_phases_end_the_same(conn: Connection, name: str) -> None:
    kind, case = CASES[name]
    spec = SPECS[kind]
    w = builders.world(conn)

    direct_codes = case.prepare(conn, w)
    direct = case.run(conn, w, direct_codes, _ONE)

    held_codes = case.prepare(conn, w)
    receipt = receipts.open_receipt(conn, till=w.till, receipt=_ONE, timeout_s=None, now=now())
    held = case.run(conn, w, held_codes, ReceiptInput(receipt_id=receipt.receipt_id))
    assert held.status == "pending" and direct.status == "recorded"
    if spec.pending_state is not None:
        assert held.vouchers[0].state == spec.pending_state
    confirmed = receipts.confirm(conn, till=w.till, receipt_id=receipt.receipt_id, now=now())

    assert (direct.kind, held.kind) == (kind.value, kind.value)
    assert _outcome(conn, w, direct_codes, direct) == _outcome(conn, w, held_codes, held)
    assert confirmed.forfeited_minor == direct.forfeited_minor
    assert held.forfeited_minor == direct.forfeited_minor  # the forfeit the hold announced
    assert spec.event in _events(conn, direct)


def _events(conn: Connection, operation: OperationResult) -> set[str]:
    found = conn.execute(
        text("SELECT type FROM voucher_history WHERE operation_id = :op"),
        {"op": operation.operation_id},
    ).scalars()
    return set(found)


def test_every_kind_has_a_case() -> None:
    assert {kind for kind, _ in CASES.values()} == set(Kind)
