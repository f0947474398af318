"""Check characters, code templates, generation and capacity."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrip.domain.codes import (
    DIGITS,
    ISO7064_ALPHABET,
    SAFE_ALNUM,
    CodeTemplate,
    check_capacity,
    guess_ratio_ok,
    iso7064_check_char,
    iso7064_valid,
    luhn_check_digit,
    luhn_valid,
    normalize,
)
from scrip.domain.errors import InvalidInput, LimitExceeded

digit_strings = st.text(alphabet=DIGITS, min_size=1, max_size=30)
alnum_strings = st.text(alphabet=ISO7064_ALPHABET, min_size=1, max_size=30)


def seeded(seed: int) -> random.Random:
    return random.Random(seed)


# --- Luhn ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "check"),
    [("7992739871", "3"), ("4111111111111111"[:-1], "1"), ("0", "0"), ("1", "8")],
)
def test_luhn_known_values(payload: str, check: str) -> None:
    assert luhn_check_digit(payload) == check
    assert luhn_valid(payload + check)


def test_luhn_rejects_bad_input() -> None:
    for bad in ("", "12a", "١٢"):
        with pytest.raises(InvalidInput):
            luhn_check_digit(bad)
    assert not luhn_valid("")
    assert not luhn_valid("0")
    assert not luhn_valid("79927398A3")


@given(digit_strings, st.data())
def test_luhn_detects_every_single_substitution(payload: str, data: st.DataObject) -> None:
    code = payload + luhn_check_digit(payload)
    assert luhn_valid(code)
    position = data.draw(st.integers(0, len(code) - 1))
    other = data.draw(st.sampled_from([d for d in DIGITS if d != code[position]]))
    assert not luhn_valid(code[:position] + other + code[position + 1 :])


@given(st.text(alphabet=DIGITS, min_size=2, max_size=30), st.data())
def test_luhn_detects_adjacent_transpositions_except_09(payload: str, data: st.DataObject) -> None:
    code = payload + luhn_check_digit(payload)
    position = data.draw(st.integers(0, len(code) - 2))
    pair = code[position : position + 2]
    swapped = code[:position] + pair[::-1] + code[position + 2 :]
    if pair[0] == pair[1]:
        return
    if pair in ("09", "90"):
        assert luhn_valid(swapped)  # the known blind spot of Luhn
    else:
        assert not luhn_valid(swapped)


# --- ISO 7064 MOD 37,36 ---------------------------------------------------------------------


def test_iso7064_known_value() -> None:
    # Reference value from ISO 7064 MOD 37,36 implementations (e.g. python-stdnum).
    assert iso7064_check_char("A12425GABC1234002") == "M"
    assert iso7064_valid("A12425GABC1234002M")


def test_iso7064_rejects_bad_input() -> None:
    for bad in ("", "abc", "A-B", "Ä"):
        with pytest.raises(InvalidInput):
            iso7064_check_char(bad)
    assert not iso7064_valid("A")
    assert not iso7064_valid("a12425GABC1234002M")


@given(alnum_strings, st.data())
def test_iso7064_detects_every_single_substitution(payload: str, data: st.DataObject) -> None:
    code = payload + iso7064_check_char(payload)
    assert iso7064_valid(code)
    position = data.draw(st.integers(0, len(code) - 1))
    other = data.draw(st.sampled_from([c for c in ISO7064_ALPHABET if c != code[position]]))
    assert not iso7064_valid(code[:position] + other + code[position + 1 :])


def test_iso7064_detects_every_single_substitution_exhaustively() -> None:
    code = "GC7Q2" + iso7064_check_char("GC7Q2")
    for position in range(len(code)):
        for other in ISO7064_ALPHABET.replace(code[position], ""):
            assert not iso7064_valid(code[:position] + other + code[position + 1 :])


def test_iso7064_detects_nearly_all_adjacent_transpositions() -> None:
    # The hybrid system guarantees single substitutions only; transpositions are caught
    # except in rare cases where the partial sum wraps past the modulus (e.g. "IJ" / "JI").
    missed = total = 0
    for first in ISO7064_ALPHABET:
        for second in ISO7064_ALPHABET.replace(first, ""):
            for prefix in ("", "X", "Q7"):
                code = prefix + first + second
                code += iso7064_check_char(code)
                swapped = prefix + second + first + code[-1]
                total += 1
                missed += iso7064_valid(swapped)
    assert iso7064_valid("JI" + iso7064_check_char("IJ"))
    assert missed * 100 < total


# --- templates ------------------------------------------------------------------------------


def test_normalize() -> None:
    assert normalize("  gc-12 34\t-ab ") == "GC-1234-AB"


def test_template_defaults() -> None:
    template = CodeTemplate()
    assert template.random_positions() == 15
    assert template.capacity() == 10**15
    code = template.generate()
    assert len(code) == 16
    assert code.isdigit()
    assert template.is_valid(code)


def test_pattern_template() -> None:
    template = CodeTemplate(prefix="X", pattern="GC-####-####")
    assert template.random_positions() == 7
    assert template.capacity() == 10**7
    code = template.generate(seeded(1).randrange)
    assert re.fullmatch(r"XGC-\d{4}-\d{4}", code)
    digits = code[4:8] + code[9:13]
    assert luhn_valid(digits)
    assert template.is_valid(code)
    assert not template.is_valid(code.replace("-", "_"))
    assert not template.is_valid(code[1:])


def test_no_check_digit() -> None:
    template = CodeTemplate(length=6, alphabet=SAFE_ALNUM, check_digit=False)
    assert template.random_positions() == 6
    assert template.capacity() == 32**6
    code = template.generate()
    assert all(char in SAFE_ALNUM for char in code)
    assert template.is_valid(code)
    assert not template.is_valid(code + "2")


def test_alnum_check_char_may_leave_the_alphabet() -> None:
    template = CodeTemplate(length=3, alphabet=SAFE_ALNUM)
    payload = next(
        a + b for a in SAFE_ALNUM for b in SAFE_ALNUM if iso7064_check_char(a + b) not in SAFE_ALNUM
    )
    assert template.is_valid(payload + iso7064_check_char(payload))


def test_is_valid_rejects_wrong_check_and_alphabet() -> None:
    template = CodeTemplate(prefix="GC", length=8, alphabet=SAFE_ALNUM)
    code = template.generate(seeded(2).randrange)
    body = code[2:]
    wrong_check = next(c for c in SAFE_ALNUM if c != body[-1])
    assert not template.is_valid("GC" + body[:-1] + wrong_check)
    assert not template.is_valid("GC" + "0" + body[1:])  # 0 is not in SAFE_ALNUM
    assert not template.is_valid("GC" + body.lower())


def test_banned_words_are_skipped() -> None:
    draws = iter([5, 5, 5, 5, 3, 3, 3, 3])  # first attempt spells "7777"
    template = CodeTemplate(length=4, alphabet=SAFE_ALNUM, check_digit=False, banned_words=("77",))
    assert template.generate(lambda n: next(draws)) == "5555"


def test_banned_words_that_ban_everything() -> None:
    template = CodeTemplate(length=2, alphabet="AB", check_digit=False, banned_words=("a", "b"))
    with pytest.raises(InvalidInput):
        template.generate()


def test_rng_out_of_range() -> None:
    with pytest.raises(ValueError, match="outside"):
        CodeTemplate(length=4).generate(lambda n: n)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"alphabet": "A"},
        {"alphabet": "AAB"},
        {"alphabet": "ab"},
        {"alphabet": "AB-"},
        {"prefix": "gc"},
        {"prefix": "G C"},
        {"pattern": "gc-##"},
        {"pattern": "GC-#"},
        {"length": 1},
        {"length": 0, "check_digit": False},
    ],
)
def test_bad_templates(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as caught:
        CodeTemplate(**kwargs)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_template"


templates = st.builds(
    CodeTemplate,
    prefix=st.sampled_from(["", "GC", "9-"]),
    length=st.integers(2, 20),
    alphabet=st.sampled_from([DIGITS, SAFE_ALNUM, "0123456789ABCDEF", "13579"]),
    pattern=st.sampled_from([None, "GC-####-####", "##.##", "#####"]),
    check_digit=st.booleans(),
)


@settings(max_examples=300)
@given(templates, st.integers(0, 2**32))
def test_generated_codes_are_valid_and_shaped(template: CodeTemplate, seed: int) -> None:
    code = template.generate(seeded(seed).randrange)
    assert template.is_valid(code)
    assert template.is_valid(normalize(f" {code.lower()} "))
    body = code[len(template.prefix) :]
    layout = template.pattern or "#" * template.length
    assert len(body) == len(layout)
    randoms = [char for char, mark in zip(body, layout, strict=True) if mark == "#"]
    payload = randoms[:-1] if template.check_digit else randoms
    assert all(char in template.alphabet for char in payload)
    assert len(payload) == template.random_positions()
    assert template.capacity() == len(template.alphabet) ** template.random_positions()


@given(templates, st.integers(0, 2**32))
def test_single_substitutions_invalidate_checked_codes(template: CodeTemplate, seed: int) -> None:
    if not template.check_digit:
        return
    rng = seeded(seed)
    code = template.generate(rng.randrange)
    layout = template.prefix + (template.pattern or "#" * template.length)
    slots = [i for i, mark in enumerate(layout) if mark == "#" and i >= len(template.prefix)]
    position = rng.choice(slots)
    other = rng.choice([c for c in template.alphabet if c != code[position]])
    assert not template.is_valid(code[:position] + other + code[position + 1 :])


# --- capacity -------------------------------------------------------------------------------


def test_guess_ratio() -> None:
    assert guess_ratio_ok(issued=100, capacity=1_000_000, max_ratio_ppm=100)
    assert not guess_ratio_ok(issued=101, capacity=1_000_000, max_ratio_ppm=100)
    assert guess_ratio_ok(issued=0, capacity=10, max_ratio_ppm=0)
    assert not guess_ratio_ok(issued=1, capacity=10, max_ratio_ppm=0)


@given(st.integers(0, 10**9), st.integers(1, 10**12), st.integers(0, 10**6))
def test_guess_ratio_matches_fraction(issued: int, capacity: int, ppm: int) -> None:
    from fractions import Fraction

    expected = Fraction(issued, capacity) <= Fraction(ppm, 1_000_000)
    assert guess_ratio_ok(issued=issued, capacity=capacity, max_ratio_ppm=ppm) == expected


def test_check_capacity() -> None:
    template = CodeTemplate(length=7)  # 10**6 valid codes
    check_capacity(template, existing=50, requested=50, max_ratio_ppm=100)
    with pytest.raises(LimitExceeded) as caught:
        check_capacity(template, existing=50, requested=51, max_ratio_ppm=100)
    assert caught.value.code == "code_capacity_exceeded"
    assert caught.value.details["capacity"] == 10**6
    assert caught.value.details["requested"] == 51
    with pytest.raises(InvalidInput):
        check_capacity(template, existing=-1, requested=1, max_ratio_ppm=100)
