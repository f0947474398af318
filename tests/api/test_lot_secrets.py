"""A lot voucher whose type asks for a secret number is paid with only when the till enters it:
the vault's secret, compared in constant time, wrong entries counted and locked like a hashed
PIN, the failures kept although the payment is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from scrip import crypto
from scrip.domain.scope import EVERYTHING
from scrip.server import create_app
from scrip.services import catalog, lots, secrets
from tests import builders
from tests.api.conftest import Till
from tests.builders import World

RING = crypto.parse_keyring(f"k1:{crypto.new_secret_key()}")


@pytest.fixture
def app_client(engine: Engine, ledger_holds: None) -> Iterator[TestClient]:
    with TestClient(create_app(engine=engine, keyring=RING), raise_server_exceptions=False) as c:
        yield c


def _sold_lot(engine: Engine, shop: World, till: Till, *, pin_length: int | None) -> list[str]:
    """Two cards of a lot with vault secrets, sold for 50.00 each."""
    with engine.begin() as conn:
        code = f"L{pin_length}"
        catalog.create_voucher_type(
            conn,
            issuer_id=shop.issuer_id,
            code=code,
            name="Lot card",
            classification="gift_card",
            value_mode="variable",
            pin_length=pin_length,
        )
        lot_id = lots.create_lot(
            conn, scope=EVERYTHING, issuer_id=shop.issuer_id, type_code=code, count=2,
            state="prepared", created_by="t", now=builders.now(),
        )  # fmt: skip
    lots.run_lot(engine, lot_id=lot_id, keyring=RING, clock=builders.now)
    with engine.connect() as conn:
        codes = list(
            conn.execute(
                text("SELECT code FROM vouchers WHERE lot_id = :l ORDER BY id"), {"l": lot_id}
            ).scalars()
        )
    items = [{"code": c, "amount_minor": 5_000} for c in codes]
    assert till.post("/sales", {"items": items}).status_code == 201
    return codes


def _secret(engine: Engine, shop: World, code: str) -> str:
    with engine.begin() as conn:
        return secrets.retrieve(
            conn, scope=EVERYTHING, issuer_id=shop.issuer_id, voucher_code=code, user="t",
            reason="test", entitled=True, keyring=RING, now=builders.now(),
        ).secret  # fmt: skip


def _pay(till: Till, code: str, pin: str | None) -> tuple[int, str | None]:
    body: dict[str, object] = {"amount_minor": 1_000, "currency": "EUR"}
    if pin is not None:
        body["pin"] = pin
    answer = till.post(f"/vouchers/{code}/redemptions", body)
    return answer.status_code, answer.json().get("error", {}).get("code")


def _wrong(secret: str) -> str:
    return secret[:-1] + str((int(secret[-1]) + 1) % 10)


def test_the_vault_secret_is_asked_for_counted_and_locked(
    app_client: TestClient, engine: Engine, shop: World
) -> None:
    till = Till(app_client, shop.key)
    first, second = _sold_lot(engine, shop, till, pin_length=4)
    secret = _secret(engine, shop, first)
    assert till.get(f"/vouchers/{first}").json()["pin_required"] is True
    assert _pay(till, first, None) == (403, "pin_required")
    assert _pay(till, first, _wrong(secret)) == (403, "pin_invalid")
    assert _pay(till, first, secret) == (201, None)  # a right entry resets the count
    assert _pay(till, first, _wrong(secret)) == (403, "pin_invalid")
    assert _pay(till, first, _wrong(secret)) == (403, "pin_invalid")
    assert _pay(till, first, _wrong(secret)) == (423, "pin_locked")
    assert _pay(till, first, secret) == (423, "pin_locked")
    with engine.connect() as conn:
        kinds = conn.execute(
            text(
                "SELECT h.type, v.balance_minor FROM voucher_history h JOIN vouchers v"
                " ON v.id = h.voucher_id WHERE v.code = :c AND h.type LIKE 'pin.%' ORDER BY h.id"
            ),
            {"c": first},
        ).all()
    assert [k for k, _ in kinds] == ["pin.failed", "pin.failed", "pin.failed", "pin.locked"]
    assert {balance for _, balance in kinds} == {4_000}  # only the right entry paid
    assert _pay(till, second, _secret(engine, shop, second)) == (201, None)
    assert secret not in str(kinds)


def test_a_type_without_a_secret_length_keeps_its_lot_secrets_off_the_till(
    app_client: TestClient, engine: Engine, shop: World
) -> None:
    till = Till(app_client, shop.key)
    [code, _] = _sold_lot(engine, shop, till, pin_length=None)
    assert _pay(till, code, None) == (201, None)


def test_without_the_vault_keys_the_till_is_refused_not_let_through(
    engine: Engine, shop: World, app_client: TestClient, ledger_holds: None
) -> None:
    [code, _] = _sold_lot(engine, shop, Till(app_client, shop.key), pin_length=4)
    with TestClient(create_app(engine=engine), raise_server_exceptions=False) as bare:
        assert _pay(Till(bare, shop.key), code, "1234") == (503, "vault_not_configured")
