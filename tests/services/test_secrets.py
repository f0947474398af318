"""Secret retrieval: audited in the voucher's history, refused without the right or a reason;
rotation re-encrypts under the current key so the old one is no longer needed."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import Connection, text

from scrip import crypto
from scrip.db import history as history_db
from scrip.domain.scope import EVERYTHING
from scrip.services import catalog, lots
from scrip.services import secrets as vault
from tests import builders


def _rings() -> tuple[crypto.Keyring, crypto.Keyring, crypto.Keyring]:
    # Ids of their own: other tests commit secrets under other keys to the same database.
    k1, k2 = f"old{secrets.token_hex(4)}", f"new{secrets.token_hex(4)}"
    old_key, new_key = crypto.new_secret_key(), crypto.new_secret_key()
    old = crypto.parse_keyring(f"{k1}:{old_key}")
    both = crypto.parse_keyring(f"{k1}:{old_key},{k2}:{new_key}", k2)
    new_only = crypto.parse_keyring(f"{k2}:{new_key}")
    return old, both, new_only


def _lot(
    conn: Connection, keyring: crypto.Keyring, count: int = 3
) -> tuple[builders.World, list[str]]:
    w = builders.world(conn)
    catalog.create_voucher_type(
        conn,
        issuer_id=w.issuer_id,
        code="pinned",
        name="PIN card",
        classification="gift_card",
        value_mode="variable",
        pin_length=6,
    )
    lot_id = lots.create_lot(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        type_code="pinned",
        count=count,
        created_by="t",
        now=builders.now(),
    )
    lots.generate_chunk(conn, lot_id=lot_id, index=0, keyring=keyring, now=builders.now())
    codes = (
        conn.execute(
            text("SELECT code FROM vouchers WHERE lot_id = :l ORDER BY serial_number"),
            {"l": lot_id},
        )
        .scalars()
        .all()
    )
    return w, list(codes)


def _retrieve(
    conn: Connection, w: builders.World, code: str, ring: crypto.Keyring, **kw: object
) -> vault.Retrieval:
    args: dict[str, object] = {
        "user": "alice",
        "reason": "customer lost the card",
        "entitled": True,
    }
    args.update(kw)
    return vault.retrieve(
        conn,
        scope=EVERYTHING,
        issuer_id=w.issuer_id,
        voucher_code=code,
        keyring=ring,
        now=builders.now(),
        **args,  # type: ignore[arg-type]
    )


def _history_types(
    conn: Connection, w: builders.World, code: str
) -> list[tuple[str, dict[str, object]]]:
    voucher_id = conn.execute(
        text("SELECT id FROM vouchers WHERE issuer_id = :i AND code = :c"),
        {"i": w.issuer_id, "c": code},
    ).scalar_one()
    return [(r["type"], r["details"]) for r in history_db.list_history(conn, voucher_id)]


def test_retrieval_returns_the_secret_and_is_audited(conn: Connection) -> None:
    old, _, _ = _rings()
    w, codes = _lot(conn, old)
    got = _retrieve(conn, w, codes[0], old)
    assert len(got.secret) == 6 and got.secret.isdigit()
    assert got.secret not in repr(got)
    kinds = _history_types(conn, w, codes[0])
    assert kinds[-1][0] == "secret.retrieved"
    assert kinds[-1][1]["user"] == "alice" and kinds[-1][1]["reason"] == "customer lost the card"
    assert got.secret not in str(kinds)


@pytest.mark.parametrize(
    ("kw", "code"),
    [({"entitled": False}, "secret_access_denied"), ({"reason": "  "}, "reason_required")],
)
def test_refused_retrieval_is_recorded(conn: Connection, kw: dict[str, object], code: str) -> None:
    old, _, _ = _rings()
    w, codes = _lot(conn, old)
    with pytest.raises(vault.SecretRefused) as refused:
        _retrieve(conn, w, codes[0], old, **kw)
    assert refused.value.code == code
    last_type, details = _history_types(conn, w, codes[0])[-1]
    assert last_type == "secret.retrieval_refused" and details["refusal"] == code


def test_secret_never_in_error_text(conn: Connection) -> None:
    old, _, new_only = _rings()
    w, codes = _lot(conn, old)
    secret = _retrieve(conn, w, codes[0], old).secret
    with pytest.raises(Exception) as failed:
        _retrieve(conn, w, codes[0], new_only)
    assert secret not in str(failed.value) and secret not in repr(failed.value)


def test_rotation_re_encrypts_so_the_old_key_is_no_longer_needed(conn: Connection) -> None:
    old, both, new_only = _rings()
    w, codes = _lot(conn, old, count=5)
    before = {code: _retrieve(conn, w, code, old).secret for code in codes}
    rotated, _ = vault.rotate_batch(conn, keyring=both, limit=1_000)
    assert rotated == 5
    assert vault.count_to_rotate(conn, keyring=both) == 0
    after = {code: _retrieve(conn, w, code, new_only).secret for code in codes}
    assert after == before
