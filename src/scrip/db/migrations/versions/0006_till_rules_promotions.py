"""Rules at the till (issue 5): restrictions, discounts, holders, club cards, points, promotions.

New restriction columns on voucher types (days and hours, at most N per receipt, percent
discount, whether paying with it earns points); the buyer and recipient of e-vouchers; holders
and club cards with their points history; promotions, the vouchers they issued and the
counters that keep the limits of S7.4 under concurrency.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "issue_counters",
        sa.Column("scope", sa.String(length=96), nullable=False),
        sa.Column("issued_count", sa.Integer(), nullable=False),
        sa.CheckConstraint("issued_count >= 0", name=op.f("ck_issue_counters_not_negative")),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_issue_counters")),
    )
    op.create_table(
        "holders",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("issuer_id", sa.BigInteger(), nullable=False),
        sa.Column("holder_ref", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_holders_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holders")),
        sa.UniqueConstraint("issuer_id", "holder_ref", name=op.f("uq_holders_issuer_id")),
    )
    op.create_table(
        "club_cards",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("issuer_id", sa.BigInteger(), nullable=False),
        sa.Column("holder_id", sa.BigInteger(), nullable=True),
        sa.Column("card_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), server_default="inactive", nullable=False),
        sa.Column("points_balance", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "state IN ('inactive', 'active', 'blocked')", name=op.f("ck_club_cards_state")
        ),
        sa.CheckConstraint("points_balance >= 0", name=op.f("ck_club_cards_points_not_negative")),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["holders.id"], name=op.f("fk_club_cards_holder_id_holders")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_club_cards_issuer_id_issuers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_club_cards")),
        sa.UniqueConstraint("issuer_id", "card_id", name=op.f("uq_club_cards_issuer_id")),
    )
    op.create_index(op.f("ix_club_cards_holder_id"), "club_cards", ["holder_id"], unique=False)
    op.create_table(
        "points_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("club_card_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("operation_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('earn', 'spend', 'adjust')", name=op.f("ck_points_entries_kind")
        ),
        sa.CheckConstraint("points <> 0", name=op.f("ck_points_entries_points_not_zero")),
        sa.ForeignKeyConstraint(
            ["club_card_id"],
            ["club_cards.id"],
            name=op.f("fk_points_entries_club_card_id_club_cards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_entries")),
    )
    op.create_index(
        "ix_points_entries_card", "points_entries", ["club_card_id", "id"], unique=False
    )
    op.create_table(
        "promotions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("issuer_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="draft", nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("allowed_days", postgresql.ARRAY(sa.Integer()), nullable=True),
        sa.Column("from_minute", sa.Integer(), nullable=True),
        sa.Column("until_minute", sa.Integer(), nullable=True),
        sa.Column("store_ids", postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column("receipt_text", sa.Text(), server_default="", nullable=False),
        sa.Column("voucher_type_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("max_per_receipt", sa.Integer(), server_default=sa.text("3"), nullable=False),
        sa.Column("max_per_holder", sa.Integer(), server_default=sa.text("5"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'paused', 'ended')", name=op.f("ck_promotions_status")
        ),
        sa.CheckConstraint(
            "max_per_receipt > 0 AND max_per_holder > 0", name=op.f("ck_promotions_limits_positive")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuers.id"], name=op.f("fk_promotions_issuer_id_issuers")
        ),
        sa.ForeignKeyConstraint(
            ["voucher_type_id"],
            ["voucher_types.id"],
            name=op.f("fk_promotions_voucher_type_id_voucher_types"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
        sa.UniqueConstraint("issuer_id", "code", name=op.f("uq_promotions_issuer_id")),
    )
    op.create_table(
        "promotion_issues",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("promotion_id", sa.BigInteger(), nullable=False),
        sa.Column("voucher_id", sa.BigInteger(), nullable=False),
        sa.Column("holder_id", sa.BigInteger(), nullable=True),
        sa.Column("receipt_id", sa.BigInteger(), nullable=True),
        sa.Column("operation_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'issued', 'cancelled')", name=op.f("ck_promotion_issues_state")
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["holders.id"], name=op.f("fk_promotion_issues_holder_id_holders")
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotions.id"],
            name=op.f("fk_promotion_issues_promotion_id_promotions"),
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_promotion_issues_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_issues")),
        sa.UniqueConstraint("voucher_id", name=op.f("uq_promotion_issues_voucher_id")),
    )
    op.create_index(
        op.f("ix_promotion_issues_promotion_id"), "promotion_issues", ["promotion_id"], unique=False
    )
    op.create_index(
        op.f("ix_promotion_issues_receipt_id"), "promotion_issues", ["receipt_id"], unique=False
    )
    op.add_column(
        "voucher_types", sa.Column("allowed_days", postgresql.ARRAY(sa.Integer()), nullable=True)
    )
    op.add_column("voucher_types", sa.Column("allowed_from_minute", sa.Integer(), nullable=True))
    op.add_column("voucher_types", sa.Column("allowed_until_minute", sa.Integer(), nullable=True))
    op.add_column("voucher_types", sa.Column("max_per_receipt", sa.Integer(), nullable=True))
    op.add_column("voucher_types", sa.Column("discount_percent_bp", sa.Integer(), nullable=True))
    op.add_column(
        "voucher_types",
        sa.Column("earns_points", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    op.add_column("vouchers", sa.Column("buyer_holder_id", sa.BigInteger(), nullable=True))
    op.add_column("vouchers", sa.Column("recipient_holder_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_vouchers_buyer_holder_id_holders"),
        "vouchers",
        "holders",
        ["buyer_holder_id"],
        ["id"],
    )
    op.create_foreign_key(
        op.f("fk_vouchers_recipient_holder_id_holders"),
        "vouchers",
        "holders",
        ["recipient_holder_id"],
        ["id"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_vouchers_recipient_holder_id_holders"), "vouchers", type_="foreignkey"
    )
    op.drop_constraint(op.f("fk_vouchers_buyer_holder_id_holders"), "vouchers", type_="foreignkey")
    op.drop_column("vouchers", "recipient_holder_id")
    op.drop_column("vouchers", "buyer_holder_id")
    op.drop_column("voucher_types", "earns_points")
    op.drop_column("voucher_types", "discount_percent_bp")
    op.drop_column("voucher_types", "max_per_receipt")
    op.drop_column("voucher_types", "allowed_until_minute")
    op.drop_column("voucher_types", "allowed_from_minute")
    op.drop_column("voucher_types", "allowed_days")
    op.drop_index(op.f("ix_promotion_issues_receipt_id"), table_name="promotion_issues")
    op.drop_index(op.f("ix_promotion_issues_promotion_id"), table_name="promotion_issues")
    op.drop_table("promotion_issues")
    op.drop_table("promotions")
    op.drop_index("ix_points_entries_card", table_name="points_entries")
    op.drop_table("points_entries")
    op.drop_index(op.f("ix_club_cards_holder_id"), table_name="club_cards")
    op.drop_table("club_cards")
    op.drop_table("holders")
    op.drop_table("issue_counters")
