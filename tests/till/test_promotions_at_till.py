"""Promotions issuing at the till on real PostgreSQL: every kind on a qualifying and a
non-qualifying receipt, the two phases, the limits of S7.4 and points spent with the vouchers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, text

from scrip.domain.basket import Line
from scrip.domain.errors import ScripError
from scrip.domain.scope import EVERYTHING
from scrip.services import issuing, promotions, receipts
from scrip.services.issuing import Issued
from scrip.services.loyalty import BUILT_IN
from scrip.services.till import ReceiptInput
from tests.builders import World, now, vouchers, world
from tests.till.helpers import holder_with_card, promo_type, receipt

BIG = (Line("TV", "electronics", 1, 40_000), Line("COLA", "drinks", 6, 900))
SMALL = (Line("GUM", "snacks", 1, 100),)


@pytest.fixture
def w(conn: Connection) -> World:
    shop = world(conn)
    promo_type(conn, shop)
    holder_with_card(conn, shop, "ANNA", "CLUB-A", points=2_500)
    return shop


def define(conn: Connection, w: World, kind: str, **options: Any) -> None:
    params = options.pop("params")
    promotions.create_promotion(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        code=options.pop("code", kind.upper()),
        name=kind,
        kind=kind,
        type_code=options.pop("type_code", "GIFT"),
        params=params,
        status="active",
        receipt_text="Thank you!",
        **options,
    )


def issue(conn: Connection, w: World, lines: tuple[Line, ...], **options: Any) -> Issued:
    card = options.pop("card_id", None)
    particulars = options.pop("particulars", {})
    return issuing.issue(
        conn,
        till=w.till,
        receipt=receipt(lines=lines, card_id=card, **particulars),
        now=now(),
        **options,
    )


def issued_rows(conn: Connection, w: World) -> list[tuple[str, int, str]]:
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(
            text(
                "SELECT v.state, v.balance_minor, i.state FROM promotion_issues i"
                " JOIN vouchers v ON v.id = i.voucher_id WHERE v.issuer_id = :i ORDER BY i.id"
            ),
            {"i": w.issuer_id},
        )
    ]


CASES = [
    ("prepared", {"min_receipt_minor": 10_000}, {}, None),
    ("card_activation", {"value_minor": 500}, {"card_id": "NEW-1", "activate_card": True}, 500),
    (
        "points",
        {"points_per_voucher": 1_000, "value_minor": 1_000},
        {"card_id": "CLUB-A", "points_to_spend": 1_000},
        1_000,
    ),
    ("personal", {"holder_refs": ["ANNA"], "value_minor": 700}, {"card_id": "CLUB-A"}, 700),
    ("progressive", {"thresholds": [[5_000, 300], [20_000, 2_000]]}, {}, 2_000),
    ("purchased_goods", {"group": "drinks", "quantity": 6, "value_minor": 150}, {}, 150),
    (
        "campaign",
        {
            "issuing_group": "electronics",
            "min_amount_minor": 10_000,
            "using_group": "accessories",
            "value_minor": 2_500,
        },
        {},
        2_500,
    ),
]


# What the non-qualifying receipt presents, beside its small lines.
QUIET: dict[str, dict[str, Any]] = {
    "card_activation": {"card_id": "CLUB-A"},  # an active card shown, none activated
    "points": {"card_id": "CLUB-A", "points_to_spend": 999},
    "personal": {"card_id": "CLUB-B"},  # a holder who was not selected
}


@pytest.mark.parametrize(("kind", "params", "options", "value"), CASES)
def test_every_kind_issues_on_a_qualifying_receipt_only(
    conn: Connection,
    w: World,
    kind: str,
    params: dict[str, Any],
    options: dict[str, Any],
    value: int | None,
) -> None:
    if kind == "prepared":
        vouchers(conn, w, "promo", count=2)  # not this type: never handed out
        stock = _stock(conn, w, 2)
    if kind == "card_activation":
        _new_card(conn, w, "NEW-1")
    holder_with_card(conn, w, "BEN", "CLUB-B")
    define(conn, w, kind, params=params)
    nothing = issue(conn, w, SMALL, **QUIET.get(kind, {}))
    assert (nothing.status, nothing.vouchers) == ("none", ())
    assert issued_rows(conn, w) == []

    got = issue(conn, w, BIG, **options)

    [printed] = got.vouchers
    expected = value if value is not None else 1_000
    assert (got.status, printed.value_minor, printed.state) == ("recorded", expected, "active")
    assert (printed.receipt_text, printed.barcode_payload) == ("Thank you!", printed.code)
    assert issued_rows(conn, w) == [("active", expected, "issued")]
    if kind == "prepared":
        assert printed.code == stock[0]
    if kind == "points":
        assert BUILT_IN.balance(conn, issuer_id=w.issuer_id, card_id="CLUB-A") == 1_500
    if kind == "campaign":
        groups = conn.execute(
            text("SELECT supported_product_groups FROM vouchers WHERE code = :c"),
            {"c": printed.code},
        ).scalar_one()
        assert groups == ["accessories"]


def _stock(conn: Connection, w: World, count: int) -> list[str]:
    from scrip.services import catalog

    return catalog.create_vouchers(
        conn, type_code="GIFT", issuer_id=w.issuer_id, count=count, state="generated", now=now()
    )


def _new_card(conn: Connection, w: World, card_id: str) -> None:
    from scrip.services import holders

    holders.add_card(
        conn, scope=EVERYTHING, issuer_id=w.issuer_id, holder_ref="ANNA", card_id=card_id
    )


def test_prepared_vouchers_run_out(conn: Connection, w: World) -> None:
    [only] = _stock(conn, w, 1)
    define(conn, w, "prepared", params={"min_receipt_minor": 0})
    assert [v.code for v in issue(conn, w, SMALL).vouchers] == [only]
    empty = issue(conn, w, SMALL)
    assert (empty.vouchers, empty.refused) == ((), (("PREPARED", "out_of_stock"),))


def test_at_most_three_per_receipt_by_default_and_configurable(conn: Connection, w: World) -> None:
    define(conn, w, "purchased_goods", params={"group": "drinks", "quantity": 1, "value_minor": 1})
    assert len(issue(conn, w, BIG).vouchers) == 3  # six drinks, three vouchers
    define(
        conn,
        w,
        "purchased_goods",
        code="MORE",
        params={"group": "snacks", "quantity": 1, "value_minor": 1},
        max_per_receipt=5,
    )
    lines = (Line("CHIPS", "snacks", 9, 900),)
    assert len(issue(conn, w, lines).vouchers) == 5


def test_the_receipt_limit_holds_across_calls_on_one_receipt(conn: Connection, w: World) -> None:
    define(conn, w, "progressive", params={"thresholds": [[0, 100]]}, max_per_receipt=2)
    same = {"particulars": {"number": "R-9"}}
    assert len(issue(conn, w, SMALL, **same).vouchers) == 1
    assert len(issue(conn, w, SMALL, **same).vouchers) == 1
    third = issue(conn, w, SMALL, **same)
    assert (third.vouchers, third.refused) == ((), (("PROGRESSIVE", "limit_reached"),))
    assert len(issue(conn, w, SMALL, particulars={"number": "R-10"}).vouchers) == 1


def test_at_most_five_per_holder_per_promotion(conn: Connection, w: World) -> None:
    define(conn, w, "personal", params={"holder_refs": ["ANNA"], "value_minor": 100})
    got = [len(issue(conn, w, SMALL, card_id="CLUB-A").vouchers) for _ in range(7)]
    assert got == [1, 1, 1, 1, 1, 0, 0]
    define(conn, w, "personal", code="OTHER", params={"holder_refs": ["ANNA"], "value_minor": 1})
    assert len(issue(conn, w, SMALL, card_id="CLUB-A").vouchers) == 1  # per promotion


def test_two_phases_issue_on_confirmation_and_give_everything_back_on_cancel(
    conn: Connection, w: World
) -> None:
    define(
        conn,
        w,
        "points",
        params={"points_per_voucher": 1_000, "value_minor": 1_000},
        max_per_holder=2,
    )

    def in_receipt() -> tuple[int, Issued]:
        opened = receipts.open_receipt(
            conn, till=w.till, receipt=ReceiptInput(), timeout_s=None, now=now()
        )
        got = issue(
            conn,
            w,
            SMALL,
            card_id="CLUB-A",
            points_to_spend=2_000,
            particulars={"receipt_id": opened.receipt_id},
        )
        return opened.receipt_id, got

    receipt_id, pending = in_receipt()
    assert pending.status == "pending" and len(pending.vouchers) == 2
    assert BUILT_IN.balance(conn, issuer_id=w.issuer_id, card_id="CLUB-A") == 500
    receipts.cancel(conn, till=w.till, receipt_id=receipt_id, now=now())
    assert BUILT_IN.balance(conn, issuer_id=w.issuer_id, card_id="CLUB-A") == 2_500
    assert issued_rows(conn, w) == [("generated", 0, "cancelled")] * 2

    receipt_id, pending = in_receipt()  # the holder limit was given back too
    assert len(pending.vouchers) == 2
    receipts.confirm(conn, till=w.till, receipt_id=receipt_id, now=now())
    assert issued_rows(conn, w)[2:] == [("active", 1_000, "issued")] * 2
    assert BUILT_IN.balance(conn, issuer_id=w.issuer_id, card_id="CLUB-A") == 500


def test_invalid_promotions_are_refused(conn: Connection, w: World) -> None:
    cases = [
        (dict(kind="lottery", params={}), "invalid_promotion"),
        (dict(kind="prepared", params={}), "invalid_promotion"),
        (
            dict(kind="prepared", params={"min_receipt_minor": 0}, type_code="card"),
            "not_a_promotional_type",
        ),
        (
            dict(kind="prepared", params={"min_receipt_minor": 0}, type_code="nope"),
            "voucher_type_not_found",
        ),
        (
            dict(kind="prepared", params={"min_receipt_minor": 0}, max_per_holder=0),
            "invalid_limits",
        ),
        (dict(kind="prepared", params={"min_receipt_minor": 0}, allowed_days=[9]), "invalid_days"),
    ]
    for options, code in cases:
        with pytest.raises(ScripError) as caught, conn.begin_nested():
            define(conn, w, **options)  # type: ignore[arg-type]
        assert caught.value.code == code


def test_a_voucher_held_in_a_receipt_prints_the_validity_it_will_get(
    conn: Connection, w: World
) -> None:
    from scrip.services import catalog

    catalog.create_voucher_type(
        conn,
        issuer_id=w.issuer_id,
        code="GIFT30",
        name="Gift for 30 days",
        classification="promotional_voucher",
        face_value_minor=500,
        validity_basis="from_activation",
        validity_days=30,
    )
    define(conn, w, "progressive", params={"thresholds": [[0, 500]]}, type_code="GIFT30")
    opened = receipts.open_receipt(
        conn, till=w.till, receipt=ReceiptInput(), timeout_s=None, now=now()
    )
    [printed] = issue(conn, w, SMALL, particulars={"receipt_id": opened.receipt_id}).vouchers
    assert printed.state == "activating" and printed.valid_until is not None

    confirmed = receipts.confirm(conn, till=w.till, receipt_id=opened.receipt_id, now=now())
    [voucher] = [v for v in confirmed.vouchers if v.code == printed.code]
    assert voucher.valid_until == printed.valid_until


def test_a_receipt_amount_without_lines_counts_for_thresholds(conn: Connection, w: World) -> None:
    define(conn, w, "progressive", params={"thresholds": [[5_000, 500]]})
    opened = receipts.open_receipt(
        conn, till=w.till, receipt=ReceiptInput(amount_minor=6_000), timeout_s=None, now=now()
    )
    in_receipt = ReceiptInput(receipt_id=opened.receipt_id)
    got = issuing.issue(conn, till=w.till, receipt=in_receipt, now=now())
    assert [v.value_minor for v in got.vouchers] == [500]
    receipts.cancel(conn, till=w.till, receipt_id=opened.receipt_id, now=now())
