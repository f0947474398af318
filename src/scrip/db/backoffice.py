"""Read-only queries behind the back-office screens.

Every list is a keyset page: ``WHERE id < :before ORDER BY id DESC LIMIT :limit`` walks the
primary key backwards, so page 20,000 of a million vouchers costs what page 1 does (OFFSET
would read and throw away every row before the page). Filters are added from fixed SQL
fragments; values are always bound.

Every query takes the ``scope`` of whoever looks (``domain.scope``) and selects only the rows
that belong to it: the issuers' rows, and for a store user the rows of their stores and none
of head office's (:func:`_within`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from scrip.db.vouchers import sold_at
from scrip.domain.scope import Scope


def _within(
    scope: Scope, *, issuer: str, store: str | None = None
) -> tuple[list[str], dict[str, Any]]:
    """The conditions that keep rows of ``scope``: ``issuer`` names the row's issuer column,
    ``store`` its store column (None: a head-office record, which a store user never sees)."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if scope.issuer_ids is not None:
        where.append(f"{issuer} = ANY(CAST(:scope_issuers AS bigint[]))")
        params["scope_issuers"] = sorted(scope.issuer_ids)
    if scope.store_ids is not None:
        if store is None:
            where.append("FALSE")
        else:
            where.append(f"{store} = ANY(CAST(:scope_stores AS bigint[]))")
            params["scope_stores"] = sorted(scope.store_ids)
    return where, params


def _page(
    conn: Connection, sql: str, where: list[str], params: dict[str, Any], key: str
) -> list[Any]:
    """One keyset page of ``sql`` under the conditions ``where``, newest first by ``key``."""
    if params.get("before") is not None:
        where = [*where, f"{key} < :before"]
    clause = " WHERE " + " AND ".join(where) if where else ""
    full = f"{sql}{clause} ORDER BY {key} DESC LIMIT :limit"
    return [dict(row) for row in conn.execute(text(full), params).mappings()]


def list_issuers(conn: Connection, *, scope: Scope, before: int | None, limit: int) -> list[Any]:
    """The issuers in scope (a store user's: the issuers of their stores)."""
    sql = "SELECT id, code, name, currency, timezone, code_prefix, created_at FROM issuers"
    where, params = _within(Scope(scope.issuer_ids), issuer="id")
    return _page(conn, sql, where, {**params, "before": before, "limit": limit}, "id")


def list_stores(conn: Connection, *, scope: Scope, before: int | None, limit: int) -> list[Any]:
    sql = (
        "SELECT s.id, s.code, s.name, i.code AS issuer, s.created_at FROM stores s"
        " JOIN issuers i ON i.id = s.issuer_id"
    )
    where, params = _within(scope, issuer="s.issuer_id", store="s.id")
    return _page(conn, sql, where, {**params, "before": before, "limit": limit}, "s.id")


def list_registers(conn: Connection, *, scope: Scope, before: int | None, limit: int) -> list[Any]:
    sql = (
        "SELECT r.id, r.serial_number, r.api_key_hint, r.active, s.code AS store, r.created_at"
        " FROM registers r JOIN stores s ON s.id = r.store_id"
    )
    where, params = _within(scope, issuer="s.issuer_id", store="r.store_id")
    return _page(conn, sql, where, {**params, "before": before, "limit": limit}, "r.id")


def list_types(conn: Connection, *, scope: Scope, before: int | None, limit: int) -> list[Any]:
    """The issuers' catalogue, which their store users read too."""
    sql = (
        "SELECT t.id, t.code, t.name, t.classification, t.currency, t.value_mode,"
        " t.face_value_minor, t.extra_value_minor, i.code AS issuer, ct.name AS template"
        " FROM voucher_types t JOIN issuers i ON i.id = t.issuer_id"
        " LEFT JOIN code_templates ct ON ct.id = t.template_id"
    )
    where, params = _within(Scope(scope.issuer_ids), issuer="t.issuer_id")
    return _page(conn, sql, where, {**params, "before": before, "limit": limit}, "t.id")


def list_templates(conn: Connection, *, scope: Scope, before: int | None, limit: int) -> list[Any]:
    sql = (
        "SELECT ct.id, ct.name, ct.prefix, ct.length, ct.pattern, ct.alphabet, ct.check_digit,"
        " i.code AS issuer FROM code_templates ct JOIN issuers i ON i.id = ct.issuer_id"
    )
    where, params = _within(Scope(scope.issuer_ids), issuer="ct.issuer_id")
    return _page(conn, sql, where, {**params, "before": before, "limit": limit}, "ct.id")


def list_lots(conn: Connection, *, scope: Scope, before: int | None, limit: int) -> list[Any]:
    """Head office's lots: none for a store user."""
    sql = (
        "SELECT l.id, t.code AS type_code, l.count, l.done_count, l.state, l.status,"
        " l.campaign, l.created_by, l.created_at FROM lots l"
        " JOIN voucher_types t ON t.id = l.type_id"
    )
    where, params = _within(scope, issuer="l.issuer_id")
    return _page(conn, sql, where, {**params, "before": before, "limit": limit}, "l.id")


def list_bulk_operations(
    conn: Connection, *, scope: Scope, before: int | None, limit: int
) -> list[Any]:
    """Head office's operations, or for a store user those limited to some of their stores."""
    sql = (
        "SELECT id, action, selection, operator, status, total_count, done_count,"
        " refused_count, created_at FROM bulk_operations"
    )
    where, params = _within(Scope(scope.issuer_ids), issuer="issuer_id")
    if scope.store_ids is not None:
        where.append("store_ids <@ CAST(:scope_stores AS bigint[])")
        params["scope_stores"] = sorted(scope.store_ids)
    return _page(conn, sql, where, {**params, "before": before, "limit": limit}, "id")


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
    scope: Scope,
    before: int | None,
    limit: int,
) -> list[Any]:
    """By any identifier (code, serial number, card id, card holder id), lot and state; a user
    limited to stores sees the vouchers sold or activated in them."""
    where, params = _within(scope, issuer="v.issuer_id", store=sold_at("v"))
    where.append("v.issuer_id = :issuer")
    params |= {"issuer": issuer_id, "before": before, "limit": limit}
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


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def liability(conn: Connection, *, scope: Scope) -> list[Any]:
    """Outstanding value per currency: the cached posted balances of the vouchers in scope."""
    where, params = _within(scope, issuer="v.issuer_id", store=sold_at("v"))
    rows = conn.execute(
        text(
            "SELECT v.currency, sum(v.balance_minor) AS minor, count(*) FILTER"
            f" (WHERE v.balance_minor > 0) AS holding FROM vouchers v{_where(where)}"
            " GROUP BY v.currency ORDER BY 1"
        ),
        params,
    ).mappings()
    return [dict(row) for row in rows]


def activity_since(conn: Connection, since: datetime, *, scope: Scope) -> list[Any]:
    """History rows since ``since`` by type: of the issuers in scope, and for a store user
    what happened at their stores."""
    where, params = _within(scope, issuer="v.issuer_id", store="h.store_id")
    join = " JOIN vouchers v ON v.id = h.voucher_id" if scope.issuer_ids is not None else ""
    rows = conn.execute(
        text(
            f"SELECT h.type, count(*) AS n FROM voucher_history h{join}"
            f"{_where(['h.occurred_at >= :since', *where])} GROUP BY h.type ORDER BY n DESC"
        ),
        {**params, "since": since},
    ).mappings()
    return [dict(row) for row in rows]


def alerts(conn: Connection, since: datetime, *, scope: Scope) -> list[str]:
    """What needs a look: failed lots and bulk runs, refused secret retrievals, in scope."""
    lots, params = _within(scope, issuer="issuer_id")
    bulk, _ = _within(Scope(scope.issuer_ids), issuer="issuer_id")
    if scope.store_ids is not None:
        bulk.append("store_ids <@ CAST(:scope_stores AS bigint[])")
    refusals, more = _within(scope, issuer="v.issuer_id", store=sold_at("v"))
    failed = ["status = 'failed'", "created_at >= :since"]
    refused = ["h.type = 'secret.retrieval_refused'", "h.occurred_at >= :since"]
    found = conn.execute(
        text(
            "SELECT 'lot ' || id || ' failed: ' || coalesce(error, '') FROM lots"
            f"{_where(failed + lots)}"
            " UNION ALL SELECT 'bulk operation ' || id || ' failed: ' || coalesce(error, '')"
            f" FROM bulk_operations{_where(failed + bulk)}"
            " UNION ALL SELECT 'refused secret retrieval on voucher ' || h.voucher_id"
            " FROM voucher_history h JOIN vouchers v ON v.id = h.voucher_id"
            f"{_where(refused + refusals)}"
        ),
        {**params, **more, "since": since},
    )
    return [str(row[0]) for row in found]


def issuer_choices(conn: Connection, *, scope: Scope) -> list[Any]:
    where, params = _within(Scope(scope.issuer_ids), issuer="id")
    rows = conn.execute(
        text(f"SELECT id, code, name FROM issuers{_where(where)} ORDER BY code LIMIT 200"), params
    )
    return [dict(row._mapping) for row in rows]


def store_choices(conn: Connection, *, scope: Scope) -> list[Any]:
    where, params = _within(scope, issuer="s.issuer_id", store="s.id")
    rows = conn.execute(
        text(
            "SELECT s.id, s.code, i.code AS issuer FROM stores s JOIN issuers i"
            f" ON i.id = s.issuer_id{_where(where)} ORDER BY i.code, s.code LIMIT 500"
        ),
        params,
    )
    return [dict(row._mapping) for row in rows]


def type_choices(conn: Connection, *, scope: Scope) -> list[Any]:
    """The types a form offers: the 500 newest, newest first, so a type just defined is always
    there however many issuers and types the database holds."""
    where, params = _within(Scope(scope.issuer_ids), issuer="t.issuer_id")
    rows = conn.execute(
        text(
            "SELECT t.id, t.code, t.name, i.code AS issuer FROM voucher_types t"
            f" JOIN issuers i ON i.id = t.issuer_id{_where(where)} ORDER BY t.id DESC LIMIT 500"
        ),
        params,
    )
    return [dict(row._mapping) for row in rows]
