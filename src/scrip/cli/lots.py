"""`scrip lot generate|resume|show` and `scrip secrets rotate`: long runs with a progress bar;
and `scrip secret show`, a secret number read back with a reason, audited."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from sqlalchemy import Engine

from scrip import settings
from scrip.cli.database import resolve_dsn
from scrip.cli.long_runs import issuer_id, out, progress, refusing
from scrip.db.engine import make_engine
from scrip.db.lots import LotRow
from scrip.domain.scope import EVERYTHING  # the CLI acts as the installation: every issuer
from scrip.services import lots
from scrip.services import secrets as vault

lot_app = typer.Typer(help="Lots: many vouchers of one type at once.", no_args_is_help=True)
secrets_app = typer.Typer(help="The secret-number vault.", no_args_is_help=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _engine() -> Engine:
    return make_engine(resolve_dsn(settings.load()), pool_size=lots.WORKERS + 1)


def _run(engine: Engine, lot_id: int, count: int) -> LotRow:
    with progress() as bar:
        task = bar.add_task(f"lot {lot_id}", total=count)

        def update(lot: LotRow) -> None:
            bar.update(task, completed=lot.done_count)

        keyring = settings.keyring(settings.load())
        return lots.run_lot(engine, lot_id=lot_id, keyring=keyring, clock=_now, on_progress=update)


@lot_app.command("generate")
def lot_generate(
    type_code: str = typer.Option(..., "--type", help="voucher type code"),
    count: int = typer.Option(..., help="how many vouchers"),
    state: str | None = typer.Option(None, help="initial state (default: the type's first)"),
    value: int | None = typer.Option(None, help="face value in minor units (variable types)"),
    extra: int | None = typer.Option(None, help="extra added value in minor units"),
    campaign: str | None = typer.Option(None, help="campaign name"),
    issuer: str = typer.Option("DEMO", help="issuer code"),
    created_by: str = typer.Option("cli", help="who asks for the lot"),
) -> None:
    """Generate a lot of vouchers with encrypted secret numbers."""
    engine = _engine()
    with refusing(engine):
        with engine.begin() as conn:
            lot_id = lots.create_lot(
                conn,
                scope=EVERYTHING,
                issuer_id=issuer_id(engine, issuer),
                type_code=type_code,
                count=count,
                state=state,
                face_value_minor=value,
                extra_value_minor=extra,
                campaign=campaign,
                created_by=created_by,
                now=_now(),
            )
        done = _run(engine, lot_id, count)
    out.print(
        f"lot {done.id}: {done.done_count} vouchers, serials {done.serial_from}-"
        f"{done.serial_from + done.count - 1}, {done.status}"
    )


@lot_app.command("resume")
def lot_resume(lot_id: int) -> None:
    """Finish a lot an interrupted run left behind (only its missing chunks are written)."""
    engine = _engine()
    with refusing(engine):
        with engine.connect() as conn:
            lot = lots.get_lot(conn, lot_id, scope=EVERYTHING)
        done = _run(engine, lot_id, lot.count)
    out.print(f"lot {done.id}: {done.done_count} of {done.count} vouchers, {done.status}")


@secrets_app.command("rotate")
def secrets_rotate(
    batch: int = typer.Option(vault.ROTATION_BATCH, help="rows per transaction"),
) -> None:
    """Re-encrypt every secret under the current key id (SCRIP_SECRET_KEY_ID)."""
    keyring = settings.keyring(settings.load())
    engine = _engine()
    try:
        with engine.connect() as conn:
            total = vault.count_to_rotate(conn, keyring=keyring)
        with progress() as bar:
            task = bar.add_task(f"to key {keyring.current_id}", total=total)
            done = vault.rotate(
                engine,
                keyring=keyring,
                batch=batch,
                on_progress=lambda n: bar.update(task, completed=n),
            )
    finally:
        engine.dispose()
    out.print(f"re-encrypted {done} secrets under key {keyring.current_id}")


@secrets_app.command("show")
def secret_show(
    code: str = typer.Argument(..., help="voucher code"),
    reason: str = typer.Option("", help="why the secret is needed (required; audited)"),
    user: str = typer.Option(..., help="who asks (written to the voucher's history)"),
    issuer: str = typer.Option("DEMO", help="issuer code"),
) -> None:
    """Print a voucher's secret number; the retrieval (or the refused attempt) is written to
    its history with the user and the reason. Whoever runs the CLI holds the database and acts
    as the admin."""
    keyring = settings.keyring(settings.load())
    engine = _engine()
    with refusing(engine):
        found = vault.retrieve_committed(
            engine,
            scope=EVERYTHING,
            issuer_id=issuer_id(engine, issuer),
            voucher_code=code,
            user=user,
            reason=reason,
            entitled=True,  # whoever runs the CLI holds the database: the admin
            keyring=keyring,
            now=_now(),
        )
    out.print(f"{found.code}: {found.secret}")
