"""The worker loop: releases the holds of receipts whose time-out has passed, then expires
vouchers past their validity and books their breakage."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from sqlalchemy import Engine

from scrip.services import expiry, receipts

log = logging.getLogger("scrip.worker")


def run_once(engine: Engine, *, now: datetime | None = None, batch: int = 100) -> int:
    """Release every due receipt, a batch per transaction. Returns how many."""
    total = 0
    while True:
        with engine.begin() as conn:
            done = receipts.expire_due(conn, now=now or datetime.now(UTC), limit=batch)
        total += done
        if done < batch:
            return total


def expire_vouchers(
    engine: Engine, *, now: datetime | None = None, batch: int = 10_000
) -> expiry.ExpiryBatch:
    """Expire every due voucher, a batch per transaction. Returns the totals."""
    vouchers = breakage = 0
    while True:
        with engine.begin() as conn:
            done = expiry.expire_due(conn, now=now or datetime.now(UTC), limit=batch)
        vouchers += done.vouchers
        breakage += done.breakage_minor
        if done.vouchers < batch:
            return expiry.ExpiryBatch(vouchers, breakage)


def run_forever(engine: Engine, *, interval_s: float, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            released = run_once(engine)
            if released:
                log.info("released the holds of %d timed-out receipts", released)
            expired = expire_vouchers(engine)
            if expired.vouchers:
                log.info(
                    "expired %d vouchers, breakage %d minor units",
                    expired.vouchers,
                    expired.breakage_minor,
                )
        except Exception:  # the loop must survive a database restart
            log.exception("worker pass failed; retrying")
        stop.wait(interval_s)
