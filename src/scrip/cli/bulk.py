"""`scrip bulk run|resume|show`: bulk operations over a lot, a type's serial range or a list of
codes, with a progress bar."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer
from sqlalchemy import Engine

from scrip import settings
from scrip.cli.database import resolve_dsn
from scrip.cli.long_runs import issuer_id, out, progress, refusing
from scrip.db.bulk_operations import BulkOperationRow
from scrip.db.engine import make_engine
from scrip.domain.bulk import Selection
from scrip.domain.scope import EVERYTHING  # the CLI acts as the installation: every issuer
from scrip.services import bulk_operations

bulk_app = typer.Typer(
    help="Bulk operations: accept, activate, block … many vouchers at once.",
    no_args_is_help=True,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _engine() -> Engine:
    return make_engine(resolve_dsn(settings.load()), pool_size=2)


def _run(engine: Engine, operation_id: int, total: int) -> BulkOperationRow:
    with progress() as bar:
        task = bar.add_task(f"bulk operation {operation_id}", total=total or 1)

        def update(op: BulkOperationRow) -> None:
            bar.update(task, completed=op.selected_count)

        done = bulk_operations.run(
            engine, operation_id=operation_id, clock=_now, on_progress=update
        )
        bar.update(task, completed=total or 1)
        return done


def _report(op: BulkOperationRow) -> None:
    colour = "green" if op.status == "done" else "red"
    out.print(
        f"bulk operation {op.id} ({op.action}): [{colour}]{op.status}[/]"
        f"{' ' + op.error if op.error else ''} — {op.selected_count} selected,"
        f" {op.done_count} done, {op.refused_count} refused"
    )
    for entry in op.refused_sample:
        out.print(
            f"  refused {entry['code']} (serial {entry['serial_number']}):"
            f" {entry['state']}, {entry['reason']}"
        )
    if op.status != "done":
        raise typer.Exit(1)


def _split(codes: str | None) -> tuple[str, ...]:
    return tuple(code.strip() for code in (codes or "").split(",") if code.strip())


NO_RESTRICTION = "*"


def _changes(**given: str | int | None) -> dict[str, Any]:
    """The options given, as an edit's changes: lists split at commas, ``*`` for no
    restriction, ``none`` for an unbounded validity bound."""
    found: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue
        if name.startswith("valid_"):
            found[name] = None if value == "none" else value
        elif isinstance(value, str):
            found[name] = None if value == NO_RESTRICTION else list(_split(value))
        else:
            found[name] = value
    return found


@bulk_app.command("run")
def bulk_run(
    action: str = typer.Option(
        ...,
        help="accept, reject, activate, hand_over, block, unblock, cancel, purge,"
        " change_validity or modify",
    ),
    lot: int | None = typer.Option(None, help="lot id"),
    type_code: str | None = typer.Option(None, "--type", help="voucher type code"),
    serial_from: int | None = typer.Option(None, "--from", help="first serial (with --type)"),
    serial_to: int | None = typer.Option(None, "--to", help="last serial (with --type)"),
    codes: str | None = typer.Option(None, help="comma-separated voucher codes"),
    state: list[str] = typer.Option([], help="only vouchers in this state (repeatable)"),
    reason: str | None = typer.Option(None, help="why (required to cancel or block)"),
    all_or_nothing: bool = typer.Option(False, help="refuse the whole run if one is refused"),
    issuer: str = typer.Option("DEMO", help="issuer code"),
    operator: str = typer.Option("cli", help="who does it"),
    valid_from: str | None = typer.Option(None, help="change_validity: instant, or none"),
    valid_until: str | None = typer.Option(None, help="change_validity: instant, or none"),
    valid_from_on: str | None = typer.Option(None, help="change_validity: local day"),
    valid_until_on: str | None = typer.Option(None, help="change_validity: last local day"),
    face_value: int | None = typer.Option(None, help="modify: face value in minor units"),
    extra_value: int | None = typer.Option(None, help="modify: extra value in minor units"),
    products: str | None = typer.Option(None, help="modify: comma-separated, * for any"),
    product_groups: str | None = typer.Option(None, help="modify: comma-separated, * for any"),
    stores: str | None = typer.Option(None, help="modify: store codes, * for any"),
) -> None:
    """Run a bulk operation to the end; vouchers in a state that forbids it are reported."""
    changes = _changes(
        valid_from=valid_from,
        valid_until=valid_until,
        valid_from_on=valid_from_on,
        valid_until_on=valid_until_on,
        face_value_minor=face_value,
        extra_value_minor=extra_value,
        supported_products=products,
        supported_product_groups=product_groups,
        allowed_stores=stores,
    )
    engine = _engine()
    selection = Selection(
        lot_id=lot,
        type_code=type_code,
        serial_from=serial_from,
        serial_to=serial_to,
        codes=_split(codes),
        states=tuple(state),
    )
    with refusing(engine):
        with engine.begin() as conn:
            operation_id = bulk_operations.create_operation(
                conn,
                scope=EVERYTHING,
                issuer_id=issuer_id(engine, issuer),
                action=action,
                selection=selection,
                operator=operator,
                reason=reason,
                all_or_nothing=all_or_nothing,
                changes=changes,
                now=_now(),
            )
            op = bulk_operations.get_operation(conn, operation_id, scope=EVERYTHING)
        done = _run(engine, operation_id, op.total_count)
    _report(done)


@bulk_app.command("resume")
def bulk_resume(operation_id: int) -> None:
    """Finish an operation an interrupted run left behind (it goes on after the last chunk)."""
    engine = _engine()
    with refusing(engine):
        with engine.connect() as conn:
            op = bulk_operations.get_operation(conn, operation_id, scope=EVERYTHING)
        done = _run(engine, operation_id, op.total_count)
    _report(done)
