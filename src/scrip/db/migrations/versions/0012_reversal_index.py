"""Reversals by date, for the reports: ``ix_ledger_transfers_reversal`` (posted reversal
transfers) and ``ix_voucher_history_reversal`` (recorded reversal history rows).

The reports now count a reversal by key as the negative of the operation it undid, in the
period of the reversal (``db.reports``), so every report over a range reads the range's
reversals. They are few among millions of transfers and history rows; these partial indexes
find them without a scan.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ledger_transfers_reversal",
        "ledger_transfers",
        ["resolved_at"],
        postgresql_where=sa.text("code = 'reversal' AND state = 'posted'"),
    )
    op.create_index(
        "ix_voucher_history_reversal",
        "voucher_history",
        ["occurred_at"],
        postgresql_where=sa.text("type = 'voucher.reversed' AND status = 'recorded'"),
    )


def downgrade() -> None:
    op.drop_index("ix_voucher_history_reversal", table_name="voucher_history")
    op.drop_index("ix_ledger_transfers_reversal", table_name="ledger_transfers")
