"""Lots (S3): N vouchers of one type generated together, set-based, a chunk per transaction.

:func:`create_lot` checks the request (initial state, value, template capacity), reserves the
lot's serial range and stores it ``queued``. :func:`generate_chunk` does one transaction's
work: chunk ``k`` holds the serials from ``serial_from + k * chunk_size``; it draws codes and
secret numbers from the CSPRNG for the whole chunk, encrypts each secret (AES-GCM bound to the
voucher id) and writes ledger accounts and vouchers with COPY, then history rows (and, for
funded lots, transfers) set-based; the lot's ``done_count`` moves in the same transaction. A
crash therefore leaves whole chunks, the serials say which exist, and :func:`run_lot` writes
only the missing ones: it is both "generate" and "resume".

Value: lots start at balance 0 (the value arrives when a voucher is sold at the POS), except
promotional vouchers generated straight into ``active``, whose value (face + extra) the issuer
funds at once from its promotional expense account (``promo_issue`` transfers).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from scrip import crypto
from scrip.db import bulk
from scrip.db import ledger as ledger_db
from scrip.db import lots as lots_db
from scrip.db.lots import LotRow
from scrip.domain import validity
from scrip.domain.bulk_codes import generate_codes, secret_numbers
from scrip.domain.codes import CodeTemplate
from scrip.domain.errors import InvalidInput, NotFound, ScripError
from scrip.domain.ledger import TransferCode
from scrip.domain.lifecycle import INITIAL_STATES, Classification, State
from scrip.domain.scope import Scope, check_head_office
from scrip.services import templates
from scrip.services.activation import rule_from

CHUNK = 50_000
WORKERS = 2
MAX_COUNT = 10_000_000
MAX_CODE_RETRIES = 5


def get_lot(conn: Connection, lot_id: int, *, scope: Scope) -> LotRow:
    """The lot, for a user whose ``scope`` reaches it: lots are head office's records."""
    lot = _lot(conn, lot_id)
    check_head_office(scope, lot.issuer_id)
    return lot


def _lot(conn: Connection, lot_id: int) -> LotRow:
    lot = lots_db.find_lot(conn, lot_id)
    if lot is None:
        raise NotFound("no lot with this id", code="lot_not_found")
    return lot


def _check_state(classification: str, state: str) -> None:
    allowed = INITIAL_STATES[Classification(classification)]
    if state not in {s.value for s in allowed}:
        raise InvalidInput(
            "vouchers of this classification cannot start in this state",
            code="invalid_initial_state",
            state=state,
            allowed=sorted(allowed),
        )


def _face_value(type_row: dict[str, Any], requested: int | None) -> int | None:
    if type_row["value_mode"] == "fixed":
        if requested not in (None, type_row["face_value_minor"]):
            raise InvalidInput("this type has a fixed value", code="fixed_value_type")
        return int(type_row["face_value_minor"])
    if requested is not None and requested <= 0:
        raise InvalidInput("a value must be positive", code="invalid_money")
    return requested


def funded(classification: str, state: str) -> bool:
    """True when the lot's vouchers hold their value from the start (see module docstring)."""
    return classification == Classification.promotional_voucher and state == State.active


def create_lot(
    conn: Connection,
    *,
    scope: Scope,
    issuer_id: int,
    type_code: str,
    count: int,
    created_by: str,
    now: datetime,
    state: str | None = None,
    face_value_minor: int | None = None,
    extra_value_minor: int | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    campaign: str | None = None,
    chunk_size: int = CHUNK,
) -> int:
    """Check and store a lot request (status ``queued``) and reserve its serial range;
    :func:`run_lot` generates it. Lots are made at head office (``scope``)."""
    check_head_office(scope, issuer_id)
    if not 0 < count <= MAX_COUNT:
        raise InvalidInput(f"a lot holds 1 to {MAX_COUNT} vouchers", code="invalid_count")
    type_id = lots_db.find_type_id(conn, issuer_id=issuer_id, code=type_code)
    if type_id is None:
        raise NotFound("no voucher type with this code", code="voucher_type_not_found")
    type_row = lots_db.lock_type(conn, type_id)
    state = state or sorted(INITIAL_STATES[Classification(type_row["classification"])])[0]
    _check_state(type_row["classification"], state)
    face = _face_value(type_row, face_value_minor)
    extra = type_row["extra_value_minor"] if extra_value_minor is None else extra_value_minor
    if extra < 0:
        raise InvalidInput("extra value must not be negative", code="invalid_money")
    if funded(type_row["classification"], state) and not face:
        raise InvalidInput("an active promotional lot needs a value", code="face_value_required")
    chosen = templates.template_of(conn, type_row)
    templates.check_room(conn, chosen, type_id=type_id, requested=count)
    values = {
        "issuer_id": issuer_id,
        "type_id": type_id,
        "count": count,
        "face_value_minor": face,
        "extra_value_minor": extra,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "campaign": campaign,
        "state": state,
        "serial_from": lots_db.next_serial(conn, type_id),
        "chunk_size": chunk_size,
        "status": "queued",
        "created_by": created_by,
        "created_at": now,
    }
    return lots_db.insert_lot(conn, values)


# --- one chunk ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Everything one chunk writes, decided before the first row goes out."""

    lot: LotRow
    type_row: dict[str, Any]
    serial_from: int
    voucher_ids: list[int]
    account_ids: list[int]
    balance_minor: int
    valid_from: datetime | None
    valid_until: datetime | None
    activated_at: datetime | None
    now: datetime


def _window(lot: LotRow, type_row: dict[str, Any], now: datetime) -> validity.Window:
    if lot.valid_from is not None or lot.valid_until is not None:
        return lot.valid_from, lot.valid_until
    rule = rule_from(
        type_row["validity_basis"],
        days=type_row["validity_days"],
        from_on=type_row["valid_from_on"],
        until_on=type_row["valid_until_on"],
    )
    activated = now if lot.state == State.active else None
    if rule is None or (rule.basis == validity.ValidityBasis.from_activation and not activated):
        return None, None
    return validity.window(rule, tz=type_row["timezone"], issued_at=now, activated_at=activated)


def _plan(conn: Connection, lot: LotRow, index: int, now: datetime) -> _Chunk:
    type_row = lots_db.find_type(conn, lot.type_id)
    offset = index * lot.chunk_size
    size = min(lot.chunk_size, lot.count - offset)
    valid_from, valid_until = _window(lot, type_row, now)
    value = (lot.face_value_minor or 0) + lot.extra_value_minor
    return _Chunk(
        lot=lot,
        type_row=type_row,
        serial_from=lot.serial_from + offset,
        voucher_ids=bulk.allocate_ids(conn, "vouchers", size),
        account_ids=bulk.allocate_ids(conn, "ledger_accounts", size),
        balance_minor=value if funded(type_row["classification"], lot.state) else 0,
        valid_from=valid_from,
        valid_until=valid_until,
        activated_at=now if lot.state == State.active else None,
        now=now,
    )


def _sealed_secrets(
    chunk: _Chunk, keyring: crypto.Keyring
) -> tuple[str | None, list[bytes | None]]:
    length = chunk.type_row["pin_length"]
    if not length:
        return None, [None] * len(chunk.voucher_ids)
    cipher = keyring.current
    numbers = secret_numbers(length, len(chunk.voucher_ids))
    sealed: list[bytes | None] = [
        crypto.seal(cipher, number.encode(), crypto.secret_aad(voucher_id))
        for voucher_id, number in zip(chunk.voucher_ids, numbers, strict=True)
    ]
    return keyring.current_id, sealed


def _voucher_rows(
    chunk: _Chunk, codes: Sequence[str], key_id: str | None, sealed: Sequence[bytes | None]
) -> list[tuple[Any, ...]]:
    lot, t = chunk.lot, chunk.type_row
    fixed = (lot.issuer_id, t["id"])
    return [
        (
            voucher_id,
            *fixed,
            account_id,
            code,
            chunk.serial_from + offset,
            lot.state,
            t["currency"],
            lot.face_value_minor,
            lot.extra_value_minor,
            chunk.balance_minor,
            chunk.valid_from,
            chunk.valid_until,
            chunk.activated_at,
            key_id if secret is not None else None,
            secret,
            lot.id,
        )
        for offset, (voucher_id, account_id, code, secret) in enumerate(
            zip(chunk.voucher_ids, chunk.account_ids, codes, sealed, strict=True)
        )
    ]


def _write_vouchers(conn: Connection, chunk: _Chunk, keyring: crypto.Keyring) -> None:
    """COPY the chunk's vouchers; codes another voucher of the issuer took meanwhile are
    drawn again (the unique index is the judge, so no code is ever checked twice)."""
    chosen = templates.template_of(conn, chunk.type_row)
    codes = generate_codes(chosen.template, len(chunk.voucher_ids))
    key_id, sealed = _sealed_secrets(chunk, keyring)
    for _ in range(MAX_CODE_RETRIES):
        if lots_db.copy_vouchers(conn, _voucher_rows(chunk, codes, key_id, sealed)):
            return
        codes = _replace_taken(conn, chunk, codes, chosen.template)
    raise InvalidInput(
        "could not draw free codes; the template is too full", code="codes_exhausted"
    )


def _replace_taken(
    conn: Connection, chunk: _Chunk, codes: list[str], template: CodeTemplate
) -> list[str]:
    taken = lots_db.existing_codes(conn, issuer_id=chunk.lot.issuer_id, codes=codes)
    keep = set(codes) - taken
    fresh = [c for c in generate_codes(template, 2 * len(taken) + 8) if c not in keep | taken]
    refill = iter(fresh)
    return [next(refill) if code in taken else code for code in codes]


def _write_history_and_value(conn: Connection, chunk: _Chunk) -> None:
    lot, value = chunk.lot, chunk.balance_minor
    operation = uuid.uuid4() if value else None
    where = {"type_id": lot.type_id, "first": chunk.serial_from, "last": _last_serial(chunk)}
    details = json.dumps({"lot_id": lot.id})
    lots_db.insert_created_history(
        conn,
        **where,
        values={"op": operation, "now": chunk.now, "amount": value or None, "details": details},
    )
    if operation is None:
        return
    promo = ledger_db.shared_account_id(
        conn, issuer_id=lot.issuer_id, kind="promo_expense", currency=lot_currency(chunk)
    )
    code = TransferCode.promo_issue.value
    lots_db.insert_funding(
        conn, **where, values={"op": operation, "debit": promo, "code": code, "now": chunk.now}
    )


def _last_serial(chunk: _Chunk) -> int:
    return chunk.serial_from + len(chunk.voucher_ids) - 1


def _write_chunk(conn: Connection, chunk: _Chunk, keyring: crypto.Keyring) -> None:
    lot = chunk.lot
    unchecked = lots_db.skip_row_checks(conn)
    lots_db.copy_accounts(
        conn, ids=chunk.account_ids, issuer_id=lot.issuer_id, currency=lot_currency(chunk)
    )
    _write_vouchers(conn, chunk, keyring)
    _write_history_and_value(conn, chunk)
    if unchecked:
        lots_db.restore_row_checks(conn)
        missing = lots_db.count_unreferenced(
            conn, type_id=lot.type_id, first=chunk.serial_from, last=_last_serial(chunk)
        )
        if missing:
            raise RuntimeError(f"{missing} generated vouchers reference missing rows")


def chunk_count(lot: LotRow) -> int:
    return -(-lot.count // lot.chunk_size)


def chunk_done(conn: Connection, lot: LotRow, index: int) -> bool:
    """A chunk is one transaction, so its first serial existing means all of it does."""
    first = lot.serial_from + index * lot.chunk_size
    return lots_db.serial_exists(conn, type_id=lot.type_id, serial=first)


def generate_chunk(
    conn: Connection, *, lot_id: int, index: int, keyring: crypto.Keyring, now: datetime
) -> LotRow:
    """Write chunk ``index`` of the lot (nothing if it exists); returns the lot after it."""
    lot = _lot(conn, lot_id)
    if not 0 <= index < chunk_count(lot):
        raise InvalidInput("no such chunk in this lot", code="invalid_input")
    if chunk_done(conn, lot, index):
        return lot
    chunk = _plan(conn, lot, index, now)
    _write_chunk(conn, chunk, keyring)
    return lots_db.add_progress(conn, lot_id, len(chunk.voucher_ids))


def lot_currency(chunk: _Chunk) -> str:
    return str(chunk.type_row["currency"])


# --- the whole lot ----------------------------------------------------------------------------


def _pending_chunks(engine: Engine, lot_id: int, now: datetime) -> list[int]:
    with engine.begin() as conn:
        lot = _lot(conn, lot_id)
        lots_db.set_status(conn, lot_id, status="running", now=now)
        return [i for i in range(chunk_count(lot)) if not chunk_done(conn, lot, i)]


def run_lot(
    engine: Engine,
    *,
    lot_id: int,
    keyring: crypto.Keyring,
    clock: Callable[[], datetime],
    workers: int = WORKERS,
    on_progress: Callable[[LotRow], None] = lambda lot: None,
) -> LotRow:
    """Generate (or resume) a lot to the end, one transaction per chunk, ``workers`` chunks at
    a time (the database does most of the work, so two connections use two cores). This is a
    job, so unlike other services it owns its transactions; on an error the lot is marked
    ``failed``, the chunks already committed stay, and running it again does the rest."""

    failed = threading.Event()

    def one(index: int) -> None:
        if failed.is_set():  # after one chunk fails, start no other: the run stops there
            return
        try:
            with engine.begin() as conn:
                lot = generate_chunk(conn, lot_id=lot_id, index=index, keyring=keyring, now=clock())
        except Exception:
            failed.set()
            raise
        on_progress(lot)

    try:
        pending = _pending_chunks(engine, lot_id, clock())
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, pending))
    except Exception as error:
        _mark_failed(engine, lot_id, error, clock())
        raise
    with engine.begin() as conn:
        lots_db.set_status(conn, lot_id, status="done", now=clock())
        return _lot(conn, lot_id)


def _mark_failed(engine: Engine, lot_id: int, error: Exception, now: datetime) -> None:
    # Only the kind of error is kept: a message could quote row data.
    reason = error.code if isinstance(error, ScripError) else type(error).__name__
    with engine.begin() as conn:
        lots_db.set_status(conn, lot_id, status="failed", now=now, error=str(reason))
