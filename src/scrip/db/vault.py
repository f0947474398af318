"""The encrypted secret numbers on voucher rows: find one, page through rows to rotate."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, text


@dataclass(frozen=True, slots=True)
class SealedSecret:
    """A voucher's secret as stored: key id and nonce + ciphertext (never the plaintext)."""

    voucher_id: int
    key_id: str
    sealed: bytes = field(repr=False)


def lock_sealed(
    conn: Connection, *, key_ids: list[str], after_id: int, limit: int
) -> list[SealedSecret]:
    """Up to ``limit`` secrets sealed under one of ``key_ids``, by id, locked."""
    rows = conn.execute(
        text(
            "SELECT id, secret_key_id, secret_sealed FROM vouchers"
            " WHERE secret_sealed IS NOT NULL AND secret_key_id = ANY(:k) AND id > :after"
            " ORDER BY id LIMIT :limit FOR UPDATE"
        ),
        {"k": key_ids, "after": after_id, "limit": limit},
    )
    return [SealedSecret(int(r[0]), str(r[1]), bytes(r[2])) for r in rows]


def count_sealed(conn: Connection, *, key_ids: list[str]) -> int:
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM vouchers"
                " WHERE secret_sealed IS NOT NULL AND secret_key_id = ANY(:k)"
            ),
            {"k": key_ids},
        ).scalar_one()
    )


def save_sealed(conn: Connection, secrets: list[SealedSecret]) -> None:
    if not secrets:
        return
    conn.execute(
        text("UPDATE vouchers SET secret_key_id = :key_id, secret_sealed = :sealed WHERE id = :id"),
        [{"id": s.voucher_id, "key_id": s.key_id, "sealed": s.sealed} for s in secrets],
    )


def find_sealed(conn: Connection, voucher_id: int) -> SealedSecret | None:
    row = conn.execute(
        text("SELECT id, secret_key_id, secret_sealed FROM vouchers WHERE id = :id"),
        {"id": voucher_id},
    ).first()
    if row is None or row[2] is None:
        return None
    return SealedSecret(int(row[0]), str(row[1]), bytes(row[2]))
