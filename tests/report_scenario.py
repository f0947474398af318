"""Half a year of one shop in Sofia, made through the real POS services at fixed instants, for
the report tests: sales (one a minute before local midnight), a bonus, a promotional issue,
partial and one-time payments, a refund, a reload, a return of an unused certificate, a balance
transfer, a two-phase receipt paying with two vouchers, an expiry, and a card in USD.

Figures by hand (EUR unless said), the issuer's days being Europe/Sofia (UTC+2, UTC+3 from
29 March):

* sold: D 40.00 on 14 Jan; A 100.00, B 50.00, P 20.00 + 5.00 bonus on 15 Jan; E 50.00 on
  10 Feb. A second issuer in New York sells U for 70.00 USD at the instant of A's sale (still
  14 Jan there). Promo M (10.00) is issued on 10 Feb.
* paid with vouchers: A 30.00 (R-1) and B 20.00 (R-2, one-time: its 30.00 rest is forfeited)
  on 10 Feb; D 5.00 (R-5, register R2) on 5 Mar; C 15.00 + D 5.00 on one two-phase receipt R-4
  on 2 Apr.
* 5 Mar: A gets 10.00 refunded and 25.00 reloaded; E is returned unused.
* 2 Apr: A's 105.00 moves to the new card C; A is blocked.
* P expires at the end of 30 Apr: 25.00 breakage.

Liability at the end of 31 Mar: A 105.00 + P 25.00 + D 35.00 + M 10.00 = 175.00;
at the end of 1 May: C 90.00 + D 30.00 + M 10.00 = 130.00 (the
  dollar shop: 70.00 USD).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, text

from scrip import crypto
from scrip.db.registers import RegisterContext, find_register_by_key_hash
from scrip.domain.money import Money
from scrip.domain.validity import end_of_day
from scrip.services import catalog, expiry, pos, receipts
from scrip.services.till import ReceiptInput
from tests.builders import World, vouchers, world

TZ = "Europe/Sofia"
JAN_14_LATE = datetime(2026, 1, 14, 21, 59, tzinfo=UTC)  # 23:59 on 14 Jan in Sofia
JAN_15_EARLY = datetime(2026, 1, 14, 22, 30, tzinfo=UTC)  # 00:30 on 15 Jan in Sofia
FEB_10 = datetime(2026, 2, 10, 10, 0, tzinfo=UTC)
MAR_5 = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
APR_2 = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
P_ENDS = end_of_day(date(2026, 4, 30), TZ)


@dataclass
class Scenario:
    world: World
    issuer: str
    codes: dict[str, str]

    @property
    def dollar_issuer(self) -> str:
        return self.issuer + "US"


def _dollar_shop_sale(conn: Connection, issuer: str, at: datetime) -> str:
    """A second issuer, in New York and in USD (a store clears in its issuer's currency), sells
    card U for 70.00 USD: on 14 January there, the same instant as 15 January in Sofia."""
    issuer_id = catalog.create_issuer(
        conn, code=issuer + "US", name="Dollar shop", currency="USD", timezone="America/New_York"
    )
    store = catalog.create_store(conn, issuer_id=issuer_id, code="NY1", name="New York 1")
    key = catalog.create_register(conn, store_id=store, serial_number="NY1-R1").api_key
    till = find_register_by_key_hash(conn, crypto.hash_api_key(key))
    assert till is not None
    catalog.create_voucher_type(
        conn,
        issuer_id=issuer_id,
        code="usd_card",
        name="Dollar card",
        classification="gift_card",
        value_mode="variable",
    )
    [code] = catalog.create_vouchers(
        conn, type_code="usd_card", issuer_id=issuer_id, count=1, state="prepared", now=at
    )
    pos.sell(conn, till=till, items=[pos.SaleItem(code, 7000)], receipt=ReceiptInput(), now=at)
    return code


def _eur(amount: int) -> Money:
    return Money(amount, "EUR")


def _sell(conn: Connection, w: World, code: str, at: datetime, amount: int | None = None) -> None:
    items = [pos.SaleItem(code, amount)]
    pos.sell(conn, till=w.till, items=items, receipt=ReceiptInput(), now=at)


def _pay(
    conn: Connection,
    till: RegisterContext,
    code: str,
    amount: int,
    receipt: ReceiptInput,
    at: datetime,
) -> None:
    pos.redeem(
        conn,
        till=till,
        code=code,
        amount=_eur(amount),
        partial_allowed=False,
        pin=None,
        receipt=receipt,
        now=at,
    )


def build(conn: Connection) -> Scenario:
    w = world(conn)
    issuer = conn.execute(
        text("SELECT code FROM issuers WHERE id = :i"), {"i": w.issuer_id}
    ).scalar_one()
    [a, c, d] = vouchers(conn, w, "card", count=3)
    [b, e] = vouchers(conn, w, "cert", count=2)
    [p] = vouchers(conn, w, "printed")
    [m] = vouchers(conn, w, "promo")
    codes = {"A": a, "B": b, "C": c, "D": d, "E": e, "P": p, "M": m}

    _sell(conn, w, d, JAN_14_LATE, 4000)
    _sell(conn, w, a, JAN_15_EARLY, 10000)
    _sell(conn, w, b, JAN_15_EARLY)
    _sell(conn, w, p, JAN_15_EARLY)
    codes["U"] = _dollar_shop_sale(conn, issuer, JAN_15_EARLY)
    _sell(conn, w, e, FEB_10)
    _sell(conn, w, m, FEB_10)

    _pay(conn, w.till, a, 3000, ReceiptInput(number="R-1"), FEB_10)
    _pay(conn, w.till, b, 2000, ReceiptInput(number="R-2"), FEB_10)
    _pay(conn, w.other_till, d, 500, ReceiptInput(number="R-5"), MAR_5)
    pos.refund(
        conn, till=w.till, code=a, amount=_eur(1000), receipt=ReceiptInput(number="R-3"), now=MAR_5
    )
    pos.reload(conn, till=w.till, code=a, amount=_eur(2500), receipt=ReceiptInput(), now=MAR_5)
    pos.return_unused(conn, till=w.till, code=e, receipt=ReceiptInput(), now=MAR_5)

    pos.transfer_balance(
        conn, till=w.till, code=a, target_code=c, pin=None, receipt=ReceiptInput(), now=APR_2
    )
    opened = receipts.open_receipt(
        conn, till=w.till, receipt=ReceiptInput(number="R-4"), timeout_s=600, now=APR_2
    )
    inside = ReceiptInput(receipt_id=opened.receipt_id)
    for code, amount in ((c, 1500), (d, 500)):
        _pay(conn, w.till, code, amount, inside, APR_2)
    receipts.confirm(
        conn, till=w.till, receipt_id=opened.receipt_id, now=APR_2 + timedelta(minutes=5)
    )

    conn.execute(
        text("UPDATE vouchers SET valid_until = :u WHERE code = :c"), {"u": P_ENDS, "c": p}
    )
    expiry.expire_due(conn, now=P_ENDS)
    return Scenario(w, issuer, codes)
