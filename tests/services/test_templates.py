"""Code templates stored per issuer, used by a type, and generation refused past capacity."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Connection

from scrip.domain.codes import CodeTemplate
from scrip.domain.errors import InvalidInput, LimitExceeded
from scrip.domain.scope import EVERYTHING
from scrip.services import catalog, lots, templates
from tests import builders


def _type_with(conn: Connection, w: builders.World, **template: object) -> str:
    template_id = templates.create_template(conn, issuer_id=w.issuer_id, name="t", **template)  # type: ignore[arg-type]
    catalog.create_voucher_type(
        conn,
        issuer_id=w.issuer_id,
        code="tpl",
        name="templated",
        classification="gift_card",
        value_mode="variable",
        template_id=template_id,
    )
    return "tpl"


def test_vouchers_of_a_type_follow_its_template(conn: Connection) -> None:
    w = builders.world(conn)
    _type_with(conn, w, pattern="GC-####-####", alphabet="safe_alnum", max_guess_ratio_ppm=1000)
    codes = catalog.create_vouchers(
        conn, type_code="tpl", issuer_id=w.issuer_id, count=3, state="prepared", now=builders.now()
    )
    assert all(re.fullmatch(r"GC-[0-9A-Z]{4}-[0-9A-Z]{4}", code) for code in codes)


def test_generation_past_capacity_is_refused(conn: Connection) -> None:
    w = builders.world(conn)
    # 3 random digits + Luhn: 1,000 codes; 10,000 ppm lets 10 exist.
    _type_with(conn, w, length=4, max_guess_ratio_ppm=10_000)
    catalog.create_vouchers(
        conn, type_code="tpl", issuer_id=w.issuer_id, count=8, state="prepared", now=builders.now()
    )
    with pytest.raises(LimitExceeded) as refused:
        lots.create_lot(
            conn,
            scope=EVERYTHING,
            issuer_id=w.issuer_id,
            type_code="tpl",
            count=3,
            created_by="t",
            now=builders.now(),
        )
    assert refused.value.code == "code_capacity_exceeded"
    assert refused.value.details["existing"] == 8


def test_a_template_needs_length_or_pattern(conn: Connection) -> None:
    w = builders.world(conn)
    with pytest.raises(InvalidInput):
        templates.create_template(conn, issuer_id=w.issuer_id, name="x")
    with pytest.raises(InvalidInput):
        templates.create_template(conn, issuer_id=w.issuer_id, name="x", length=8, pattern="##")


def _drawing(monkeypatch: pytest.MonkeyPatch, codes: list[str]) -> None:
    """The template's random draws, in this order (then the last one again and again)."""
    draws = iter(codes)

    def generate(self: CodeTemplate, rng: object = None) -> str:
        return next(draws, codes[-1])

    monkeypatch.setattr(CodeTemplate, "generate", generate)


def test_a_drawn_code_that_exists_already_is_drawn_again(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A random code may collide with one already issued (the capacity check keeps the space
    sparse, not empty): the voucher gets the next draw instead of a failed insert."""
    w = builders.world(conn)
    _type_with(conn, w, length=8, max_guess_ratio_ppm=1000)
    _drawing(monkeypatch, ["11111111", "11111111", "22222222"])

    codes = catalog.create_vouchers(
        conn, type_code="tpl", issuer_id=w.issuer_id, count=2, state="prepared", now=builders.now()
    )

    assert codes == ["11111111", "22222222"]


def test_a_crowded_code_space_is_refused_after_some_draws(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = builders.world(conn)
    _type_with(conn, w, length=8, max_guess_ratio_ppm=1000)
    _drawing(monkeypatch, ["11111111"])

    with pytest.raises(LimitExceeded) as refused:
        catalog.create_vouchers(
            conn,
            type_code="tpl",
            issuer_id=w.issuer_id,
            count=2,
            state="prepared",
            now=builders.now(),
        )

    assert refused.value.code == "code_capacity_exceeded"
