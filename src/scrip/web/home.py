"""The dashboard: outstanding liability, today's activity (a chart), and alerts."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from fastapi.responses import Response

from scrip.api.auth import anyone
from scrip.api.deps import read
from scrip.db import backoffice
from scrip.domain.rights import Area
from scrip.web.screens import may, now, render, screen_router

router = screen_router()


@router.get("", dependencies=[anyone()])
def dashboard(request: Request) -> Response:
    principal = request.state.principal
    engine = request.app.state.engine
    midnight = now().replace(hour=0, minute=0, second=0, microsecond=0)
    money_seen = may(principal, Area.finance) or may(principal, Area.reports)
    liability = read(engine, backoffice.liability) if money_seen else None
    activity = read(engine, lambda conn: backoffice.activity_since(conn, midnight))
    alerts = read(engine, lambda conn: backoffice.alerts(conn, now() - timedelta(days=1)))
    return render(
        request,
        "dashboard.html",
        liability=liability,
        activity=activity,
        chart={
            "kind": "bar",
            "labels": [row["type"] for row in activity],
            "series": [{"label": "today", "data": [row["n"] for row in activity]}],
        },
        alerts=alerts,
    )
