"""The dashboard: outstanding liability, today's activity (a chart), and alerts, each of the
logged-in user's scope."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from fastapi.responses import Response

from scrip.api.auth import anyone
from scrip.api.deps import read
from scrip.db import backoffice
from scrip.domain.rights import Area
from scrip.web.screens import may, now, render, scope_of, screen_router

router = screen_router()


@router.get("", dependencies=[anyone()])
def dashboard(request: Request) -> Response:
    principal = request.state.principal
    engine = request.app.state.engine
    scope = scope_of(request)
    midnight = now().replace(hour=0, minute=0, second=0, microsecond=0)
    money_seen = may(principal, Area.finance) or may(principal, Area.reports)
    liability = (
        read(engine, lambda conn: backoffice.liability(conn, scope=scope)) if money_seen else None
    )
    activity = read(engine, lambda conn: backoffice.activity_since(conn, midnight, scope=scope))
    since = now() - timedelta(days=1)
    alerts = read(engine, lambda conn: backoffice.alerts(conn, since, scope=scope))
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
