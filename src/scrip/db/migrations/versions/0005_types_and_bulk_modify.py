"""Back office at scale, the rest (issue 4): bulk validity and modify, voucher types complete.

Reserved in sequence so the three pieces of work can land in any order; empty until its tables land.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
