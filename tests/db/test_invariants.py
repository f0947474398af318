"""Each invariant catches the ledger damage it names: damage is written straight into the
tables inside a savepoint, the check must report it, and the savepoint is rolled back."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, text

from scrip.db.invariants import violations
from tests import builders
from tests.builders import World


def _accounts(conn: Connection, w: World) -> tuple[int, int]:
    [code] = builders.sold_cards(conn, w, count=1, balance=5_000)
    voucher = conn.execute(
        text("SELECT account_id FROM vouchers WHERE issuer_id = :i AND code = :c"),
        {"i": w.issuer_id, "c": code},
    ).scalar_one()
    return int(voucher), w.till.store_account_id


def _transfer(
    conn: Connection, debit: int, credit: int, amount: int, code: str, reverses: int | None = None
) -> int:
    found = conn.execute(
        text(
            "INSERT INTO ledger_transfers (operation_id, debit_account_id, credit_account_id,"
            " amount_minor, currency, code, state, created_at, resolved_at,"
            " reverses_transfer_id) VALUES (:op, :d, :c, :a, 'EUR', :code, 'posted', now(),"
            " now(), :r) RETURNING id"
        ),
        {"op": uuid.uuid4(), "d": debit, "c": credit, "a": amount, "code": code, "r": reverses},
    ).scalar_one()
    return int(found)


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (
            "refund_without_payment",
            "refunds exceed what was paid with the voucher, net of reversals",
        ),
        (
            "refund_out_of_a_voucher",
            "value moved onto or off a voucher by a code that moves it the other way",
        ),
        ("reversal_of_another_amount", "reversal that does not mirror the transfer it names"),
        ("reversed_twice", "transfer reversed more than once"),
        (
            "payment_reversed_then_refunded",
            "refunds exceed what was paid with the voucher, net of reversals",
        ),
    ],
)
def test_damage_is_named(conn: Connection, damage: str, named: str) -> None:
    w = builders.world(conn)
    voucher, store = _accounts(conn, w)
    savepoint = conn.begin_nested()
    if damage == "refund_without_payment":
        _transfer(conn, store, voucher, 100, "refund")
    elif damage == "refund_out_of_a_voucher":
        _transfer(conn, voucher, store, 100, "refund")
    elif damage == "reversal_of_another_amount":
        paid = _transfer(conn, voucher, store, 100, "redemption")
        _transfer(conn, store, voucher, 99, "reversal", reverses=paid)
    elif damage == "reversed_twice":
        paid = _transfer(conn, voucher, store, 100, "redemption")
        _transfer(conn, store, voucher, 100, "reversal", reverses=paid)
        _transfer(conn, store, voucher, 100, "reversal", reverses=paid)
    else:
        paid = _transfer(conn, voucher, store, 100, "redemption")
        _transfer(conn, store, voucher, 100, "reversal", reverses=paid)
        _transfer(conn, store, voucher, 100, "refund")

    found = violations(conn)

    savepoint.rollback()
    assert named in found, found
