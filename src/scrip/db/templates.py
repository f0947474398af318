"""Code templates (S3): rows, the template a voucher type uses, and codes issued under it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import bindparam


@dataclass(frozen=True, slots=True)
class TemplateRow:
    id: int
    issuer_id: int
    name: str
    prefix: str
    length: int | None
    pattern: str | None
    alphabet: str
    check_digit: bool
    banned_words: list[str]
    max_guess_ratio_ppm: int


_COLUMNS = (
    "id, issuer_id, name, prefix, length, pattern, alphabet, check_digit, banned_words,"
    " max_guess_ratio_ppm"
)


def insert_template(conn: Connection, values: dict[str, Any]) -> int:
    names = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    statement = text(f"INSERT INTO code_templates ({names}) VALUES ({params}) RETURNING id")
    if "banned_words" in values:
        statement = statement.bindparams(bindparam("banned_words", type_=JSONB))
    return int(conn.execute(statement, values).scalar_one())


def find_template(conn: Connection, template_id: int) -> TemplateRow | None:
    row = (
        conn.execute(
            text(f"SELECT {_COLUMNS} FROM code_templates WHERE id = :id"), {"id": template_id}
        )
        .mappings()
        .first()
    )
    return None if row is None else TemplateRow(**row)


def find_template_by_name(conn: Connection, *, issuer_id: int, name: str) -> TemplateRow | None:
    row = (
        conn.execute(
            text(f"SELECT {_COLUMNS} FROM code_templates WHERE issuer_id = :i AND name = :n"),
            {"i": issuer_id, "n": name},
        )
        .mappings()
        .first()
    )
    return None if row is None else TemplateRow(**row)


def count_codes(conn: Connection, *, template_id: int | None, type_id: int) -> int:
    """Codes issued under a template (every type using it), or under a type's default one."""
    if template_id is None:
        sql = "SELECT count(*) FROM vouchers WHERE type_id = :type"
    else:
        sql = (
            "SELECT count(*) FROM vouchers v JOIN voucher_types t ON t.id = v.type_id"
            " WHERE t.template_id = :template"
        )
    return int(conn.execute(text(sql), {"type": type_id, "template": template_id}).scalar_one())


def list_templates(conn: Connection, issuer_id: int) -> list[TemplateRow]:
    found = conn.execute(
        text(f"SELECT {_COLUMNS} FROM code_templates WHERE issuer_id = :i ORDER BY name"),
        {"i": issuer_id},
    ).mappings()
    return [TemplateRow(**row) for row in found]
