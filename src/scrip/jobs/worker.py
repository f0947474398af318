"""The worker loop: releases the holds of receipts whose time-out has passed."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from sqlalchemy import Engine

from scrip.services import receipts

log = logging.getLogger("scrip.worker")


def run_once(engine: Engine, *, now: datetime | None = None, batch: int = 100) -> int:
    """One pass: expire every due receipt, a batch per transaction. Returns how many."""
    total = 0
    while True:
        with engine.begin() as conn:
            done = receipts.expire_due(conn, now=now or datetime.now(UTC), limit=batch)
        total += done
        if done < batch:
            return total


def run_forever(engine: Engine, *, interval_s: float, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            expired = run_once(engine)
            if expired:
                log.info("released the holds of %d timed-out receipts", expired)
        except Exception:  # the loop must survive a database restart
            log.exception("worker pass failed; retrying")
        stop.wait(interval_s)
