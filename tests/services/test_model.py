"""The POS services against a model: a Hypothesis state machine sells, reloads, redeems,
holds in receipts, confirms, cancels, refunds and transfers gift cards, one committed
transaction per step, and after every step compares each card with a plain-Python model of
balances, holds and states. Every refusal must be the one the model predicts, and the
ledger must hold throughout."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Connection, Engine, text

from scrip.db.invariants import violations
from scrip.domain.errors import ScripError
from scrip.domain.money import Money
from scrip.services import pos, receipts
from scrip.services.till import ReceiptInput
from tests import builders
from tests.builders import World

CARDS = 3
MAX_BALANCE = 100_000  # the "card" type's maximum
OPENING_BALANCES = (5_000, 3_000)
amounts = st.one_of(
    st.integers(1, 3_000), st.sampled_from([5_000, 8_000, MAX_BALANCE, MAX_BALANCE + 1])
)


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Card:
    state: str = "prepared"
    balance: int = 0
    held: int = 0
    spent: int = 0  # redeemed and not refunded: the most a refund may return


@dataclass
class Receipt:
    state: str = "open"
    holds: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Model:
    """What the services should do, in the order they check things."""

    cards: dict[str, Card]
    receipts: dict[int, Receipt] = field(default_factory=dict)

    def sell(self, code: str, amount: int) -> None:
        card = self.cards[code]
        if card.state != "prepared":
            raise Refused("transition_not_allowed")
        if amount > MAX_BALANCE:
            raise Refused("max_balance_exceeded")
        card.state, card.balance = "active", amount

    def _take(self, card: Card, amount: int, partial: bool) -> int:
        if card.state != "active":
            raise Refused("transition_not_allowed")
        free = card.balance - card.held
        if amount <= free:
            return amount
        if partial and free > 0:
            return free
        raise Refused("held_elsewhere" if amount <= card.balance else "insufficient_balance")

    def redeem(self, code: str, amount: int, partial: bool) -> None:
        card = self.cards[code]
        taken = self._take(card, amount, partial)
        self._debit(card, taken)

    def _debit(self, card: Card, amount: int) -> None:
        card.balance -= amount
        card.spent += amount
        # A hold confirmed after its card was blocked (a balance transfer leaves held value
        # behind) still posts; the card stays blocked rather than becoming depleted.
        if card.balance == 0 and card.state == "active":
            card.state = "depleted"

    def hold(self, receipt_id: int, code: str, amount: int, partial: bool) -> None:
        receipt = self.receipts[receipt_id]
        if receipt.state != "open":
            raise Refused(f"receipt_{receipt.state}")
        card = self.cards[code]
        taken = self._take(card, amount, partial)
        card.held += taken
        receipt.holds.append((code, taken))

    def _credit(self, code: str, amount: int) -> Card:
        card = self.cards[code]
        if card.state not in ("active", "depleted"):
            raise Refused("transition_not_allowed")
        return card

    def reload(self, code: str, amount: int) -> None:
        card = self._credit(code, amount)
        if card.balance + amount > MAX_BALANCE:
            raise Refused("max_balance_exceeded")
        card.balance += amount
        card.state = "active"

    def refund(self, code: str, amount: int) -> None:
        card = self._credit(code, amount)
        if amount > card.spent:
            raise Refused("refund_exceeds_spent")
        card.balance += amount
        card.spent -= amount
        card.state = "active"

    def transfer(self, source_code: str, target_code: str) -> None:
        source, target = self.cards[source_code], self.cards[target_code]
        if source.state != "active" or target.state not in ("prepared", "active"):
            raise Refused("transition_not_allowed")
        amount = source.balance - source.held
        if amount <= 0:
            raise Refused("insufficient_balance")
        if target.balance + amount > MAX_BALANCE:
            raise Refused("max_balance_exceeded")
        source.balance -= amount
        source.state = "blocked"
        target.balance += amount
        target.state = "active"

    def close(self, receipt_id: int, verb: str) -> None:
        receipt = self.receipts[receipt_id]
        if receipt.state != "open":
            raise Refused(f"receipt_{receipt.state}")
        for code, amount in receipt.holds:
            card = self.cards[code]
            card.held -= amount
            if verb == "confirm":
                self._debit(card, amount)
        receipt.state = "confirmed" if verb == "confirm" else "cancelled"


class Ledger(RuleBasedStateMachine):
    """One fresh issuer per example; each rule is one committed transaction."""

    engine: ClassVar[Engine]
    receipt_ids = Bundle("receipt_ids")

    def __init__(self) -> None:
        super().__init__()
        with self.engine.begin() as conn:
            self.world: World = builders.world(conn)
            self.codes = builders.vouchers(conn, self.world, "card", count=CARDS)
        self.model = Model({code: Card() for code in self.codes})
        for code, value in zip(self.codes, OPENING_BALANCES, strict=False):
            self.sell(self.codes.index(code), value)  # all but the last start active

    def _step(self, predict: Callable[[Model], None], call: Callable[[Connection], object]) -> None:
        """Run the model and the service; both must succeed or refuse alike. The model's
        change is kept only when the service's transaction committed."""
        expected = copy.deepcopy(self.model)
        try:
            predict(expected)
            want = None
        except Refused as refusal:
            want = refusal.code
        try:
            with self.engine.begin() as conn:
                call(conn)
            got = None
        except ScripError as error:
            got = error.code
        assert got == want, f"service said {got!r}, the model {want!r}"
        if got is None:
            self.model = expected

    cards = st.integers(0, CARDS - 1)

    @rule(card=cards, amount=amounts)
    def sell(self, card: int, amount: int) -> None:
        code = self.codes[card]
        self._step(
            lambda m: m.sell(code, amount),
            lambda conn: pos.sell(
                conn,
                till=self.world.till,
                items=[pos.SaleItem(code, amount)],
                receipt=ReceiptInput(),
                now=builders.now(),
            ),
        )

    @rule(card=cards, amount=amounts, partial=st.booleans())
    def redeem(self, card: int, amount: int, partial: bool) -> None:
        code = self.codes[card]
        self._step(lambda m: m.redeem(code, amount, partial), self._redeem(code, amount, partial))

    def _redeem(
        self, code: str, amount: int, partial: bool, receipt_id: int | None = None
    ) -> Callable[[Connection], object]:
        return lambda conn: pos.redeem(
            conn,
            till=self.world.till,
            code=code,
            amount=Money(amount, "EUR"),
            partial_allowed=partial,
            pin=None,
            receipt=ReceiptInput(receipt_id=receipt_id),
            now=builders.now(),
        )

    @rule(card=cards, amount=amounts)
    def reload(self, card: int, amount: int) -> None:
        code = self.codes[card]
        self._step(
            lambda m: m.reload(code, amount),
            lambda conn: pos.reload(
                conn,
                till=self.world.till,
                code=code,
                amount=Money(amount, "EUR"),
                receipt=ReceiptInput(),
                now=builders.now(),
            ),
        )

    @rule(card=cards, amount=st.integers(1, 1_500))
    def refund(self, card: int, amount: int) -> None:
        code = self.codes[card]
        self._step(
            lambda m: m.refund(code, amount),
            lambda conn: pos.refund(
                conn,
                till=self.world.till,
                code=code,
                amount=Money(amount, "EUR"),
                receipt=ReceiptInput(),
                now=builders.now(),
            ),
        )

    @rule(source=cards, offset=st.integers(1, CARDS - 1))
    def transfer(self, source: int, offset: int) -> None:
        code, target = self.codes[source], self.codes[(source + offset) % CARDS]
        self._step(
            lambda m: m.transfer(code, target),
            lambda conn: pos.transfer_balance(
                conn,
                till=self.world.till,
                code=code,
                target_code=target,
                pin=None,
                receipt=ReceiptInput(),
                now=builders.now(),
            ),
        )

    @rule(target=receipt_ids)
    def open_receipt(self) -> int:
        with self.engine.begin() as conn:
            opened = receipts.open_receipt(
                conn,
                till=self.world.till,
                receipt=ReceiptInput(),
                timeout_s=3_600,
                now=builders.now(),
            )
        self.model.receipts[opened.receipt_id] = Receipt()
        return opened.receipt_id

    @rule(receipt_id=receipt_ids, card=cards, amount=amounts, partial=st.booleans())
    def hold(self, receipt_id: int, card: int, amount: int, partial: bool) -> None:
        code = self.codes[card]
        self._step(
            lambda m: m.hold(receipt_id, code, amount, partial),
            self._redeem(code, amount, partial, receipt_id),
        )

    @rule(receipt_id=receipt_ids, verb=st.sampled_from(["confirm", "cancel"]))
    def close(self, receipt_id: int, verb: str) -> None:
        service = receipts.confirm if verb == "confirm" else receipts.cancel
        self._step(
            lambda m: m.close(receipt_id, verb),
            lambda conn: service(
                conn, till=self.world.till, receipt_id=receipt_id, now=builders.now()
            ),
        )

    @invariant()
    def cards_match_the_model_and_the_ledger_holds(self) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT code, state, balance_minor, held_minor FROM vouchers"
                    " WHERE issuer_id = :issuer"
                ),
                {"issuer": self.world.issuer_id},
            ).all()
            broken = violations(conn)
        stored = {code: (state, balance, held) for code, state, balance, held in rows}
        modelled = {c: (v.state, v.balance, v.held) for c, v in self.model.cards.items()}
        assert stored == modelled
        assert broken == {}


@pytest.mark.timeout(120)
def test_services_follow_the_model(engine: Engine, ledger_holds: None) -> None:
    Ledger.engine = engine
    run_state_machine_as_test(
        Ledger,
        settings=settings(max_examples=30, stateful_step_count=25, deadline=None, database=None),
    )
