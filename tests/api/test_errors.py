"""Every refusal uses the one envelope, a stable code and the right status, and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from scrip.db.engine import make_engine
from scrip.server import create_app
from tests import builders
from tests.api.conftest import Till, issue
from tests.api.snapshots import history_types, snapshot
from tests.builders import World


def _active_card(engine: Engine, shop: World, till: Till, amount: int = 5000, **opts: Any) -> str:
    [code] = issue(engine, shop, "card", **opts)
    sold = till.post("/sales", {"items": [{"code": code, "amount_minor": amount}]})
    assert sold.status_code == 201, sold.text
    return code


def _error(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    details: dict[str, Any] = body["error"]["details"]
    return details


def _pay(amount: int, **more: Any) -> dict[str, Any]:
    return {"amount_minor": amount, "currency": "EUR", **more}


def test_malformed_json(engine: Engine, shop: World, till: Till) -> None:
    code = _active_card(engine, shop, till)
    before = snapshot(engine, shop, code)

    answer = till.client.post(
        f"/v1/pos/vouchers/{code}/redemptions",
        content=b'{"amount_minor": 100, ',
        headers={
            **till.headers,
            "Idempotency-Key": str(uuid.uuid4()),
            "Content-Type": "application/json",
        },
    )

    _error(answer, 400, "malformed_json")
    assert snapshot(engine, shop, code) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount_minor": 12.5, "currency": "EUR"}, "amount_minor"),
        ({"amount_minor": "1250", "currency": "EUR"}, "amount_minor"),
        ({"amount_minor": -100, "currency": "EUR"}, "amount_minor"),
        ({"amount_minor": 0, "currency": "EUR"}, "amount_minor"),
        ({"amount_minor": True, "currency": "EUR"}, "amount_minor"),
        ({"amount_minor": 100, "currency": "eur"}, "currency"),
        ({"amount_minor": 100, "currency": "EURO"}, "currency"),
        ({"amount_minor": 100}, "currency"),
        ({"amount_minor": 100, "currency": "EUR", "tip": 5}, "tip"),
        ({"amount_minor": 100, "currency": "EUR", "receipt": {"id": 1}}, "receipt.id"),
    ],
)
def test_schema_violations(
    engine: Engine, shop: World, till: Till, body: dict[str, Any], field: str
) -> None:
    code = _active_card(engine, shop, till)
    before = snapshot(engine, shop, code)

    details = _error(till.post(f"/vouchers/{code}/redemptions", body), 422, "invalid_input")

    assert field in [f["field"] for f in details["fields"]]
    assert snapshot(engine, shop, code) == before


def test_schema_violation_in_a_sale_names_the_item(engine: Engine, shop: World, till: Till) -> None:
    [code] = issue(engine, shop, "card")
    before = snapshot(engine, shop, code)

    answer = till.post("/sales", {"items": [{"code": code, "amount_minor": 10.0}]})

    details = _error(answer, 422, "invalid_input")
    assert [f["field"] for f in details["fields"]] == ["items.0.amount_minor"]
    assert snapshot(engine, shop, code) == before


def test_unknown_voucher(till: Till) -> None:
    _error(till.get("/vouchers/NO-SUCH-CODE"), 404, "voucher_not_found")
    _error(till.get("/vouchers/NO-SUCH-CODE/history"), 404, "voucher_not_found")
    _error(till.post("/vouchers/NO-SUCH-CODE/redemptions", _pay(100)), 404, "voucher_not_found")
    _error(till.post("/sales", {"items": [{"code": "NOPE"}]}), 404, "voucher_not_found")


def test_a_voucher_of_another_issuer_is_not_found(
    engine: Engine, shop: World, till: Till, client: TestClient
) -> None:
    code = _active_card(engine, shop, till)
    with engine.begin() as conn:
        stranger = builders.world(conn)
    before = snapshot(engine, shop, code)

    theirs = Till(client, stranger.key)

    _error(theirs.get(f"/vouchers/{code}"), 404, "voucher_not_found")
    _error(theirs.post(f"/vouchers/{code}/redemptions", _pay(100)), 404, "voucher_not_found")
    assert snapshot(engine, shop, code) == before


def test_wrong_or_missing_register_key(
    engine: Engine, shop: World, till: Till, client: TestClient
) -> None:
    code = _active_card(engine, shop, till)
    before = snapshot(engine, shop, code)
    path = f"/v1/pos/vouchers/{code}/redemptions"
    key = {"Idempotency-Key": str(uuid.uuid4())}

    _error(client.get(f"/v1/pos/vouchers/{code}"), 401, "register_key_invalid")
    _error(client.post(path, json=_pay(100), headers=key), 401, "register_key_invalid")
    wrong = {**key, "Authorization": "Bearer not-a-register-key"}
    _error(client.post(path, json=_pay(100), headers=wrong), 401, "register_key_invalid")
    basic = {**key, "Authorization": "Basic dXNlcjpwYXNz"}
    _error(client.post(path, json=_pay(100), headers=basic), 401, "register_key_invalid")
    assert snapshot(engine, shop, code) == before


def test_unknown_route_and_wrong_method(till: Till) -> None:
    _error(till.get("/no-such-thing"), 404, "not_found")
    _error(till.client.get("/nowhere"), 404, "not_found")
    _error(till.get("/sales"), 405, "method_not_allowed")
    _error(
        till.client.delete("/v1/pos/vouchers/X", headers=till.headers), 405, "method_not_allowed"
    )


def test_redeeming_a_prepared_card_is_not_a_transition(
    engine: Engine, shop: World, till: Till
) -> None:
    [code] = issue(engine, shop, "card")
    before = snapshot(engine, shop, code)

    details = _error(
        till.post(f"/vouchers/{code}/redemptions", _pay(100)), 409, "transition_not_allowed"
    )

    assert details["state"] == "prepared"
    assert snapshot(engine, shop, code) == before


def test_unblocking_an_active_card_is_not_a_transition(
    engine: Engine, shop: World, till: Till
) -> None:
    code = _active_card(engine, shop, till)
    before = snapshot(engine, shop, code)

    _error(till.post(f"/vouchers/{code}/unblock", {}), 409, "transition_not_allowed")

    assert snapshot(engine, shop, code) == before


def test_insufficient_balance_versus_held_elsewhere(
    engine: Engine, shop: World, till: Till, client: TestClient
) -> None:
    code = _active_card(engine, shop, till)
    other = Till(client, shop.other_key)
    receipt = other.post("/receipts", {}).json()["receipt_id"]
    held = other.post(f"/vouchers/{code}/redemptions", _pay(4000, receipt={"receipt_id": receipt}))
    assert held.status_code == 201, held.text
    before = snapshot(engine, shop, code)

    elsewhere = _error(
        till.post(f"/vouchers/{code}/redemptions", _pay(2000)), 409, "held_elsewhere"
    )
    short = _error(
        till.post(f"/vouchers/{code}/redemptions", _pay(6000)), 409, "insufficient_balance"
    )

    assert elsewhere["available"] == short["available"] == 1000
    assert snapshot(engine, shop, code) == before
    assert other.post(f"/receipts/{receipt}/cancel").status_code == 200


def test_partial_allowed_takes_what_is_available(
    engine: Engine, shop: World, till: Till, client: TestClient
) -> None:
    code = _active_card(engine, shop, till)
    other = Till(client, shop.other_key)
    receipt = other.post("/receipts", {}).json()["receipt_id"]
    other.post(f"/vouchers/{code}/redemptions", _pay(4000, receipt={"receipt_id": receipt}))

    paid = till.post(f"/vouchers/{code}/redemptions", _pay(2000, partial_allowed=True))

    assert paid.status_code == 201, paid.text
    assert paid.json()["amount_minor"] == 1000
    voucher = paid.json()["vouchers"][0]
    assert (voucher["balance_minor"], voucher["held_minor"], voucher["available_minor"]) == (
        4000,
        4000,
        0,
    )
    before = snapshot(engine, shop, code)
    _error(
        till.post(f"/vouchers/{code}/redemptions", _pay(1, partial_allowed=True)),
        409,
        "held_elsewhere",
    )
    assert snapshot(engine, shop, code) == before
    assert other.post(f"/receipts/{receipt}/confirm").status_code == 200
    looked = till.get(f"/vouchers/{code}").json()
    assert (looked["balance_minor"], looked["state"]) == (0, "depleted")


def test_currency_mismatch(engine: Engine, shop: World, till: Till) -> None:
    code = _active_card(engine, shop, till)
    before = snapshot(engine, shop, code)

    answer = till.post(f"/vouchers/{code}/redemptions", {"amount_minor": 100, "currency": "USD"})

    _error(answer, 422, "currency_mismatch")
    assert snapshot(engine, shop, code) == before


def test_an_expired_voucher_is_refused(engine: Engine, shop: World, till: Till) -> None:
    code = _active_card(engine, shop, till)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE vouchers SET valid_until = now() - interval '1 day'"
                " WHERE issuer_id = :i AND code = :c"
            ),
            {"i": shop.issuer_id, "c": code},
        )
    before = snapshot(engine, shop, code)

    _error(till.post(f"/vouchers/{code}/redemptions", _pay(100)), 409, "voucher_expired")
    _error(till.post(f"/vouchers/{code}/reloads", _pay(100)), 409, "voucher_expired")

    assert snapshot(engine, shop, code) == before


def test_pin_required_invalid_then_locked(engine: Engine, shop: World, till: Till) -> None:
    secret, wrong = "918273", "111111"
    code = _active_card(engine, shop, till, pin=secret)
    answers = []
    before = snapshot(engine, shop, code)

    answers.append(till.post(f"/vouchers/{code}/redemptions", _pay(100)))
    _error(answers[-1], 403, "pin_required")
    assert snapshot(engine, shop, code) == before

    for attempts_left in (2, 1):
        answers.append(till.post(f"/vouchers/{code}/redemptions", _pay(100, pin=wrong)))
        assert _error(answers[-1], 403, "pin_invalid")["attempts_left"] == attempts_left
    answers.append(till.post(f"/vouchers/{code}/redemptions", _pay(100, pin=wrong)))
    _error(answers[-1], 423, "pin_locked")
    answers.append(till.post(f"/vouchers/{code}/redemptions", _pay(100, pin=secret)))
    _error(answers[-1], 423, "pin_locked")

    after = snapshot(engine, shop, code)
    assert (after.state, after.balance_minor, after.held_minor, after.transfers) == (
        before.state,
        before.balance_minor,
        before.held_minor,
        before.transfers,
    )
    assert after.pin_failed_count == 3
    rows = history_types(engine, shop, code)
    assert rows[-3:] == [
        ("pin.failed", "recorded"),
        ("pin.failed", "recorded"),
        ("pin.locked", "recorded"),
    ]
    assert after.history_rows == before.history_rows + 3
    answers.append(till.get(f"/vouchers/{code}"))
    answers.append(till.get(f"/vouchers/{code}/history"))
    for answer in answers:
        assert secret not in answer.text
        assert wrong not in answer.text


def test_a_failed_pin_leaves_a_history_row_and_the_right_pin_resets(
    engine: Engine, shop: World, till: Till
) -> None:
    code = _active_card(engine, shop, till, pin="4321")
    before = snapshot(engine, shop, code)

    _error(till.post(f"/vouchers/{code}/redemptions", _pay(100, pin="9999")), 403, "pin_invalid")

    after = snapshot(engine, shop, code)
    assert history_types(engine, shop, code)[-1] == ("pin.failed", "recorded")
    assert (after.history_rows, after.pin_failed_count) == (before.history_rows + 1, 1)
    assert (after.balance_minor, after.transfers) == (before.balance_minor, before.transfers)
    paid = till.post(f"/vouchers/{code}/redemptions", _pay(100, pin="4321"))
    assert paid.status_code == 201, paid.text
    assert "4321" not in paid.text
    assert snapshot(engine, shop, code).pin_failed_count == 0


def test_a_replayed_wrong_pin_does_not_count_twice(engine: Engine, shop: World, till: Till) -> None:
    code = _active_card(engine, shop, till, pin="4321")
    first = till.post(f"/vouchers/{code}/redemptions", _pay(100, pin="9999"), key="pin-retry")
    after_first = snapshot(engine, shop, code)

    again = till.post(f"/vouchers/{code}/redemptions", _pay(100, pin="9999"), key="pin-retry")

    assert again.json() == first.json()
    assert snapshot(engine, shop, code) == after_first


def test_a_malformed_pin_is_not_echoed(engine: Engine, shop: World, till: Till) -> None:
    code = _active_card(engine, shop, till, pin="4321")
    before = snapshot(engine, shop, code)

    answer = till.post(f"/vouchers/{code}/redemptions", _pay(100, pin="12ab-secret"))

    assert "pin" in [f["field"] for f in _error(answer, 422, "invalid_input")["fields"]]
    assert "12ab-secret" not in answer.text
    assert snapshot(engine, shop, code) == before


def test_transfer_needs_the_pin_of_the_source(engine: Engine, shop: World, till: Till) -> None:
    code = _active_card(engine, shop, till, pin="4321")
    [target] = issue(engine, shop, "card")
    before, target_before = snapshot(engine, shop, code), snapshot(engine, shop, target)

    answer = till.post(f"/vouchers/{code}/transfers", {"target_code": target})

    _error(answer, 403, "pin_required")
    assert snapshot(engine, shop, code) == before
    assert snapshot(engine, shop, target) == target_before


def test_a_connection_the_server_dropped_is_retried_and_the_payment_made_once(
    engine: Engine, database_url: str, shop: World, till: Till
) -> None:
    """The pool does not ping before use (a round trip per call), so a till's call may be the
    one that finds its connection dead — mid-transaction, inside the write-behind block. The
    call is run again on a fresh connection and pays once; it was a 500 when cleaning up the
    dead connection hid the database's error."""
    code = _active_card(engine, shop, till)
    lonely = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with TestClient(create_app(engine=lonely), raise_server_exceptions=False) as client:
            own = Till(client, shop.key)
            assert own.get(f"/vouchers/{code}").status_code == 200  # the one connection, pooled
            with lonely.connect() as conn:
                pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with engine.connect() as admin:
                assert admin.execute(
                    text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}
                ).scalar_one()

            key = str(uuid.uuid4())
            paid = own.post(f"/vouchers/{code}/redemptions", _pay(700), key=key)
            assert paid.status_code == 201, paid.text
            with lonely.connect() as conn:
                assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
            again = own.post(f"/vouchers/{code}/redemptions", _pay(700), key=key)
            assert again.headers.get("Idempotent-Replayed") == "true"
    finally:
        lonely.dispose()
    assert till.get(f"/vouchers/{code}").json()["balance_minor"] == 4300
