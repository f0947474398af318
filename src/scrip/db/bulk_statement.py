"""The one statement that applies a chunk of a bulk operation, set-based.

Chunks split the selection in voucher id order (within a lot or a type that is serial
order): :func:`set_boundaries` fixes the first id of each once, so a chunk is the same set of
vouchers on every run. A chunk's vouchers are locked ``FOR UPDATE`` in id order; in the same
statement each is judged against the moves the service computed from the life-cycle tables;
the allowed ones change state (and, for the edits, the columns the plan names) and get a
history row each, the refused ones are only counted and sampled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from scrip.db.vouchers import sold_at

# The voucher columns an edit may set, with the SQL type of their parameter.
CHANGEABLE: dict[str, str] = {
    "valid_from": "timestamptz",
    "valid_until": "timestamptz",
    "face_value_minor": "bigint",
    "extra_value_minor": "bigint",
    "supported_products": "text[]",
    "supported_product_groups": "text[]",
    "allowed_store_ids": "bigint[]",
}


@dataclass(frozen=True, slots=True)
class Window:
    """The validity window activation gives the vouchers of one type."""

    type_id: int
    valid_from: datetime | None
    valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class Filter:
    """The selection in database terms (the type resolved to its id)."""

    issuer_id: int
    lot_id: int | None = None
    type_id: int | None = None
    serial_from: int | None = None
    serial_to: int | None = None
    codes: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    store_ids: tuple[int, ...] | None = None  # a store user's: vouchers sold at these only


@dataclass(frozen=True, slots=True)
class Plan:
    """What a chunk does to the vouchers it may move (decided by the domain)."""

    moves: Mapping[str, str]
    refused_sources: Mapping[str, str]  # classification:state -> refusal, whatever it holds
    ends_value: bool  # refuse a voucher that holds value (has_balance)
    keeps_value: bool  # the same for a change of value (carries_value)
    activates: bool
    history_type: str
    operator_code: str | None
    details: dict[str, Any] = field(default_factory=dict)
    changes: Mapping[str, Any] = field(default_factory=dict)  # column -> value (CHANGEABLE)
    windows: Sequence[Window] = ()  # per type, for activation
    # A block sets who set it (the back office) and why; an unblock clears it (domain.blocks).
    block: str | None = None  # "set" | "clear" | None
    block_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ChunkResult:
    selected: int
    done: int
    sample: list[dict[str, Any]]

    @property
    def refused(self) -> int:
        return self.selected - self.done


def _where(f: Filter) -> tuple[str, dict[str, Any]]:
    # Purged vouchers have left every action: they are not even selected.
    parts = ["v.issuer_id = :issuer", "v.state <> 'purged'"]
    params: dict[str, Any] = {"issuer": f.issuer_id}
    if f.lot_id is not None:
        parts.append("v.lot_id = :lot")
        params["lot"] = f.lot_id
    if f.type_id is not None:
        parts.append("v.type_id = :type")
        params["type"] = f.type_id
    if f.serial_from is not None or f.serial_to is not None:
        parts.append("v.serial_number BETWEEN :serial_from AND :serial_to")
        params["serial_from"] = f.serial_from if f.serial_from is not None else 0
        params["serial_to"] = f.serial_to if f.serial_to is not None else 2**62
    if f.codes:
        parts.append("v.code = ANY(CAST(:codes AS text[]))")
        params["codes"] = list(f.codes)
    if f.states:
        parts.append("v.state = ANY(CAST(:states AS text[]))")
        params["states"] = list(f.states)
    if f.store_ids is not None:
        parts.append(f"{sold_at()} = ANY(CAST(:stores AS bigint[]))")
        params["stores"] = list(f.store_ids)
    return " AND ".join(parts), params


def _new(plan: Plan, column: str) -> str:
    """The value ``column`` gets: the change's parameter, or what the voucher has."""
    return f"CAST(:c_{column} AS {CHANGEABLE[column]})" if column in plan.changes else f"p.{column}"


def _judged(where: str, plan: Plan, *, chunked: bool) -> str:
    # A chunk reads its id range through the primary key: OFFSET 0 keeps the planner from
    # pushing the selection into it and scanning a whole fresh lot (stale statistics make the
    # lot index look selective) once per chunk. Only what the plan needs is read and joined:
    # the columns an edit changes (for the history's "before"), the windows activation sets.
    source = (
        "(SELECT * FROM vouchers WHERE id >= :first AND id < :next OFFSET 0) v"
        if chunked
        else "vouchers v"
    )
    lock = " ORDER BY v.id FOR UPDATE OF v" if chunked else ""
    read = set(plan.changes)
    inverted = "FALSE"
    if {"valid_from", "valid_until"} & read:
        read |= {"valid_from", "valid_until"}
        inverted = f"{_new(plan, 'valid_from')} >= {_new(plan, 'valid_until')}"
    extra = "".join(f", v.{column}" for column in CHANGEABLE if column in read)
    windows, window_join = "", ""
    if plan.windows:
        windows = """
    windows AS (
        SELECT * FROM unnest(CAST(:window_types AS bigint[]),
                             CAST(:window_from AS timestamptz[]),
                             CAST(:window_until AS timestamptz[])) AS w(type_id, wfrom, wuntil)
    ),"""
        extra += ", v.type_id"
        window_join = ", w.type_id AS window_type, w.wfrom, w.wuntil"
    return f"""
    picked AS (
        SELECT v.id, v.code, v.serial_number, v.state, v.balance_minor, v.held_minor,
               v.pending_receipt_id{extra}, t.classification || ':' || v.state AS source
          FROM {source} JOIN voucher_types t ON t.id = v.type_id
         WHERE {where}{lock}
    ),
    moves AS (
        SELECT * FROM unnest(CAST(:sources AS text[]), CAST(:targets AS text[]))
            AS m(source, target)
    ),
    refusing AS (
        SELECT * FROM unnest(CAST(:refused_sources AS text[]), CAST(:refused_codes AS text[]))
            AS r(source, code)
    ),{windows}
    judged AS (
        SELECT p.*, m.target{window_join},
               CASE WHEN r.code IS NOT NULL THEN r.code
                    WHEN m.target IS NULL THEN 'transition_not_allowed'
                    WHEN p.pending_receipt_id IS NOT NULL OR p.held_minor > 0
                         THEN 'held_elsewhere'
                    WHEN :ends_value AND p.balance_minor > 0 THEN 'has_balance'
                    WHEN :keeps_value AND p.balance_minor > 0 THEN 'carries_value'
                    WHEN {inverted} THEN 'window_inverted'
               END AS refusal
          FROM picked p LEFT JOIN moves m ON m.source = p.source
               LEFT JOIN refusing r ON r.source = p.source{
        " LEFT JOIN windows w ON w.type_id = p.type_id" if plan.windows else ""
    }
    )"""


_SAMPLE = """
    (SELECT coalesce(jsonb_agg(s ORDER BY s.serial_number), '[]'::jsonb) FROM (
        SELECT code, serial_number, state, refusal AS reason FROM judged
         WHERE refusal IS NOT NULL ORDER BY id LIMIT :sample) s) AS sample"""


def _apply(plan: Plan) -> str:
    sets = [f"{column} = CAST(:c_{column} AS {CHANGEABLE[column]})" for column in plan.changes]
    if plan.windows:  # activation starts the window of types that run from it
        sets += [
            f"{column} = CASE WHEN j.window_type IS NULL THEN v.{column} ELSE j.{bound} END"
            for column, bound in (("valid_from", "wfrom"), ("valid_until", "wuntil"))
        ]
    if plan.block == "set":
        sets += [
            "blocked_by = 'back_office'",
            "block_store_id = NULL",
            "block_reason = left(CAST(:block_reason AS text), 200)",
        ]
    elif plan.block == "clear":
        sets += ["blocked_by = NULL", "block_store_id = NULL", "block_reason = NULL"]
    changed = "".join(f", {s}" for s in sets)
    before = ", ".join(f"'{column}', j.{column}" for column in plan.changes)
    details = "CAST(:details AS jsonb)"
    if plan.changes:  # each voucher's old values beside the operation's new ones
        details += f" || jsonb_build_object('before', jsonb_build_object({before}))"
    return f"""
    moved AS (
        UPDATE vouchers v SET state = j.target,
               activated_at = CASE WHEN :activates THEN CAST(:now AS timestamptz)
                                   ELSE v.activated_at END{changed}
          FROM judged j WHERE v.id = j.id AND j.refusal IS NULL
        RETURNING v.id, j.state AS state_before, j.target AS state_after, v.balance_minor,
                  {details} AS details
    ),
    history AS (
        INSERT INTO voucher_history (voucher_id, type, status, occurred_at, operator_code,
                                     balance_after_minor, state_before, state_after, details,
                                     recorded_at)
        SELECT id, :history_type, 'recorded', :now, :operator, balance_minor, state_before,
               state_after, details, clock_timestamp() FROM moved
    )"""


def _params(plan: Plan) -> dict[str, Any]:
    return {
        "sources": list(plan.moves),
        "targets": list(plan.moves.values()),
        "refused_sources": list(plan.refused_sources),
        "refused_codes": list(plan.refused_sources.values()),
        "ends_value": plan.ends_value,
        "keeps_value": plan.keeps_value,
        "window_types": [w.type_id for w in plan.windows],
        "window_from": [w.valid_from for w in plan.windows],
        "window_until": [w.valid_until for w in plan.windows],
        **{f"c_{column}": value for column, value in plan.changes.items()},
        **({"block_reason": plan.block_reason} if plan.block == "set" else {}),
    }


def apply_chunk(
    conn: Connection,
    f: Filter,
    plan: Plan,
    *,
    first_id: int,
    next_id: int | None,
    now: datetime,
    sample: int,
) -> ChunkResult:
    """Move the allowed vouchers with ids from ``first_id`` up to ``next_id``; returns what
    it selected and did."""
    where, params = _where(f)
    statement = (
        f"WITH {_judged(where, plan, chunked=True)},{_apply(plan)}"
        " SELECT (SELECT count(*) FROM picked) AS selected,"
        f" (SELECT count(*) FROM moved) AS done, {_SAMPLE}"
    )
    values = {
        **params,
        **_params(plan),
        "first": first_id,
        "next": next_id if next_id is not None else 2**62,
        "sample": sample,
        "activates": plan.activates,
        "now": now,
        "history_type": plan.history_type,
        "operator": plan.operator_code,
        "details": json.dumps(plan.details),
    }
    row = conn.execute(text(statement), values).one()
    return ChunkResult(int(row.selected), int(row.done), list(row.sample))


def known_codes(conn: Connection, f: Filter) -> set[str]:
    """The explicit codes of ``f`` that name a voucher it may select (the issuer's, not
    purged, within its stores), whatever its other filters say."""
    plain = Filter(issuer_id=f.issuer_id, codes=f.codes, store_ids=f.store_ids)
    where, params = _where(plain)
    found = conn.execute(text(f"SELECT v.code FROM vouchers v WHERE {where}"), params)
    return {str(code) for code in found.scalars()}


def count_selection(conn: Connection, f: Filter) -> int:
    where, params = _where(f)
    statement = f"SELECT count(*) FROM vouchers v WHERE {where}"
    return int(conn.execute(text(statement), params).scalar_one())


def count_refusals(conn: Connection, f: Filter, plan: Plan, *, sample: int) -> ChunkResult:
    """The whole selection judged without changing anything (``done`` = would be moved)."""
    where, params = _where(f)
    statement = (
        f"WITH {_judged(where, plan, chunked=False)}"
        " SELECT count(*) AS selected, count(*) FILTER (WHERE refusal IS NULL) AS done,"
        f" {_SAMPLE} FROM judged"
    )
    values = {**params, **_params(plan), "sample": sample}
    row = conn.execute(text(statement), values).one()
    return ChunkResult(int(row.selected), int(row.done), list(row.sample))


def set_boundaries(conn: Connection, operation_id: int, f: Filter, chunk_size: int) -> list[int]:
    """Fix the first voucher id of every chunk of the selection as it is now (vouchers added
    later with higher ids fall into the last chunk)."""
    where, params = _where(f)
    ids = conn.execute(
        text(
            "SELECT id FROM (SELECT v.id, row_number() OVER (ORDER BY v.id) AS n FROM vouchers v"
            f" WHERE {where}) s WHERE (n - 1) % :size = 0 ORDER BY id"
        ),
        {**params, "size": chunk_size},
    ).scalars()
    boundaries = [int(i) for i in ids]
    conn.execute(
        text("UPDATE bulk_operations SET boundaries = CAST(:b AS jsonb) WHERE id = :id"),
        {"b": json.dumps(boundaries), "id": operation_id},
    )
    return boundaries
