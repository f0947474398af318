"""Test builders: plain functions with keyword overrides; value is created by real services."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from scrip import crypto
from scrip.db import idempotency as keys_db
from scrip.db.registers import RegisterContext, find_register_by_key_hash
from scrip.services import catalog, pos
from scrip.services.till import ReceiptInput


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class World:
    """One issuer with a store, two registers and a few voucher types."""

    issuer_id: int
    store_id: int
    key: str
    till: RegisterContext
    other_key: str
    other_till: RegisterContext
    types: dict[str, int] = field(default_factory=dict)


TYPES: dict[str, dict[str, Any]] = {
    "card": dict(
        classification="gift_card",
        value_mode="variable",
        reloadable=True,
        max_balance_minor=100_000,
        name="Gift card",
    ),
    "cert": dict(
        classification="gift_certificate",
        value_mode="fixed",
        face_value_minor=5_000,
        multi_use=False,
        name="Certificate 50",
    ),
    "multi_cert": dict(
        classification="gift_certificate",
        value_mode="fixed",
        face_value_minor=5_000,
        multi_use=True,
        name="Reusable certificate",
    ),
    "printed": dict(
        classification="printed_voucher",
        value_mode="fixed",
        face_value_minor=2_000,
        extra_value_minor=500,
        name="Printed 20 + 5",
    ),
    "promo": dict(
        classification="promotional_voucher",
        value_mode="fixed",
        face_value_minor=1_000,
        name="Promo 10",
    ),
}


def world(conn: Connection, **issuer_options: Any) -> World:
    tag = secrets.token_hex(4).upper()
    issuer = catalog.create_issuer(
        conn,
        code=f"T{tag}",
        name=f"Test {tag}",
        currency="EUR",
        timezone="Europe/Sofia",
        code_prefix="",
        **issuer_options,
    )
    store = catalog.create_store(conn, issuer_id=issuer, code="S1", name="Store 1")
    one = catalog.create_register(conn, store_id=store, serial_number="R1")
    two = catalog.create_register(conn, store_id=store, serial_number="R2")
    types = {
        code: catalog.create_voucher_type(conn, issuer_id=issuer, code=code, **options)
        for code, options in TYPES.items()
    }
    till = find_register_by_key_hash(conn, crypto.hash_api_key(one.api_key))
    other = find_register_by_key_hash(conn, crypto.hash_api_key(two.api_key))
    assert till is not None and other is not None
    return World(issuer, store, one.api_key, till, two.api_key, other, types)


def vouchers(
    conn: Connection,
    w: World,
    type_code: str,
    *,
    count: int = 1,
    state: str | None = None,
    pin: str | None = None,
) -> list[str]:
    initial = (
        state
        or {
            "card": "prepared",
            "cert": "prepared",
            "multi_cert": "prepared",
            "printed": "accepted",
            "promo": "generated",
        }[type_code]
    )
    return catalog.create_vouchers(
        conn,
        type_code=type_code,
        issuer_id=w.issuer_id,
        count=count,
        state=initial,
        now=now(),
        pin=pin,
    )


def card_from_activation(conn: Connection, w: World, *, days: int = 30) -> str:
    """A gift card type whose validity runs ``days`` from activation; returns its code."""
    code = f"card{days}"
    w.types[code] = catalog.create_voucher_type(
        conn,
        issuer_id=w.issuer_id,
        code=code,
        name=f"Card, {days} days from activation",
        classification="gift_card",
        value_mode="variable",
        validity_basis="from_activation",
        validity_days=days,
    )
    return code


def user(conn: Connection, *, role: str = "admin", **options: Any) -> tuple[int, str, str]:
    """A back-office user of ``role`` with a fresh name: ``(id, username, password)``."""
    from scrip.services import access, users

    username = f"u{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    user_id = users.create_user(
        conn,
        actor=access.INSTALLATION,
        username=username,
        password=password,
        role=role,
        now=now(),
        **options,
    )
    return user_id, username, password


def api_token(conn: Connection, *, role: str = "admin", **options: Any) -> str:
    """An API token of a fresh user of ``role`` (``options``: ``store_ids``, ``issuer_ids``)."""
    from scrip.services import access, users

    user_id, _, _ = user(conn, role=role, **options)
    return users.create_token(conn, actor=access.INSTALLATION, user_id=user_id, name="test")


def issuer_code(engine: Engine, w: World) -> str:
    """The code of a world's issuer, as the admin API and the screens name it."""
    with engine.connect() as conn:
        code: str = conn.execute(
            text("SELECT code FROM issuers WHERE id = :i"), {"i": w.issuer_id}
        ).scalar_one()
    return code


def sold_cards(conn: Connection, w: World, *, count: int, balance: int) -> list[str]:
    """``count`` gift cards sold at the till, each for ``balance``, on one receipt."""
    codes = vouchers(conn, w, "card", count=count)
    pos.sell(
        conn,
        till=w.till,
        items=[pos.SaleItem(code, balance) for code in codes],
        receipt=ReceiptInput(),
        now=now(),
    )
    return codes


def remember_key(conn: Connection, w: World, key: str, operation_id: uuid.UUID) -> None:
    """Store an operation done through the services under an idempotency key of the world's
    till, as its call over HTTP would, so that it can be reversed by that key."""
    keys_db.insert_answered(
        conn,
        register_id=w.till.register_id,
        key=key,
        request_hash="-",
        status_code=201,
        response_json="{}",
        operation_id=operation_id,
    )
