"""The audit trail: a hash chain the database will not let anyone rewrite, and a verifier that
names the first broken link when a superuser does it anyway."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from scrip.domain.scope import EVERYTHING
from scrip.services import audit
from tests.builders import now


def _three(conn: Connection) -> list[int]:
    return [
        audit.append(
            conn,
            audit.Entry(actor="anna", action=f"POST /admin/x/{n}", outcome="303", after={"n": n}),
            now=now(),
        )
        for n in range(3)
    ]


def test_rows_chain_and_verify(conn: Connection) -> None:
    ids = _three(conn)
    assert ids == [ids[0], ids[0] + 1, ids[0] + 2]
    rows = conn.execute(
        text("SELECT prev_hash, hash FROM audit_log WHERE id = ANY(:i) ORDER BY id"), {"i": ids}
    ).all()
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    verdict = audit.verify(conn, scope=EVERYTHING)
    assert verdict.intact and verdict.checked >= 3


def test_bodies_jsonb_rewrites_still_verify(conn: Connection) -> None:
    # jsonb stores numbers as numeric: 1e300 comes back as an integer, 1.50 as 1.5. The hash must
    # cover what is read back, or every such row would look tampered with (found by schemathesis).
    odd = {"big": 1e300, "tiny": 5e-324, "scale": 1.50, "astral": "\U00108cb1", "ctl": "\x1b"}
    audit.append(
        conn,
        audit.Entry(actor="fuzz", action="POST /v1/admin/x", outcome="422", after=odd),
        now=now(),
    )
    assert audit.verify(conn, scope=EVERYTHING).intact


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log", "TRUNCATE audit_log"],
)
def test_the_database_refuses_to_change_rows(conn: Connection, statement: str) -> None:
    _three(conn)
    savepoint = conn.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(statement))
    savepoint.rollback()


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("UPDATE audit_log SET actor = 'mallory' WHERE id = :i", "content"),
        ("UPDATE audit_log SET after = '{\"n\": 7}' WHERE id = :i", "content"),
        ("DELETE FROM audit_log WHERE id = :i", "missing"),
    ],
)
def test_a_superuser_tampering_is_found_at_the_first_broken_row(
    conn: Connection, tamper: str, problem: str
) -> None:
    ids = _three(conn)
    # Only a superuser can switch triggers off; the chain is what catches them.
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    conn.execute(text(tamper), {"i": ids[1]})
    conn.execute(text("SET LOCAL session_replication_role = origin"))
    verdict = audit.verify(conn, scope=EVERYTHING)
    assert verdict.first_broken_id == (ids[2] if problem == "missing" else ids[1])
    assert problem in (verdict.problem or "")
