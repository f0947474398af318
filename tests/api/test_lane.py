"""The till's fast lane (``scrip.api.lane``) answers exactly as FastAPI would.

The lane serves a POS call only when the register key is already known and the request is the
usual one; everything else goes on to FastAPI. A till's retry may take the other path than its
first attempt (the register cache expires), so both must agree on the request's fingerprint.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Body, Query
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.responses import Response

from scrip.api import lane
from scrip.api.deps import MutationDep
from scrip.services import pos
from scrip.wire import pos as wire
from tests.api.conftest import Till, pay, sold_card
from tests.builders import World


@pytest.fixture
def lane_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the endpoints the lane ran in the thread pool (its mutating calls)."""
    calls: list[str] = []
    real = lane.PosLane._in_thread

    async def counted(self: lane.PosLane, served: Callable[..., Any], kwargs: Any) -> Any:
        calls.append(served.__name__)
        return await real(self, served, kwargs)

    monkeypatch.setattr(lane.PosLane, "_in_thread", counted)
    yield calls


def _forget_registers(client: TestClient) -> None:
    client.app.state.registers.forget()  # type: ignore[attr-defined]


def test_the_lane_serves_the_till_calls_fastapi_the_rest(client: TestClient) -> None:
    found = client.app.middleware_stack  # type: ignore[attr-defined]
    while found is not None and not isinstance(found, lane.PosLane):
        found = getattr(found, "app", None)
    assert found is not None, "the lane is not installed"
    served = {r.served.__name__ for r in found.routes() if r.served is not None}
    declined = {r.pattern.pattern for r in found.routes() if r.served is None}
    for name in ("look_up", "redeem", "sell", "open_receipt", "confirm_receipt", "reverse"):
        assert name in served
    # The history answers a model FastAPI serializes: left to FastAPI.
    assert any("history" in pattern for pattern in declined)


def test_first_call_of_a_key_goes_to_fastapi_then_the_lane_serves(
    engine: Engine, shop: World, till: Till, client: TestClient, lane_calls: list[str]
) -> None:
    _forget_registers(client)
    code = sold_card(engine, shop, till)  # unknown key: FastAPI looks the register up
    assert lane_calls == []

    paid = till.post(f"/vouchers/{code}/redemptions", pay(1200))
    looked = till.get(f"/vouchers/{code}")

    assert lane_calls == ["redeem"]
    assert paid.status_code == 201, paid.text
    assert paid.json()["vouchers"][0]["balance_minor"] == 3800
    assert looked.status_code == 200
    assert looked.json()["balance_minor"] == 3800


@pytest.mark.parametrize("first_by_lane", [True, False])
def test_a_retry_by_the_other_path_replays_the_first_answer(
    engine: Engine,
    shop: World,
    till: Till,
    client: TestClient,
    lane_calls: list[str],
    first_by_lane: bool,
) -> None:
    code = sold_card(engine, shop, till)
    key = str(uuid.uuid4())
    if not first_by_lane:
        _forget_registers(client)
    first = till.post(f"/vouchers/{code}/redemptions", pay(700), key=key)
    if first_by_lane:
        _forget_registers(client)
    again = till.post(f"/vouchers/{code}/redemptions", pay(700), key=key)

    assert lane_calls == ["redeem"]  # one of the two attempts, whichever was second or first
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert till.get(f"/vouchers/{code}").json()["balance_minor"] == 4300


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "code"),
    [
        ("/vouchers/{code}/redemptions", {"amount_minor": "12", "currency": "EUR"}, {}, 422,
         "invalid_input"),
        ("/vouchers/{code}/redemptions", b"{not json", {"Content-Type": "application/json"}, 400,
         "malformed_json"),
        ("/vouchers/{code}/redemptions", pay(1), {"Idempotency-Key": None}, 400,
         "idempotency_key_required"),
        ("/vouchers/{code}/redemptions", pay(1), {"Idempotency-Key": "no spaces"}, 400,
         "invalid_idempotency_key"),
        ("/vouchers/{code}/redemptions", pay(1), {"Authorization": "Bearer nope"}, 401,
         "register_key_invalid"),
        ("/vouchers/{code}/redemptions", pay(1), {"Authorization": None}, 401,
         "register_key_invalid"),
        ("/vouchers/{code}/redemptions", b'{"amount_minor": 1, "currency": "EUR"}',
         {"Content-Type": "text/plain"}, 422, "invalid_input"),
        ("/receipts/abc/confirm", None, {}, 422, "invalid_input"),
    ],
)  # fmt: skip
def test_what_the_lane_declines_gets_fastapis_answer(
    engine: Engine,
    shop: World,
    till: Till,
    client: TestClient,
    lane_calls: list[str],
    path: str,
    body: Any,
    headers: dict[str, str | None],
    status: int,
    code: str,
) -> None:
    voucher = sold_card(engine, shop, till)
    lane_calls.clear()
    sent = {**till.headers, "Idempotency-Key": str(uuid.uuid4()), **headers}
    content = body if isinstance(body, bytes) else None
    answer = client.post(
        f"/v1/pos{path.format(code=voucher)}",
        headers={k: v for k, v in sent.items() if v is not None},
        json=body if content is None and body is not None else None,
        content=content,
    )

    assert lane_calls == []
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert till.get(f"/vouchers/{voucher}").json()["balance_minor"] == 5000


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [
        (OperationalError("SELECT", {}, Exception("server closed")), 503, "database_unavailable"),
        (RuntimeError("a bug, with request data"), 500, "internal_error"),
    ],
)
def test_an_error_in_a_lane_call_gets_the_apps_handler(
    engine: Engine,
    shop: World,
    till: Till,
    lane_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    raised: Exception,
    status: int,
    code: str,
) -> None:
    voucher = sold_card(engine, shop, till)

    def fails(*_: Any, **__: Any) -> None:
        raise raised

    monkeypatch.setattr(pos, "redeem", fails)
    answer = till.post(f"/vouchers/{voucher}/redemptions", pay(100))

    assert lane_calls == ["redeem"]
    assert answer.status_code == status
    assert answer.json() == {"error": {"code": code, "message": answer.json()["error"]["message"],
                                       "details": {}}}  # fmt: skip
    assert "request data" not in answer.text


def test_an_endpoint_the_lane_cannot_fill_is_left_to_fastapi() -> None:
    router = APIRouter(prefix="/v1/pos")

    @router.post("/two-bodies")
    def two_bodies(a: wire.AmountIn, b: wire.AmountIn, m: MutationDep) -> Response:
        raise AssertionError("not called")

    @router.post("/embedded")
    def embedded(a: Annotated[wire.AmountIn, Body(embed=True)], m: MutationDep) -> Response:
        raise AssertionError("not called")

    @router.get("/queried")
    def queried(q: Annotated[str, Query()], m: MutationDep) -> Response:
        raise AssertionError("not called")

    @router.post("/plain")
    def plain(a: wire.AmountIn, m: MutationDep) -> Response:
        raise AssertionError("not called")

    compiled = lane.PosLane(app=None, fastapi=None, routers=[router])  # type: ignore[arg-type]
    served = {r.pattern.pattern: r.served is not None for r in compiled.routes()}
    assert served == {
        "^/v1/pos/two\\-bodies$": False,
        "^/v1/pos/embedded$": False,
        "^/v1/pos/queried$": False,
        "^/v1/pos/plain$": True,
    }
