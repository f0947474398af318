"""Drop ``ix_receipt_operations_operation_id``: the unique (operation_id, voucher_id) index
already serves every look-up by operation id (its leading column), so the second index only
cost an entry, its WAL and its vacuum on every hold a till places.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_receipt_operations_operation_id", table_name="receipt_operations")


def downgrade() -> None:
    op.create_index("ix_receipt_operations_operation_id", "receipt_operations", ["operation_id"])
