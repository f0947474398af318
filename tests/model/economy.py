"""A reference model of the voucher economy, in plain Python: what each voucher's value and
state *should* be after any interleaving of till calls, written from the spec, not from scrip.

It knows four types (a reloadable gift card with a maximum balance, a one-time certificate, a
reusable certificate, a printed voucher with a bonus), receipts (open, hold, confirm for less
or leave out, cancel, time-out), reversals of any key, and replays. For every call it predicts
the answer — the amount taken, what a one-time voucher forfeits, or the refusal's code — and
the state it leaves: each voucher's state, balance and holds, its history rows, and the posted
total of every transfer code. The rules it holds the system to:

* value comes only from a sale, a bonus, a reload or a refund, and leaves only by a payment, a
  forfeit, a return or a transfer; a reversal restores exactly what its operation did;
* a refund returns at most what was paid, net of reversed payments and of refunds already
  posted or held; a credit may not lift the balance plus what is held for the voucher above its
  maximum; a one-time voucher forfeits only what a *confirmed* payment left;
* a hold reduces what is available, never the balance; a receipt closes whole.

The order in which checks refuse is the till's documented order (``services.pos``): receipt,
voucher, pending elsewhere, life cycle, then the amounts.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field

MAX_BALANCE = 100_000
Legs = list[tuple[str, int, int]]  # (transfer code, amount, +1 onto the voucher / -1 off)


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Type:
    classification: str
    multi_use: bool
    face: int | None
    bonus: int
    reloadable: bool
    max_balance: int | None
    initial: str


TYPES = {
    "card": Type("gift_card", True, None, 0, True, MAX_BALANCE, "prepared"),
    "cert": Type("gift_certificate", False, 5_000, 0, False, None, "prepared"),
    "multi_cert": Type("gift_certificate", True, 5_000, 0, False, None, "prepared"),
    "printed": Type("printed_voucher", True, 2_000, 500, False, None, "accepted"),
}

# (classification, state, action) -> state: the life cycles of S2, for these four types.
_CARD = {
    ("prepared", "activate"): "active",
    ("active", "redeem"): "active",
    ("active", "redeem_final"): "depleted",
    ("active", "refund"): "active",
    ("depleted", "refund"): "active",
    ("active", "reload"): "active",
    ("depleted", "reload"): "active",
    ("active", "block"): "blocked",
    ("blocked", "unblock"): "active",
    ("active", "transfer_out"): "blocked",
    ("prepared", "transfer_in"): "active",
    ("active", "transfer_in"): "active",
}
_CERT = {
    ("prepared", "activate"): "active",
    ("active", "redeem"): "active",
    ("active", "redeem_final"): "redeemed",
    ("active", "refund"): "active",
    ("redeemed", "refund"): "active",
    ("active", "refund_unused"): "refunded",
}
_PRINTED = {
    ("accepted", "activate"): "active",
    ("active", "redeem"): "active",
    ("active", "redeem_final"): "redeemed",
    ("active", "refund"): "active",
    ("redeemed", "refund"): "active",
}
LIFE = {"gift_card": _CARD, "gift_certificate": _CERT, "printed_voucher": _PRINTED}


@dataclass
class Voucher:
    code: str
    type: Type
    state: str
    balance: int = 0
    held: int = 0  # pending debits
    held_for: int = 0  # pending credits
    receipt: int | None = None  # the open receipt it belongs to
    blocked_by: str | None = None
    block_store: str | None = None
    history: list[list[str]] = field(default_factory=list)  # [type, status]

    def next(self, action: str) -> str:
        target = LIFE[self.type.classification].get((self.state, action))
        if target is None:
            raise Refused("transition_not_allowed")
        return target


@dataclass
class Part:
    """What a posted operation did to one voucher, as its history row records it."""

    code: str
    state_before: str
    state_after: str
    legs: Legs
    row: list[str]  # the history row, to settle


@dataclass
class Op:
    kind: str  # sell redeem refund reload return transfer block unblock
    codes: list[str]
    receipt: int | None
    state: str  # posted | pending | released | reversed
    amount: int = 0  # what the receipt keeps (what it may be confirmed for)
    debit: int = 0  # held off the first voucher
    credit: int = 0  # held for the voucher credited (the first, or a transfer's target)
    state_before: str = ""
    target_state_before: str = ""
    state_on_confirm: str = ""
    parts: list[Part] = field(default_factory=list)
    rows: dict[str, list[str]] = field(default_factory=dict)  # pending history rows by code
    lifted: tuple[str | None, str | None] | None = None  # what an unblock lifted


@dataclass
class Receipt:
    till: str
    state: str = "open"
    ops: list[Op] = field(default_factory=list)


@dataclass
class Call:
    """What a key was used for: what a reversal by it undoes, and what a replay answers."""

    what: str  # op | open | confirm | cancel | reversal | refused
    op: Op | None = None
    receipt: int | None = None
    reversed: bool = False


@dataclass
class Answer:
    amount: int = 0
    forfeited: int = 0
    status: str = ""  # recorded | pending, or a receipt's / reversal's outcome
    receipt: int | None = None


@dataclass
class Economy:
    vouchers: dict[str, Voucher]
    stores: dict[str, str]  # till -> store
    receipts: dict[int, Receipt] = field(default_factory=dict)
    keys: dict[tuple[str, str], Call] = field(default_factory=dict)  # (till, key)
    posted: Counter[str] = field(default_factory=Counter)
    last_op: Op | None = None  # the operation the last call made, for its key

    def copy(self) -> Economy:
        return copy.deepcopy(self)

    # --- where an operation goes ---------------------------------------------------------

    def _receipt(self, till: str, receipt: int | None) -> Receipt | None:
        if receipt is None:
            return None
        found = self.receipts.get(receipt)
        if found is None or found.till != till:
            raise Refused("receipt_not_found")
        if found.state != "open":
            raise Refused(f"receipt_{found.state}")
        return found

    def _voucher(self, code: str) -> Voucher:
        if code not in self.vouchers:
            raise Refused("voucher_not_found")
        return self.vouchers[code]

    @staticmethod
    def _not_elsewhere(v: Voucher, receipt: int | None) -> None:
        if v.receipt is not None and v.receipt != receipt:
            raise Refused("held_elsewhere")

    def refundable(self, code: str) -> int:
        """Posted payments net of reversals, less refunds posted or held."""
        total = 0
        for call_op in self._ops():
            if call_op.state == "reversed":
                continue  # the reversal compensated every leg of it
            for part in call_op.parts:
                if part.code != code:
                    continue
                for transfer, amount, _ in part.legs:
                    if transfer == "redemption":
                        total += amount
                    elif transfer == "refund":
                        total -= amount
            if call_op.state == "pending" and call_op.kind == "refund" and code in call_op.codes:
                total -= call_op.amount
        return total

    def _ops(self) -> list[Op]:
        seen: dict[int, Op] = {}
        for call in self.keys.values():
            if call.op is not None:
                seen[id(call.op)] = call.op
        for receipt in self.receipts.values():
            for op in receipt.ops:
                seen[id(op)] = op
        return list(seen.values())

    @staticmethod
    def _credit_bound(v: Voucher, amount: int) -> None:
        if v.type.max_balance is not None and v.balance + v.held_for + amount > v.type.max_balance:
            raise Refused("max_balance_exceeded")

    # --- posting -------------------------------------------------------------------------

    def _post(self, v: Voucher, transfer: str, amount: int, sign: int, legs: Legs) -> None:
        if amount <= 0:
            return
        v.balance += sign * amount
        self.posted[transfer] += amount
        legs.append((transfer, amount, sign))

    def _settle_payment(self, v: Voucher, legs: Legs) -> int:
        """After a payment is posted: a one-time voucher forfeits its rest; a voucher at zero
        (or any one-time voucher) is used up. Only an active voucher settles."""
        if v.state != "active":
            return 0
        forfeited = 0
        if not v.type.multi_use and v.balance > 0:
            forfeited = v.balance - v.held
            self._post(v, "forfeit", forfeited, -1, legs)
        if v.balance == 0 or not v.type.multi_use:
            v.state = v.next("redeem_final")
        return forfeited

    def _row(self, v: Voucher, kind: str, pending: bool) -> list[str]:
        row = [kind, "pending" if pending else "recorded"]
        v.history.append(row)
        return row

    def _begin(
        self, kind: str, receipt: Receipt | None, rid: int | None, vouchers: list[Voucher]
    ) -> Op:
        op = Op(kind, [v.code for v in vouchers], rid, "pending" if receipt else "posted")
        if receipt is not None:
            receipt.ops.append(op)
        self.last_op = op
        return op

    @staticmethod
    def _hold(op: Op, debit: Voucher, credit: Voucher, debited: int, credited: int) -> None:
        debit.held += debited
        credit.held_for += credited
        op.debit, op.credit = debited, credited

    # --- the till's operations -----------------------------------------------------------

    def sell(self, till: str, code: str, amount: int | None, rid: int | None) -> Answer:
        receipt = self._receipt(till, rid)
        v = self._voucher(code)
        self._not_elsewhere(v, rid)
        target = v.next("activate")
        if v.type.face is not None:
            if amount is not None and amount != v.type.face:
                raise Refused("fixed_value")
            value = v.type.face
        else:
            if amount is None:
                raise Refused("amount_required")
            if v.type.max_balance is not None and amount > v.type.max_balance:
                raise Refused("max_balance_exceeded")
            value = amount
        op = self._begin("sell", receipt, rid, [v])
        op.amount, op.state_before, op.state_on_confirm = value, v.state, target
        event = "voucher.sold"
        if receipt is not None:
            self._hold(op, v, v, 0, value + v.type.bonus)
            v.state, v.receipt = "activating", rid
            op.rows[code] = self._row(v, event, True)
        else:
            legs: Legs = []
            before = v.state
            self._post(v, "sale", value, +1, legs)
            self._post(v, "bonus", v.type.bonus, +1, legs)
            v.state = target
            op.parts = [Part(code, before, v.state, legs, self._row(v, event, False))]
        return Answer(value, 0, "pending" if receipt is not None else "recorded")

    def redeem(self, till: str, code: str, amount: int, partial: bool, rid: int | None) -> Answer:
        receipt = self._receipt(till, rid)
        v = self._voucher(code)
        v.next("redeem")
        if not v.type.multi_use:
            self._not_elsewhere(v, rid)
        free = v.balance - v.held
        if amount <= free:
            taken = amount
        elif partial and free > 0:
            taken = free
        elif amount <= v.balance:
            raise Refused("held_elsewhere")
        else:
            raise Refused("insufficient_balance")
        op = self._begin("redeem", receipt, rid, [v])
        op.amount, op.state_before, op.state_on_confirm = taken, v.state, v.state
        event = "voucher.redeemed"
        if receipt is not None:
            self._hold(op, v, v, taken, 0)
            if not v.type.multi_use:
                v.receipt = rid
            op.rows[code] = self._row(v, event, True)
            forfeit = 0 if v.type.multi_use else max(v.balance - v.held, 0)
            return Answer(taken, forfeit, "pending")
        legs: Legs = []
        before = v.state
        self._post(v, "redemption", taken, -1, legs)
        forfeited = self._settle_payment(v, legs)
        op.parts = [Part(code, before, v.state, legs, self._row(v, event, False))]
        return Answer(taken, forfeited, "recorded")

    def credit(self, till: str, kind: str, code: str, amount: int, rid: int | None) -> Answer:
        """A refund or a reload."""
        receipt = self._receipt(till, rid)
        v = self._voucher(code)
        self._not_elsewhere(v, rid)
        target = v.next(kind)
        if kind == "reload":
            if not v.type.reloadable:
                raise Refused("not_reloadable")
        elif amount > self.refundable(code):
            raise Refused("refund_exceeds_spent")
        self._credit_bound(v, amount)
        op = self._begin(kind, receipt, rid, [v])
        op.amount, op.state_before, op.state_on_confirm = amount, v.state, target
        event = "voucher.refunded" if kind == "refund" else "voucher.reloaded"
        if receipt is not None:
            self._hold(op, v, v, 0, amount)
            v.receipt = rid
            op.rows[code] = self._row(v, event, True)
            return Answer(amount, 0, "pending")
        legs: Legs = []
        before = v.state
        self._post(v, kind, amount, +1, legs)
        v.state = target
        op.parts = [Part(code, before, v.state, legs, self._row(v, event, False))]
        return Answer(amount, 0, "recorded")

    def return_unused(self, till: str, code: str, rid: int | None) -> Answer:
        receipt = self._receipt(till, rid)
        v = self._voucher(code)
        self._not_elsewhere(v, rid)
        target = v.next("refund_unused")
        if v.held > 0 or v.receipt is not None or self.refundable(code) > 0:
            raise Refused("voucher_used")
        paid = v.balance - min(v.type.bonus, v.balance)
        op = self._begin("return", receipt, rid, [v])
        op.amount, op.state_before, op.state_on_confirm = paid, v.state, target
        event = "voucher.returned"
        if receipt is not None:
            self._hold(op, v, v, v.balance, 0)
            v.state, v.receipt = "refunding", rid
            op.rows[code] = self._row(v, event, True)
            return Answer(paid, 0, "pending")
        legs: Legs = []
        before = v.state
        self._post(v, "return_unused", v.balance, -1, legs)
        v.state = target
        op.parts = [Part(code, before, v.state, legs, self._row(v, event, False))]
        return Answer(paid, 0, "recorded")

    def transfer(self, till: str, code: str, target_code: str, rid: int | None) -> Answer:
        receipt = self._receipt(till, rid)
        if code == target_code:
            raise Refused("duplicate_voucher")
        source, target = self._voucher(code), self._voucher(target_code)
        self._not_elsewhere(source, rid)
        self._not_elsewhere(target, rid)
        source_state = source.next("transfer_out")
        target.next("transfer_in")
        amount = source.balance - source.held
        if amount <= 0:
            raise Refused("insufficient_balance")
        self._credit_bound(target, amount)
        op = self._begin("transfer", receipt, rid, [source, target])
        op.amount, op.state_before, op.state_on_confirm = amount, source.state, source_state
        if receipt is not None:
            self._hold(op, source, target, amount, amount)
            op.target_state_before = target.state
            source.receipt = target.receipt = rid
            op.rows[code] = self._row(source, "voucher.transferred_out", True)
            op.rows[target_code] = self._row(target, "voucher.transferred_in", True)
            return Answer(amount, 0, "pending")
        before = (source.state, target.state)
        op.parts = self._post_transfer(source, target, amount, source_state, None, before)
        return Answer(amount, 0, "recorded")

    def _post_transfer(
        self,
        source: Voucher,
        target: Voucher,
        amount: int,
        source_state: str,
        rows: dict[str, list[str]] | None,
        before: tuple[str, str],
    ) -> list[Part]:
        out: Legs = []
        into: Legs = []
        self._post(source, "transfer", amount, -1, out)
        target.balance += amount
        into.append(("transfer", amount, +1))
        source.state, source.blocked_by, source.block_store = source_state, "transfer", None
        if target.state != "active":
            target.state = "active"
        return [
            Part(
                source.code,
                before[0],
                source.state,
                out,
                rows[source.code] if rows else self._row(source, "voucher.transferred_out", False),
            ),
            Part(
                target.code,
                before[1],
                target.state,
                into,
                rows[target.code] if rows else self._row(target, "voucher.transferred_in", False),
            ),
        ]

    def block(self, till: str, code: str) -> Answer:
        v = self._voucher(code)
        before = v.state
        v.state = v.next("block")
        v.blocked_by, v.block_store = "till", self.stores[till]
        op = Op("block", [code], None, "posted")
        op.parts = [Part(code, before, v.state, [], self._row(v, "voucher.blocked", False))]
        self.last_op = op
        return Answer(0, 0, "recorded")

    def unblock(self, till: str, code: str) -> Answer:
        v = self._voucher(code)
        before = v.state
        target = v.next("unblock")
        if not (v.blocked_by == "till" and v.block_store == self.stores[till]):
            raise Refused("block_not_liftable_here")
        op = Op("unblock", [code], None, "posted", lifted=(v.blocked_by, v.block_store))
        v.state, v.blocked_by, v.block_store = target, None, None
        op.parts = [Part(code, before, v.state, [], self._row(v, "voucher.unblocked", False))]
        self.last_op = op
        return Answer(0, 0, "recorded")

    # --- receipts --------------------------------------------------------------------------

    def open(self, till: str, rid: int) -> None:
        self.receipts[rid] = Receipt(till)

    def confirm(self, till: str, rid: int, amounts: dict[int, int]) -> Answer:
        """``amounts``: by position among the receipt's pending operations."""
        receipt = self._receipt(till, rid)
        assert receipt is not None
        pending = [op for op in receipt.ops if op.state == "pending"]
        confirmed: list[int] = []
        for index, op in enumerate(pending):
            amount = amounts.get(index, op.amount)
            if amount > op.amount or amount < 0:
                raise Refused("confirm_exceeds_hold")
            if 0 < amount < op.amount and op.kind != "redeem":
                raise Refused("partial_confirm_not_allowed")
            confirmed.append(amount)
        for op, amount in zip(pending, confirmed, strict=True):
            v = self.vouchers[op.codes[0]]
            if amount > 0 and v.state == "blocked" and v.blocked_by != "transfer":
                raise Refused("voucher_blocked")
        forfeited = 0
        for op, amount in zip(pending, confirmed, strict=True):
            if amount == 0:
                self._release(op, "released")
            else:
                forfeited += self._confirm_one(till, op, amount)
        for op in pending:
            for code in op.codes:
                if self.vouchers[code].receipt == rid:
                    self.vouchers[code].receipt = None
        receipt.state = "confirmed"
        return Answer(0, forfeited, "confirmed")

    def _confirm_one(self, till: str, op: Op, amount: int) -> int:
        v = self.vouchers[op.codes[0]]
        before = op.state_before
        legs: Legs = []
        forfeited = 0
        if op.kind == "sell":
            v.held_for -= op.credit
            self._post(v, "sale", op.amount, +1, legs)
            self._post(v, "bonus", v.type.bonus, +1, legs)
            v.state = op.state_on_confirm
        elif op.kind == "redeem":
            v.held -= op.debit
            self._post(v, "redemption", amount, -1, legs)
            forfeited = self._settle_payment(v, legs)
        elif op.kind in ("refund", "reload"):
            v.held_for -= op.credit
            self._post(v, op.kind, op.amount, +1, legs)
            v.state = op.state_on_confirm
        elif op.kind == "return":
            v.held -= op.debit
            self._post(v, "return_unused", op.debit, -1, legs)
            v.state = op.state_on_confirm
        else:
            target = self.vouchers[op.codes[1]]
            v.held -= op.debit
            target.held_for -= op.credit
            before_both = (op.state_before, op.target_state_before)  # as the rows recorded
            op.parts = self._post_transfer(
                v, target, op.amount, op.state_on_confirm, op.rows, before_both
            )
            for part in op.parts:
                part.row[1] = "recorded"
            op.state = "posted"
            return 0
        op.parts = [Part(v.code, before, v.state, legs, op.rows[v.code])]
        op.rows[v.code][1] = "recorded"
        op.state = "posted"
        return forfeited

    def _release(self, op: Op, outcome: str) -> None:
        self.vouchers[op.codes[0]].held -= op.debit
        self.vouchers[op.codes[-1]].held_for -= op.credit
        for code in op.codes:
            v = self.vouchers[code]
            op.rows[code][1] = "cancelled"
            if v.state in ("activating", "refunding"):
                v.state = op.state_before
            if v.receipt == op.receipt:
                v.receipt = None
        op.state = outcome

    def close(self, till: str, rid: int, outcome: str) -> Answer:
        """Cancel (``cancelled``) or time out (``expired``) an open receipt."""
        receipt = self._receipt(till, rid) if outcome == "cancelled" else self.receipts[rid]
        assert receipt is not None
        for op in receipt.ops:
            if op.state == "pending":
                self._release(op, "released")
        receipt.state = outcome
        return Answer(0, 0, outcome)

    # --- reversal by key -------------------------------------------------------------------

    def reverse(self, till: str, key: str, own: str) -> str:
        if key == own:
            raise Refused("reversal_of_itself")
        call = self.keys.get((till, key))
        if call is None:
            self.keys[(till, key)] = Call("tombstone", reversed=True)
            return "nothing_to_reverse"
        if call.reversed:
            return "already_reversed"
        if call.what == "refused":
            outcome = "was_refused"
        elif call.what == "confirm":
            outcome = self._undo_receipt(till, call.receipt or 0)
        elif call.what == "open":
            receipt = self.receipts[call.receipt or 0]
            if receipt.state != "open":
                raise Refused("not_reversible")
            self.close(till, call.receipt or 0, "cancelled")
            outcome = "reversed"
        elif call.what in ("cancel", "reversal"):
            raise Refused("not_reversible")
        else:
            assert call.op is not None
            outcome = self._undo_op(till, call.op)
        call.reversed = True
        return outcome

    def _undo_receipt(self, till: str, rid: int) -> str:
        receipt = self.receipts[rid]
        posted = [op for op in receipt.ops if op.state == "posted"]
        for op in reversed(posted):
            self._undo_posted(till, op)
        self._check_held([code for op in posted for code in op.codes])
        if receipt.state == "confirmed":
            receipt.state = "reversed"
        return "reversed"

    def _undo_op(self, till: str, op: Op) -> str:
        if op.state == "pending":
            self._release(op, "reversed")
            return "reversed"
        if op.state == "released":
            return "was_released"
        if op.state == "reversed":
            return "already_reversed"
        self._undo_posted(till, op)
        self._check_held(op.codes)
        return "reversed"

    def _check_held(self, codes: list[str]) -> None:
        if any(self.vouchers[c].balance < self.vouchers[c].held for c in codes):
            raise Refused("reversal_not_possible")

    def _undo_posted(self, till: str, op: Op) -> None:
        for part in op.parts:
            if self.vouchers[part.code].state != part.state_after:
                raise Refused("reversal_not_possible")
        for part in op.parts:
            v = self.vouchers[part.code]
            unpaid = sum(a for t, a, _ in part.legs if t == "redemption")
            unrefunded = sum(a for t, a, _ in part.legs if t == "refund")
            if unpaid > unrefunded and self.refundable(part.code) - unpaid + unrefunded < 0:
                raise Refused("reversal_not_possible")
            back = -sum(sign * a for _, a, sign in part.legs)
            limit = v.type.max_balance
            if back > 0 and limit is not None and v.balance + v.held_for + back > limit:
                raise Refused("reversal_not_possible")
        for part in op.parts:
            v = self.vouchers[part.code]
            for _, amount, sign in part.legs:
                v.balance -= sign * amount
        # One compensating transfer per posted transfer: a transfer's leg is both parts' leg.
        legs = sum(a for part in op.parts for _, a, _ in part.legs)
        self.posted["reversal"] += legs - (op.amount if op.kind == "transfer" else 0)
        for part in op.parts:
            v = self.vouchers[part.code]
            v.state = part.state_before
            if v.state != "blocked":
                v.blocked_by = v.block_store = None
            elif op.lifted is not None:
                v.blocked_by, v.block_store = op.lifted
            self._row(v, "voucher.reversed", False)
        op.state = "reversed"
