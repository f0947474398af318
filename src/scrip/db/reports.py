"""The SQL of the reports (S14): read-only, set-based, one statement per report.

Value figures come from the ledger, never from the cached ``vouchers.balance_minor``: a transfer
counts once it is ``posted``, at ``resolved_at`` (when it was posted: at once for a one-call
operation, at confirmation for a two-phase one). The figures are split by issuer and currency,
never added across currencies.

A reversal by key (``services.reversal``) counts as the negative of the operation it undid, in
the period and at the place of the reversal: a sale reversed in February leaves January's sales
as they were reported and takes one sale off February's. The flows of a range then add up to
the change of liability over it, and a report once printed is never changed by a later
reversal. A reversal's own transfers are coded ``reversal``; what they undid is read from the
reversal's history row (``reversed_operation_id``) and the original transfer with the same
amount between the same accounts the other way round.

Dates are the issuer's local days: every statement joins ``issuers`` and converts with
``AT TIME ZONE issuers.timezone``, so ``from`` .. ``to`` means from local midnight of ``from``
to local midnight after ``to``, whatever each issuer's UTC offset or daylight-saving rule.

Only fixed fragments of this module are ever put into the SQL text; every value a caller gives
is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, text

from scrip.db.vouchers import sold_at

# The issuers a report covers, with the instants their local date range starts and ends at.
_ISSUERS = """
    iss AS MATERIALIZED (
        SELECT id, code, timezone,
               CAST(:date_from AS timestamp) AT TIME ZONE timezone AS lo,
               CAST(CAST(:date_to AS date) + 1 AS timestamp) AT TIME ZONE timezone AS hi
          FROM issuers
         WHERE (CAST(:issuer AS text) IS NULL OR code = CAST(:issuer AS text))
           AND (CAST(:issuer_ids AS bigint[]) IS NULL
                OR id = ANY(CAST(:issuer_ids AS bigint[])))
    )"""

# A store user's report counts what happened at their stores (``h``: the operation's history
# row) and, looking at vouchers themselves, the vouchers sold there.
_AT_STORES = (
    "(CAST(:store_ids AS bigint[]) IS NULL OR {column} = ANY(CAST(:store_ids AS bigint[])))"
)

_CURRENCY = "(CAST(:currency AS text) IS NULL OR {column} = CAST(:currency AS text))"

_PERIOD = "CAST(date_trunc(CAST(:grouping AS text), {instant} AT TIME ZONE iss.timezone) AS date)"

# The code and operation of the transfer a posted reversal transfer ``t`` undid.
_UNDONE = """
    SELECT o.code, o.operation_id
      FROM voucher_history rh
      JOIN ledger_transfers o
        ON o.operation_id = CAST(rh.details ->> 'reversed_operation_id' AS uuid)
     WHERE rh.operation_id = t.operation_id AND rh.type = 'voucher.reversed'
       AND o.state = 'posted' AND o.amount_minor = t.amount_minor
       AND o.debit_account_id = t.credit_account_id AND o.credit_account_id = t.debit_account_id
     LIMIT 1"""

# Where a movement happened: the history row its operation wrote for the voucher.
_PLACE_JOINS = """
    LEFT JOIN voucher_history h ON h.operation_id = t.operation_id AND h.voucher_id = v.id
    LEFT JOIN stores s ON s.id = h.store_id
    LEFT JOIN registers r ON r.id = h.register_id"""

_PLACE_COLUMNS = {
    "issuer": [],
    "store": ["s.code AS store"],
    "register": ["s.code AS store", "r.serial_number AS register"],
}


@dataclass(frozen=True, slots=True)
class Scope:
    """Which issuers, local dates and currency a report covers; ``issuer_ids`` and
    ``store_ids`` are the limits of the user who runs it (None: every one)."""

    issuer: str | None
    date_from: date
    date_to: date
    currency: str | None
    issuer_ids: tuple[int, ...] | None = None
    store_ids: tuple[int, ...] | None = None

    def binds(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "currency": self.currency,
            "issuer_ids": None if self.issuer_ids is None else list(self.issuer_ids),
            "store_ids": None if self.store_ids is None else list(self.store_ids),
        }


# Codes whose voucher is always on one side, so the other side is never read for a liability:
# value into a voucher from a shared account, and value out of a voucher to one.
VOUCHER_CREDITED_ONLY = frozenset({"sale", "bonus", "promo_issue", "refund", "reload"})
VOUCHER_DEBITED_ONLY = frozenset({"redemption", "return_unused", "breakage", "forfeit"})


# The codes of transfers between one voucher and a shared account (store clearing, promotional
# expense, breakage income): such a transfer belongs to the issuer of its shared account, which
# is one of a handful of rows, so a flow report never joins the million voucher accounts.
FLOW_CODES = VOUCHER_CREDITED_ONLY | VOUCHER_DEBITED_ONLY


@dataclass(frozen=True, slots=True)
class Measure:
    """One figure of a report: ``count`` or ``sum`` of the transfers with one of ``codes``, less
    the reversals of such transfers."""

    key: str
    how: str  # count | sum
    codes: tuple[str, ...]

    def sql(self, index: int) -> str:
        if self.how not in ("count", "sum") or not self.key.isidentifier():
            raise ValueError(f"bad measure {self!r}")
        if not set(self.codes) <= FLOW_CODES:
            raise ValueError(f"not a flow between a voucher and a shared account: {self.codes}")
        figure = "sum(t.sign)" if self.how == "count" else "sum(t.sign * t.amount_minor)"
        only = f"FILTER (WHERE t.counts_as = ANY(:codes_{index}))"
        return f"coalesce(CAST({figure} {only} AS bigint), 0) AS {self.key}"


def _flows(
    conn: Connection,
    scope: Scope,
    side: str,
    measures: Sequence[Measure],
    *,
    with_place: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The FROM .. WHERE of posted transfers into (``credit``) or out of (``debit``) vouchers,
    within the scope, with one of the measures' codes, and of the reversals of such transfers;
    and its binds. Each row ``t`` has ``counts_as`` (the code it counts under), ``sign`` (-1 for
    a reversal), ``amount_minor``, ``currency``, ``resolved_at`` and ``counts_for`` (the
    operation it belongs to: for a reversal, the one it undid). With ``with_place``, the voucher
    ``v`` and its history row ``h``, store ``s``, register ``r``."""
    if side not in ("credit", "debit"):
        raise ValueError(side)
    other = "debit" if side == "credit" else "credit"
    binds = {f"codes_{i}": list(m.codes) for i, m in enumerate(measures)}
    binds["codes"] = sorted({code for m in measures for code in m.codes})
    within, bounds = _within(conn, scope, "t.resolved_at")
    place = f"JOIN vouchers v ON v.account_id = t.voucher_account_id {_PLACE_JOINS}"
    with_place = with_place or scope.store_ids is not None
    # A reversal transfer runs the other way round: the shared account is on the voucher's side.
    body = f"""
        FROM (
            SELECT t.operation_id, t.operation_id AS counts_for, t.code AS counts_as, 1 AS sign,
                   t.amount_minor, t.currency, t.resolved_at,
                   t.{other}_account_id AS shared_account_id,
                   t.{side}_account_id AS voucher_account_id
              FROM ledger_transfers t
             WHERE t.{other}_account_id = ANY(:shared) AND t.state = 'posted'
               AND t.code = ANY(:codes)
            UNION ALL
            SELECT t.operation_id, undone.operation_id, undone.code, -1,
                   t.amount_minor, t.currency, t.resolved_at,
                   t.{side}_account_id, t.{other}_account_id
              FROM ledger_transfers t
             CROSS JOIN LATERAL ({_UNDONE}) undone
             WHERE t.code = 'reversal' AND t.state = 'posted'
               AND t.{side}_account_id = ANY(:shared) AND undone.code = ANY(:codes)
        ) t
        JOIN ledger_accounts o ON o.id = t.shared_account_id
        JOIN iss ON iss.id = o.issuer_id
        {place if with_place else ""}
       WHERE {within} AND {_CURRENCY.format(column="t.currency")}"""
    if scope.store_ids is not None:
        body += f" AND {_AT_STORES.format(column='h.store_id')}"
    return body, {**scope.binds(), **binds, **bounds, **_shared_accounts(conn, scope)}


def _within(
    conn: Connection, scope: Scope, instant: str, *, until_only: bool = False
) -> tuple[str, dict[str, Any]]:
    """The condition that ``instant`` falls in the scope's local dates (with ``until_only``:
    before the end of them). When every issuer in scope has the same bounds (one issuer, or one
    time zone) they are bound as constants, so the planner can estimate from the column's
    statistics how many rows qualify."""
    found = conn.execute(text(f"WITH {_ISSUERS} SELECT DISTINCT lo, hi FROM iss"), scope.binds())
    bounds = found.all()
    lo, hi = ("iss.lo", "iss.hi") if len(bounds) != 1 else (":lo", ":hi")
    binds = {"lo": bounds[0].lo, "hi": bounds[0].hi} if len(bounds) == 1 else {}
    if until_only:
        return f"{instant} < {hi}", binds
    return f"{instant} >= {lo} AND {instant} < {hi}", binds


def _shared_accounts(conn: Connection, scope: Scope) -> dict[str, Any]:
    """The issuers' shared accounts, as constants: with them the planner knows how many
    transfers a flow report reads (they are the most common values of the account columns)."""
    found = conn.execute(
        text(
            "SELECT a.id FROM ledger_accounts a JOIN issuers i ON i.id = a.issuer_id"
            " WHERE a.kind <> 'voucher_liability'"
            " AND (CAST(:issuer AS text) IS NULL OR i.code = CAST(:issuer AS text))"
            " AND (CAST(:issuer_ids AS bigint[]) IS NULL"
            "      OR i.id = ANY(CAST(:issuer_ids AS bigint[])))"
        ),
        {"issuer": scope.issuer, "issuer_ids": scope.binds()["issuer_ids"]},
    ).scalars()
    return {"shared": [int(account) for account in found]}


def _select(measures: Sequence[Measure]) -> str:
    return ", ".join(m.sql(i) for i, m in enumerate(measures))


def flows_by_period(
    conn: Connection, *, scope: Scope, grouping: str, side: str, measures: Sequence[Measure]
) -> list[dict[str, Any]]:
    """Measures per local period, issuer and currency."""
    body, binds = _flows(conn, scope, side, measures)
    period = _PERIOD.format(instant="t.resolved_at")
    sql = f"""
        WITH {_ISSUERS}
        SELECT {period} AS period_start, iss.code AS issuer, t.currency, {_select(measures)}
        {body}
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
    return _rows(conn, sql, {**binds, "grouping": grouping})


def flows_by_place(
    conn: Connection, *, scope: Scope, place: str, side: str, measures: Sequence[Measure]
) -> list[dict[str, Any]]:
    """Measures per issuer, store or register (from the operation's history row) and currency."""
    body, binds = _flows(conn, scope, side, measures, with_place=True)
    columns = ["iss.code AS issuer", *_PLACE_COLUMNS[place], "t.currency"]
    keys = ", ".join(str(i + 1) for i in range(len(columns)))
    sql = f"""
        WITH {_ISSUERS}
        SELECT {", ".join(columns)}, {_select(measures)}
        {body}
        GROUP BY {keys} ORDER BY {keys}"""
    return _rows(conn, sql, binds)


def liability_as_of(conn: Connection, *, scope: Scope, as_of: date) -> list[dict[str, Any]]:
    """What vouchers were worth at the end of local day ``as_of``, per issuer, currency and
    voucher type: every posted transfer into a voucher account up to then, minus every one
    out of it. One pass over the transfers, summed per voucher, then per type."""
    scope = Scope(scope.issuer, as_of, as_of, scope.currency, scope.issuer_ids, scope.store_ids)
    until, bounds = _within(conn, scope, "m.resolved_at", until_only=True)
    sql = f"""
        WITH {_ISSUERS},
        moves AS (
            SELECT credit_account_id AS account_id, amount_minor AS delta, resolved_at
              FROM ledger_transfers WHERE state = 'posted' AND code <> ALL(:only_debit)
            UNION ALL
            SELECT debit_account_id, -amount_minor, resolved_at
              FROM ledger_transfers WHERE state = 'posted' AND code <> ALL(:only_credit)
        ),
        balances AS (
            SELECT v.issuer_id, v.type_id, v.currency, CAST(sum(m.delta) AS bigint) AS balance
              FROM moves m
              JOIN vouchers v ON v.account_id = m.account_id
              JOIN iss ON iss.id = v.issuer_id
             WHERE {until} AND {_CURRENCY.format(column="v.currency")}
               AND {_AT_STORES.format(column=sold_at("v"))}
             GROUP BY v.id
        )
        SELECT iss.code AS issuer, b.currency, ty.code AS type, ty.name AS type_name,
               count(*) FILTER (WHERE b.balance <> 0) AS vouchers,
               CAST(sum(b.balance) AS bigint) AS liability_minor
          FROM balances b
          JOIN iss ON iss.id = b.issuer_id
          JOIN voucher_types ty ON ty.id = b.type_id
         GROUP BY 1, 2, 3, 4 HAVING sum(b.balance) <> 0
         ORDER BY 1, 2, 3"""
    binds = {
        **scope.binds(),
        **bounds,
        "only_debit": list(VOUCHER_DEBITED_ONLY),
        "only_credit": list(VOUCHER_CREDITED_ONLY),
    }
    return _rows(conn, sql, binds)


def receipts_paid(conn: Connection, *, scope: Scope) -> list[dict[str, Any]]:
    """Receipts paid (partly) with vouchers: one row per receipt — an open receipt's id, else
    the register and receipt number, else the operation alone. A reversed payment is taken off
    its receipt (the reversal's history row names the receipt of the operation it undid), and a
    receipt whose payments were all reversed paid nothing with vouchers."""
    paid = [Measure("paid_minor", "sum", ("redemption",))]
    body, binds = _flows(conn, scope, "debit", paid, with_place=True)
    receipt = (
        "coalesce('id:' || h.receipt_id, 'no:' || h.register_id || ':' || h.receipt_number,"
        " 'op:' || t.counts_for)"
    )
    sql = f"""
        WITH {_ISSUERS}
        SELECT CAST(min(t.resolved_at AT TIME ZONE iss.timezone) AS date) AS paid_on,
               min(t.resolved_at) AS paid_at, iss.code AS issuer,
               max(h.receipt_number) AS receipt_number, max(s.code) AS store,
               max(r.serial_number) AS register, t.currency,
               count(DISTINCT v.id) AS vouchers,
               CAST(sum(t.sign * t.amount_minor) AS bigint) AS paid_minor
        {body}
        GROUP BY iss.code, t.currency, {receipt}
        HAVING sum(t.sign * t.amount_minor) <> 0
        ORDER BY paid_at, receipt_number"""
    return _rows(conn, sql, binds)


def activity_by_period(conn: Connection, *, scope: Scope, grouping: str) -> list[dict[str, Any]]:
    """How many vouchers were activated, used, refunded, returned and expired per local period,
    from the recorded history rows. A reversal takes off one of what it undid, in its own
    period: the activation of a reversed sale, the use of a reversed payment. The reversals are
    counted apart (few, found by ``ix_voucher_history_reversal``), so the count over every
    history row of the range stays one plain pass."""
    period = _PERIOD.format(instant="h.occurred_at")
    within, bounds = _within(conn, scope, "h.occurred_at")
    currency = _CURRENCY.format(column="v.currency")
    at_stores = _AT_STORES.format(column="h.store_id")
    kinds = {
        "used": "voucher.redeemed",
        "refunded": "voucher.refunded",
        "returned": "voucher.returned",
        "expired": "voucher.expired",
    }
    done = ", ".join(f"count(*) FILTER (WHERE h.type = '{t}') AS {k}" for k, t in kinds.items())
    undone = ", ".join(f"count(*) FILTER (WHERE o.type = '{t}') AS {k}" for k, t in kinds.items())
    net = ", ".join(f"d.{k} - coalesce(u.{k}, 0) AS {k}" for k in kinds)
    sql = f"""
        WITH {_ISSUERS},
        done AS (
            SELECT {period} AS period_start, iss.code AS issuer,
                   count(*) FILTER (WHERE h.type <> 'voucher.reversed' AND {_ACTIVATES})
                     AS activated,
                   {done}
              FROM voucher_history h
              JOIN vouchers v ON v.id = h.voucher_id
              JOIN iss ON iss.id = v.issuer_id
             WHERE h.status = 'recorded' AND {within} AND {currency} AND {at_stores}
             GROUP BY 1, 2
        ),
        undone AS (
            SELECT {period} AS period_start, iss.code AS issuer,
                   count(*) FILTER (WHERE {_DEACTIVATES}) AS activated,
                   {undone}
              FROM voucher_history h
              JOIN vouchers v ON v.id = h.voucher_id
              JOIN iss ON iss.id = v.issuer_id
              LEFT JOIN LATERAL (
                  SELECT o.type FROM voucher_history o
                   WHERE o.operation_id = CAST(h.details ->> 'reversed_operation_id' AS uuid)
                     AND o.voucher_id = h.voucher_id AND o.status = 'recorded'
                   ORDER BY o.id LIMIT 1
              ) o ON true
             WHERE h.type = 'voucher.reversed' AND h.status = 'recorded'
               AND {within} AND {currency} AND {at_stores}
             GROUP BY 1, 2
        )
        SELECT d.period_start, d.issuer, d.activated - coalesce(u.activated, 0) AS activated,
               {net}
          FROM done d
          LEFT JOIN undone u ON u.period_start = d.period_start AND u.issuer = d.issuer
         ORDER BY 1, 2"""
    return _rows(conn, sql, {**scope.binds(), **bounds, "grouping": grouping})


# A history row that brought a voucher into use, and a reversal's row that undid one (it goes
# from the state the original led to back to the state before it).
_ACTIVATES = (
    "h.state_after = 'active' AND coalesce(h.state_before, '') NOT IN ('active', 'blocked')"
)
_DEACTIVATES = (
    "h.state_before = 'active' AND coalesce(h.state_after, '') NOT IN ('active', 'blocked')"
)


def expiring(conn: Connection, *, scope: Scope, days: int, now: datetime) -> list[dict[str, Any]]:
    """Value on vouchers whose last valid local day falls from today to ``days`` days ahead,
    per day, issuer, currency and type (the cached balance: this looks forward, not back)."""
    sql = f"""
        WITH {_ISSUERS}
        SELECT CAST((v.valid_until - interval '1 microsecond') AT TIME ZONE iss.timezone AS date)
                   AS last_valid_on,
               iss.code AS issuer, v.currency, ty.code AS type,
               count(*) AS vouchers,
               CAST(sum(v.balance_minor) AS bigint) AS balance_minor
          FROM vouchers v
          JOIN iss ON iss.id = v.issuer_id
          JOIN voucher_types ty ON ty.id = v.type_id
         WHERE v.expires_at IS NOT NULL AND v.expires_at > :now
           AND v.expires_at <= CAST(CAST(:now AT TIME ZONE iss.timezone AS date)
                                    + CAST(:days AS integer) + 1 AS timestamp)
                               AT TIME ZONE iss.timezone
           AND v.balance_minor > 0 AND {_CURRENCY.format(column="v.currency")}
           AND {_AT_STORES.format(column=sold_at("v"))}
         GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"""
    binds = {
        **scope.binds(),
        "days": days,
        "now": now,
        "date_from": now.date(),
        "date_to": now.date(),
    }
    return _rows(conn, sql, binds)


def find_issuer(conn: Connection, code: str) -> tuple[int, str] | None:
    """The issuer's id and time zone."""
    found = conn.execute(
        text("SELECT id, timezone FROM issuers WHERE code = :c"), {"c": code}
    ).first()
    return None if found is None else (int(found.id), str(found.timezone))


# A report sums or groups up to millions of rows in one statement: enough memory for its hash
# tables keeps them off disk. SET LOCAL ends with the report's transaction.
REPORT_WORK_MEM = "64MB"


def _rows(conn: Connection, sql: str, binds: dict[str, Any]) -> list[dict[str, Any]]:
    conn.execute(text("SELECT set_config('work_mem', :mem, true)"), {"mem": REPORT_WORK_MEM})
    return [dict(row) for row in conn.execute(text(sql), binds).mappings()]
