"""Voucher codes: templates, check characters, generation and capacity.

A :class:`CodeTemplate` describes a code as ``prefix + body``. The body is either
``length`` random characters or a ``pattern`` such as ``"GC-####-####"`` where each ``#``
is one random character and everything else is a literal. With ``check_digit`` the last
random position holds a check character computed over the random characters only (never
the prefix or the literals):

* Luhn when the alphabet is made of digits only (e.g. :data:`DIGITS`);
* ISO 7064 MOD 37,36 (hybrid system over ``0-9A-Z``) otherwise. Its check character is
  one of ``0-9A-Z`` and may therefore lie outside a restricted alphabet such as
  :data:`SAFE_ALNUM` (a ``0``, ``1``, ``I`` or ``O``); that is accepted and validated.

Codes use upper-case characters without whitespace, so that :func:`normalize` (what a
cashier types, cleaned) turns a typed code into its stored form. Generation draws from a
CSPRNG (``secrets.randbelow``) unless a ``rng`` is passed in, e.g. by tests.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass

from scrip.domain.errors import InvalidInput, LimitExceeded

DIGITS = "0123456789"
SAFE_ALNUM = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
ISO7064_ALPHABET = DIGITS + string.ascii_uppercase
RANDOM_MARK = "#"
MAX_GENERATION_ATTEMPTS = 1000
PPM = 1_000_000

_ISO_MODULUS = 36


def normalize(code: str) -> str:
    """Strip, upper-case, drop whitespace, keep dashes: ``" gc-12 34 "`` -> ``"GC-1234"``."""
    return "".join(code.split()).upper()


# --- Luhn -------------------------------------------------------------------------------


def _check_digits(text: str) -> None:
    if not text or any(char not in DIGITS for char in text):
        raise InvalidInput("a Luhn payload must be digits only", code="invalid_code")


def _luhn_sum(digits: str, double_first: bool) -> int:
    total = 0
    double = double_first
    for char in reversed(digits):
        value = int(char) * 2 if double else int(char)
        total += value - 9 if value > 9 else value
        double = not double
    return total


def luhn_check_digit(payload: str) -> str:
    """The Luhn digit to append to the digits of ``payload``."""
    _check_digits(payload)
    return str(-_luhn_sum(payload, double_first=True) % 10)


def luhn_valid(code: str) -> bool:
    """True if ``code`` (payload + check digit, at least two digits) passes Luhn."""
    if len(code) < 2 or any(char not in DIGITS for char in code):
        return False
    return _luhn_sum(code, double_first=False) % 10 == 0


# --- ISO 7064 MOD 37,36 -------------------------------------------------------------------


def _iso_values(text: str) -> list[int]:
    if not text or any(char not in ISO7064_ALPHABET for char in text):
        raise InvalidInput("an ISO 7064 payload must be 0-9 and A-Z only", code="invalid_code")
    return [ISO7064_ALPHABET.index(char) for char in text]


def _iso_step(product: int, value: int) -> int:
    """One step of the hybrid system: the new product after adding ``value``."""
    partial = (product + value) % _ISO_MODULUS or _ISO_MODULUS
    return partial * 2 % (_ISO_MODULUS + 1)


def _iso_product(values: list[int]) -> int:
    product = _ISO_MODULUS
    for value in values:
        product = _iso_step(product, value)
    return product


def iso7064_check_char(payload: str) -> str:
    """The ISO 7064 MOD 37,36 check character (``0-9A-Z``) for ``payload``."""
    product = _iso_product(_iso_values(payload))
    return ISO7064_ALPHABET[(1 - product) % _ISO_MODULUS]


def iso7064_valid(code: str) -> bool:
    """True if ``code`` (payload + check character) passes ISO 7064 MOD 37,36."""
    if len(code) < 2 or any(char not in ISO7064_ALPHABET for char in code):
        return False
    values = _iso_values(code)
    product = _iso_product(values[:-1])
    return (product + values[-1]) % _ISO_MODULUS == 1


# --- templates ----------------------------------------------------------------------------


def _template_error(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_template")


@dataclass(frozen=True)
class CodeTemplate:
    """How the codes of a voucher type look; see the module docstring."""

    prefix: str = ""
    length: int = 16
    alphabet: str = DIGITS
    pattern: str | None = None
    check_digit: bool = True
    banned_words: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._check_alphabet()
        if self.prefix != normalize(self.prefix):
            raise _template_error("the prefix must be upper case without whitespace")
        if self.pattern is not None and self.pattern != normalize(self.pattern):
            raise _template_error("the pattern must be upper case without whitespace")
        if self.random_positions() < 1:
            raise _template_error("a code needs at least one random character")

    def _check_alphabet(self) -> None:
        if len(self.alphabet) < 2 or len(set(self.alphabet)) != len(self.alphabet):
            raise _template_error("the alphabet needs two or more distinct characters")
        if any(char not in ISO7064_ALPHABET for char in self.alphabet):
            raise _template_error("the alphabet may only hold 0-9 and A-Z")

    @property
    def numeric(self) -> bool:
        """True when the alphabet is digits only (Luhn check digit)."""
        return all(char in DIGITS for char in self.alphabet)

    def _slots(self) -> int:
        """Random positions in the body, including the check character."""
        if self.pattern is None:
            return self.length
        return self.pattern.count(RANDOM_MARK)

    def random_positions(self) -> int:
        """Number of random characters in a code (the check character excluded)."""
        return self._slots() - (1 if self.check_digit else 0)

    def capacity(self) -> int:
        """How many distinct valid codes the template can produce."""
        return int(len(self.alphabet) ** self.random_positions())

    def check_char(self, payload: str) -> str:
        """The check character for the random characters ``payload``."""
        return luhn_check_digit(payload) if self.numeric else iso7064_check_char(payload)

    def _layout(self) -> str:
        return self.pattern if self.pattern is not None else RANDOM_MARK * self.length

    def _fill(self, chars: str) -> str:
        """Put ``chars`` (random + check) into the ``#`` slots of the layout."""
        pieces = iter(chars)
        return "".join(next(pieces) if mark == RANDOM_MARK else mark for mark in self._layout())

    def _draw(self, rng: Callable[[int], int]) -> str:
        size = len(self.alphabet)
        payload = "".join(
            self.alphabet[_draw_index(rng, size)] for _ in range(self.random_positions())
        )
        if self.check_digit:
            payload += self.check_char(payload)
        return payload

    def _banned(self, body: str, chars: str) -> bool:
        words = [word.upper() for word in self.banned_words if word]
        return any(word in body.upper() or word in chars.upper() for word in words)

    def generate(self, rng: Callable[[int], int] | None = None) -> str:
        """A new random code; ``rng(n)`` returns a uniform int in ``[0, n)``."""
        draw = secrets.randbelow if rng is None else rng
        for _ in range(MAX_GENERATION_ATTEMPTS):
            chars = self._draw(draw)
            body = self._fill(chars)
            if not self._banned(body, chars):
                return self.prefix + body
        raise _template_error("the banned words exclude (nearly) every code of this template")

    def is_valid(self, code: str) -> bool:
        """True if ``code`` (already normalized) has this template's prefix, shape and check."""
        if not code.startswith(self.prefix):
            return False
        chars = _extract(self._layout(), code[len(self.prefix) :])
        if chars is None:
            return False
        payload = chars[:-1] if self.check_digit else chars
        if any(char not in self.alphabet for char in payload):
            return False
        return not self.check_digit or self._check_ok(chars)

    def _check_ok(self, chars: str) -> bool:
        return luhn_valid(chars) if self.numeric else iso7064_valid(chars)


def _draw_index(rng: Callable[[int], int], size: int) -> int:
    index = rng(size)
    if not 0 <= index < size:
        raise ValueError(f"rng({size}) returned {index}, outside [0, {size})")
    return index


def _extract(layout: str, body: str) -> str | None:
    """The characters of ``body`` in the ``#`` slots, or None if the literals don't match."""
    if len(body) != len(layout):
        return None
    chars = []
    for mark, char in zip(layout, body, strict=True):
        if mark == RANDOM_MARK:
            chars.append(char)
        elif mark != char:
            return None
    return "".join(chars)


# --- capacity -----------------------------------------------------------------------------


def guess_ratio_ok(*, issued: int, capacity: int, max_ratio_ppm: int) -> bool:
    """True if a random guess hits one of ``issued`` codes at most ``max_ratio_ppm`` per million."""
    return issued * PPM <= capacity * max_ratio_ppm


def check_capacity(
    template: CodeTemplate, *, existing: int, requested: int, max_ratio_ppm: int
) -> None:
    """Refuse to generate ``requested`` more codes if that makes guessing too likely."""
    if existing < 0 or requested < 0 or max_ratio_ppm < 0:
        raise InvalidInput("counts and ratio must not be negative", code="invalid_input")
    capacity = template.capacity()
    if not guess_ratio_ok(
        issued=existing + requested, capacity=capacity, max_ratio_ppm=max_ratio_ppm
    ):
        raise LimitExceeded(
            f"{requested} more codes would exceed the safe share of this template's capacity",
            code="code_capacity_exceeded",
            capacity=capacity,
            requested=requested,
            existing=existing,
            max_ratio_ppm=max_ratio_ppm,
        )
