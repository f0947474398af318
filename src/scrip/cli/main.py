"""`scrip`: run the server and worker, migrate, load the demo, manage registers and vouchers."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
import uvicorn
from rich.console import Console
from rich.table import Column, Table
from sqlalchemy import Engine

from scrip import settings
from scrip.api.edge import EnvelopeHttpToolsProtocol
from scrip.cli.bulk import bulk_app
from scrip.cli.database import migrate, resolve_dsn
from scrip.cli.lots import lot_app, secrets_app
from scrip.cli.promotions import promotion_app
from scrip.cli.reports import report_app
from scrip.cli.types import type_app
from scrip.cli.users import audit_app, user_app
from scrip.db.engine import make_engine
from scrip.jobs import worker as worker_jobs
from scrip.services import audit, catalog, demo, users
from scrip.services.catalog import NewRegister

app = typer.Typer(help="scrip: vouchers, gift cards and gift certificates.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
register_app = typer.Typer(help="Cash registers and their API keys.", no_args_is_help=True)
voucher_app = typer.Typer(help="Look at vouchers.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(register_app, name="register")
app.add_typer(voucher_app, name="voucher")
app.add_typer(lot_app, name="lot")
app.add_typer(secrets_app, name="secrets")
app.add_typer(secrets_app, name="secret", help="The secret-number vault (same as secrets).")
app.add_typer(bulk_app, name="bulk")
app.add_typer(type_app, name="type")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(promotion_app, name="promotion")
app.add_typer(report_app, name="report")
# soft_wrap: keys, DSNs and the curl hint must stay on one line to be copied, whatever the
# width of the terminal (or 80 columns when the output is piped).
out = Console(soft_wrap=True)


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _engine(pool_size: int = 1) -> Iterator[Engine]:
    """An engine for one command, its connections closed when the command is done."""
    engine = make_engine(resolve_dsn(settings.load()), pool_size=pool_size)
    try:
        yield engine
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    migrate(resolve_dsn(settings.load()))
    out.print("[green]schema is up to date[/]")


@app.command("demo")
def load_demo() -> None:
    """Load the demo issuer, stores, registers, types and vouchers (once)."""
    config = settings.load()
    dsn = resolve_dsn(config)
    migrate(dsn)
    _ensure_demo(config, dsn)


def _ensure_demo(config: settings.Settings, dsn: str) -> dict[str, str]:
    keys_file = config.home / "demo-register-keys.json"
    engine = make_engine(dsn, pool_size=1)
    try:
        with engine.begin() as conn:
            loaded = None if demo.exists(conn) else demo.load(conn, now=_now())
    finally:
        engine.dispose()
    if loaded is None:
        out.print("demo data already loaded")
        keys: dict[str, str] = json.loads(keys_file.read_text()) if keys_file.exists() else {}
        return keys
    # The demo's own keys are kept beside the embedded database so `make run` can show them
    # again; real register keys are shown once and stored only as hashes.
    keys_file.parent.mkdir(parents=True, exist_ok=True)
    keys_file.write_text(json.dumps(loaded.register_keys, indent=2))
    keys_file.chmod(0o600)
    table = Table("type", "voucher codes")
    for type_code, codes in loaded.codes.items():
        table.add_row(type_code, ", ".join(codes[:3]) + " …")
    out.print(table)
    return loaded.register_keys


def _ensure_first_admin(config: settings.Settings, dsn: str) -> tuple[str, str]:
    """The first administrator, made when there are no users; like the demo's register keys,
    its password is kept beside the embedded database so `make run` can show it again."""
    login_file = config.home / "first-admin.json"
    engine = make_engine(dsn, pool_size=1)
    try:
        with engine.begin() as conn:
            made = users.ensure_first_admin(conn, now=_now())
            if made is not None:
                entry = audit.Entry(
                    actor="cli:scrip up", action="first admin", target="admin", outcome="ok"
                )
                audit.append(conn, entry, now=_now())
    finally:
        engine.dispose()
    if made is not None:
        login_file.parent.mkdir(parents=True, exist_ok=True)
        login_file.write_text(json.dumps({"username": made.username, "password": made.password}))
        login_file.chmod(0o600)
    if not login_file.exists():
        return ("(users exist)", "see `scrip user create`")
    saved = json.loads(login_file.read_text())
    return (saved["username"], saved["password"])


def _serve(config: settings.Settings, dsn: str) -> None:
    stop = threading.Event()
    engine = make_engine(dsn, pool_size=2)
    thread = threading.Thread(
        target=worker_jobs.run_forever,
        args=(engine,),
        kwargs={"interval_s": 5.0, "stop": stop},
        daemon=True,
    )
    thread.start()
    try:
        uvicorn.run(
            "scrip.server:app_from_env",
            factory=True,
            host=config.host,
            port=config.port,
            workers=config.workers,
            log_level=config.log_level,
            # What uvicorn can't parse (a URL over 64 KB) is answered in the error envelope too.
            http=EnvelopeHttpToolsProtocol,
        )
    finally:
        stop.set()


@app.command("up")
def up() -> None:
    """Everything at once: database, migrations, demo data, API and worker."""
    config = settings.load()
    dsn = resolve_dsn(config)
    migrate(dsn)
    keys = _ensure_demo(config, dsn)
    login, password = _ensure_first_admin(config, dsn)
    base = f"http://{config.host}:{config.port}"
    out.print(f"\n[bold]scrip is starting at[/] {base}")
    out.print(f"back office: {base}/admin  user [bold]{login}[/]  password [bold]{password}[/]")
    out.print(f"OpenAPI docs: {base}/docs")
    for serial, key in keys.items():
        out.print(f"register {serial} key: [bold]{key}[/]")
    if keys:
        first = next(iter(keys.values()))
        out.print(f"try: curl -H 'Authorization: Bearer {first}' {base}/v1/pos/vouchers/CODE\n")
    _serve(config, dsn)


@app.command("serve")
def serve() -> None:
    """Serve the HTTP API (and run the worker beside it)."""
    config = settings.load()
    _serve(config, resolve_dsn(config))


@app.command("worker")
def worker(once: bool = typer.Option(False, help="one pass, then exit")) -> None:
    """Release timed-out receipts and expire vouchers past their validity, every few seconds."""
    logging.basicConfig(level=logging.INFO)
    with _engine(pool_size=2) as engine:
        if once:
            out.print(f"released {worker_jobs.run_once(engine)} timed-out receipts")
            expired = worker_jobs.expire_vouchers(engine)
            out.print(f"expired {expired.vouchers} vouchers, breakage {expired.breakage_minor}")
            return
        worker_jobs.run_forever(engine, interval_s=5.0, stop=threading.Event())


@register_app.command("create")
def register_create(
    store: str = typer.Option(..., help="store code"),
    serial: str = typer.Option(..., help="register serial number"),
    issuer: str = typer.Option("DEMO", help="issuer code"),
) -> None:
    """Create a register; its API key is printed once and stored only as a hash."""
    from sqlalchemy.exc import IntegrityError

    try:
        with _engine() as engine:
            created = _create_register(engine, store=store, serial=serial, issuer=issuer)
    except IntegrityError:
        out.print(f"[red]register {serial} already exists at store {store}[/]")
        raise typer.Exit(2) from None
    out.print(f"register {serial}: key [bold]{created.api_key}[/] (shown once)")


def _create_register(engine: Engine, *, store: str, serial: str, issuer: str) -> NewRegister:
    from sqlalchemy import text

    with engine.begin() as conn:
        store_id = conn.execute(
            text(
                "SELECT s.id FROM stores s JOIN issuers i ON i.id = s.issuer_id"
                " WHERE s.code = :s AND i.code = :i"
            ),
            {"s": store, "i": issuer},
        ).scalar_one_or_none()
        if store_id is None:
            out.print(f"[red]no store {store} at issuer {issuer}[/]")
            raise typer.Exit(2)
        return catalog.create_register(conn, store_id=store_id, serial_number=serial)


@voucher_app.command("show")
def voucher_show(code: str, issuer: str = typer.Option("DEMO", help="issuer code")) -> None:
    """A voucher's state, balance and full history."""
    from sqlalchemy import text

    from scrip.db import history as history_db
    from scrip.db import vouchers as vouchers_db
    from scrip.domain.codes import normalize

    with _engine() as engine, engine.connect() as conn:
        issuer_id = conn.execute(
            text("SELECT id FROM issuers WHERE code = :c"), {"c": issuer}
        ).scalar_one_or_none()
        voucher = (
            None
            if issuer_id is None
            else vouchers_db.find_voucher(conn, issuer_id=issuer_id, code=normalize(code))
        )
        if voucher is None:
            out.print(f"[red]no voucher {code}[/]")
            raise typer.Exit(1)
        rows = history_db.list_history(conn, voucher.id)
    out.print(
        f"[bold]{voucher.code}[/] {voucher.type_code} ({voucher.classification}) "
        f"state [bold]{voucher.state}[/] balance {voucher.balance_minor} "
        f"held {voucher.held_minor} {voucher.currency} valid until {voucher.valid_until}"
    )
    table = Table(
        Column("when", no_wrap=True),
        "what",
        "status",
        "amount",
        "balance after",
        "state",
        "store",
        "receipt",
    )
    for r in rows:
        table.add_row(
            f"{r['occurred_at']:%Y-%m-%d %H:%M:%S}",
            r["type"],
            r["status"],
            str(r["amount_minor"] or ""),
            str(r["balance_after_minor"]),
            f"{r['state_before'] or ''}→{r['state_after']}",
            r["store_code"] or "",
            r["receipt_number"] or "",
        )
    # Piped output has no terminal width to respect: print the history whole, not ellipsized.
    (out if out.is_terminal else Console(width=160)).print(table)
