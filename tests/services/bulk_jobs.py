"""Bulk jobs in service tests: run one inside the test's transaction, make one over a lot, and the
vault keys a lot needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine

from scrip import crypto
from scrip.db import bulk_operations as bulk_db
from scrip.domain import bulk
from scrip.domain.scope import EVERYTHING
from scrip.services import bulk_operations
from tests import builders


def run_in(conn: Connection, operation_id: int) -> bulk_db.BulkOperationRow:
    """The job's chunks inside the test's transaction."""
    for chunk in bulk_operations.pending_chunks(conn, operation_id=operation_id):
        bulk_operations.run_chunk(conn, operation_id=operation_id, chunk=chunk, now=builders.now())
    return bulk_operations.get_operation(conn, operation_id, scope=EVERYTHING)


def ring() -> crypto.Keyring:
    return crypto.parse_keyring(f"k1:{crypto.new_secret_key()}")


def create_operation(engine: Engine, w: builders.World, lot_id: int, **options: Any) -> int:
    with engine.begin() as conn:
        return bulk_operations.create_operation(
            conn,
            scope=EVERYTHING,
            issuer_id=w.issuer_id,
            action=options.pop("action", "activate"),
            selection=bulk.Selection(lot_id=lot_id),
            operator="op1",
            now=builders.now(),
            **options,
        )
