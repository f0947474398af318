"""Activation is a HOT update: no index names the columns it changes, and the pages keep room.

The expiry index named ``state`` in its predicate, so every state change (an activation, a
till's ``active -> depleted``) wrote a new entry into every index of ``vouchers``: for a
bulk activation of a million, five index entries per voucher were most of its cost. The index
now covers ``expires_at``, a stored generated column that is ``valid_until`` while the
voucher can expire (active or depleted) and NULL otherwise: it holds exactly the vouchers the
old one held, but a state change that leaves it NULL (activating a voucher without a window)
or unchanged (``active -> depleted``) touches no index. A fillfactor of 50 leaves each page
room for one new version of each of its vouchers, which a HOT update needs.

Adding the stored column rewrites the table (and, with the fillfactor set first, writes it
half full): on a large database this migration takes a while and an exclusive lock.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXPIRES_AT = "CASE WHEN state IN ('active', 'depleted') THEN valid_until END"


def upgrade() -> None:
    op.execute("ALTER TABLE vouchers SET (fillfactor = 50)")
    op.add_column(
        "vouchers",
        sa.Column(
            "expires_at",
            sa.DateTime(timezone=True),
            sa.Computed(EXPIRES_AT, persisted=True),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_vouchers_expires_at",
        "vouchers",
        ["expires_at"],
        postgresql_where=sa.text("expires_at IS NOT NULL"),
    )
    op.drop_index("ix_vouchers_expiring", table_name="vouchers")


def downgrade() -> None:
    op.create_index(
        "ix_vouchers_expiring",
        "vouchers",
        ["valid_until"],
        postgresql_where=sa.text("state IN ('active', 'depleted') AND valid_until IS NOT NULL"),
    )
    op.drop_index("ix_vouchers_expires_at", table_name="vouchers")
    op.drop_column("vouchers", "expires_at")
    op.execute("ALTER TABLE vouchers RESET (fillfactor)")
