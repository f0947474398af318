"""Issuers, stores, registers (a new register's key is shown once), voucher types and code
templates. Created through ``services.catalog`` and ``services.templates``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from scrip.api.auth import require
from scrip.db import backoffice
from scrip.db import templates as templates_db
from scrip.domain.errors import Forbidden, NotFound
from scrip.domain.rights import Area, Level, may_see_store
from scrip.services import catalog, templates
from scrip.web.screens import PAGE, choices, list_page, redirect, render, screen_router

router = screen_router()
READ_SETTINGS = [require(Area.settings, Level.read)]
WRITE_SETTINGS = [require(Area.settings, Level.write)]


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


@router.get("/issuers", dependencies=READ_SETTINGS)
def issuers(request: Request, before: int | None = None) -> Response:
    return list_page(
        request,
        "issuers.html",
        lambda conn: backoffice.list_issuers(conn, before=before, limit=PAGE),
    )


@router.post("/issuers", dependencies=WRITE_SETTINGS)
def create_issuer(
    request: Request,
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    currency: Annotated[str, Form()],
    timezone: Annotated[str, Form()],
    code_prefix: Annotated[str, Form()] = "",
) -> Response:
    with request.app.state.engine.begin() as conn:
        catalog.create_issuer(
            conn,
            code=code.strip(),
            name=name.strip(),
            currency=currency.strip().upper(),
            timezone=timezone.strip(),
            code_prefix=code_prefix.strip(),
        )
    return redirect("/admin/issuers")


@router.get("/stores", dependencies=READ_SETTINGS)
def stores(request: Request, before: int | None = None) -> Response:
    scope = request.state.principal.store_ids
    return list_page(
        request,
        "stores.html",
        lambda conn: backoffice.list_stores(conn, store_ids=scope, before=before, limit=PAGE),
        issuers=choices(request, backoffice.issuer_choices),
    )


@router.post("/stores", dependencies=WRITE_SETTINGS)
def create_store(
    request: Request,
    issuer_id: Annotated[int, Form()],
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
) -> Response:
    if request.state.principal.store_ids is not None:
        raise Forbidden("a user limited to stores cannot add stores", code="store_out_of_scope")
    with request.app.state.engine.begin() as conn:
        catalog.create_store(conn, issuer_id=issuer_id, code=code.strip(), name=name.strip())
    return redirect("/admin/stores")


@router.get("/registers", dependencies=READ_SETTINGS)
def registers(request: Request, before: int | None = None) -> Response:
    scope = request.state.principal.store_ids
    return list_page(
        request,
        "registers.html",
        lambda conn: backoffice.list_registers(conn, store_ids=scope, before=before, limit=PAGE),
        stores=choices(request, lambda conn: backoffice.store_choices(conn, scope)),
    )


@router.post("/registers", dependencies=WRITE_SETTINGS)
def create_register(
    request: Request, store_id: Annotated[int, Form()], serial_number: Annotated[str, Form()]
) -> Response:
    if not may_see_store(request.state.principal, store_id):
        raise Forbidden("this store is outside the user's stores", code="store_out_of_scope")
    with request.app.state.engine.begin() as conn:
        made = catalog.create_register(conn, store_id=store_id, serial_number=serial_number.strip())
    request.state.audit = {
        "target": f"register {made.register_id}",
        "after": {"store_id": store_id},
    }
    # The key is in this one answer only: the database keeps its hash.
    return render(request, "register_key.html", serial=serial_number.strip(), key=made.api_key)


@router.get("/types", dependencies=[require(Area.types, Level.read)])
def types(
    request: Request, before: int | None = None, templates_before: int | None = None
) -> Response:
    return list_page(
        request,
        "types.html",
        lambda conn: backoffice.list_types(conn, before=before, limit=PAGE),
        templates=choices(
            request,
            lambda conn: backoffice.list_templates(conn, before=templates_before, limit=PAGE),
        ),
        issuers=choices(request, backoffice.issuer_choices),
    )


@router.post("/types", dependencies=[require(Area.types, Level.write)])
def create_type(
    request: Request,
    issuer_id: Annotated[int, Form()],
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    classification: Annotated[str, Form()],
    value_mode: Annotated[str, Form()] = "fixed",
    face_value_minor: Annotated[int | None, Form()] = None,
    extra_value_minor: Annotated[int | None, Form()] = None,
    template: Annotated[str | None, Form()] = None,
) -> Response:
    options: dict[str, object] = {}
    if extra_value_minor is not None:
        options["extra_value_minor"] = extra_value_minor
    with request.app.state.engine.begin() as conn:
        if _blank(template):
            options["template_id"] = _template_id(conn, issuer_id, str(template).strip())
        catalog.create_voucher_type(
            conn,
            issuer_id=issuer_id,
            code=code.strip(),
            name=name.strip(),
            classification=classification,
            value_mode=value_mode,
            face_value_minor=face_value_minor,
            **options,
        )
    return redirect("/admin/types")


def _template_id(conn: Connection, issuer_id: int, name: str) -> int:
    found = templates_db.find_template_by_name(conn, issuer_id=issuer_id, name=name)
    if found is None:
        raise NotFound("no code template with this name", code="template_not_found")
    return found.id


@router.post("/templates", dependencies=[require(Area.types, Level.write)])
def create_template(
    request: Request,
    issuer_id: Annotated[int, Form()],
    name: Annotated[str, Form()],
    prefix: Annotated[str, Form()] = "",
    length: Annotated[int | None, Form()] = None,
    pattern: Annotated[str | None, Form()] = None,
    alphabet: Annotated[str, Form()] = "digits",
) -> Response:
    with request.app.state.engine.begin() as conn:
        templates.create_template(
            conn,
            issuer_id=issuer_id,
            name=name.strip(),
            prefix=prefix,
            length=length,
            pattern=_blank(pattern),
            alphabet=alphabet,
        )
    return redirect("/admin/types")
