"""`scrip user create|change|token|totp` and `scrip audit verify`: users and the audit trail.

Whoever runs the CLI holds the server and its database, so it acts as the installation: every
right, every issuer and store (``services.access.INSTALLATION``). The rules of
``services.users`` still hold: a scope must name existing stores and issuers, and the last
active full administrator cannot be disabled, demoted or limited. What these commands change is
written to the audit trail like the screens' actions, with the operating-system user as the
actor (``cli:<login>``), in the same transaction.
"""

from __future__ import annotations

import getpass
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

import typer
from sqlalchemy import Connection, Engine

from scrip import settings
from scrip.cli.database import resolve_dsn
from scrip.cli.long_runs import out, refusing
from scrip.db.engine import make_engine
from scrip.domain import rights
from scrip.domain.rights import Principal
from scrip.domain.scope import EVERYTHING
from scrip.services import audit, users

user_app = typer.Typer(help="Back-office users and their API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _engine() -> Engine:
    return make_engine(resolve_dsn(settings.load()), pool_size=1)


def _actor() -> Principal:
    return Principal(
        user_id=None, username=f"cli:{getpass.getuser()}", role="admin", grants=rights.ALL_WRITE
    )


def _audit(conn: Connection, action: str, target: str, after: Mapping[str, object]) -> None:
    entry = audit.Entry(
        actor=_actor().username, action=action, target=target, outcome="ok", after=dict(after)
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
    issuer: list[int] = typer.Option([], help="issuer id the user is limited to (repeatable)"),
) -> None:
    """Create a user with a random password, printed once."""
    password = secrets.token_urlsafe(12)
    engine = _engine()
    with refusing(engine), engine.begin() as conn:
        users.create_user(
            conn,
            actor=_actor(),
            username=username,
            password=password,
            role=role,
            store_ids=list(store) or None,
            issuer_ids=list(issuer) or None,
            now=_now(),
        )
        scope = {"role": role, "store_ids": list(store), "issuer_ids": list(issuer)}
        _audit(conn, "cli user create", username, scope)
    out.print(f"user [bold]{username}[/] ({role}) password: [bold]{password}[/] (shown once)")


@user_app.command("change")
def user_change(
    username: str,
    role: str | None = typer.Option(None, help="the new role"),
    store: list[int] = typer.Option([], help="limit to this store id (repeatable)"),
    all_stores: bool = typer.Option(False, "--all-stores", help="no limit by store"),
    issuer: list[int] = typer.Option([], help="limit to this issuer id (repeatable)"),
    all_issuers: bool = typer.Option(False, "--all-issuers", help="no limit by issuer"),
    active: bool | None = typer.Option(None, "--enable/--disable", help="let the user in or not"),
) -> None:
    """Change a user's role, store or issuer limits, or disable them; their sessions end."""
    engine = _engine()
    with refusing(engine), engine.begin() as conn:
        changed = users.change_user(
            conn,
            actor=_actor(),
            user_id=_user_id(conn, username),
            role=role,
            store_ids=None if all_stores else (list(store) or users.KEEP),
            issuer_ids=None if all_issuers else (list(issuer) or users.KEEP),
            active=active,
        )
        after = {
            "role": changed.role,
            "store_ids": changed.store_ids,
            "issuer_ids": changed.issuer_ids,
            "active": changed.active,
        }
        _audit(conn, "cli user change", username, after)
    out.print(
        f"user [bold]{username}[/]: {changed.role}, stores {changed.store_ids or 'all'},"
        f" issuers {changed.issuer_ids or 'all'}, {'active' if changed.active else 'disabled'}"
    )


@user_app.command("token")
def user_token(
    username: str, name: str = typer.Option("cli", help="what the token is for")
) -> None:
    """Create an API token for the admin API, printed once (only its hash is kept)."""
    engine = _engine()
    with refusing(engine), engine.begin() as conn:
        token = users.create_token(
            conn, actor=_actor(), user_id=_user_id(conn, username), name=name
        )
        _audit(conn, "cli user token", username, {"name": name})
    out.print(f"API token for {username}: [bold]{token}[/] (shown once)")


@user_app.command("totp")
def user_totp(username: str) -> None:
    """Turn on the second factor: prints the otpauth:// URI to scan, once."""
    engine = _engine()
    with refusing(engine), engine.begin() as conn:
        keyring = settings.keyring(settings.load())
        uri = users.enable_totp(
            conn, actor=_actor(), user_id=_user_id(conn, username), keyring=keyring
        )
        _audit(conn, "cli user totp", username, {})
    out.print(f"scan into an authenticator app: {uri}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit chain; exit 1 and name the first broken row if it does not hold."""
    engine = _engine()
    with refusing(engine), engine.connect() as conn:
        verdict = audit.verify(conn, scope=EVERYTHING)
    if verdict.intact:
        out.print(f"[green]audit chain intact[/]: {verdict.checked} rows")
        return
    out.print(
        f"[red]audit chain broken at row {verdict.first_broken_id}[/]: {verdict.problem}"
        f" ({verdict.checked} rows before it hold)"
    )
    raise typer.Exit(1)
