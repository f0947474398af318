"""What the commands that run long (lots, bulk operations, key rotation) share: the console,
a progress bar, and finding the issuer named on the command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, text

from scrip.domain.errors import ScripError

out = Console(soft_wrap=True)


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
    )


def issuer_id(engine: Engine, code: str) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT id FROM issuers WHERE code = :c"), {"c": code}
        ).scalar_one_or_none()
    if found is None:
        out.print(f"[red]no issuer {code}[/]")
        raise typer.Exit(2)
    return int(found)


@contextmanager
def refusing(engine: Engine) -> Iterator[None]:
    """A refusal ends the command with its code and exit status 2; the engine is closed either
    way."""
    try:
        yield
    except ScripError as error:
        out.print(f"[red]{error.code}[/]: {error.message}")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
