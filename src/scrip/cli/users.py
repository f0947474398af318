"""`scrip user create|token|totp` and `scrip audit verify`: users and the audit trail.

What these commands change is written to the audit trail like the screens' actions, with the
operating-system user as the actor (``cli:<login>``).
"""

from __future__ import annotations

import getpass
import secrets
from datetime import UTC, datetime

import typer
from sqlalchemy import Connection, Engine

from scrip import settings
from scrip.cli.database import resolve_dsn
from scrip.cli.long_runs import out, refusing
from scrip.db.engine import make_engine
from scrip.services import audit, users

user_app = typer.Typer(help="Back-office users and their API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _engine() -> Engine:
    return make_engine(resolve_dsn(settings.load()), pool_size=1)


def _audit(conn: Connection, action: str, target: str, after: dict[str, object]) -> None:
    entry = audit.Entry(
        actor=f"cli:{getpass.getuser()}", action=action, target=target, outcome="ok", after=after
    )
    audit.append(conn, entry, now=_now())


def _user_id(conn: Connection, username: str) -> int:
    from scrip.db import users as users_db

    found = users_db.find_user_by_name(conn, username)
    if found is None:
        out.print(f"[red]no user {username}[/]")
        raise typer.Exit(2)
    return found.id


@user_app.command("create")
def user_create(
    username: str,
    role: str = typer.Option("viewer", help="admin, marketer, operator, finance, security, viewer"),
    store: list[int] = typer.Option([], help="store id the user is limited to (repeatable)"),
) -> None:
    """Create a user with a random password, printed once."""
    password = secrets.token_urlsafe(12)
    engine = _engine()
    with refusing(engine), engine.begin() as conn:
        users.create_user(
            conn,
            username=username,
            password=password,
            role=role,
            store_ids=list(store) or None,
            now=_now(),
        )
        _audit(conn, "cli user create", username, {"role": role, "store_ids": list(store)})
    out.print(f"user [bold]{username}[/] ({role}) password: [bold]{password}[/] (shown once)")


@user_app.command("token")
def user_token(
    username: str, name: str = typer.Option("cli", help="what the token is for")
) -> None:
    """Create an API token for the admin API, printed once (only its hash is kept)."""
    engine = _engine()
    with refusing(engine), engine.begin() as conn:
        token = users.create_token(conn, user_id=_user_id(conn, username), name=name)
        _audit(conn, "cli user token", username, {"name": name})
    out.print(f"API token for {username}: [bold]{token}[/] (shown once)")


@user_app.command("totp")
def user_totp(username: str) -> None:
    """Turn on the second factor: prints the otpauth:// URI to scan, once."""
    engine = _engine()
    with refusing(engine), engine.begin() as conn:
        keyring = settings.keyring(settings.load())
        uri = users.enable_totp(conn, user_id=_user_id(conn, username), keyring=keyring)
        _audit(conn, "cli user totp", username, {})
    out.print(f"scan into an authenticator app: {uri}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit chain; exit 1 and name the first broken row if it does not hold."""
    engine = _engine()
    with refusing(engine), engine.connect() as conn:
        verdict = audit.verify(conn)
    if verdict.intact:
        out.print(f"[green]audit chain intact[/]: {verdict.checked} rows")
        return
    out.print(
        f"[red]audit chain broken at row {verdict.first_broken_id}[/]: {verdict.problem}"
        f" ({verdict.checked} rows before it hold)"
    )
    raise typer.Exit(1)
