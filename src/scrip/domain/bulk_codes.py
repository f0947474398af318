"""Codes and secret numbers by the hundred thousand, for lots (S3).

:meth:`CodeTemplate.generate` draws one code at a time through ``secrets.randbelow``; a lot
of a million needs the same codes faster. Here every random character of a whole batch comes
from one block of CSPRNG bytes mapped through ``bytes.translate`` (rejection sampling: the
bytes of an incomplete last round of the alphabet are dropped, so every character is equally
likely). Check characters are computed column by column for the whole batch at once: each
column of digit values becomes one big integer, and adding the columns adds every code's
digits in parallel, one byte per code (no carry can cross bytes while a byte's sum stays under
256). Luhn is a sum of mapped digits; ISO 7064 MOD 37,36 is a chain of steps, each of which is
an addition followed by a lookup table. The result is what :meth:`CodeTemplate.is_valid`
accepts, and tests check it against the one-at-a-time functions.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from scrip.domain.codes import DIGITS, ISO7064_ALPHABET, RANDOM_MARK, CodeTemplate
from scrip.domain.errors import InvalidInput

Draw = Callable[[int], bytes]

_LUHN_DOUBLED = bytes((2 * d - 9 if d > 4 else 2 * d) if d < 10 else 0 for d in range(256))
_LUHN_CHECK = bytes(ord(str(-s % 10)) for s in range(256))
_ISO_STEP = bytes(((x % 36 or 36) * 2 % 37) for x in range(256))
_ISO_CHECK = bytes(ord(ISO7064_ALPHABET[(1 - p) % 36]) for p in range(256))
_MAX_LUHN_COLUMNS = 255 // 9


def random_chars(alphabet: str, count: int, draw: Draw) -> bytes:
    """``count`` uniform characters of ``alphabet`` (ASCII bytes) from random bytes."""
    size = len(alphabet)
    limit = 256 - 256 % size
    table = bytes(ord(alphabet[b % size]) if b < limit else 0 for b in range(256))
    rejected = bytes(range(limit, 256))
    out = bytearray()
    while len(out) < count:
        need = count - len(out)
        out += draw(need + need // 4 + 16).translate(table, rejected)
    return bytes(out[:count])


def secret_numbers(length: int, count: int, draw: Draw | None = None) -> list[str]:
    """``count`` random secret numbers (PINs) of ``length`` digits from the CSPRNG."""
    if length < 1:
        raise InvalidInput("a secret number needs at least one digit", code="invalid_input")
    digits = random_chars(DIGITS, length * count, draw or secrets.token_bytes).decode("ascii")
    return [digits[i : i + length] for i in range(0, length * count, length)]


def _values(column: bytes) -> bytes:
    """ASCII ``0-9A-Z`` to their values 0..35."""
    return column.translate(_VALUE_OF)


_VALUE_OF = bytes(
    ISO7064_ALPHABET.index(chr(b)) if chr(b) in ISO7064_ALPHABET else 0 for b in range(256)
)


def _as_int(column: bytes) -> int:
    return int.from_bytes(column, "big")


def _luhn_checks(chars: bytes, width: int, count: int) -> bytes:
    if width > _MAX_LUHN_COLUMNS:
        raise InvalidInput("codes this long need one-at-a-time generation", code="invalid_template")
    total = 0
    for j in range(width):
        column = _values(chars[j::width])
        # Counting from the right, the digit next to the check digit is doubled.
        total += _as_int(column.translate(_LUHN_DOUBLED) if (width - 1 - j) % 2 == 0 else column)
    return total.to_bytes(count, "big").translate(_LUHN_CHECK)


def _iso7064_checks(chars: bytes, width: int, count: int) -> bytes:
    product = bytes([36]) * count
    for j in range(width):
        added = _as_int(product) + _as_int(_values(chars[j::width]))
        product = added.to_bytes(count, "big").translate(_ISO_STEP)
    return product.translate(_ISO_CHECK)


def check_chars(chars: bytes, *, width: int, numeric: bool) -> bytes:
    """The check character of each ``width``-character payload laid end to end in ``chars``."""
    count = len(chars) // width
    if numeric:
        return _luhn_checks(chars, width, count)
    return _iso7064_checks(chars, width, count)


def _runs(layout: str) -> list[tuple[str, int]]:
    """The layout as (literal, number of random characters after it) pairs."""
    runs: list[tuple[str, int]] = []
    literal, count = "", 0
    for mark in layout:
        if mark == RANDOM_MARK:
            count += 1
            continue
        if count:
            runs.append((literal, count))
            literal, count = "", 0
        literal += mark
    runs.append((literal, count))
    return runs


def _layout(template: CodeTemplate) -> str:
    return template.pattern if template.pattern is not None else RANDOM_MARK * template.length


def _assemble(template: CodeTemplate, chars: str, width: int, count: int) -> list[str]:
    """Cut the characters into codes and put each into the template's layout."""
    runs = _runs(_layout(template))
    if len(runs) == 1 and not runs[0][0]:
        return [template.prefix + chars[i : i + width] for i in range(0, width * count, width)]
    codes = []
    for i in range(0, width * count, width):
        pieces, start = [template.prefix], i
        for literal, size in runs:
            pieces.append(literal + chars[start : start + size])
            start += size
        codes.append("".join(pieces))
    return codes


def _draw_batch(template: CodeTemplate, count: int, draw: Draw) -> list[str]:
    width = template.random_positions()
    chars = random_chars(template.alphabet, count * width, draw)
    if template.check_digit:
        checks = check_chars(chars, width=width, numeric=template.numeric)
        chars = _interleave(chars, checks, width)
        width += 1
    codes = _assemble(template, chars.decode("ascii"), width, count)
    if not template.banned_words:
        return codes
    return [code for code in codes if not _banned(template, code)]


def _interleave(chars: bytes, checks: bytes, width: int) -> bytes:
    out = bytearray(len(chars) + len(checks))
    for j in range(width):
        out[j :: width + 1] = chars[j::width]
    out[width :: width + 1] = checks
    return bytes(out)


def _banned(template: CodeTemplate, code: str) -> bool:
    """The same rule as ``CodeTemplate.generate``: a banned word in the body, or in the random
    characters read without the literals between them."""
    body = code[len(template.prefix) :]
    chars = "".join(c for c, mark in zip(body, _layout(template), strict=True) if mark == "#")
    return any(
        word.upper() in body or word.upper() in chars for word in template.banned_words if word
    )


def generate_codes(template: CodeTemplate, count: int, draw: Draw | None = None) -> list[str]:
    """``count`` distinct new codes of ``template`` (distinct within the batch)."""
    source = draw or secrets.token_bytes
    found: dict[str, None] = {}
    while len(found) < count:
        found.update(dict.fromkeys(_draw_batch(template, count - len(found), source)))
    return list(found)
