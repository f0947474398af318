"""The web back office at ``/admin``: server-rendered screens (Jinja2 + HTMX), no build step."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount every screen, the static files and the HTML error pages onto ``app``."""
    from scrip.web import home, login, lots, people, promotions, reports, screens, setup, vouchers

    screens.install(
        app,
        [login.public, login.router, home.router, setup.router, lots.router, vouchers.router,
         people.router, promotions.router, reports.router],
    )  # fmt: skip
