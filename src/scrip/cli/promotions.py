"""`scrip promotion list|evaluate`: the promotions of an issuer, and what a receipt would earn."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.table import Table

from scrip import settings
from scrip.cli.database import resolve_dsn
from scrip.cli.long_runs import issuer_id, out, refusing
from scrip.db.engine import make_engine
from scrip.domain.basket import Basket
from scrip.domain.scope import EVERYTHING  # the CLI acts as the installation: every issuer
from scrip.services import promotions
from scrip.wire import till as wire
from scrip.wire.pos import ReceiptIn

promotion_app = typer.Typer(
    help="Promotions that issue vouchers at the till.", no_args_is_help=True
)


@promotion_app.command("list")
def promotion_list(issuer: str = typer.Option("DEMO", help="issuer code")) -> None:
    """Every promotion of the issuer: code, kind, status, dates, limits."""
    engine = make_engine(resolve_dsn(settings.load()), pool_size=1)
    with refusing(engine), engine.connect() as conn:
        rows = promotions.list_promotions(
            conn, scope=EVERYTHING, issuer_id=issuer_id(engine, issuer)
        )
    table = Table("code", "name", "kind", "status", "from", "until", "per receipt", "per holder")
    for row in rows:
        table.add_row(
            row["code"],
            row["name"],
            row["kind"],
            row["status"],
            str(row["starts_on"] or "-"),
            str(row["ends_on"] or "-"),
            str(row["max_per_receipt"]),
            str(row["max_per_holder"]),
        )
    out.print(table if rows else "no promotions")


def _request(path: Path) -> wire.PromotionEvaluateIn:
    """The POS endpoint's body, or only its ``receipt``."""
    try:
        raw = json.loads(path.read_text())
        if isinstance(raw, dict) and "receipt" not in raw:
            raw = {"receipt": ReceiptIn.model_validate(raw).model_dump(exclude_defaults=True)}
        return wire.PromotionEvaluateIn.model_validate(raw)
    except (OSError, json.JSONDecodeError, ValidationError) as error:
        out.print(f"[red]not a receipt[/]: {error}")
        raise typer.Exit(2) from None


@promotion_app.command("evaluate")
def promotion_evaluate(
    receipt: Path = typer.Argument(..., help="JSON: a receipt (lines, amount_minor, card_id)"),
    issuer: str = typer.Option("DEMO", help="issuer code"),
    store: str = typer.Option("S001", help="store code (its time zone and promotions)"),
) -> None:
    """What the receipt would earn now in the store. Writes nothing: no codes, no limits."""
    body = _request(receipt)
    basket = wire.basket_of(body.receipt) or Basket()
    engine = make_engine(resolve_dsn(settings.load()), pool_size=1)
    with refusing(engine), engine.connect() as conn:
        awards = promotions.preview(
            conn,
            issuer_id=issuer_id(engine, issuer),
            store_code=store,
            basket=basket,
            points_to_spend=body.points_to_spend,
            card_activated=body.activate_card,
            now=datetime.now(UTC),
        )
    table = Table("promotion", "kind", "value", "valid for", "points", "receipt text")
    for award in awards:
        table.add_row(
            award.promotion.code,
            award.promotion.kind,
            "type's value" if award.value_minor is None else str(award.value_minor),
            ", ".join(award.using_groups) if award.using_groups else "anything",
            str(award.points_spent or "-"),
            award.promotion.receipt_text,
        )
    out.print(table if awards else "the receipt earns no vouchers")
