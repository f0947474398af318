"""The history's operation index holds only rows that have an operation: bulk operations and lots
write a million history rows without one, and each was an index entry nobody looks up.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_voucher_history_operation", table_name="voucher_history")
    op.create_index(
        "ix_voucher_history_operation",
        "voucher_history",
        ["operation_id"],
        postgresql_where=sa.text("operation_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_voucher_history_operation", table_name="voucher_history")
    op.create_index("ix_voucher_history_operation", "voucher_history", ["operation_id"])
