"""The admin API's catalogue (``/v1/admin``): voucher types and code templates — define one,
list an issuer's, show one. Authenticated, audited and answered like ``api.admin``; reading
needs the ``types`` right to read, defining it to write."""

from __future__ import annotations

import dataclasses

from fastapi import Query, Request

from scrip.api.admin import admin_router, issuer_id_of
from scrip.api.audit import unit
from scrip.api.auth import PrincipalDep, require
from scrip.api.deps import EngineDep
from scrip.db.templates import TemplateRow
from scrip.db.voucher_types import VoucherTypeRow
from scrip.domain.rights import Area, Level
from scrip.services import templates, voucher_types
from scrip.wire.admin import CodeTemplateIn, CodeTemplateOut, VoucherTypeIn, VoucherTypeOut

router = admin_router()
READ = [require(Area.types, Level.read)]
WRITE = [require(Area.types, Level.write)]
IssuerQuery = Query(min_length=1, max_length=32, description="issuer code")


def _type_out(row: VoucherTypeRow) -> VoucherTypeOut:
    return VoucherTypeOut(**dataclasses.asdict(row))


def _template_out(row: TemplateRow) -> CodeTemplateOut:
    fields = dataclasses.asdict(row)
    fields.pop("issuer_id")
    return CodeTemplateOut(**fields, capacity=templates.capacity(row))


@router.post("/voucher-types", status_code=201, response_model=VoucherTypeOut, dependencies=WRITE)
def create_voucher_type(
    body: VoucherTypeIn, request: Request, principal: PrincipalDep
) -> VoucherTypeOut:
    """Define a voucher type; a definition that breaks a rule is refused (422) with its code."""
    conn = unit(request).connection()
    row = voucher_types.define(
        conn,
        scope=principal.scope,
        issuer_id=issuer_id_of(conn, body.issuer),
        **body.model_dump(exclude={"issuer"}),
    )
    return _type_out(row)


@router.get("/voucher-types", response_model=list[VoucherTypeOut], dependencies=READ)
def list_voucher_types(
    engine: EngineDep, principal: PrincipalDep, issuer: str = IssuerQuery
) -> list[VoucherTypeOut]:
    with engine.connect() as conn:
        rows = voucher_types.list_types(
            conn, scope=principal.scope, issuer_id=issuer_id_of(conn, issuer)
        )
    return [_type_out(row) for row in rows]


@router.get("/voucher-types/{code}", response_model=VoucherTypeOut, dependencies=READ)
def show_voucher_type(
    code: str, engine: EngineDep, principal: PrincipalDep, issuer: str = IssuerQuery
) -> VoucherTypeOut:
    with engine.connect() as conn:
        found = voucher_types.get_type(
            conn, scope=principal.scope, issuer_id=issuer_id_of(conn, issuer), code=code
        )
    return _type_out(found)


@router.post("/code-templates", status_code=201, response_model=CodeTemplateOut, dependencies=WRITE)
def create_code_template(
    body: CodeTemplateIn, request: Request, principal: PrincipalDep
) -> CodeTemplateOut:
    conn = unit(request).connection()
    row = voucher_types.define_template(
        conn,
        scope=principal.scope,
        issuer_id=issuer_id_of(conn, body.issuer),
        **body.model_dump(exclude={"issuer"}),
    )
    return _template_out(row)


@router.get("/code-templates", response_model=list[CodeTemplateOut], dependencies=READ)
def list_code_templates(
    engine: EngineDep, principal: PrincipalDep, issuer: str = IssuerQuery
) -> list[CodeTemplateOut]:
    with engine.connect() as conn:
        rows = voucher_types.list_templates(
            conn, scope=principal.scope, issuer_id=issuer_id_of(conn, issuer)
        )
    return [_template_out(row) for row in rows]


@router.get("/code-templates/{name}", response_model=CodeTemplateOut, dependencies=READ)
def show_code_template(
    name: str, engine: EngineDep, principal: PrincipalDep, issuer: str = IssuerQuery
) -> CodeTemplateOut:
    with engine.connect() as conn:
        found = voucher_types.get_template(
            conn, scope=principal.scope, issuer_id=issuer_id_of(conn, issuer), name=name
        )
    return _template_out(found)
