"""A small demo: one issuer, two stores, two registers, a few voucher types and vouchers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from scrip.domain.scope import EVERYTHING
from scrip.services import catalog, promotions


@dataclass(frozen=True, slots=True)
class Demo:
    issuer_id: int
    register_keys: dict[str, str]
    codes: dict[str, list[str]]


def exists(conn: Connection) -> bool:
    return conn.execute(text("SELECT 1 FROM issuers WHERE code = 'DEMO'")).first() is not None


def load(conn: Connection, *, now: datetime) -> Demo:
    issuer = catalog.create_issuer(
        conn,
        code="DEMO",
        name="Demo Retail Ltd",
        currency="EUR",
        timezone="Europe/Sofia",
        code_prefix="DM",
    )
    keys = {}
    for store_code, name in (("S001", "Demo Mall Store"), ("S002", "Demo High Street")):
        store = catalog.create_store(conn, issuer_id=issuer, code=store_code, name=name)
        keys[f"{store_code}-R1"] = catalog.create_register(
            conn, store_id=store, serial_number=f"{store_code}-R1"
        ).api_key
    catalog.create_operator(conn, issuer_id=issuer, code="anna", name="Anna Cashier")
    types = {
        "GC": dict(
            classification="gift_card",
            value_mode="variable",
            reloadable=True,
            max_balance_minor=50_000,
            validity_basis="from_activation",
            validity_days=730,
            name="Gift card",
        ),
        "CERT50": dict(
            classification="gift_certificate",
            value_mode="fixed",
            face_value_minor=5_000,
            multi_use=False,
            validity_basis="from_activation",
            validity_days=365,
            name="Gift certificate 50 EUR",
        ),
        "PV20": dict(
            classification="printed_voucher",
            value_mode="fixed",
            face_value_minor=2_000,
            extra_value_minor=500,
            validity_basis="from_activation",
            validity_days=180,
            name="Printed voucher 20 EUR + 5 EUR bonus",
        ),
    }
    codes = {}
    for code, options in types.items():
        catalog.create_voucher_type(conn, issuer_id=issuer, code=code, **options)  # type: ignore[arg-type]
    codes["GC"] = catalog.create_vouchers(
        conn, type_code="GC", issuer_id=issuer, count=5, state="prepared", now=now
    )
    codes["CERT50"] = catalog.create_vouchers(
        conn, type_code="CERT50", issuer_id=issuer, count=5, state="prepared", now=now
    )
    codes["PV20"] = catalog.create_vouchers(
        conn, type_code="PV20", issuer_id=issuer, count=5, state="accepted", now=now
    )
    _promotions(conn, issuer)
    return Demo(issuer, keys, codes)


def _promotions(conn: Connection, issuer: int) -> None:
    """Rules at the till (issue 5): a gift voucher for receipts of 50 EUR and more."""
    catalog.create_voucher_type(
        conn,
        issuer_id=issuer,
        code="GIFT5",
        name="Gift voucher",
        classification="promotional_voucher",
        value_mode="fixed",
        face_value_minor=500,
        multi_use=False,
        validity_basis="from_activation",
        validity_days=90,
    )
    promotions.create_promotion(
        conn,
        scope=EVERYTHING,
        issuer_id=issuer,
        code="SPEND50",
        name="Spend 50, get 5; spend 100, get 10",
        kind="progressive",
        type_code="GIFT5",
        params={"thresholds": [[5_000, 500], [10_000, 1_000]]},
        status="active",
        receipt_text="Thank you! A gift voucher for your next visit.",
    )
