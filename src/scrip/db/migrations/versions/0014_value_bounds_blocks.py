"""What the till needs to keep value bounded and blocks owned (issue 13).

* ``ledger_transfers.reverses_transfer_id``: a reversal transfer names the transfer it
  compensates, so what was *spent* on a voucher (the most a refund may return) is counted net
  of reversed payments and reversed refunds, and every reversal is traceable to what it undid.
* ``vouchers.blocked_by``, ``block_store_id``, ``block_reason``: who set a block (a till, the
  back office, a balance transfer), at which store and why; a till lifts only a till's block of
  its own store, and a back-office block stops payments already held on the card.
* ``idempotency_keys.call`` and ``receipt_id``: what a stored call was (an operation, a receipt
  opened, confirmed or cancelled, a reversal), so a reversal by its key knows what to undo — a
  confirmed receipt as a whole — or refuses (``not_reversible``) without poisoning the key.
* ``receipts.state`` may be ``reversed``: a confirmed receipt undone by its confirm key.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ledger_transfers", sa.Column("reverses_transfer_id", sa.BigInteger()))
    op.add_column("vouchers", sa.Column("blocked_by", sa.String(16)))
    op.add_column("vouchers", sa.Column("block_store_id", sa.BigInteger()))
    op.add_column("vouchers", sa.Column("block_reason", sa.String(200)))
    op.add_column("idempotency_keys", sa.Column("call", sa.String(16)))
    op.add_column("idempotency_keys", sa.Column("receipt_id", sa.BigInteger()))
    op.drop_constraint("state", "receipts", type_="check")
    op.create_check_constraint(
        "state",
        "receipts",
        "state IN ('open', 'confirmed', 'cancelled', 'expired', 'reversed')",
    )


def downgrade() -> None:
    op.drop_constraint("state", "receipts", type_="check")
    op.create_check_constraint(
        "state", "receipts", "state IN ('open', 'confirmed', 'cancelled', 'expired')"
    )
    op.drop_column("idempotency_keys", "receipt_id")
    op.drop_column("idempotency_keys", "call")
    op.drop_column("vouchers", "block_reason")
    op.drop_column("vouchers", "block_store_id")
    op.drop_column("vouchers", "blocked_by")
    op.drop_column("ledger_transfers", "reverses_transfer_id")
