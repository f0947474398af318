"""The secret vault (S3, S13): read a voucher's secret number back, audited, and rotate keys.

Every retrieval and every refused attempt writes a row to the voucher's history
(``secret.retrieved`` / ``secret.retrieval_refused``) with the user and the reason. A refusal
raises after writing its row: the entry point commits on ``SecretRefused`` so the attempt stays
on record (the row is the only thing written). The secret itself never enters a message,
error detail, log line or ``repr``.

Whether the user is entitled is decided by :func:`entitled` (the ``secrets`` right of S13); the
caller passes the answer in, so the CLI — which holds the database — can act as the admin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from scrip import crypto
from scrip.db import history as history_db
from scrip.db import vault as vault_db
from scrip.db import vouchers as vouchers_db
from scrip.db.history import HistoryEntry, Where
from scrip.db.vouchers import VoucherRow
from scrip.domain import rights
from scrip.domain.codes import normalize
from scrip.domain.errors import Forbidden, InvalidInput, NotFound, ScripError
from scrip.domain.scope import Scope, check_issuer, check_store

ROTATION_BATCH = 5_000


class SecretRefused(ScripError):
    """A refused retrieval whose history row was written; commit before answering."""

    def __init__(self, cause: ScripError) -> None:
        super().__init__(cause.message, code=cause.code, **cause.details)
        self.cause = cause


@dataclass(frozen=True, slots=True)
class Retrieval:
    voucher_id: int
    code: str
    secret: str = field(repr=False)


# The role of whoever holds the admin token (API) or the database itself (CLI).


def entitled(principal: rights.Principal) -> bool:
    """May this user read secret numbers back? The ``secrets`` right (read); the one place
    that decides it, for the admin API and the screens alike."""
    return rights.allows(principal.grants, (rights.Right(rights.Area.secrets, rights.Level.read),))


def _history(
    conn: Connection, voucher: VoucherRow, kind: str, details: dict[str, Any], now: datetime
) -> None:
    entry = HistoryEntry(
        voucher_id=voucher.id,
        type=kind,
        status="recorded",
        state_before=voucher.state,
        state_after=voucher.state,
        amount_minor=None,
        balance_after_minor=voucher.balance_minor,
        details=details,
    )
    history_db.record(conn, [entry], where=Where(operator_code=details["user"][:32]), now=now)


def _refusal(user: str, reason: str, entitled: bool) -> ScripError | None:
    if not entitled:
        return Forbidden("this user may not retrieve secrets", code="secret_access_denied")
    if not reason.strip():
        return InvalidInput("a retrieval needs a reason", code="reason_required")
    return None


def retrieve(
    conn: Connection,
    *,
    scope: Scope,
    issuer_id: int,
    voucher_code: str,
    user: str,
    reason: str,
    entitled: bool,
    keyring: crypto.Keyring,
    now: datetime,
) -> Retrieval:
    """The secret number of a voucher, for an entitled user giving a reason, whose ``scope``
    reaches the voucher (its issuer, and the store it was sold at or head office); audited."""
    check_issuer(scope, issuer_id)
    voucher = vouchers_db.find_voucher(conn, issuer_id=issuer_id, code=normalize(voucher_code))
    if voucher is None:
        raise NotFound("no voucher with this code", code="voucher_not_found")
    check_store(scope, issuer_id, vouchers_db.find_sold_at(conn, voucher.id))
    audit = {"user": user, "reason": reason}
    refusal = _refusal(user, reason, entitled)
    if refusal is not None:
        _history(conn, voucher, "secret.retrieval_refused", {**audit, "refusal": refusal.code}, now)
        raise SecretRefused(refusal)
    sealed = vault_db.find_sealed(conn, voucher.id)
    if sealed is None:
        raise NotFound("this voucher has no secret number", code="secret_not_found")
    secret = crypto.decrypt_secret(
        sealed.sealed, keyring.key(sealed.key_id), aad=crypto.secret_aad(voucher.id)
    )
    _history(conn, voucher, "secret.retrieved", {**audit, "key_id": sealed.key_id}, now)
    return Retrieval(voucher.id, voucher.code, secret)


def retrieve_committed(engine: Engine, **arguments: Any) -> Retrieval:
    """:func:`retrieve` in a transaction of its own for an entry point: a refused attempt's
    history row commits before the refusal (its cause: ``Forbidden``, ``InvalidInput``) is
    raised."""
    with engine.begin() as conn:
        try:
            return retrieve(conn, **arguments)
        except SecretRefused as error:
            refused = error.cause
    raise refused


# --- rotation ------------------------------------------------------------------------------


def _reseal(secret: vault_db.SealedSecret, keyring: crypto.Keyring) -> vault_db.SealedSecret:
    aad = crypto.secret_aad(secret.voucher_id)
    plain = crypto.decrypt_secret(secret.sealed, keyring.key(secret.key_id), aad=aad)
    key_id, sealed = crypto.encrypt_secret(
        plain, keyring.current_id, keyring.key(keyring.current_id), aad=aad
    )
    return vault_db.SealedSecret(secret.voucher_id, key_id, sealed)


def rotate_batch(
    conn: Connection, *, keyring: crypto.Keyring, after_id: int = 0, limit: int = ROTATION_BATCH
) -> tuple[int, int]:
    """Re-encrypt up to ``limit`` secrets under the current key; ``(rotated, last id)``."""
    found = vault_db.lock_sealed(conn, key_ids=_old_ids(keyring), after_id=after_id, limit=limit)
    vault_db.save_sealed(conn, [_reseal(secret, keyring) for secret in found])
    return len(found), (found[-1].voucher_id if found else after_id)


def _old_ids(keyring: crypto.Keyring) -> list[str]:
    """The configured ids other than the current one: rows under an id the keyring does not
    hold can't be decrypted here, so rotation leaves them (and they stay countable by id)."""
    return [key_id for key_id in keyring.keys if key_id != keyring.current_id]


def count_to_rotate(conn: Connection, *, keyring: crypto.Keyring) -> int:
    return vault_db.count_sealed(conn, key_ids=_old_ids(keyring))


def rotate(
    engine: Engine,
    *,
    keyring: crypto.Keyring,
    batch: int = ROTATION_BATCH,
    on_progress: Callable[[int], None] = lambda done: None,
) -> int:
    """Re-encrypt every secret under an older key, one transaction per batch (a job: it owns
    its transactions, so an interruption keeps the batches done); returns how many."""
    total, after = 0, 0
    while True:
        with engine.begin() as conn:
            done, after = rotate_batch(conn, keyring=keyring, after_id=after, limit=batch)
        if not done:
            return total
        total += done
        on_progress(total)
