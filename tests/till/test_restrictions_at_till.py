"""Restrictions at the till on real PostgreSQL: allowed uses take value, refusals name their
rule and leave the voucher, its history and the ledger untouched."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection

from scrip import crypto
from scrip.db.registers import find_register_by_key_hash
from scrip.domain.basket import Line
from scrip.domain.errors import ScripError
from scrip.services import receipts, reversal
from scrip.services.till import ReceiptInput
from tests.api.snapshots import read
from tests.builders import World, now, remember_key, world
from tests.till.helpers import card_type, pay, receipt, sold


@pytest.fixture
def w(conn: Connection) -> World:
    return world(conn)


def refused(conn: Connection, w: World, code: str, call: Callable[[], Any]) -> ScripError:
    before = read(conn, w.issuer_id, code)
    with pytest.raises(ScripError) as caught, conn.begin_nested():
        call()
    assert read(conn, w.issuer_id, code) == before
    return caught.value


def test_a_product_restricted_voucher_pays_only_for_its_lines(conn: Connection, w: World) -> None:
    code = sold(conn, w, card_type(conn, w, "DAIRY", supported_product_groups=["dairy"]))

    error = refused(conn, w, code, lambda: pay(conn, w, code, 1_000))
    assert (error.code, error.details["payable_minor"]) == ("exceeds_qualifying_items", 300)

    taken = pay(conn, w, code, 1_000, partial=True)
    assert taken.amount_minor == 300
    assert read(conn, w.issuer_id, code).balance_minor == 4_700


def test_two_vouchers_of_a_type_pay_for_the_same_goods_once(conn: Connection, w: World) -> None:
    kind = card_type(conn, w, "DAIRY", supported_product_groups=["dairy"])
    first, second = sold(conn, w, kind), sold(conn, w, kind)
    opened = receipts.open_receipt(
        conn, till=w.till, receipt=ReceiptInput(), timeout_s=None, now=datetime.now(UTC)
    )
    in_receipt = receipt(receipt_id=opened.receipt_id)
    assert pay(conn, w, first, 200, rcpt=in_receipt).amount_minor == 200
    assert pay(conn, w, second, 500, rcpt=in_receipt, partial=True).amount_minor == 100
    error = refused(conn, w, first, lambda: pay(conn, w, first, 1, rcpt=in_receipt))
    assert (error.code, error.details["paid_minor"]) == ("qualifying_items_paid", 300)
    receipts.cancel(conn, till=w.till, receipt_id=opened.receipt_id, now=datetime.now(UTC))
    by_number = receipt(number="R-5")
    assert pay(conn, w, first, 300, rcpt=by_number).amount_minor == 300
    error = refused(conn, w, second, lambda: pay(conn, w, second, 1, rcpt=by_number))
    assert error.code == "qualifying_items_paid"


def test_products_or_groups_and_a_voucher_override(conn: Connection, w: World) -> None:
    kind = card_type(conn, w, "FOOD", supported_products=["BREAD"], supported_product_groups=[])
    code = sold(conn, w, kind)
    assert pay(conn, w, code, 5_000, partial=True).amount_minor == 200
    conn.exec_driver_sql(
        "UPDATE vouchers SET supported_products = ARRAY['WINE'] WHERE code = %(c)s", {"c": code}
    )
    assert pay(conn, w, code, 5_000, partial=True).amount_minor == 1_500


def test_lines_are_required_when_the_voucher_pays_only_for_some_goods(
    conn: Connection, w: World
) -> None:
    code = sold(conn, w, card_type(conn, w, "DAIRY", supported_product_groups=["dairy"]))
    error = refused(conn, w, code, lambda: pay(conn, w, code, 100, rcpt=ReceiptInput()))
    assert (error.code, error.details["rule"]) == ("receipt_lines_required", "supported_products")
    toys = receipt(lines=(Line("BEAR", "toys", 1, 900),))
    error = refused(conn, w, code, lambda: pay(conn, w, code, 100, rcpt=toys))
    assert error.code == "no_qualifying_items"


def test_allowed_stores(conn: Connection, w: World) -> None:
    here = sold(conn, w, card_type(conn, w, "HERE", allowed_store_ids=[w.store_id]))
    elsewhere = sold(conn, w, card_type(conn, w, "AWAY", allowed_store_ids=[w.store_id + 999]))
    assert pay(conn, w, here, 100).amount_minor == 100
    error = refused(conn, w, elsewhere, lambda: pay(conn, w, elsewhere, 100))
    assert (error.code, error.details["rule"]) == ("store_not_allowed", "allowed_stores")


def test_days_and_hours_across_midnight_in_the_store_time_zone(conn: Connection, w: World) -> None:
    night = card_type(
        conn,
        w,
        "NIGHT",
        allowed_days=[5],
        allowed_from_minute=22 * 60,
        allowed_until_minute=2 * 60,
    )
    code = sold(conn, w, night)
    saturday_0130_sofia = datetime(2027, 1, 15, 23, 30, tzinfo=UTC)
    friday_2130_sofia = datetime(2027, 1, 15, 19, 30, tzinfo=UTC)
    assert pay(conn, w, code, 100, at=saturday_0130_sofia).amount_minor == 100
    error = refused(conn, w, code, lambda: pay(conn, w, code, 100, at=friday_2130_sofia))
    assert (error.code, error.details["rule"]) == ("outside_hours", "schedule")


def test_a_store_in_another_time_zone_reads_its_own_clock(conn: Connection, w: World) -> None:
    conn.exec_driver_sql(
        "UPDATE stores SET timezone = 'America/New_York' WHERE id = %(s)s", {"s": w.store_id}
    )

    till = find_register_by_key_hash(conn, crypto.hash_api_key(w.key))
    assert till is not None and till.store_timezone == "America/New_York"
    w.till = till
    code = sold(
        conn, w, card_type(conn, w, "DAY", allowed_from_minute=540, allowed_until_minute=1080)
    )
    ten_thirty_in_sofia = datetime(2027, 6, 1, 7, 30, tzinfo=UTC)  # 03:30 in New York
    error = refused(conn, w, code, lambda: pay(conn, w, code, 100, at=ten_thirty_in_sofia))
    assert error.code == "outside_hours"
    assert pay(conn, w, code, 100, at=datetime(2027, 6, 1, 14, 0, tzinfo=UTC)).amount_minor == 100


def test_minimum_receipt_amount_for_payment(conn: Connection, w: World) -> None:
    code = sold(conn, w, card_type(conn, w, "MIN", min_payment_receipt_minor=2_500))
    error = refused(conn, w, code, lambda: pay(conn, w, code, 100))  # lines sum to 20.00
    assert error.code == "below_minimum_payment_amount"
    assert pay(conn, w, code, 100, rcpt=receipt(amount_minor=3_000)).amount_minor == 100


def test_at_most_n_of_a_type_per_receipt(conn: Connection, w: World) -> None:
    kind = card_type(conn, w, "ONE", max_per_receipt=1)
    first, second = sold(conn, w, kind), sold(conn, w, kind)
    opened = receipts.open_receipt(
        conn, till=w.till, receipt=ReceiptInput(), timeout_s=None, now=datetime.now(UTC)
    )
    in_receipt = receipt(receipt_id=opened.receipt_id)
    pay(conn, w, first, 100, rcpt=in_receipt)
    pay(conn, w, first, 100, rcpt=in_receipt)  # the same voucher again is not another voucher
    error = refused(conn, w, second, lambda: pay(conn, w, second, 100, rcpt=in_receipt))
    assert (error.code, error.details["maximum"]) == ("too_many_vouchers_on_receipt", 1)
    by_number = receipt(number="R-77")
    pay(conn, w, second, 100, rcpt=by_number)
    error = refused(conn, w, first, lambda: pay(conn, w, first, 100, rcpt=by_number))
    assert error.code == "too_many_vouchers_on_receipt"
    receipts.cancel(conn, till=w.till, receipt_id=opened.receipt_id, now=datetime.now(UTC))


def test_a_reversed_payment_no_longer_counts_on_its_receipt(conn: Connection, w: World) -> None:
    """The till reverses the payment with one voucher by its key, and the customer pays with
    another of the type: the first no longer counts against the receipt's limit."""
    kind = card_type(conn, w, "ONE", max_per_receipt=1)
    first, second = sold(conn, w, kind), sold(conn, w, kind)
    by_number = receipt(number="R-88")
    paid = pay(conn, w, first, 100, rcpt=by_number)
    remember_key(conn, w, "pay-first", paid.operation_id)
    refused(conn, w, second, lambda: pay(conn, w, second, 100, rcpt=by_number))

    reversal.reverse(conn, till=w.till, key="pay-first", own_key="r", now=datetime.now(UTC))

    assert pay(conn, w, second, 100, rcpt=by_number).amount_minor == 100


def test_a_voucher_issued_to_a_club_card_needs_that_card(conn: Connection, w: World) -> None:
    code = sold(conn, w, card_type(conn, w, "BOUND"), card_id="CLUB-1")
    assert pay(conn, w, code, 100, rcpt=receipt(card_id="CLUB-1")).amount_minor == 100
    error = refused(conn, w, code, lambda: pay(conn, w, code, 100, rcpt=receipt(card_id="X")))
    assert (error.code, error.details["rule"]) == ("card_mismatch", "card_binding")
    error = refused(conn, w, code, lambda: pay(conn, w, code, 100))
    assert error.code == "card_required"


def test_a_certificate_is_not_a_loyalty_card(conn: Connection, w: World) -> None:
    card = sold(conn, w, card_type(conn, w, "PLAIN"))
    cert = sold(conn, w, "cert", None)
    error = refused(conn, w, card, lambda: pay(conn, w, card, 100, rcpt=receipt(card_id=cert)))
    assert (error.code, error.details["rule"]) == (
        "not_a_loyalty_card",
        "certificate_not_loyalty_card",
    )


def test_the_points_flag_is_returned_to_the_pos(conn: Connection, w: World) -> None:
    earning = sold(conn, w, card_type(conn, w, "EARN"))
    silent = sold(conn, w, card_type(conn, w, "NOEARN", earns_points=False))
    assert pay(conn, w, earning, 100).earns_points is True
    assert pay(conn, w, silent, 100).earns_points is False


def test_a_percent_discount_voucher_gets_the_discount_computed(conn: Connection, w: World) -> None:
    kind = card_type(
        conn,
        w,
        "PCT15",
        classification="promotional_voucher",
        value_mode="fixed",
        face_value_minor=3_000,  # at most 30.00 off
        multi_use=False,
        discount_percent_bp=1_500,
        supported_product_groups=["dairy", "bakery"],
    )
    code = sold(conn, w, kind, None, state="generated")
    odd = receipt(lines=(Line("MILK", "dairy", 3, 333), Line("WINE", "alcohol", 1, 999)))
    error = refused(conn, w, code, lambda: pay(conn, w, code, 3_000, rcpt=ReceiptInput()))
    assert error.code == "receipt_lines_required"

    used = pay(conn, w, code, 3_000, rcpt=odd)

    assert used.amount_minor == 50  # 15 % of 3.33 = 0.4995, half up on the qualifying sum
    assert used.discount_lines == (("MILK", 50),)
    snap = read(conn, w.issuer_id, code)
    assert (snap.state, snap.balance_minor) == ("used", 0)  # the rest is forfeited


def test_an_amount_discount_is_at_most_the_qualifying_lines(conn: Connection, w: World) -> None:
    kind = card_type(
        conn,
        w,
        "AMT10",
        classification="promotional_voucher",
        value_mode="fixed",
        face_value_minor=1_000,
        multi_use=False,
        supported_product_groups=["dairy", "bakery"],
    )
    code = sold(conn, w, kind, None, state="generated")
    used = pay(conn, w, code, 1_000)
    assert used.amount_minor == 500
    assert used.discount_lines == (("MILK", 300), ("BREAD", 200))


def test_minimum_receipt_amount_for_activation(conn: Connection, w: World) -> None:
    from scrip.services import catalog, pos

    kind = card_type(conn, w, "MINACT", min_activation_receipt_minor=2_500)
    [code] = catalog.create_vouchers(
        conn, type_code=kind, issuer_id=w.issuer_id, count=1, state="prepared", now=now()
    )
    items = [pos.SaleItem(code, 1_000)]
    error = refused(
        conn,
        w,
        code,
        lambda: pos.sell(conn, till=w.till, items=items, receipt=receipt(), now=now()),
    )
    assert error.code == "below_minimum_activation_amount"
    big = receipt(lines=(Line("TV", "electronics", 1, 3_000),))
    assert pos.sell(conn, till=w.till, items=items, receipt=big, now=now()).amount_minor == 1_000
