"""Back office at scale, the rest (issue 4): bulk validity and modify, voucher types complete.

First the restriction columns the till (issue 5) and bulk modify (issue 4) share: supported
products and product groups and allowed stores, on the type (the rule) and on the voucher (its
override); and whether an e-voucher type is personal or shareable.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_RESTRICTIONS = ("supported_products", "supported_product_groups", "allowed_store_ids")


def _restriction_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("supported_products", ARRAY(sa.Text), nullable=True),
        sa.Column("supported_product_groups", ARRAY(sa.Text), nullable=True),
        sa.Column("allowed_store_ids", ARRAY(sa.BigInteger), nullable=True),
    ]


def upgrade() -> None:
    for table in ("voucher_types", "vouchers"):
        for column in _restriction_columns():
            op.add_column(table, column)
    op.add_column("voucher_types", sa.Column("e_voucher_use", sa.String(16), nullable=True))
    op.create_check_constraint(
        "e_voucher_use",
        "voucher_types",
        "e_voucher_use IS NULL OR e_voucher_use IN ('personal', 'shareable')",
    )
    op.add_column("voucher_types", sa.Column("refund_method", sa.String(32), nullable=True))
    op.add_column(
        "bulk_operations",
        sa.Column("changes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )


def downgrade() -> None:
    op.drop_column("bulk_operations", "changes")
    op.drop_column("voucher_types", "refund_method")
    op.drop_constraint("e_voucher_use", "voucher_types", type_="check")
    op.drop_column("voucher_types", "e_voucher_use")
    for table in ("voucher_types", "vouchers"):
        for name in _RESTRICTIONS:
            op.drop_column(table, name)
