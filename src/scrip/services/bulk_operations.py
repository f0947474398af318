"""Bulk operations (S9): accept, reject, activate, hand over, block, unblock, cancel or purge
every voucher of a selection (lot, type, serial range, list of codes, state filter), or edit
it: change its validity window, or modify its value, extra value, supported products and
product groups and allowed stores (``domain.bulk.Edit``). Activation starts the window of types
whose validity runs from activation, exactly as an activation at the till does.

:func:`create_operation` checks the request and stores the group record ``queued`` (operator,
reason, selection). :func:`run` is the job: chunk by chunk, in voucher id order (serial order
within a lot or a type), one transaction per chunk, it moves the vouchers the life-cycle tables
allow (:mod:`scrip.domain.bulk`), writes a history row for each and counts and samples the
ones it refuses. The chunk boundaries are fixed when the run starts and each chunk's counts and
done mark commit with it, so a crashed run started again does only the chunks without a mark
and never does a voucher twice; disjoint chunks run two at a time.

``all_or_nothing`` runs the whole selection in one transaction: it first judges every voucher
without changing any, and if one would be refused the operation fails with ``bulk_refused``
(counts and sample recorded, no voucher changed); a refusal found while applying (a voucher
changed meanwhile) rolls everything back the same way.

Bulk operations move no value: no ledger transfers, balances stay (see the domain module for
what that refuses).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from scrip.db import bulk_operations as bulk_db
from scrip.db import bulk_statement
from scrip.db import lots as lots_db
from scrip.db import voucher_types as types_db
from scrip.db.bulk_operations import BulkOperationRow
from scrip.db.bulk_statement import ChunkResult, Filter, Plan, Window
from scrip.domain import bulk, validity
from scrip.domain.codes import normalize
from scrip.domain.errors import Forbidden, InvalidInput, NotFound, ScripError
from scrip.domain.lifecycle import Action
from scrip.domain.scope import Scope, check_head_office, check_issuer
from scrip.services import voucher_types
from scrip.services.activation import rule_from

CHUNK = 50_000
WORKERS = 2
REFUSED = "bulk_refused"
UNKNOWN_NAMED = 100  # how many unknown codes a refusal's details name

Progress = Callable[[BulkOperationRow], None]


def get_operation(conn: Connection, operation_id: int, *, scope: Scope) -> BulkOperationRow:
    """The operation, for a user whose ``scope`` reaches it: one made at head office belongs to
    head office, one made by a store user to the stores it was limited to."""
    op = _operation(conn, operation_id)
    if op.store_ids is None:
        check_head_office(scope, op.issuer_id)
    else:
        check_issuer(scope, op.issuer_id)
        if not all(scope.sees_store(store) for store in op.store_ids):
            raise Forbidden(
                "this bulk operation was made for other stores", code="store_out_of_scope"
            )
    return op


def _operation(conn: Connection, operation_id: int) -> BulkOperationRow:
    found = bulk_db.find_operation(conn, operation_id)
    if found is None:
        raise NotFound("no bulk operation with this id", code="bulk_operation_not_found")
    return found


def _type_id(conn: Connection, issuer_id: int, code: str) -> int:
    found = lots_db.find_type_id(conn, issuer_id=issuer_id, code=code)
    if found is None:
        raise NotFound("no voucher type with this code", code="voucher_type_not_found")
    return found


def _check_lot(conn: Connection, issuer_id: int, lot_id: int) -> None:
    lot = lots_db.find_lot(conn, lot_id)
    if lot is None or lot.issuer_id != issuer_id:
        raise NotFound("no lot with this id", code="lot_not_found")


def create_operation(
    conn: Connection,
    *,
    scope: Scope,
    issuer_id: int,
    action: str,
    selection: bulk.Selection,
    operator: str,
    now: datetime,
    reason: str | None = None,
    all_or_nothing: bool = False,
    chunk_size: int = CHUNK,
    changes: Mapping[str, Any] | None = None,
) -> int:
    """Check and store a bulk operation (status ``queued``); :func:`run` carries it out.
    ``changes`` says what an edit sets (see ``domain.bulk.changes_of``); allowed stores are
    given by code as ``allowed_stores``.

    A store user's operation (``scope``) touches only vouchers sold at their stores, on every
    chunk and every resume. Explicit codes that match no voucher it may touch are named as
    refused (``not_found``, :attr:`BulkOperationRow.unknown_codes`); an all-or-nothing
    operation with such codes is refused whole (``codes_not_found``), nothing queued."""
    check_issuer(scope, issuer_id)
    chosen = bulk.action_of(action)
    selection.check()
    bulk.check_reason(chosen, reason)
    columns = bulk.changes_of(
        chosen,
        voucher_types.store_codes_to_ids(conn, issuer_id, dict(changes or {})),
        tz=types_db.issuer_timezone(conn, issuer_id),
    )
    if not 0 < len(operator) <= 32:
        raise InvalidInput("the operator is 1 to 32 characters", code="invalid_operator")
    if chunk_size <= 0:
        raise InvalidInput("the chunk size must be positive", code="invalid_input")
    if selection.lot_id is not None:
        _check_lot(conn, issuer_id, selection.lot_id)
    codes = tuple(sorted({normalize(code) for code in selection.codes}))
    chosen_parts = dataclasses.asdict(dataclasses.replace(selection, codes=codes))
    stored = {key: value for key, value in chosen_parts.items() if value not in (None, ())}
    stores = None if scope.store_ids is None else sorted(scope.store_ids)
    selected = _filter_of(conn, issuer_id, stored, stores)
    unknown = sorted(set(codes) - bulk_statement.known_codes(conn, selected)) if codes else []
    if unknown and all_or_nothing:
        raise NotFound(
            "these codes match no voucher the operation may touch",
            code="codes_not_found",
            codes=unknown[:UNKNOWN_NAMED],
            count=len(unknown),
        )
    values: dict[str, Any] = {
        "issuer_id": issuer_id,
        "action": chosen.value,
        "selection": json.dumps(stored),
        "operator": operator,
        "reason": reason,
        "all_or_nothing": all_or_nothing,
        "chunk_size": chunk_size,
        "total_count": bulk_statement.count_selection(conn, selected) + len(unknown),
        "created_at": now,
        "changes": json.dumps(columns),
        "store_ids": stores,
        "unknown_codes": unknown,
        # Unknown codes are refused before the run: counted as selected and refused.
        "selected_count": len(unknown),
        "refused_count": len(unknown),
        "refused_sample": json.dumps(
            [
                {"code": code, "serial_number": None, "state": None, "reason": "not_found"}
                for code in unknown[: bulk.SAMPLE_SIZE]
            ]
        ),
    }
    return bulk_db.insert_operation(conn, values)


def _filter(conn: Connection, op: BulkOperationRow) -> Filter:
    return _filter_of(conn, op.issuer_id, op.selection, op.store_ids)


def _filter_of(
    conn: Connection, issuer_id: int, s: dict[str, Any], store_ids: list[int] | None
) -> Filter:
    type_code = s.get("type_code")
    return Filter(
        issuer_id=issuer_id,
        lot_id=s.get("lot_id"),
        type_id=None if type_code is None else _type_id(conn, issuer_id, type_code),
        serial_from=s.get("serial_from"),
        serial_to=s.get("serial_to"),
        codes=tuple(s.get("codes") or ()),
        states=tuple(s.get("states") or ()),
        store_ids=None if store_ids is None else tuple(store_ids),
    )


def _plan(conn: Connection, op: BulkOperationRow, now: datetime) -> Plan:
    action = bulk.action_of(op.action)
    details: dict[str, Any] = {"bulk_operation_id": op.id}
    if op.reason:
        details["reason"] = op.reason
    if op.changes:
        details["changes"] = op.changes
    return Plan(
        moves=bulk.moves(action),
        refused_sources=bulk.refused_sources(action, op.changes),
        ends_value=action in bulk.ENDS_VALUE,
        keeps_value=bool(bulk.VALUE_COLUMNS & set(op.changes)),
        activates=action is Action.activate,
        history_type=bulk.HISTORY_TYPE[action],
        operator_code=op.operator,
        details=details,
        changes=op.changes,
        windows=_activation_windows(conn, op.issuer_id, now) if action is Action.activate else (),
        block=_BLOCKS.get(action),
        block_reason=op.reason,
    )


_BLOCKS: dict[bulk.BulkAction, str] = {Action.block: "set", Action.unblock: "clear"}


def _activation_windows(conn: Connection, issuer_id: int, now: datetime) -> list[Window]:
    """The window a till activation at ``now`` would give, for each type that needs one."""
    tz = types_db.issuer_timezone(conn, issuer_id)
    windows = []
    for row in types_db.activation_rules(conn, issuer_id):
        rule = rule_from(
            row["validity_basis"],
            days=row["validity_days"],
            from_on=row["valid_from_on"],
            until_on=row["valid_until_on"],
        )
        if rule is not None:
            start, end = validity.window(rule, tz=tz, issued_at=now, activated_at=now)
            windows.append(Window(row["id"], start, end))
    return windows


def pending_chunks(conn: Connection, *, operation_id: int) -> list[int]:
    """The chunks not committed yet; the first call fixes the chunk boundaries."""
    op = _lock(conn, operation_id)
    boundaries = op.boundaries
    if boundaries is None:
        boundaries = bulk_statement.set_boundaries(conn, op.id, _filter(conn, op), op.chunk_size)
    return [i for i in range(len(boundaries)) if not bulk_db.chunk_done(conn, op.id, i)]


def _lock(conn: Connection, operation_id: int) -> BulkOperationRow:
    op = bulk_db.lock_operation(conn, operation_id)
    if op is None:
        raise NotFound("no bulk operation with this id", code="bulk_operation_not_found")
    return op


def run_chunk(
    conn: Connection, *, operation_id: int, chunk: int, now: datetime
) -> BulkOperationRow:
    """Chunk ``chunk`` of the operation, in the caller's transaction."""
    op = _operation(conn, operation_id)
    if op.boundaries is None or not 0 <= chunk < len(op.boundaries):
        raise InvalidInput("no such chunk in this bulk operation", code="invalid_input")
    after = op.boundaries[chunk + 1] if chunk + 1 < len(op.boundaries) else None
    # The history rows reference vouchers the same statement just updated, so their per-row
    # foreign-key checks are skipped where the role may (as for lots).
    unchecked = lots_db.skip_row_checks(conn)
    result = bulk_statement.apply_chunk(
        conn,
        _filter(conn, op),
        _plan(conn, op, now),
        first_id=op.boundaries[chunk],
        next_id=after,
        now=now,
        sample=bulk.SAMPLE_SIZE,
    )
    if unchecked:
        lots_db.restore_row_checks(conn)
    return bulk_db.add_progress(conn, operation_id, chunk, result, sample_size=bulk.SAMPLE_SIZE)


class _Refused(Exception):
    def __init__(self, result: ChunkResult) -> None:
        self.result = result


def _run_whole(
    engine: Engine, operation_id: int, clock: Callable[[], datetime], on_progress: Progress
) -> None:
    with engine.begin() as conn:
        op = _lock(conn, operation_id)
        bulk_db.reset_progress(conn, operation_id)
        plan = _plan(conn, op, clock())
        judged = bulk_statement.count_refusals(
            conn, _filter(conn, op), plan, sample=bulk.SAMPLE_SIZE
        )
        if judged.refused:
            raise _Refused(judged)
        for chunk in pending_chunks(conn, operation_id=operation_id):
            row = run_chunk(conn, operation_id=operation_id, chunk=chunk, now=clock())
            if row.refused_count:
                raise _Refused(_as_result(row))
            on_progress(row)
        bulk_db.set_status(conn, operation_id, status="done", now=clock())


def _as_result(row: BulkOperationRow) -> ChunkResult:
    return ChunkResult(row.selected_count, row.done_count, row.refused_sample)


def _run_chunks(
    engine: Engine,
    operation_id: int,
    clock: Callable[[], datetime],
    on_progress: Progress,
    workers: int,
) -> None:
    failed = threading.Event()

    def one(chunk: int) -> None:
        if failed.is_set():  # after one chunk fails, start no other: the run stops there
            return
        try:
            with engine.begin() as conn:
                row = run_chunk(conn, operation_id=operation_id, chunk=chunk, now=clock())
        except Exception:
            failed.set()
            raise
        on_progress(row)

    with engine.begin() as conn:
        pending = pending_chunks(conn, operation_id=operation_id)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, pending))
    with engine.begin() as conn:
        bulk_db.set_status(conn, operation_id, status="done", now=clock())


def run(
    engine: Engine,
    *,
    operation_id: int,
    clock: Callable[[], datetime],
    on_progress: Progress = lambda row: None,
    workers: int = WORKERS,
) -> BulkOperationRow:
    """Carry out (or resume) an operation to the end and return its final row. This is a job,
    so unlike other services it owns its transactions; chunks are disjoint, so ``workers`` of
    them run at a time (all-or-nothing runs one transaction, so one at a time). A
    whole-operation refusal is recorded on the row (``failed``, error ``bulk_refused``), not
    raised; any other error marks it ``failed`` and is raised, and running it again does only
    the chunks not committed yet."""
    with engine.begin() as conn:
        op = _operation(conn, operation_id)
        if op.status == "done":
            return op
        bulk_db.set_status(conn, operation_id, status="running", now=clock())
    try:
        if op.all_or_nothing:
            _run_whole(engine, operation_id, clock, on_progress)
        else:
            _run_chunks(engine, operation_id, clock, on_progress, workers)
    except _Refused as refused:
        with engine.begin() as conn:
            bulk_db.record_refusal(conn, operation_id, refused=refused.result)
            bulk_db.set_status(conn, operation_id, status="failed", now=clock(), error=REFUSED)
    except Exception as error:
        _mark_failed(engine, operation_id, error, clock())
        raise
    with engine.connect() as conn:
        return _operation(conn, operation_id)


def _mark_failed(engine: Engine, operation_id: int, error: Exception, now: datetime) -> None:
    # Only the kind of error is kept: a message could quote row data.
    reason = error.code if isinstance(error, ScripError) else type(error).__name__
    with engine.begin() as conn:
        bulk_db.set_status(conn, operation_id, status="failed", now=now, error=reason)


def preview(conn: Connection, *, scope: Scope, issuer_id: int, selection: bulk.Selection) -> int:
    """How many vouchers a selection holds now (of those ``scope`` may touch): the count a
    screen shows before running."""
    check_issuer(scope, issuer_id)
    selection.check()
    parts = {k: v for k, v in dataclasses.asdict(selection).items() if v not in (None, ())}
    stores = None if scope.store_ids is None else sorted(scope.store_ids)
    return bulk_statement.count_selection(conn, _filter_of(conn, issuer_id, parts, stores))
