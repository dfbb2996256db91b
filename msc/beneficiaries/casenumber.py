"""Case numbers: the centre's code, eight random characters and a check character, such as
COL-CUC-7K3M-Q9XD-4. Random, not counted: nobody can walk from one number to the next. Short enough to
read aloud and type: the characters are Crockford's base 32 (no I, L, O, U), grouped by four; typing is
forgiving (letter case, spaces, dashes, O for 0, I or L for 1) and a mistyped character is caught by the
check character before anything is looked up.

The check character is Luhn's algorithm over the 32 characters (mod N): it catches every single
wrong character and most swaps of two neighbours, and, unlike Crockford's own mod-37 check, it is always
one of the same 32 easy characters (never *, ~, $, = or U). Numbers issued before (COL-CUC-2026-000123)
were renumbered; the old number is kept as an alias that finds a person within one's own reach."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from msc.errors import RuleError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32
RANDOM_CHARS = 8  # 40 bits
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_TYPO = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CURRENT = re.compile(r"^([A-Z]{3})([A-Z0-9]{2,8})([0-9A-Z]{9})$")
#: numbers issued before 2026-12: COL-CUC-2026-000123
LEGACY_RE = re.compile(r"^[A-Z]{3}-[A-Z0-9]{2,8}-\d{4}-\d{6}$")


class CaseNumberError(RuleError):
    """A case number that cannot be right, said in words (without looking anything up)."""


@dataclass(frozen=True)
class CaseNumber:
    """A case number as it is stored; legacy when it is an old, counted one."""

    text: str
    legacy: bool = False


def check_character(body: str) -> str:
    """Luhn mod 32 over Crockford's characters: the character that makes the sum a multiple of 32."""
    total, double = 0, True
    for ch in reversed(body):
        value = _VALUE[ch]
        if double:
            value *= 2
            value = value // 32 + value % 32
        total += value
        double = not double
    return ALPHABET[(32 - total % 32) % 32]


def _valid(body_and_check: str) -> bool:
    return check_character(body_and_check[:-1]) == body_and_check[-1]


def new(centre_code: str) -> str:
    """A new random case number of a centre (the caller makes sure it is not taken)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    return f"{centre_code}-{body[:4]}-{body[4:]}-{check_character(body)}"


def parse(text: str | None) -> CaseNumber | None:
    """The case number as stored, from what was typed; None when it does not look like a case number
    at all; CaseNumberError when it looks like one but a character is wrong."""
    raw = (text or "").strip().upper()
    if LEGACY_RE.match(raw.replace(" ", "")):
        return CaseNumber(raw.replace(" ", ""), legacy=True)
    compact = re.sub(r"[\s\-_.·]", "", raw)
    m = _CURRENT.match(compact)
    if m is None:
        return None
    body = m[3].translate(_TYPO)
    if any(ch not in _VALUE for ch in body) or not _valid(body):
        raise CaseNumberError(_l("Check the case number: a character is wrong."), field="case_number")
    return CaseNumber(f"{m[1]}-{m[2]}-{body[:4]}-{body[4:8]}-{body[8]}")


def looks_like(text: str | None) -> bool:
    """Whether what was typed has the shape of a case number (a centre code, then the number)."""
    raw = (text or "").strip().upper()
    return bool(LEGACY_RE.match(raw.replace(" ", "")) or re.match(r"^[A-Z]{3}-[A-Z0-9]{2,8}[\s\-]", raw))
