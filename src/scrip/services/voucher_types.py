"""Voucher types and code templates for the back office (S2, S3, S4): define, list, show.

:func:`define` names a type's template and allowed stores by name and code, resolves them and
stores the type through ``catalog.create_voucher_type``, whose definition the domain checks
(``domain.voucher_types``). A code already taken is refused (``voucher_type_exists``,
``code_template_exists``) rather than left to the unique index.

Types and templates are an issuer's catalogue (``domain.scope``): every user of the issuer may
read them, store users included; only head office defines them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from scrip.db import templates as templates_db
from scrip.db import voucher_types as types_db
from scrip.db.templates import TemplateRow
from scrip.db.voucher_types import VoucherTypeRow
from scrip.domain.errors import Conflict, InvalidInput, NotFound
from scrip.domain.scope import Scope, check_head_office, check_issuer
from scrip.services import catalog, templates


def store_codes_to_ids(conn: Connection, issuer_id: int, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` with ``allowed_stores`` (store codes, or None for any store) replaced by
    ``allowed_store_ids``; ``store_not_found`` names the codes the issuer does not have."""
    if "allowed_stores" not in given:
        return given
    found = dict(given)
    codes = found.pop("allowed_stores")
    if codes is None:
        return {**found, "allowed_store_ids": None}
    if isinstance(codes, str) or not all(isinstance(c, str) for c in codes):
        raise InvalidInput("allowed_stores is a list of store codes", code="invalid_restriction")
    ids = types_db.store_ids(conn, issuer_id, codes)
    missing = sorted(set(codes) - set(ids))
    if missing:
        raise NotFound("no store with this code", code="store_not_found", stores=missing)
    return {**found, "allowed_store_ids": sorted({ids[code] for code in codes})}


def define(
    conn: Connection,
    *,
    scope: Scope,
    issuer_id: int,
    code: str,
    name: str,
    classification: str,
    template: str | None = None,
    allowed_stores: Sequence[str] | None = None,
    **definition: Any,
) -> VoucherTypeRow:
    """Check and store a voucher type; ``definition`` holds the other type fields."""
    check_head_office(scope, issuer_id)
    if types_db.find_type(conn, issuer_id, code) is not None:
        raise Conflict("a voucher type with this code exists", code="voucher_type_exists")
    if template is not None:
        found = get_template(conn, scope=scope, issuer_id=issuer_id, name=template)
        definition["template_id"] = found.id
    if allowed_stores is not None:
        definition = store_codes_to_ids(
            conn, issuer_id, {**definition, "allowed_stores": allowed_stores}
        )
    catalog.create_voucher_type(
        conn, issuer_id=issuer_id, code=code, name=name, classification=classification, **definition
    )
    return get_type(conn, scope=scope, issuer_id=issuer_id, code=code)


def list_types(conn: Connection, *, scope: Scope, issuer_id: int) -> list[VoucherTypeRow]:
    check_issuer(scope, issuer_id)
    return types_db.list_types(conn, issuer_id)


def get_type(conn: Connection, *, scope: Scope, issuer_id: int, code: str) -> VoucherTypeRow:
    check_issuer(scope, issuer_id)
    found = types_db.find_type(conn, issuer_id, code)
    if found is None:
        raise NotFound("no voucher type with this code", code="voucher_type_not_found")
    return found


def define_template(
    conn: Connection, *, scope: Scope, issuer_id: int, name: str, **shape: Any
) -> TemplateRow:
    """Check and store a code template (see ``services.templates.create_template``)."""
    check_head_office(scope, issuer_id)
    if templates_db.find_template_by_name(conn, issuer_id=issuer_id, name=name) is not None:
        raise Conflict("a code template with this name exists", code="code_template_exists")
    templates.create_template(conn, issuer_id=issuer_id, name=name, **shape)
    return get_template(conn, scope=scope, issuer_id=issuer_id, name=name)


def list_templates(conn: Connection, *, scope: Scope, issuer_id: int) -> list[TemplateRow]:
    check_issuer(scope, issuer_id)
    return templates_db.list_templates(conn, issuer_id)


def get_template(conn: Connection, *, scope: Scope, issuer_id: int, name: str) -> TemplateRow:
    check_issuer(scope, issuer_id)
    found = templates_db.find_template_by_name(conn, issuer_id=issuer_id, name=name)
    if found is None:
        raise NotFound("no code template with this name", code="code_template_not_found")
    return found
