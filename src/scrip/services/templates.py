"""Code templates (S3): define one for an issuer, find the one a voucher type uses, and refuse
generation that would make a random guess hit a valid code too often.

A type without a template uses the issuer's code prefix and 16 digits with a Luhn check digit,
at :data:`DEFAULT_MAX_GUESS_RATIO_PPM`. A template's own prefix replaces the issuer's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from scrip.db import templates as templates_db
from scrip.domain import codes
from scrip.domain.codes import CodeTemplate
from scrip.domain.errors import InvalidInput, NotFound

ALPHABETS: Mapping[str, str] = {"digits": codes.DIGITS, "safe_alnum": codes.SAFE_ALNUM}
DEFAULT_MAX_GUESS_RATIO_PPM = 100


@dataclass(frozen=True, slots=True)
class TypeTemplate:
    """The template codes of one type are made with, and its capacity rule."""

    template: CodeTemplate
    template_id: int | None
    max_guess_ratio_ppm: int


def _domain_template(row: templates_db.TemplateRow) -> CodeTemplate:
    return CodeTemplate(
        prefix=row.prefix,
        length=row.length or 0,
        alphabet=ALPHABETS[row.alphabet],
        pattern=row.pattern,
        check_digit=row.check_digit,
        banned_words=tuple(row.banned_words),
    )


def capacity(row: templates_db.TemplateRow) -> int:
    """How many distinct valid codes the template can make."""
    return _domain_template(row).capacity()


def create_template(
    conn: Connection,
    *,
    issuer_id: int,
    name: str,
    prefix: str = "",
    length: int | None = None,
    pattern: str | None = None,
    alphabet: str = "digits",
    check_digit: bool = True,
    banned_words: Sequence[str] = (),
    max_guess_ratio_ppm: int = DEFAULT_MAX_GUESS_RATIO_PPM,
) -> int:
    """Store a template after the domain has accepted its shape; ``length`` xor ``pattern``."""
    if (length is None) == (pattern is None):
        raise InvalidInput("give a length or a pattern, not both", code="invalid_template")
    if alphabet not in ALPHABETS:
        raise InvalidInput("the alphabet is digits or safe_alnum", code="invalid_template")
    if not 0 <= max_guess_ratio_ppm <= codes.PPM:
        raise InvalidInput("the ratio is 0 to 1,000,000 ppm", code="invalid_template")
    values: dict[str, Any] = {
        "issuer_id": issuer_id,
        "name": name,
        "prefix": codes.normalize(prefix),
        "length": length,
        "pattern": None if pattern is None else codes.normalize(pattern),
        "alphabet": alphabet,
        "check_digit": check_digit,
        "banned_words": [word.upper() for word in banned_words],
        "max_guess_ratio_ppm": max_guess_ratio_ppm,
    }
    CodeTemplate(
        prefix=values["prefix"],
        length=length or 0,
        alphabet=ALPHABETS[alphabet],
        pattern=values["pattern"],
        check_digit=check_digit,
        banned_words=tuple(values["banned_words"]),
    )
    return templates_db.insert_template(conn, values)


def template_of(conn: Connection, type_row: Mapping[Any, Any]) -> TypeTemplate:
    """The template of a voucher type row (joined with the issuer's ``code_prefix``)."""
    template_id = type_row.get("template_id")
    if template_id is None:
        default = CodeTemplate(prefix=type_row["code_prefix"], length=16)
        return TypeTemplate(default, None, DEFAULT_MAX_GUESS_RATIO_PPM)
    row = templates_db.find_template(conn, template_id)
    if row is None:
        raise NotFound("no code template with this id", code="code_template_not_found")
    return TypeTemplate(_domain_template(row), row.id, row.max_guess_ratio_ppm)


def check_room(conn: Connection, chosen: TypeTemplate, *, type_id: int, requested: int) -> None:
    """Refuse (``code_capacity_exceeded``) ``requested`` more codes past the template's ratio."""
    existing = templates_db.count_codes(conn, template_id=chosen.template_id, type_id=type_id)
    codes.check_capacity(
        chosen.template,
        existing=existing,
        requested=requested,
        max_ratio_ppm=chosen.max_guess_ratio_ppm,
    )
