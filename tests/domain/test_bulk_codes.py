"""Codes by the batch: same shapes and check characters as one-at-a-time generation."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrip.domain.bulk_codes import check_chars, generate_codes, random_chars, secret_numbers
from scrip.domain.codes import (
    DIGITS,
    SAFE_ALNUM,
    CodeTemplate,
    iso7064_check_char,
    luhn_check_digit,
)


@pytest.mark.parametrize(
    "template",
    [
        CodeTemplate(prefix="DM", length=16),
        CodeTemplate(pattern="GC-####-####-####", alphabet=SAFE_ALNUM),
        CodeTemplate(prefix="X", length=8, check_digit=False),
        CodeTemplate(length=10, banned_words=("66",)),
    ],
)
def test_generated_codes_are_valid_distinct_and_free_of_banned_words(
    template: CodeTemplate,
) -> None:
    codes = generate_codes(template, 3_000)
    assert len(set(codes)) == 3_000
    assert all(template.is_valid(code) for code in codes)
    assert not any("66" in code for code in codes if template.banned_words)


def test_pattern_shape() -> None:
    codes = generate_codes(CodeTemplate(pattern="GC-####-####", alphabet=SAFE_ALNUM), 500)
    assert all(re.fullmatch(r"GC-[0-9A-Z]{4}-[0-9A-Z]{4}", code) for code in codes)


@settings(max_examples=50)
@given(st.lists(st.text(DIGITS, min_size=15, max_size=15), min_size=1, max_size=20))
def test_batch_luhn_matches_one_at_a_time(payloads: list[str]) -> None:
    checks = check_chars("".join(payloads).encode(), width=15, numeric=True).decode()
    assert list(checks) == [luhn_check_digit(p) for p in payloads]


@settings(max_examples=50)
@given(st.lists(st.text(SAFE_ALNUM, min_size=11, max_size=11), min_size=1, max_size=20))
def test_batch_iso7064_matches_one_at_a_time(payloads: list[str]) -> None:
    checks = check_chars("".join(payloads).encode(), width=11, numeric=False).decode()
    assert list(checks) == [iso7064_check_char(p) for p in payloads]


def test_random_chars_cover_the_alphabet_evenly() -> None:
    chars = random_chars(SAFE_ALNUM, 64_000, __import__("secrets").token_bytes).decode()
    counts = [chars.count(c) for c in SAFE_ALNUM]
    assert set(chars) == set(SAFE_ALNUM)
    assert max(counts) < 2_000 * 1.2 and min(counts) > 2_000 * 0.8


def test_secret_numbers_have_the_length() -> None:
    numbers = secret_numbers(6, 1_000)
    assert all(len(n) == 6 and n.isdigit() for n in numbers)
