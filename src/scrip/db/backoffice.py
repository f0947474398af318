"""Read-only queries behind the back-office screens.

Every list is a keyset page: ``WHERE id < :before ORDER BY id DESC LIMIT :limit`` walks the
primary key backwards, so page 20,000 of a million vouchers costs what page 1 does (OFFSET
would read and throw away every row before the page). Filters are added from fixed SQL
fragments; values are always bound.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text


def _page(
    conn: Connection, sql: str, where: list[str], params: dict[str, Any], key: str
) -> list[Any]:
    """One keyset page of ``sql`` under the conditions ``where``, newest first by ``key``."""
    if params.get("before") is not None:
        where = [*where, f"{key} < :before"]
    clause = " WHERE " + " AND ".join(where) if where else ""
    full = f"{sql}{clause} ORDER BY {key} DESC LIMIT :limit"
    return [dict(row) for row in conn.execute(text(full), params).mappings()]


def list_issuers(conn: Connection, *, before: int | None, limit: int) -> list[Any]:
    sql = "SELECT id, code, name, currency, timezone, code_prefix, created_at FROM issuers"
    return _page(conn, sql, [], {"before": before, "limit": limit}, "id")


def list_stores(
    conn: Connection, *, store_ids: frozenset[int] | None, before: int | None, limit: int
) -> list[Any]:
    sql = (
        "SELECT s.id, s.code, s.name, i.code AS issuer, s.created_at FROM stores s"
        " JOIN issuers i ON i.id = s.issuer_id"
    )
    where = [] if store_ids is None else ["s.id = ANY(:scope)"]
    params = {"before": before, "limit": limit, "scope": list(store_ids or ())}
    return _page(conn, sql, where, params, "s.id")


def list_registers(
    conn: Connection, *, store_ids: frozenset[int] | None, before: int | None, limit: int
) -> list[Any]:
    sql = (
        "SELECT r.id, r.serial_number, r.api_key_hint, r.active, s.code AS store, r.created_at"
        " FROM registers r JOIN stores s ON s.id = r.store_id"
    )
    where = [] if store_ids is None else ["r.store_id = ANY(:scope)"]
    params = {"before": before, "limit": limit, "scope": list(store_ids or ())}
    return _page(conn, sql, where, params, "r.id")


def list_types(conn: Connection, *, before: int | None, limit: int) -> list[Any]:
    sql = (
        "SELECT t.id, t.code, t.name, t.classification, t.currency, t.value_mode,"
        " t.face_value_minor, t.extra_value_minor, i.code AS issuer, ct.name AS template"
        " FROM voucher_types t JOIN issuers i ON i.id = t.issuer_id"
        " LEFT JOIN code_templates ct ON ct.id = t.template_id"
    )
    return _page(conn, sql, [], {"before": before, "limit": limit}, "t.id")


def list_templates(conn: Connection, *, before: int | None, limit: int) -> list[Any]:
    sql = (
        "SELECT ct.id, ct.name, ct.prefix, ct.length, ct.pattern, ct.alphabet, ct.check_digit,"
        " i.code AS issuer FROM code_templates ct JOIN issuers i ON i.id = ct.issuer_id"
    )
    return _page(conn, sql, [], {"before": before, "limit": limit}, "ct.id")


def list_lots(conn: Connection, *, before: int | None, limit: int) -> list[Any]:
    sql = (
        "SELECT l.id, t.code AS type_code, l.count, l.done_count, l.state, l.status,"
        " l.campaign, l.created_by, l.created_at FROM lots l"
        " JOIN voucher_types t ON t.id = l.type_id"
    )
    return _page(conn, sql, [], {"before": before, "limit": limit}, "l.id")


def list_bulk_operations(conn: Connection, *, before: int | None, limit: int) -> list[Any]:
    sql = (
        "SELECT id, action, selection, operator, status, total_count, done_count,"
        " refused_count, created_at FROM bulk_operations"
    )
    return _page(conn, sql, [], {"before": before, "limit": limit}, "id")


_VOUCHERS = (
    "SELECT v.id, v.code, v.serial_number, v.state, v.balance_minor, v.held_minor,"
    " v.currency, v.lot_id, v.card_id, v.valid_until, t.code AS type_code"
    " FROM vouchers v JOIN voucher_types t ON t.id = v.type_id"
)


def search_vouchers(
    conn: Connection,
    *,
    issuer_id: int,
    identifier: str | None,
    lot_id: int | None,
    state: str | None,
    store_ids: frozenset[int] | None,
    before: int | None,
    limit: int,
) -> list[Any]:
    """By any identifier (code, serial number, card id, card holder id), lot and state; a user
    limited to stores sees the vouchers activated in them."""
    where = ["v.issuer_id = :issuer"]
    params: dict[str, Any] = {"issuer": issuer_id, "before": before, "limit": limit}
    if store_ids is not None:
        where.append("v.activated_store_id = ANY(:scope)")
        params["scope"] = list(store_ids)
    if identifier:
        # Each alternative has an index: (issuer_id, code), (type_id, serial_number) and the
        # partial card indexes of migration 0007.
        alternatives = [
            "v.code = :code",
            "(v.issuer_id, v.card_id) = (:issuer, :ident)",
            "(v.issuer_id, v.card_holder_id) = (:issuer, :ident)",
        ]
        params |= {
            "code": identifier.replace("-", "").replace(" ", "").upper(),
            "ident": identifier,
        }
        if identifier.isdigit() and len(identifier) < 19:
            alternatives.append("v.serial_number = :serial")
            params["serial"] = int(identifier)
        where.append("(" + " OR ".join(alternatives) + ")")
    if lot_id is not None:
        where.append("v.lot_id = :lot")
        params["lot"] = lot_id
    if state:
        where.append("v.state = :state")
        params["state"] = state
    return _page(conn, _VOUCHERS, where, params, "v.id")


def voucher_restrictions(conn: Connection, voucher_id: int) -> dict[str, Any]:
    row = conn.execute(
        text(
            "SELECT coalesce(v.supported_products, t.supported_products) AS products,"
            " coalesce(v.supported_product_groups, t.supported_product_groups) AS groups,"
            " coalesce(v.allowed_store_ids, t.allowed_store_ids) AS store_ids,"
            " t.min_payment_receipt_minor, t.min_activation_receipt_minor, t.multi_use,"
            " t.reloadable, t.max_balance_minor, t.e_voucher_use, v.lot_id, v.activated_store_id"
            " FROM vouchers v JOIN voucher_types t ON t.id = v.type_id WHERE v.id = :v"
        ),
        {"v": voucher_id},
    ).mappings()
    return dict(row.one())


def voucher_holds(conn: Connection, voucher_id: int) -> list[Any]:
    rows = conn.execute(
        text(
            "SELECT o.kind, o.amount_minor, o.operation_id, r.id AS receipt_id,"
            " r.receipt_number, r.expires_at FROM receipt_operations o"
            " JOIN receipts r ON r.id = o.receipt_id"
            " WHERE o.voucher_id = :v AND o.state = 'pending' ORDER BY o.id"
        ),
        {"v": voucher_id},
    ).mappings()
    return [dict(row) for row in rows]


def liability(conn: Connection) -> list[Any]:
    """Outstanding value per currency: the vouchers' cached posted balances."""
    rows = conn.execute(
        text(
            "SELECT currency, sum(balance_minor) AS minor, count(*) FILTER"
            " (WHERE balance_minor > 0) AS holding FROM vouchers GROUP BY currency ORDER BY 1"
        )
    ).mappings()
    return [dict(row) for row in rows]


def activity_since(conn: Connection, since: datetime) -> list[Any]:
    rows = conn.execute(
        text(
            "SELECT type, count(*) AS n FROM voucher_history WHERE occurred_at >= :since"
            " GROUP BY type ORDER BY n DESC"
        ),
        {"since": since},
    ).mappings()
    return [dict(row) for row in rows]


def alerts(conn: Connection, since: datetime) -> list[str]:
    """What needs a look: failed lots and bulk runs, refused secret retrievals."""
    found = conn.execute(
        text(
            "SELECT 'lot ' || id || ' failed: ' || coalesce(error, '') FROM lots"
            " WHERE status = 'failed' AND created_at >= :since"
            " UNION ALL SELECT 'bulk operation ' || id || ' failed: ' || coalesce(error, '')"
            " FROM bulk_operations WHERE status = 'failed' AND created_at >= :since"
            " UNION ALL SELECT 'refused secret retrieval on voucher ' || voucher_id"
            " FROM voucher_history WHERE type = 'secret.retrieval_refused'"
            " AND occurred_at >= :since"
        ),
        {"since": since},
    )
    return [str(row[0]) for row in found]


def issuer_choices(conn: Connection) -> list[Any]:
    rows = conn.execute(text("SELECT id, code, name FROM issuers ORDER BY code LIMIT 200"))
    return [dict(row._mapping) for row in rows]


def store_choices(conn: Connection, store_ids: frozenset[int] | None) -> list[Any]:
    rows = conn.execute(
        text(
            "SELECT s.id, s.code, i.code AS issuer FROM stores s JOIN issuers i"
            " ON i.id = s.issuer_id WHERE CAST(:all AS boolean) OR s.id = ANY(:scope)"
            " ORDER BY i.code, s.code LIMIT 500"
        ),
        {"all": store_ids is None, "scope": list(store_ids or ())},
    )
    return [dict(row._mapping) for row in rows]


def type_choices(conn: Connection) -> list[Any]:
    """The types a form offers: the 500 newest, newest first, so a type just defined is always
    there however many issuers and types the database holds."""
    rows = conn.execute(
        text(
            "SELECT t.id, t.code, t.name, i.code AS issuer FROM voucher_types t"
            " JOIN issuers i ON i.id = t.issuer_id ORDER BY t.id DESC LIMIT 500"
        )
    )
    return [dict(row._mapping) for row in rows]
