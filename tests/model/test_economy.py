"""The till against the reference model, through the real HTTP API on real PostgreSQL.

A Hypothesis state machine interleaves every POS call — sell, pay (partly), refund, reload,
return, balance transfer, block and unblock at three registers of two stores, receipts opened,
held in, confirmed in full, for less or leaving an operation out, cancelled and timed out,
reversals of any key (operations, confirms, opens, cancels, reversals, refused calls, keys never
sent, its own), replays and reused keys — over seven vouchers of four types. Each call is
predicted by :mod:`tests.model.economy` first: the answer or the refusal's code. After every
step every voucher's state, balance and hold, its history rows and their status, and the posted
total of every transfer code must be what the model says; after every example the ledger's
invariants (conservation included) must hold.

``SCRIP_MODEL_EXAMPLES`` sets how many examples run (``make soak`` runs many).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, currently_in_test_context, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import Engine, text

from scrip.db.invariants import violations
from scrip.jobs import worker
from scrip.server import create_app
from scrip.services import catalog
from tests import builders
from tests.model.economy import TYPES, Answer, Call, Economy, Refused, Voucher

VOUCHERS = (("card", 3), ("cert", 2), ("multi_cert", 1), ("printed", 1))
EXAMPLES = int(os.environ.get("SCRIP_MODEL_EXAMPLES", "50"))
STEPS = int(os.environ.get("SCRIP_MODEL_STEPS", "40"))

amounts = st.sampled_from(
    [1, 500, 1_000, 1_200, 2_000, 3_000, 5_000, 9_000, 25_000, 45_000, 100_001]
)
KINDS = (
    ["redeem"] * 5
    + ["sell", "refund", "refund", "reload", "reload", "return"]
    + [
        "transfer",
        "block",
        "unblock",
    ]
)
vouchers = st.integers(0, sum(n for _, n in VOUCHERS) - 1)
tills = st.sampled_from("AAAB")
SUITS: dict[str, Callable[[Voucher], bool]] = {
    "sell": lambda v: v.state == v.type.initial,
    "redeem": lambda v: v.state == "active",
    "reload": lambda v: v.type.reloadable and v.state in ("active", "depleted"),
    "return": lambda v: v.type.classification == "gift_certificate" and v.state == "active",
    "transfer": lambda v: v.type.classification == "gift_card" and v.state == "active",
    "block": lambda v: v.type.classification == "gift_card" and v.state == "active",
    "unblock": lambda v: v.state == "blocked",
}
STEPS_MIX = (
    ["operate"] * 10
    + ["open"] * 2
    + ["confirm"] * 3
    + ["reverse"] * 3
    + [
        "cancel",
        "replay",
        "reuse",
        "time_out",
    ]
)
slots = st.sampled_from([None, None, 0, 0, 1, 3, 4, 5])  # mostly the latest open receipt
picks = st.integers(0, 10_000)
SEEN: Counter[str] = Counter()


def _seen(what: str) -> None:
    """Count what the calls did (shown with ``-s``): a run that never confirms for less or
    never reverses a confirm tests less than it seems to."""
    SEEN[what] += 1
    if currently_in_test_context():
        event(what)


class TillEconomy(RuleBasedStateMachine):
    """One fresh issuer per example: stores S1 (registers A, B) and S2 (register C)."""

    client: ClassVar[TestClient]
    engine: ClassVar[Engine]

    def __init__(self) -> None:
        super().__init__()
        with self.engine.begin() as conn:
            w = builders.world(conn)
            store = catalog.create_store(conn, issuer_id=w.issuer_id, code="S2", name="S2")
            c = catalog.create_register(conn, store_id=store, serial_number="S2-R1")
            made = {kind: builders.vouchers(conn, w, kind, count=n) for kind, n in VOUCHERS}
        self.issuer_id = w.issuer_id
        self.keys = {"A": w.key, "B": w.other_key, "C": c.api_key}
        self.codes = [code for kind, _ in VOUCHERS for code in made[kind]]
        self.model = Economy(
            {
                code: Voucher(code, TYPES[kind], TYPES[kind].initial)
                for kind, _ in VOUCHERS
                for code in made[kind]
            },
            {"A": "S1", "B": "S1", "C": "S2"},
        )
        self.receipt_ids: list[int] = []
        self.sent: list[tuple[str, str, str, Any, httpx.Response]] = []
        self.tombstones: list[tuple[str, str]] = []
        self.recent: int | None = None
        self.last: tuple[str, int, int | None, int] | None = None
        # Most vouchers start sold, so that value can move from the first step; one card and
        # one certificate stay in stock.
        for index, amount in ((0, 5_000), (1, 90_000), (3, None), (5, None), (6, None)):
            self.sell(index, "fit" if amount is None else amount, "A", None)

    # --- one call, predicted ---------------------------------------------------------------

    def _post(self, till: str, path: str, body: Any, key: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[till]}", "Idempotency-Key": key}
        return self.client.post(f"/v1/pos{path}", json=body, headers=headers)

    def _call(
        self,
        till: str,
        path: str,
        body: Any,
        predict: Callable[[Economy], Answer | str],
        what: str,
    ) -> tuple[httpx.Response, Answer | str | None]:
        """Predict on a copy of the model, send, compare; keep the copy only if the call
        succeeded. The key is remembered with what it did, for reversals and replays."""
        key = str(uuid.uuid4())
        expected = self.model.copy()
        expected.last_op = None
        try:
            answer: Answer | str | None = predict(expected)
            want = None
        except Refused as refusal:
            answer, want = None, refusal.code
        response = self._post(till, path, body, key)
        assert response.status_code < 500, response.text
        _seen(f"{path.split('/')[-1] if '/' in path[1:] else path}: {want or 'ok'}")
        if want is not None:
            assert response.status_code >= 400, (want, response.text)
            assert response.json()["error"]["code"] == want, (path, body, response.text)
            self.model.keys[(till, key)] = Call("refused")
        else:
            assert response.status_code in (200, 201), (path, body, want, response.text)
            receipt = response.json().get("receipt_id")
            expected.keys[(till, key)] = Call(what, op=expected.last_op, receipt=receipt)
            self.model = expected
        self.sent.append((till, key, path, body, response))
        return response, answer

    def _receipt(self, slot: int | None, till: str = "A") -> int | None:
        """No receipt; mostly the till's latest open one; sometimes any (one that is closed or
        another register's is refused)."""
        if slot is None or not self.receipt_ids:
            return None
        open_ = [
            r
            for r in self.receipt_ids
            if self.model.receipts[r].state == "open" and self.model.receipts[r].till == till
        ]
        if slot < 3:
            return open_[-1] if open_ else None  # a till works in its latest receipt
        if open_ and slot == 3:
            return open_[slot % len(open_)]
        return self.receipt_ids[slot % len(self.receipt_ids)]

    @staticmethod
    def _in(rid: int | None, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "receipt": {"receipt_id": rid}} if rid is not None else body

    def _check(self, response: httpx.Response, answer: Answer | str | None) -> None:
        if isinstance(answer, Answer) and response.status_code == 201:
            got = response.json()
            assert (got["amount_minor"], got["forfeited_minor"], got["status"]) == (
                answer.amount,
                answer.forfeited,
                answer.status,
            ), got

    # --- the till's operations -------------------------------------------------------------

    @rule(
        what=st.sampled_from(STEPS_MIX),
        kind=st.sampled_from(KINDS),
        v=vouchers,
        w=vouchers,
        amount=amounts,
        sale=st.sampled_from([None, "fit", "fit", "fit", 1_000, 100_001]),
        partial=st.booleans(),
        till=tills,
        slot=slots,
        how=st.sampled_from(["full", "full", "leave_first_out", "less_first", "over", "less_any"]),
        which=st.sampled_from(["sent", "sent", "sent", "new", "own"]),
        pick=picks,
        again=st.sampled_from([False, False, True]),
    )
    def step(
        self,
        what: str,
        kind: str,
        v: int,
        w: int,
        amount: int,
        sale: int | str | None,
        partial: bool,
        till: str,
        slot: int | None,
        how: str,
        which: str,
        pick: int,
        again: bool,
    ) -> None:
        """One step of a till's day, in the mix ``STEPS_MIX`` weights (one rule, so that the
        mix is ours, not the rule scheduler's)."""
        if what == "operate":
            self.operate(kind, v, w, amount, sale, partial, till, slot, again)
        elif what == "open":
            self.open_receipt(till)
        elif what == "confirm":
            self.confirm(slot or 0, till, how)
        elif what == "cancel":
            self.cancel(slot or 0, till)
        elif what == "time_out":
            self.time_out()
        elif what == "reverse":
            self.reverse(pick, till, which)
        elif what == "replay":
            self.replay(pick)
        else:
            self.reuse_a_key(pick, partial)

    @rule(
        ops=st.lists(
            st.tuples(st.sampled_from(KINDS), st.integers(0, 1), amounts, st.booleans()),
            min_size=1,
            max_size=4,
        ),
        basket=st.lists(vouchers, min_size=1, max_size=2),
        close=st.sampled_from(["full", "full", "cancel", "open", "leave_first_out", "less_any"]),
        till=tills,
    )
    def receipt_session(
        self,
        ops: list[tuple[str, int, int, bool]],
        basket: list[int],
        close: str,
        till: str,
    ) -> None:
        """A receipt as a till makes one: opened, a few operations on one or two vouchers in
        it (the same card paid with twice, three refunds …), then confirmed (in full, for less,
        leaving one out), cancelled or left open."""
        self.open_receipt(till)
        for kind, which, amount, partial in ops:
            v = basket[which % len(basket)]
            self.operate(kind, v, which + 1, amount, "fit", partial, till, 0)
        if close == "cancel":
            self.cancel(0, till)
        elif close != "open":
            self.confirm(0, till, close)

    def operate(
        self,
        kind: str,
        v: int,
        w: int,
        amount: int,
        sale: int | str | None,
        partial: bool,
        till: str,
        slot: int | None,
        again: bool = False,
    ) -> None:
        """One till operation, the kinds weighted as a till's day mixes them; a third of the
        time on the voucher the last operation touched (a card paid with, then reloaded …)."""
        if again and self.last is not None:
            kind, v, slot, amount = self.last  # the same again: same voucher, place, amount
        else:
            v = self._pick(kind, v, w)
        self.recent, self.last = v, (kind, v, slot, amount)
        if kind == "sell":
            self.sell(v, sale, till, slot)
        elif kind == "redeem":
            self.redeem(v, amount, partial, till, slot)
        elif kind == "refund":
            self.credit(*self._refund_of(v, w, amount), kind, till, slot)
        elif kind == "reload":
            self.credit(v, amount, kind, till, slot)
        elif kind == "return":
            self.return_unused(v, till, slot)
        elif kind == "transfer":
            self.transfer(v, w, till, slot)
        else:
            self.block_or_unblock(v, "ABC"[w % 3], kind == "unblock")

    def _pick(self, kind: str, v: int, w: int) -> int:
        """Which voucher: the one the last operation touched, or one the operation suits (an
        active card to reload, a blocked one to unblock …), or any."""
        if w % 4 == 0 and self.recent is not None:
            return self.recent
        if w % 4 == 1:
            return v
        suits = SUITS.get(kind)
        fits = [i for i, c in enumerate(self.codes) if suits and suits(self.model.vouchers[c])]
        return fits[v % len(fits)] if fits else v

    def _refund_of(self, v: int, w: int, amount: int) -> tuple[int, int]:
        """Mostly a voucher something was paid with, and about what was paid: all of it,
        half, one more, or any amount."""
        refundable = {i: self.model.refundable(c) for i, c in enumerate(self.codes)}
        spent = [i for i, r in refundable.items() if r > 0]
        if spent and w % 3:
            v = spent[v % len(spent)]
            r = refundable[v]
            amount = [r, max(r // 2, 1), r + 1, amount][w % 4]
        return v, amount

    def sell(self, v: int, amount: int | str | None, till: str, slot: int | None) -> None:
        """``fit``: what the type sells for (its face value, or 3,000 on a card)."""
        code, rid = self.codes[v], self._receipt(slot, till)
        if amount == "fit":
            amount = self.model.vouchers[code].type.face or 3_000
        assert not isinstance(amount, str)
        item: dict[str, Any] = {"code": code}
        if amount is not None:
            item["amount_minor"] = amount
        self._check(
            *self._call(
                till,
                "/sales",
                self._in(rid, {"items": [item]}),
                lambda m: m.sell(till, code, amount, rid),
                "op",
            )
        )

    def redeem(self, v: int, amount: int, partial: bool, till: str, slot: int | None) -> None:
        code, rid = self.codes[v], self._receipt(slot, till)
        body = {"amount_minor": amount, "currency": "EUR", "partial_allowed": partial}
        self._check(
            *self._call(
                till,
                f"/vouchers/{code}/redemptions",
                self._in(rid, body),
                lambda m: m.redeem(till, code, amount, partial, rid),
                "op",
            )
        )

    def credit(self, v: int, amount: int, kind: str, till: str, slot: int | None) -> None:
        code, rid = self.codes[v], self._receipt(slot, till)
        body = {"amount_minor": amount, "currency": "EUR"}
        self._check(
            *self._call(
                till,
                f"/vouchers/{code}/{kind}s",
                self._in(rid, body),
                lambda m: m.credit(till, kind, code, amount, rid),
                "op",
            )
        )

    def return_unused(self, v: int, till: str, slot: int | None) -> None:
        code, rid = self.codes[v], self._receipt(slot, till)
        self._check(
            *self._call(
                till,
                f"/vouchers/{code}/returns",
                self._in(rid, {}),
                lambda m: m.return_unused(till, code, rid),
                "op",
            )
        )

    def transfer(self, v: int, w: int, till: str, slot: int | None) -> None:
        code, target, rid = self.codes[v], self.codes[w], self._receipt(slot, till)
        self._check(
            *self._call(
                till,
                f"/vouchers/{code}/transfers",
                self._in(rid, {"target_code": target}),
                lambda m: m.transfer(till, code, target, rid),
                "op",
            )
        )

    def block_or_unblock(self, v: int, till: str, lift: bool) -> None:
        code = self.codes[v]
        verb = "unblock" if lift else "block"
        self._call(
            till,
            f"/vouchers/{code}/{verb}",
            {},
            lambda m: m.unblock(till, code) if lift else m.block(till, code),
            "op",
        )

    # --- receipts ----------------------------------------------------------------------------

    def open_receipt(self, till: str) -> None:
        response, _ = self._call(till, "/receipts", {}, lambda m: Answer(), "open")
        rid = response.json()["receipt_id"]
        self.model.open(till, rid)
        self.model.keys[(till, self.sent[-1][1])].receipt = rid
        self.receipt_ids.append(rid)

    def confirm(self, slot: int, till: str, how: str) -> None:
        rid = self._receipt(slot, till)
        if rid is None:
            return
        pending = [op for op in self.model.receipts[rid].ops if op.state == "pending"]
        asked: dict[int, int] = {}
        if pending and how == "leave_first_out":
            asked[0] = 0
        elif pending and how == "over":
            asked[0] = pending[0].amount + 1
        elif pending and how in ("less_first", "less_any"):
            index = next(
                (i for i, op in enumerate(pending) if how == "less_any" or op.kind == "redeem"),
                None,
            )
            if index is not None:
                asked[index] = pending[index].amount // 2
        body = {"amounts": [self._amount(rid, i, a) for i, a in asked.items()]} if asked else None
        response, answer = self._call(
            till,
            f"/receipts/{rid}/confirm",
            body,
            lambda m: m.confirm(till, rid, asked),
            "confirm",
        )
        if isinstance(answer, Answer) and response.status_code == 200:
            assert response.json()["forfeited_minor"] == answer.forfeited

    def _amount(self, rid: int, index: int, amount: int) -> dict[str, Any]:
        """The operation id of the receipt's ``index``-th pending operation, from its answer."""
        op = [op for op in self.model.receipts[rid].ops if op.state == "pending"][index]
        for till, key, _, _, response in self.sent:
            call = self.model.keys.get((till, key))
            if call is not None and call.op is op:
                return {"operation_id": response.json()["operation_id"], "amount_minor": amount}
        raise AssertionError("a pending operation without its call")

    def cancel(self, slot: int, till: str) -> None:
        rid = self._receipt(slot, till)
        if rid is not None:
            self._call(
                till,
                f"/receipts/{rid}/cancel",
                {},
                lambda m: m.close(till, rid, "cancelled"),
                "cancel",
            )

    def time_out(self) -> None:
        """The worker's job, a day later: every open receipt times out."""
        worker.run_once(self.engine, now=datetime.now(UTC) + timedelta(days=1))
        for rid, receipt in self.model.receipts.items():
            if receipt.state == "open":
                self.model.close(receipt.till, rid, "expired")

    # --- keys ----------------------------------------------------------------------------------

    def reverse(self, pick: int, till: str, which: str) -> None:
        key = str(uuid.uuid4())
        if which == "sent" and self.sent:
            till, key = self.sent[pick % len(self.sent)][:2]
        own = str(uuid.uuid4())
        target = own if which == "own" else key
        expected = self.model.copy()
        try:
            outcome, want = expected.reverse(till, target, own), None
        except Refused as refusal:
            outcome, want = None, refusal.code
        response = self._post(till, "/reversals", {"idempotency_key": target}, own)
        _seen(f"reversal: {outcome or want}")
        if want is None:
            assert response.status_code == 200, response.text
            assert response.json()["outcome"] == outcome, (response.text, outcome)
            expected.keys[(till, own)] = Call("reversal")
            self.model = expected
            if outcome == "nothing_to_reverse":
                self.tombstones.append((till, target))
        else:
            assert response.json()["error"]["code"] == want, (want, response.text)
            self.model.keys[(till, own)] = Call("refused")
        self.sent.append((till, own, "/reversals", {"idempotency_key": target}, response))

    def replay(self, pick: int) -> None:
        """The same request under the same key: the first answer again, nothing done again,
        unless the key was reversed."""
        if not self.sent:
            return
        till, key, path, body, first = self.sent[pick % len(self.sent)]
        again = self._post(till, path, body, key)
        if self.model.keys[(till, key)].reversed:
            assert again.json()["error"]["code"] == "idempotency_key_reversed", again.text
        else:
            assert (again.status_code, again.json()) == (first.status_code, first.json())
            assert again.headers["Idempotent-Replayed"] == "true"

    def reuse_a_key(self, pick: int, tombstone: bool) -> None:
        """Another request under a known key is refused, and does nothing."""
        pool = self.tombstones if tombstone else [(t, k) for t, k, *_ in self.sent]
        if not pool:
            return
        till, key = pool[pick % len(pool)]
        other = {"amount_minor": 7, "currency": "EUR"}
        again = self._post(till, f"/vouchers/{self.codes[0]}/redemptions", other, key)
        code = (
            "idempotency_key_reversed"
            if self.model.keys[(till, key)].reversed
            else ("idempotency_key_reused")
        )
        assert again.json()["error"]["code"] == code, again.text

    # --- what must hold after every step ----------------------------------------------------

    @invariant()
    def the_vouchers_and_the_books_are_what_the_model_says(self) -> None:
        with self.engine.connect() as conn:
            figures = conn.execute(
                text(
                    "SELECT code, state, balance_minor, held_minor FROM vouchers"
                    " WHERE issuer_id = :i"
                ),
                {"i": self.issuer_id},
            ).all()
            rows = conn.execute(
                text(
                    "SELECT v.code, h.type, h.status FROM voucher_history h"
                    " JOIN vouchers v ON v.id = h.voucher_id WHERE v.issuer_id = :i"
                    " AND h.operation_id IS NOT NULL ORDER BY h.id"
                ),
                {"i": self.issuer_id},
            ).all()
            totals = conn.execute(
                text(
                    "SELECT t.code, sum(t.amount_minor) FROM ledger_transfers t"
                    " JOIN ledger_accounts a ON a.id = t.debit_account_id"
                    " WHERE a.issuer_id = :i AND t.state = 'posted' GROUP BY t.code"
                ),
                {"i": self.issuer_id},
            ).all()
        model = self.model.vouchers
        assert {r.code: (r.state, r.balance_minor, r.held_minor) for r in figures} == {
            c: (v.state, v.balance, v.held) for c, v in model.items()
        }
        history: dict[str, list[list[str]]] = {code: [] for code in model}
        for code, type_, status in rows:
            history[code].append([type_, status])
        assert history == {c: v.history for c, v in model.items()}
        assert Counter({code: int(total) for code, total in totals}) == +self.model.posted

    def teardown(self) -> None:
        with self.engine.connect() as conn:
            assert violations(conn) == {}


@pytest.fixture
def economy_client(engine: Engine, ledger_holds: None) -> Iterator[TestClient]:
    with TestClient(create_app(engine=engine), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.timeout(0)
def test_the_till_follows_the_model(engine: Engine, economy_client: TestClient) -> None:
    TillEconomy.engine, TillEconomy.client = engine, economy_client
    run_state_machine_as_test(
        TillEconomy,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    print("\n".join(f"{n:6d}  {what}" for what, n in sorted(SEEN.items())))
