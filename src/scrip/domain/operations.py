"""The kinds of POS operation that move value, one spec each. No I/O.

Every value-moving operation at the till — sell, redeem, refund, reload, return unused, balance
transfer — is held inside an open receipt or posted at once, and either way ends in the same
*after-posted* step. What differs between them is data, written here once:

* ``action``: the life-cycle action asked of the voucher when the operation is made;
* ``event``: the type of the history row it writes (``voucher.sold`` …);
* ``code``: the transfer code of its main ledger leg (``domain.ledger.TransferCode``);
* ``pending_state``: the state the voucher shows while the operation is held (``activating``,
  ``refunding``), or None when it keeps its state;
* ``partial_confirm``: whether the receipt may be confirmed for less than was held (only a
  payment: the customer paid the rest otherwise);
* ``credits_voucher``: value flows onto the voucher, so the maximum balance bounds it, counting
  what is already held for it.

The stored value of :class:`Kind` is the one ``receipt_operations.kind`` keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from scrip.domain.ledger import TransferCode
from scrip.domain.lifecycle import Action, State


class Kind(StrEnum):
    """A value-moving POS operation, as ``receipt_operations.kind`` stores it."""

    sell = "sell"
    redeem = "redeem"
    refund = "refund"
    reload = "reload"
    return_unused = "return"
    transfer = "transfer"


@dataclass(frozen=True, slots=True)
class Spec:
    kind: Kind
    action: Action
    event: str
    code: TransferCode
    pending_state: State | None
    partial_confirm: bool
    credits_voucher: bool


SPECS: Mapping[Kind, Spec] = MappingProxyType(
    {
        Kind.sell: Spec(
            Kind.sell,
            Action.activate,
            "voucher.sold",
            TransferCode.sale,
            State.activating,
            partial_confirm=False,
            credits_voucher=True,
        ),
        Kind.redeem: Spec(
            Kind.redeem,
            Action.redeem,
            "voucher.redeemed",
            TransferCode.redemption,
            None,
            partial_confirm=True,
            credits_voucher=False,
        ),
        Kind.refund: Spec(
            Kind.refund,
            Action.refund,
            "voucher.refunded",
            TransferCode.refund,
            None,
            partial_confirm=False,
            credits_voucher=True,
        ),
        Kind.reload: Spec(
            Kind.reload,
            Action.reload,
            "voucher.reloaded",
            TransferCode.reload,
            None,
            partial_confirm=False,
            credits_voucher=True,
        ),
        Kind.return_unused: Spec(
            Kind.return_unused,
            Action.refund_unused,
            "voucher.returned",
            TransferCode.return_unused,
            State.refunding,
            partial_confirm=False,
            credits_voucher=False,
        ),
        Kind.transfer: Spec(
            Kind.transfer,
            Action.transfer_out,
            "voucher.transferred_out",
            TransferCode.transfer,
            None,
            partial_confirm=False,
            credits_voucher=False,
        ),
    }
)


def spec_of(kind: str) -> Spec:
    return SPECS[Kind(kind)]


def projected_forfeit(*, multi_use: bool, balance: int, held: int) -> int:
    """What a one-time voucher forfeits when the payments held on it are confirmed in full:
    everything they leave. A multi-use voucher forfeits nothing."""
    return 0 if multi_use else max(balance - held, 0)
