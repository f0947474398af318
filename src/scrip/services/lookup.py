"""The back office's look-up of one voucher by id, within the caller's scope: a voucher belongs
to its issuer and to the store where it was sold (``domain.scope``); one never sold belongs to
head office."""

from __future__ import annotations

from sqlalchemy import Connection, text

from scrip.db import vouchers as vouchers_db
from scrip.db.vouchers import VoucherRow
from scrip.domain.errors import NotFound
from scrip.domain.scope import Scope, check_store


def voucher_by_id(conn: Connection, *, scope: Scope, voucher_id: int) -> VoucherRow:
    found = conn.execute(
        text("SELECT issuer_id, code FROM vouchers WHERE id = :v"), {"v": voucher_id}
    ).first()
    voucher = None
    if found is not None:
        check_store(scope, int(found.issuer_id), vouchers_db.find_sold_at(conn, voucher_id))
        voucher = vouchers_db.find_voucher(conn, issuer_id=found.issuer_id, code=found.code)
    if voucher is None:
        raise NotFound("no voucher with this id", code="voucher_not_found")
    return voucher
