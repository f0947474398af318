"""Issuers, stores, registers (a new register's key is shown once), voucher types and code
templates. Created through ``services.catalog`` and ``services.voucher_types``, which decide
with the user's scope; the lists show the rows of that scope only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from scrip.api.audit import unit
from scrip.api.auth import require
from scrip.db import backoffice
from scrip.domain.rights import Area, Level
from scrip.domain.scope import Scope
from scrip.services import catalog, voucher_types
from scrip.web.screens import (
    PAGE,
    IdForm,
    MinorForm,
    OptionalInt,
    choices,
    list_page,
    redirect,
    render,
    scope_of,
    screen_router,
)

router = screen_router()
READ_SETTINGS = [require(Area.settings, Level.read)]
WRITE_SETTINGS = [require(Area.settings, Level.write)]


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


@router.get("/issuers", dependencies=READ_SETTINGS)
def issuers(request: Request, before: OptionalInt = None) -> Response:
    scope = scope_of(request)
    return list_page(
        request,
        "issuers.html",
        lambda conn: backoffice.list_issuers(conn, scope=scope, before=before, limit=PAGE),
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
    catalog.define_issuer(
        unit(request).connection(),
        scope=scope_of(request),
        code=code.strip(),
        name=name.strip(),
        currency=currency.strip().upper(),
        timezone=timezone.strip(),
        code_prefix=code_prefix.strip(),
    )
    return redirect("/admin/issuers")


@router.get("/stores", dependencies=READ_SETTINGS)
def stores(request: Request, before: OptionalInt = None) -> Response:
    scope = scope_of(request)
    return list_page(
        request,
        "stores.html",
        lambda conn: backoffice.list_stores(conn, scope=scope, before=before, limit=PAGE),
        issuers=_issuers(request, scope),
    )


def _issuers(request: Request, scope: Scope) -> list[object]:
    return choices(request, lambda conn: backoffice.issuer_choices(conn, scope=scope))


@router.post("/stores", dependencies=WRITE_SETTINGS)
def create_store(
    request: Request,
    issuer_id: IdForm,
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
) -> Response:
    catalog.define_store(
        unit(request).connection(),
        scope=scope_of(request),
        issuer_id=issuer_id,
        code=code.strip(),
        name=name.strip(),
    )
    return redirect("/admin/stores")


@router.get("/registers", dependencies=READ_SETTINGS)
def registers(request: Request, before: OptionalInt = None) -> Response:
    scope = scope_of(request)
    return list_page(
        request,
        "registers.html",
        lambda conn: backoffice.list_registers(conn, scope=scope, before=before, limit=PAGE),
        stores=choices(request, lambda conn: backoffice.store_choices(conn, scope=scope)),
    )


@router.post("/registers", dependencies=WRITE_SETTINGS)
def create_register(
    request: Request,
    store_id: IdForm,
    serial_number: Annotated[str, Form()],
) -> Response:
    made = catalog.define_register(
        unit(request).connection(),
        scope=scope_of(request),
        store_id=store_id,
        serial_number=serial_number.strip(),
    )
    request.state.audit = {
        "target": f"register {made.register_id}",
        "after": {"store_id": store_id},
    }
    # The key is in this one answer only: the database keeps its hash.
    return render(request, "register_key.html", serial=serial_number.strip(), key=made.api_key)


@router.get("/types", dependencies=[require(Area.types, Level.read)])
def types(
    request: Request, before: OptionalInt = None, templates_before: OptionalInt = None
) -> Response:
    scope = scope_of(request)
    return list_page(
        request,
        "types.html",
        lambda conn: backoffice.list_types(conn, scope=scope, before=before, limit=PAGE),
        templates=choices(
            request,
            lambda conn: backoffice.list_templates(
                conn, scope=scope, before=templates_before, limit=PAGE
            ),
        ),
        issuers=_issuers(request, scope),
    )


@router.post("/types", dependencies=[require(Area.types, Level.write)])
def create_type(
    request: Request,
    issuer_id: IdForm,
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    classification: Annotated[str, Form()],
    value_mode: Annotated[str, Form()] = "fixed",
    face_value_minor: MinorForm = None,
    extra_value_minor: MinorForm = None,
    template: Annotated[str | None, Form()] = None,
) -> Response:
    options: dict[str, Any] = {}
    if extra_value_minor is not None:
        options["extra_value_minor"] = extra_value_minor
    voucher_types.define(
        unit(request).connection(),
        scope=scope_of(request),
        issuer_id=issuer_id,
        code=code.strip(),
        name=name.strip(),
        classification=classification,
        value_mode=value_mode,
        face_value_minor=face_value_minor,
        template=_blank(template),
        **options,
    )
    return redirect("/admin/types")


@router.post("/templates", dependencies=[require(Area.types, Level.write)])
def create_template(
    request: Request,
    issuer_id: IdForm,
    name: Annotated[str, Form()],
    prefix: Annotated[str, Form()] = "",
    length: Annotated[int | None, Form(gt=0, le=64)] = None,
    pattern: Annotated[str | None, Form()] = None,
    alphabet: Annotated[str, Form()] = "digits",
) -> Response:
    voucher_types.define_template(
        unit(request).connection(),
        scope=scope_of(request),
        issuer_id=issuer_id,
        name=name.strip(),
        prefix=prefix,
        length=length,
        pattern=_blank(pattern),
        alphabet=alphabet,
    )
    return redirect("/admin/types")
