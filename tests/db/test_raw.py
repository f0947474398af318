"""Statements sent on the driver connection behave like the same statements through SQLAlchemy."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from scrip.db import raw
from scrip.db.batch import write, write_behind


@pytest.fixture
def scratch(conn: Connection) -> Connection:
    conn.execute(text("CREATE TEMP TABLE scratch (id int PRIMARY KEY, v text, doc jsonb)"))
    return conn


INSERT = text("INSERT INTO scratch (id, v) VALUES (:id, :v)")
SELECT = text("SELECT id, v FROM scratch WHERE id = ANY(:ids) AND v LIKE '%' ORDER BY id")


def test_rows_as_tuples_or_dicts_with_a_literal_percent_sign(scratch: Connection) -> None:
    scratch.execute(INSERT, [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}])

    assert raw.execute(scratch, SELECT, {"ids": [2, 1]}).fetchall() == [(1, "a"), (2, "b")]
    assert raw.execute(scratch, SELECT, {"ids": [2]}, dicts=True).fetchall() == [
        {"id": 2, "v": "b"}
    ]


def test_writes_queued_behind_are_sent_before_a_raw_read(scratch: Connection) -> None:
    with write_behind(scratch):
        write(scratch, INSERT, {"id": 1, "v": "queued"})
        assert raw.execute(scratch, SELECT, {"ids": [1]}).fetchall() == [(1, "queued")]


def test_jsonb_parameters_are_sent_as_json(scratch: Connection) -> None:
    statement = text("INSERT INTO scratch (id, doc) VALUES (:id, :doc) RETURNING doc").bindparams(
        bindparam("doc", type_=JSONB)
    )
    row = raw.execute(scratch, statement, {"id": 1, "doc": {"amount_minor": 5}}).fetchone()
    assert row == ({"amount_minor": 5},)


def test_errors_are_sqlalchemy_errors_without_the_parameters(scratch: Connection) -> None:
    scratch.execute(INSERT, {"id": 1, "v": "first"})
    with pytest.raises(IntegrityError) as raised, scratch.begin_nested():
        raw.execute(scratch, INSERT, {"id": 1, "v": "secret-4711"})
    assert "secret-4711" not in str(raised.value)
    assert raised.value.connection_invalidated is False
