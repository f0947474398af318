"""Issuer scope for users, store scope for bulk operations (issue 13, items 8 and 9).

``users.issuer_ids``: the issuers a user may see, next to ``store_ids``; NULL means every
issuer. ``bulk_operations.store_ids``: the stores a bulk operation was limited to because a
store user made it (NULL: made at head office, every voucher of the selection); the job reads
it when it runs or resumes, so the limit holds for the whole run.
``bulk_operations.unknown_codes``: the codes a selection by explicit codes named that match no
voucher the operation may touch; they are counted and reported as refused (``not_found``)
instead of being dropped.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("issuer_ids", ARRAY(sa.BigInteger()), nullable=True))
    op.add_column("bulk_operations", sa.Column("store_ids", ARRAY(sa.BigInteger()), nullable=True))
    op.add_column(
        "bulk_operations",
        sa.Column(
            "unknown_codes",
            ARRAY(sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'::text[]"),
        ),
    )


def downgrade() -> None:
    op.drop_column("bulk_operations", "unknown_codes")
    op.drop_column("bulk_operations", "store_ids")
    op.drop_column("users", "issuer_ids")
