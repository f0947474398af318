"""Who blocked a voucher, and who may lift the block. No I/O.

A block carries who set it (:class:`BlockedBy`), the store of the till that set it, and why. A
till lifts only a block a till of its own store set (a cashier blocking a card a customer is
unsure of, then unblocking it); a block set in the back office (one voucher or in bulk, by a
user with the right and a reason) and the block a balance transfer leaves on the old card are
lifted only in the back office. A back-office block also stops payments already held on the
card at confirmation (``voucher_blocked``), as does a till's; the transfer's own block does not,
because it left the held value behind for exactly those payments.
"""

from __future__ import annotations

from enum import StrEnum

from scrip.domain.errors import Conflict


class BlockedBy(StrEnum):
    till = "till"
    back_office = "back_office"
    transfer = "transfer"


def check_till_may_lift(blocked_by: str | None, block_store_id: int | None, store_id: int) -> None:
    """Refuse (``block_not_liftable_here``) a till's unblock of a block it may not lift. A
    block recorded before blocks carried their origin counts as the back office's."""
    origin = BlockedBy(blocked_by) if blocked_by else BlockedBy.back_office
    if origin is BlockedBy.till and block_store_id == store_id:
        return
    raise Conflict(
        "this block can be lifted only where it was set"
        + (" (a till of the store that set it)" if origin is BlockedBy.till else " (back office)"),
        code="block_not_liftable_here",
        blocked_by=origin.value,
    )


def stops_held_payments(state: str, blocked_by: str | None) -> bool:
    """True when a block stops what is held on the voucher from being confirmed."""
    return state == "blocked" and blocked_by != BlockedBy.transfer
