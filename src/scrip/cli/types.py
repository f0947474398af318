"""`scrip type create|list`: define an issuer's voucher types and see them."""

from __future__ import annotations

from datetime import date
from typing import Any

import typer
from rich.table import Table

from scrip import settings
from scrip.cli.database import resolve_dsn
from scrip.cli.long_runs import issuer_id, out, refusing
from scrip.db.engine import make_engine
from scrip.domain.scope import EVERYTHING  # the CLI acts as the installation: every issuer
from scrip.services import voucher_types

type_app = typer.Typer(help="Voucher types.", no_args_is_help=True)


def _list(values: str | None) -> list[str] | None:
    if values is None:
        return None
    return [value.strip() for value in values.split(",") if value.strip()]


@type_app.command("create")
def type_create(
    code: str = typer.Option(..., help="type code, e.g. GC"),
    name: str = typer.Option(..., help="what people call it"),
    classification: str = typer.Option(
        ...,
        help="printed_voucher, gift_certificate, gift_card, electronic_voucher,"
        " refund_voucher or promotional_voucher",
    ),
    value_mode: str = typer.Option("fixed", help="fixed or variable"),
    face_value: int | None = typer.Option(None, help="fixed value in minor units"),
    extra_value: int = typer.Option(0, help="extra added value in minor units"),
    one_time: bool = typer.Option(False, help="spent once (default: multi-use)"),
    reloadable: bool = typer.Option(False, help="may be reloaded (gift cards)"),
    max_balance: int | None = typer.Option(None, help="maximum balance in minor units"),
    validity_basis: str = typer.Option(
        "from_activation", help="fixed, from_issue, from_activation"
    ),
    validity_days: int | None = typer.Option(None, help="duration in days"),
    valid_from_on: str | None = typer.Option(None, help="fixed: first day"),
    valid_until_on: str | None = typer.Option(None, help="fixed: last day"),
    pin_length: int | None = typer.Option(None, help="digits of the secret number"),
    refund_method: str | None = typer.Option(None, help="refund vouchers: the refund method"),
    e_voucher_use: str | None = typer.Option(None, help="e-vouchers: personal or shareable"),
    products: str | None = typer.Option(None, help="supported products, comma-separated"),
    product_groups: str | None = typer.Option(None, help="supported product groups"),
    stores: str | None = typer.Option(None, help="allowed store codes, comma-separated"),
    template: str | None = typer.Option(None, help="code template name"),
    issuer: str = typer.Option("DEMO", help="issuer code"),
) -> None:
    """Define a voucher type; a definition that breaks a rule is refused with its code."""
    definition: dict[str, Any] = {
        "value_mode": value_mode,
        "face_value_minor": face_value,
        "extra_value_minor": extra_value,
        "multi_use": not one_time,
        "reloadable": reloadable,
        "max_balance_minor": max_balance,
        "validity_basis": validity_basis,
        "validity_days": validity_days,
        "valid_from_on": None if valid_from_on is None else date.fromisoformat(valid_from_on),
        "valid_until_on": None if valid_until_on is None else date.fromisoformat(valid_until_on),
        "pin_length": pin_length,
        "refund_method": refund_method,
        "e_voucher_use": e_voucher_use,
        "supported_products": _list(products),
        "supported_product_groups": _list(product_groups),
    }
    engine = make_engine(resolve_dsn(settings.load()), pool_size=1)
    with refusing(engine), engine.begin() as conn:
        row = voucher_types.define(
            conn,
            scope=EVERYTHING,
            issuer_id=issuer_id(engine, issuer),
            code=code,
            name=name,
            classification=classification,
            template=template,
            allowed_stores=_list(stores),
            **definition,
        )
    out.print(f"[green]voucher type {row.code}[/] ({row.classification}) defined")


@type_app.command("list")
def type_list(issuer: str = typer.Option("DEMO", help="issuer code")) -> None:
    """Every voucher type of the issuer, with its value and validity rules."""
    engine = make_engine(resolve_dsn(settings.load()), pool_size=1)
    with refusing(engine), engine.connect() as conn:
        rows = voucher_types.list_types(conn, scope=EVERYTHING, issuer_id=issuer_id(engine, issuer))
    table = Table("code", "classification", "value", "use", "validity", "template")
    for row in rows:
        value = f"{row.value_mode} {row.face_value_minor or ''}".strip()
        if row.extra_value_minor:
            value += f" +{row.extra_value_minor}"
        use = ("reloadable " if row.reloadable else "") + (
            "multi-use" if row.multi_use else "one-time"
        )
        window = f"{row.validity_basis} {row.validity_days or ''}".strip()
        table.add_row(row.code, row.classification, value, use, window, row.template or "")
    out.print(table)
