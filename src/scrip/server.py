"""create_app(dsn): the HTTP application, wiring the API onto one pooled engine."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from scrip import __version__, web
from scrip.api import (
    admin,
    admin_secrets,
    admin_till,
    admin_types,
    admin_users,
    errors,
    pos,
    reports,
    till,
)
from scrip.api.deps import KnownRegisters
from scrip.api.edge import Edge
from scrip.api.lane import PosLane
from scrip.crypto import Keyring
from scrip.db.engine import make_engine


def create_app(
    *,
    dsn: str | None = None,
    engine: Engine | None = None,
    pool_size: int = 10,
    keyring: Keyring | None = None,
    admin_token: str | None = None,
) -> FastAPI:
    app = FastAPI(
        title="scrip",
        version=__version__,
        summary="Vouchers, gift cards and gift certificates: POS and admin API",
    )
    app.state.engine = engine if engine is not None else make_engine(dsn or "", pool_size=pool_size)
    app.state.registers = KnownRegisters()
    app.state.keyring = keyring
    app.state.admin_token = admin_token
    errors.install(app)
    app.include_router(pos.router)
    app.include_router(admin.router)
    app.include_router(admin_types.router)
    app.include_router(admin_secrets.router)
    app.include_router(till.router)  # issue 5: promotions at the till, club card points
    app.include_router(admin_till.router)  # issue 5: promotions and holders
    app.include_router(reports.router)
    app.include_router(admin_users.router)  # issue 13: users, tokens and roles
    web.install(app)
    # The till's calls skip FastAPI's per-request work ...
    app.add_middleware(PosLane, fastapi=app, routers=[pos.router, till.router])
    # ... once the edge, outermost of the app's own layers, has refused what no route takes.
    app.add_middleware(Edge)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers: the DSN comes from the environment (set by ``scrip up``)."""
    from scrip import settings

    config = settings.load()
    if not config.database_url:
        raise RuntimeError("SCRIP_DATABASE_URL is not set")
    return create_app(
        dsn=config.database_url,
        pool_size=config.pool_size,
        keyring=settings.keyring(config),
        admin_token=config.admin_token,
    )
