"""Voucher type rows for the back office: list and find by code, with the template's name; the
issuer's stores by code (allowed stores are named by code, kept by id)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, text


@dataclass(frozen=True, slots=True)
class VoucherTypeRow:
    id: int
    code: str
    name: str
    classification: str
    currency: str
    value_mode: str
    face_value_minor: int | None
    extra_value_minor: int
    multi_use: bool
    reloadable: bool
    max_balance_minor: int | None
    min_activation_receipt_minor: int
    min_payment_receipt_minor: int
    validity_basis: str
    validity_days: int | None
    valid_from_on: date | None
    valid_until_on: date | None
    pin_length: int | None
    return_to_prepared: bool
    refund_method: str | None
    e_voucher_use: str | None
    supported_products: list[str] | None
    supported_product_groups: list[str] | None
    allowed_store_ids: list[int] | None
    template: str | None
    created_at: datetime


_SELECT = """
    SELECT t.id, t.code, t.name, t.classification, t.currency, t.value_mode, t.face_value_minor,
           t.extra_value_minor, t.multi_use, t.reloadable, t.max_balance_minor,
           t.min_activation_receipt_minor, t.min_payment_receipt_minor, t.validity_basis,
           t.validity_days, t.valid_from_on, t.valid_until_on, t.pin_length,
           t.return_to_prepared, t.refund_method, t.e_voucher_use, t.supported_products,
           t.supported_product_groups, t.allowed_store_ids, c.name AS template, t.created_at
      FROM voucher_types t LEFT JOIN code_templates c ON c.id = t.template_id
     WHERE t.issuer_id = :issuer"""


def list_types(conn: Connection, issuer_id: int) -> list[VoucherTypeRow]:
    found = conn.execute(text(_SELECT + " ORDER BY t.code"), {"issuer": issuer_id}).mappings()
    return [VoucherTypeRow(**row) for row in found]


def find_type(conn: Connection, issuer_id: int, code: str) -> VoucherTypeRow | None:
    found = conn.execute(text(_SELECT + " AND t.code = :code"), {"issuer": issuer_id, "code": code})
    row = found.mappings().first()
    return None if row is None else VoucherTypeRow(**row)


def store_ids(conn: Connection, issuer_id: int, codes: Sequence[str]) -> dict[str, int]:
    """``store code -> id`` for those of ``codes`` the issuer has."""
    found = conn.execute(
        text("SELECT code, id FROM stores WHERE issuer_id = :i AND code = ANY(:codes)"),
        {"i": issuer_id, "codes": list(codes)},
    )
    return {str(code): int(store_id) for code, store_id in found}


def issuer_timezone(conn: Connection, issuer_id: int) -> str:
    found = conn.execute(text("SELECT timezone FROM issuers WHERE id = :i"), {"i": issuer_id})
    return str(found.scalar_one())


def activation_rules(conn: Connection, issuer_id: int) -> list[dict[str, Any]]:
    """The validity rule of each of the issuer's types whose window runs from activation."""
    found = conn.execute(
        text(
            "SELECT id, validity_basis, validity_days, valid_from_on, valid_until_on"
            " FROM voucher_types WHERE issuer_id = :i AND validity_basis = 'from_activation'"
            " AND validity_days IS NOT NULL"
        ),
        {"i": issuer_id},
    ).mappings()
    return [dict(row) for row in found]
