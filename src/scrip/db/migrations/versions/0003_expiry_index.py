"""An index for the expiry job: vouchers that can still expire, by the end of their validity.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_vouchers_expiring",
        "vouchers",
        ["valid_until"],
        unique=False,
        postgresql_where=sa.text("state IN ('active', 'depleted') AND valid_until IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_vouchers_expiring", table_name="vouchers")
