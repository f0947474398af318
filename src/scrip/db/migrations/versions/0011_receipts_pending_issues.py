"""``receipts.has_pending_issues``: whether promotions issued vouchers into the open receipt.

Every receipt that closes (confirmed, cancelled, expired) had to ask ``promotion_issues`` for
pending issues to settle — a statement, and a round trip that also sent the close's queued
writes ahead of it — although most receipts never see a promotion. Issuing into an open receipt
now marks it (it holds the receipt's lock while it does, as the close does), and the close
settles only a marked receipt. Open receipts that already hold pending issues are marked here.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "receipts",
        sa.Column(
            "has_pending_issues", sa.Boolean(), nullable=False, server_default=sa.text("false")
        ),
    )
    op.execute(
        "UPDATE receipts SET has_pending_issues = true WHERE id IN"
        " (SELECT receipt_id FROM promotion_issues WHERE state = 'pending')"
    )


def downgrade() -> None:
    op.drop_column("receipts", "has_pending_issues")
