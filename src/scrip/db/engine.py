"""Engines and migrations: one pooled engine per process, Alembic driven from code."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine

from scrip.db import batch  # noqa: F401  (registers the write-behind flush before reads)

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlalchemy_url(dsn: str) -> str:
    """Turn a libpq DSN (``postgresql://…``) into SQLAlchemy's psycopg 3 URL."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+psycopg://" + dsn[len(prefix) :]
    return dsn


def make_engine(dsn: str, *, pool_size: int = 10, max_overflow: int = 10) -> Engine:
    return create_engine(
        sqlalchemy_url(dsn),
        pool_size=pool_size,
        max_overflow=max_overflow,
        # No ping before every checkout (a round trip per request): the API retries a
        # request whose connection the server dropped.
        pool_pre_ping=False,
        # Money must survive a crash: a till hands over goods on the answer. A lock that can't
        # be had in a few seconds becomes a `busy` answer instead of a till that hangs, and so
        # does a database that doesn't answer a new connection (the API's look-ups run on the
        # event loop: see api/lane.py).
        connect_args={
            "options": "-c synchronous_commit=on -c timezone=UTC -c lock_timeout=5000",
            "connect_timeout": 5,
        },
    )


def alembic_config(dsn: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(dsn).replace("%", "%%"))
    return config


def upgrade(dsn: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(dsn), revision)
