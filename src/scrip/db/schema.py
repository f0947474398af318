"""The tables, declared once with SQLAlchemy Core; Alembic migrations are written against them.

Money columns are ``<name>_minor BIGINT`` beside a ``currency CHAR(3)``. The ledger's zero-sum
rule is structural (a transfer has exactly one debit and one credit account) and the database
enforces positive amounts and distinct accounts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id() -> Column[int]:
    return Column("id", BigInteger, Identity(), primary_key=True)


def _created_at() -> Column[object]:
    return Column(
        "created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")
    )


issuers = Table(
    "issuers",
    metadata,
    _id(),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("timezone", Text, nullable=False),
    Column("code_prefix", String(16), nullable=False, server_default=""),
    Column("barcode_format", String(16), nullable=False, server_default="code128"),
    Column("receipt_number_required", Boolean, nullable=False, server_default=text("false")),
    Column("pin_max_attempts", Integer, nullable=False, server_default=text("3")),
    Column("receipt_timeout_s", Integer, nullable=False, server_default=text("900")),
    _created_at(),
)

stores = Table(
    "stores",
    metadata,
    _id(),
    Column("issuer_id", ForeignKey("issuers.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", Text, nullable=False),
    Column("timezone", Text, nullable=True),
    _created_at(),
    UniqueConstraint("issuer_id", "code"),
)

registers = Table(
    "registers",
    metadata,
    _id(),
    Column("store_id", ForeignKey("stores.id"), nullable=False),
    Column("serial_number", String(64), nullable=False),
    Column("api_key_hash", String(64), nullable=False, unique=True),
    Column("api_key_hint", String(12), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    _created_at(),
    UniqueConstraint("store_id", "serial_number"),
)

operators = Table(
    "operators",
    metadata,
    _id(),
    Column("issuer_id", ForeignKey("issuers.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", Text, nullable=False),
    UniqueConstraint("issuer_id", "code"),
)

# How the codes of a voucher type look (S3); a type without a template uses the issuer's prefix
# and 16 digits with a Luhn check digit. ``length`` or ``pattern`` (e.g. ``GC-####-####``).
code_templates = Table(
    "code_templates",
    metadata,
    _id(),
    Column("issuer_id", ForeignKey("issuers.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("prefix", String(16), nullable=False, server_default=""),
    Column("length", Integer, nullable=True),
    Column("pattern", String(64), nullable=True),
    Column("alphabet", String(16), nullable=False, server_default="digits"),
    Column("check_digit", Boolean, nullable=False, server_default=text("true")),
    Column("banned_words", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    # At most this many valid codes per million possible ones: the chance that a guess hits.
    Column("max_guess_ratio_ppm", Integer, nullable=False, server_default=text("100")),
    _created_at(),
    UniqueConstraint("issuer_id", "name"),
    CheckConstraint("alphabet IN ('digits', 'safe_alnum')", name="alphabet"),
    CheckConstraint("(length IS NULL) <> (pattern IS NULL)", name="length_or_pattern"),
    CheckConstraint("max_guess_ratio_ppm BETWEEN 0 AND 1000000", name="ratio_ppm"),
)


def _restriction_columns() -> list[Column[Any]]:
    """Where and for what a voucher pays (S6): NULL means no restriction.

    On a voucher type they are the rule; on a voucher they override the type's rule, set by its
    lot or a bulk modification (S9), so the till reads ``coalesce(voucher, type)``.
    """
    return [
        Column("supported_products", ARRAY(Text), nullable=True),
        Column("supported_product_groups", ARRAY(Text), nullable=True),
        Column("allowed_store_ids", ARRAY(BigInteger), nullable=True),
    ]


voucher_types = Table(
    "voucher_types",
    metadata,
    _id(),
    Column("issuer_id", ForeignKey("issuers.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", Text, nullable=False),
    Column("classification", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("value_mode", String(8), nullable=False),  # fixed | variable
    Column("face_value_minor", BigInteger, nullable=True),
    Column("extra_value_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("multi_use", Boolean, nullable=False, server_default=text("true")),
    Column("reloadable", Boolean, nullable=False, server_default=text("false")),
    Column("max_balance_minor", BigInteger, nullable=True),
    Column("min_activation_receipt_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("min_payment_receipt_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("validity_basis", String(16), nullable=False, server_default="from_activation"),
    Column("validity_days", Integer, nullable=True),
    Column("valid_from_on", Date, nullable=True),
    Column("valid_until_on", Date, nullable=True),
    Column("pin_length", Integer, nullable=True),
    Column("return_to_prepared", Boolean, nullable=False, server_default=text("false")),
    Column("template_id", ForeignKey("code_templates.id"), nullable=True),
    *_restriction_columns(),
    # E-vouchers: 'personal' (only the buyer uses it) or 'shareable' (only the recipient does).
    Column("e_voucher_use", String(16), nullable=True),
    _created_at(),
    UniqueConstraint("issuer_id", "code"),
    CheckConstraint("value_mode IN ('fixed', 'variable')", name="value_mode"),
    CheckConstraint("value_mode = 'variable' OR face_value_minor > 0", name="fixed_has_face_value"),
    CheckConstraint("extra_value_minor >= 0", name="extra_value_not_negative"),
    CheckConstraint(
        "e_voucher_use IS NULL OR e_voucher_use IN ('personal', 'shareable')", name="e_voucher_use"
    ),
)

ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    _id(),
    Column("issuer_id", ForeignKey("issuers.id"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("store_id", ForeignKey("stores.id"), nullable=True),
    _created_at(),
)
Index(
    "uq_ledger_accounts_shared",
    ledger_accounts.c.issuer_id,
    ledger_accounts.c.kind,
    ledger_accounts.c.currency,
    text("coalesce(store_id, 0)"),
    unique=True,
    postgresql_where=text("kind <> 'voucher_liability'"),
)

vouchers = Table(
    "vouchers",
    metadata,
    _id(),
    Column("issuer_id", ForeignKey("issuers.id"), nullable=False),
    Column("type_id", ForeignKey("voucher_types.id"), nullable=False),
    Column("account_id", ForeignKey("ledger_accounts.id"), nullable=False, unique=True),
    Column("code", String(64), nullable=False),
    Column("serial_number", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("face_value_minor", BigInteger, nullable=True),
    Column("extra_value_minor", BigInteger, nullable=False, server_default=text("0")),
    # The cached posted balance and held amount of the voucher's own liability account; the
    # row is locked on every movement anyway, so the cache costs nothing extra (LESSONS.md).
    Column("balance_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("held_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("valid_from", DateTime(timezone=True), nullable=True),
    Column("valid_until", DateTime(timezone=True), nullable=True),
    # When the expiry job expires the voucher: valid_until while it can expire (active or
    # depleted), else NULL. The expiry index covers this column instead of naming ``state``,
    # so a state change that leaves it alone (activation without a window, active ->
    # depleted) touches no index and is a HOT update (migration 0009).
    Column(
        "expires_at",
        DateTime(timezone=True),
        Computed("CASE WHEN state IN ('active', 'depleted') THEN valid_until END", persisted=True),
        nullable=True,
    ),
    Column("card_id", String(64), nullable=True),
    Column("card_holder_id", String(64), nullable=True),
    Column("pin_hash", String(128), nullable=True),
    Column("pin_failed_count", Integer, nullable=False, server_default=text("0")),
    Column("pin_locked", Boolean, nullable=False, server_default=text("false")),
    # The open receipt whose pending operation moved this voucher into a transient state.
    Column("pending_receipt_id", BigInteger, nullable=True),
    Column("activated_at", DateTime(timezone=True), nullable=True),
    Column("activated_store_id", ForeignKey("stores.id"), nullable=True),
    # The secret number in the vault (crypto.py): AES-GCM nonce + ciphertext and its key id.
    Column("secret_key_id", String(32), nullable=True),
    Column("secret_sealed", LargeBinary, nullable=True),
    Column("lot_id", ForeignKey("lots.id"), nullable=True, index=True),
    # Who set a block (domain.blocks.BlockedBy), at which store, and why; NULL when not blocked.
    Column("blocked_by", String(16), nullable=True),
    Column("block_store_id", BigInteger, nullable=True),
    Column("block_reason", String(200), nullable=True),
    *_restriction_columns(),
    _created_at(),
    UniqueConstraint("issuer_id", "code"),
    UniqueConstraint("type_id", "serial_number"),
    CheckConstraint("balance_minor >= 0", name="balance_not_negative"),
    CheckConstraint("held_minor >= 0 AND held_minor <= balance_minor", name="held_within_balance"),
    # Half of each page stays free when vouchers are written (a lot's COPY), so updating every
    # voucher of a page once (a bulk activation, the first redemptions) finds room for the new
    # versions on the same page: a HOT update, no new index entries.
    postgresql_with={"fillfactor": 50},
)

# A lot: N vouchers of one type generated together (S3, S9). Generation runs chunk by chunk;
# ``done_count`` commits with each chunk, so a crashed lot resumes where it stopped.
lots = Table(
    "lots",
    metadata,
    _id(),
    Column("issuer_id", ForeignKey("issuers.id"), nullable=False),
    Column("type_id", ForeignKey("voucher_types.id"), nullable=False),
    Column("count", Integer, nullable=False),
    Column("face_value_minor", BigInteger, nullable=True),
    Column("extra_value_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("valid_from", DateTime(timezone=True), nullable=True),
    Column("valid_until", DateTime(timezone=True), nullable=True),
    Column("campaign", Text, nullable=True),
    Column("state", String(16), nullable=False),
    # Serials serial_from .. serial_from + count - 1 are reserved for the lot when it is made;
    # chunk k holds the chunk_size serials from serial_from + k * chunk_size.
    Column("serial_from", BigInteger, nullable=False),
    Column("chunk_size", Integer, nullable=False),
    Column("status", String(10), nullable=False, server_default="queued"),
    Column("done_count", Integer, nullable=False, server_default=text("0")),
    Column("created_by", Text, nullable=False),
    Column("error", Text, nullable=True),
    _created_at(),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("count > 0", name="count_positive"),
    CheckConstraint("done_count BETWEEN 0 AND count", name="done_within_count"),
    CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
)

# A bulk operation (S9): one group record per run over a selection of vouchers. ``boundaries``
# (the first voucher id of each chunk, in id order) is fixed when the run starts; each chunk
# commits with the vouchers it moved, their history rows and its row in bulk_operation_chunks,
# so a crashed run does only the chunks without one and never does a voucher twice.
bulk_operations = Table(
    "bulk_operations",
    metadata,
    _id(),
    Column("issuer_id", ForeignKey("issuers.id"), nullable=False),
    Column("action", String(16), nullable=False),
    Column("selection", JSONB, nullable=False),
    Column("operator", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("all_or_nothing", Boolean, nullable=False, server_default=text("false")),
    Column("chunk_size", Integer, nullable=False),
    Column("status", String(10), nullable=False, server_default="queued"),
    # How many vouchers the selection held when the operation was made: the progress figure's
    # denominator (vouchers can still change until each chunk locks them).
    Column("total_count", Integer, nullable=False),
    Column("selected_count", Integer, nullable=False, server_default=text("0")),
    Column("done_count", Integer, nullable=False, server_default=text("0")),
    Column("refused_count", Integer, nullable=False, server_default=text("0")),
    Column("refused_sample", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("boundaries", JSONB, nullable=True),
    Column("error", Text, nullable=True),
    _created_at(),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    # The stores a store user's operation is limited to (NULL: head office's, no limit).
    Column("store_ids", ARRAY(BigInteger), nullable=True),
    # Explicit codes that matched no voucher it may touch: counted and reported as refused.
    Column("unknown_codes", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
    CheckConstraint("done_count + refused_count <= selected_count", name="counts_within_selected"),
)

bulk_operation_chunks = Table(
    "bulk_operation_chunks",
    metadata,
    Column("operation_id", ForeignKey("bulk_operations.id"), primary_key=True),
    Column("chunk", Integer, primary_key=True),
    Column("selected_count", Integer, nullable=False),
    Column("done_count", Integer, nullable=False),
    Column("refused_count", Integer, nullable=False),
    _created_at(),
)

# The expiry job's scan: only vouchers that can still expire (see lifecycle's expire action).
Index(
    "ix_vouchers_expires_at",
    vouchers.c.expires_at,
    postgresql_where=text("expires_at IS NOT NULL"),
)

ledger_transfers = Table(
    "ledger_transfers",
    metadata,
    _id(),
    Column("operation_id", Uuid, nullable=False, index=True),
    Column("debit_account_id", ForeignKey("ledger_accounts.id"), nullable=False, index=True),
    Column("credit_account_id", ForeignKey("ledger_accounts.id"), nullable=False, index=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("code", String(16), nullable=False),
    Column("state", String(8), nullable=False),
    Column("receipt_id", BigInteger, nullable=True),
    _created_at(),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    # A reversal transfer names the transfer it compensates (what was spent is counted net of
    # reversed payments and refunds); NULL on every other transfer.
    Column("reverses_transfer_id", BigInteger, nullable=True),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
    CheckConstraint("state IN ('pending', 'posted', 'voided', 'expired')", name="state"),
)
# The reports net a reversal against the operation it undid (db.reports): reversals are few,
# and this finds them by date without reading the transfers they are among.
Index(
    "ix_ledger_transfers_reversal",
    ledger_transfers.c.resolved_at,
    postgresql_where=text("code = 'reversal' AND state = 'posted'"),
)

receipts = Table(
    "receipts",
    metadata,
    _id(),
    Column("issuer_id", ForeignKey("issuers.id"), nullable=False),
    Column("store_id", ForeignKey("stores.id"), nullable=False),
    Column("register_id", ForeignKey("registers.id"), nullable=False),
    Column("receipt_number", String(64), nullable=True),
    Column("z_report", String(32), nullable=True),
    Column("operator_code", String(32), nullable=True),
    Column("amount_minor", BigInteger, nullable=True),
    Column("state", String(12), nullable=False),  # open | confirmed | cancelled | expired
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    # Promotions issued vouchers into the open receipt: its close settles them (0011).
    Column("has_pending_issues", Boolean, nullable=False, server_default=text("false")),
    CheckConstraint(
        "state IN ('open', 'confirmed', 'cancelled', 'expired', 'reversed')", name="state"
    ),
)
Index("ix_receipts_open_expiry", receipts.c.expires_at, postgresql_where=text("state = 'open'"))

# A POS receipt number belongs to the first register that claims it (per issuer): several
# tenders of one bill share it, another register recycling it is refused.
receipt_claims = Table(
    "receipt_claims",
    metadata,
    Column("issuer_id", ForeignKey("issuers.id"), primary_key=True),
    Column("receipt_number", String(64), primary_key=True),
    Column("register_id", ForeignKey("registers.id"), nullable=False),
    Column("receipt_id", BigInteger, nullable=True),
    _created_at(),
)

# Operations of an open receipt: what confirming posts and cancelling undoes.
receipt_operations = Table(
    "receipt_operations",
    metadata,
    _id(),
    Column("receipt_id", ForeignKey("receipts.id"), nullable=False, index=True),
    # One operation may hold on several vouchers (a sale of many cards on one call). Looked up
    # by the unique (operation_id, voucher_id) index below: no index of its own (0010).
    Column("operation_id", Uuid, nullable=False),
    Column("voucher_id", ForeignKey("vouchers.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("state_before", String(16), nullable=False),
    Column("state_on_confirm", String(16), nullable=False),
    Column("target_voucher_id", BigInteger, nullable=True),
    Column("state", String(12), nullable=False, server_default="pending"),
    UniqueConstraint("operation_id", "voucher_id"),
)

voucher_history = Table(
    "voucher_history",
    metadata,
    _id(),
    Column("voucher_id", ForeignKey("vouchers.id"), nullable=False),
    Column("operation_id", Uuid, nullable=True),
    Column("type", String(32), nullable=False),
    Column("status", String(10), nullable=False),  # recorded | pending | cancelled
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("store_id", BigInteger, nullable=True),
    Column("register_id", BigInteger, nullable=True),
    Column("receipt_id", BigInteger, nullable=True),
    Column("receipt_number", String(64), nullable=True),
    Column("z_report", String(32), nullable=True),
    Column("operator_code", String(32), nullable=True),
    Column("amount_minor", BigInteger, nullable=True),
    Column("balance_after_minor", BigInteger, nullable=False),
    Column("state_before", String(16), nullable=True),
    Column("state_after", String(16), nullable=False),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    CheckConstraint("status IN ('recorded', 'pending', 'cancelled')", name="status"),
)
Index("ix_voucher_history_voucher", voucher_history.c.voucher_id, voucher_history.c.id)
# The activity report counts reversals apart (db.reports): few rows among every history row.
Index(
    "ix_voucher_history_reversal",
    voucher_history.c.occurred_at,
    postgresql_where=text("type = 'voucher.reversed' AND status = 'recorded'"),
)
# Only rows that belong to an operation are ever looked up by it; bulk and lot history rows
# have none, and a partial index spares a million index entries per million-voucher run.
Index(
    "ix_voucher_history_operation",
    voucher_history.c.operation_id,
    postgresql_where=text("operation_id IS NOT NULL"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("register_id", ForeignKey("registers.id"), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("response", JSONB, nullable=True),
    Column("operation_id", Uuid, nullable=True),
    # A reversal by key: the effect was undone, or (tombstone) a late original is refused.
    Column("reversed_at", DateTime(timezone=True), nullable=True),
    # What the call was (services.reversal.Call) and the receipt it opened, confirmed or
    # cancelled: what a reversal by this key undoes, or why it can't.
    Column("call", String(16), nullable=True),
    Column("receipt_id", BigInteger, nullable=True),
    _created_at(),
)

# --- issue 4: bulk edits and complete voucher types (migration 0005) --------------------------

# What a bulk edit (change_validity, modify) sets, checked and normalised when the operation is
# made, so a resumed run applies exactly the same values: column -> value.
bulk_operations.append_column(
    Column("changes", JSONB, nullable=False, server_default=text("'{}'::jsonb"))
)

# A refund voucher type names the refund method whose refunds create its vouchers (S10).
voucher_types.append_column(Column("refund_method", String(32), nullable=True))


# --- web back office (issue 6): users, roles, sessions, API tokens, audit trail ---------------

# A role grants a level per area (domain.rights): ``{"lots": "write", "vouchers": "read"}``.
roles = Table(
    "roles",
    metadata,
    _id(),
    Column("name", String(32), nullable=False, unique=True),
    Column("grants", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    _created_at(),
)

# ``store_ids`` NULL: every store; otherwise the user sees only those stores' records.
# ``issuer_ids`` NULL: every issuer; otherwise only those issuers' records (domain.scope).
users = Table(
    "users",
    metadata,
    _id(),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),  # argon2id
    Column("role_id", ForeignKey("roles.id"), nullable=False),
    Column("store_ids", ARRAY(BigInteger), nullable=True),
    Column("issuer_ids", ARRAY(BigInteger), nullable=True),
    # The TOTP secret sealed by the vault (``key_id:base64``); NULL: no second factor.
    Column("totp_sealed", Text, nullable=True),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    # Password guessing: after too many failures in a row the login is refused for a while.
    Column("failed_logins", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    _created_at(),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
)

# Server-side login sessions: the cookie holds a random token, the row its SHA-256, so logging
# out or disabling a user ends every session at once.
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("ip", Text, nullable=True),
    _created_at(),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Bearer tokens of the admin API, one user each; only the SHA-256 is stored.
api_tokens = Table(
    "api_tokens",
    metadata,
    _id(),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("hint", String(16), nullable=False),
    Column("name", Text, nullable=False),
    _created_at(),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# Every administrative action, append-only (a trigger refuses UPDATE, DELETE and TRUNCATE) and
# hash-chained: ``hash`` = SHA-256 of ``prev_hash`` and the row's canonical content.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("user_id", BigInteger, nullable=True),
    Column("action", Text, nullable=False),
    Column("target", Text, nullable=True),
    Column("ip", Text, nullable=True),
    Column("outcome", Text, nullable=False),
    Column("before", JSONB, nullable=True),
    Column("after", JSONB, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# The back office finds a voucher by any identifier; card ids are rare, so partial indexes cost
# nothing when lots of a million are written without them.
Index(
    "ix_vouchers_card_id",
    vouchers.c.issuer_id,
    vouchers.c.card_id,
    postgresql_where=text("card_id IS NOT NULL"),
)
Index(
    "ix_vouchers_card_holder_id",
    vouchers.c.issuer_id,
    vouchers.c.card_holder_id,
    postgresql_where=text("card_holder_id IS NOT NULL"),
)


# --- Rules at the till (issue 5): restrictions, discounts, holders, club cards, points and
# promotions. Columns added to the types and vouchers above are appended here, so this block
# merges on its own.

for _column in (
    # Days of week (ISO 1-7) and an hour window in minutes after local midnight, in the
    # store's time zone; from > until runs across midnight (domain/schedule.py).
    Column("allowed_days", ARRAY(Integer), nullable=True),
    Column("allowed_from_minute", Integer, nullable=True),
    Column("allowed_until_minute", Integer, nullable=True),
    # At most this many vouchers of the type pay on one receipt.
    Column("max_per_receipt", Integer, nullable=True),
    # Discount vouchers: percent (basis points) of the qualifying lines, capped by the value.
    Column("discount_percent_bp", Integer, nullable=True),
    # Paying with a voucher of this type still earns loyalty points (told to the POS).
    Column("earns_points", Boolean, nullable=False, server_default=text("true")),
):
    voucher_types.append_column(_column)

# A customer account; ``holder_ref`` is the card-holder id the CRM or the POS knows them by.
holders = Table(
    "holders",
    metadata,
    _id(),
    Column("issuer_id", ForeignKey("issuers.id"), nullable=False),
    Column("holder_ref", String(64), nullable=False),
    Column("name", Text, nullable=True),
    Column("email", String(254), nullable=True),
    _created_at(),
    UniqueConstraint("issuer_id", "holder_ref"),
)

# A club (loyalty) card with its points account; the row is locked to spend points, so the
# cached balance is safe (the same reasoning as a voucher's balance_minor).
club_cards = Table(
    "club_cards",
    metadata,
    _id(),
    Column("issuer_id", ForeignKey("issuers.id"), nullable=False),
    Column("holder_id", ForeignKey("holders.id"), nullable=True, index=True),
    Column("card_id", String(64), nullable=False),
    Column("state", String(12), nullable=False, server_default="inactive"),
    Column("points_balance", BigInteger, nullable=False, server_default=text("0")),
    Column("activated_at", DateTime(timezone=True), nullable=True),
    _created_at(),
    UniqueConstraint("issuer_id", "card_id"),
    CheckConstraint("points_balance >= 0", name="points_not_negative"),
    CheckConstraint("state IN ('inactive', 'active', 'blocked')", name="state"),
)

# Earn / spend history of a card's points: the balance is their sum.
points_entries = Table(
    "points_entries",
    metadata,
    _id(),
    Column("club_card_id", ForeignKey("club_cards.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("operation_id", Uuid, nullable=True),
    Column("reason", Text, nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("kind IN ('earn', 'spend', 'adjust')", name="kind"),
    CheckConstraint("points <> 0", name="points_not_zero"),
)
Index("ix_points_entries_card", points_entries.c.club_card_id, points_entries.c.id)

for _column in (
    # E-vouchers: a personal one is used only by its buyer, a shareable one by its recipient.
    Column("buyer_holder_id", ForeignKey("holders.id"), nullable=True),
    Column("recipient_holder_id", ForeignKey("holders.id"), nullable=True),
):
    vouchers.append_column(_column)

# Promotions that issue vouchers at the till (S8); ``params`` holds what the kind needs
# (domain/promotions.py), limits per receipt and per holder default to S7.4's 3 and 5.
promotions = Table(
    "promotions",
    metadata,
    _id(),
    Column("issuer_id", ForeignKey("issuers.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("status", String(12), nullable=False, server_default="draft"),
    Column("starts_on", Date, nullable=True),
    Column("ends_on", Date, nullable=True),
    Column("allowed_days", ARRAY(Integer), nullable=True),
    Column("from_minute", Integer, nullable=True),
    Column("until_minute", Integer, nullable=True),
    Column("store_ids", ARRAY(BigInteger), nullable=True),
    Column("receipt_text", Text, nullable=False, server_default=""),
    Column("voucher_type_id", ForeignKey("voucher_types.id"), nullable=False),
    Column("params", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("max_per_receipt", Integer, nullable=False, server_default=text("3")),
    Column("max_per_holder", Integer, nullable=False, server_default=text("5")),
    _created_at(),
    UniqueConstraint("issuer_id", "code"),
    CheckConstraint("status IN ('draft', 'active', 'paused', 'ended')", name="status"),
    CheckConstraint("max_per_receipt > 0 AND max_per_holder > 0", name="limits_positive"),
)

# Each voucher a promotion issued: pending inside an open receipt, issued on confirmation.
promotion_issues = Table(
    "promotion_issues",
    metadata,
    _id(),
    Column("promotion_id", ForeignKey("promotions.id"), nullable=False, index=True),
    Column("voucher_id", ForeignKey("vouchers.id"), nullable=False, unique=True),
    Column("holder_id", ForeignKey("holders.id"), nullable=True),
    Column("receipt_id", BigInteger, nullable=True, index=True),
    Column("operation_id", Uuid, nullable=False),
    Column("state", String(12), nullable=False),
    _created_at(),
    CheckConstraint("state IN ('pending', 'issued', 'cancelled')", name="state"),
)

# Limits of S7.4 counted under concurrency: one row per scope (a receipt, or a promotion and
# holder), raised by a guarded upsert that refuses past the limit.
issue_counters = Table(
    "issue_counters",
    metadata,
    Column("scope", String(96), primary_key=True),
    Column("issued_count", Integer, nullable=False),
    CheckConstraint("issued_count >= 0", name="not_negative"),
)
