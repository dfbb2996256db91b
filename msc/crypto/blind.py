"""Blind indexes: keyed, truncated HMACs of normalised values, so the database can match without seeing.

Names are folded (accents, case, hyphens, particles), then each token is indexed for its person
exactly, by a phonetic key suited to Spanish and Portuguese spelling, and (for the first given
and first family name) as a leading name. One typo, insertion, omission or transposition is
caught through a name vocabulary that is linked to nobody: for every distinct token it maps the
hashes of its one-deletion neighbourhood to the token's exact hash, so a query first finds the
neighbouring words, then the people who carry them. Each kind of hash has its own key, derived
with HKDF from the index root key. Every hash is truncated so that unrelated values share it by
chance; candidates are decrypted and confirmed afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import phonenumbers
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Entry kinds, stored as small integers. NAME_LEAD holds the first given name and the first family
# name: the names a person goes by, which should outrank a query word found in a middle name.
# NAME_TYPO hashes live only in the name vocabulary, never beside a person.
NAME, NAME_PHONETIC, NAME_TYPO, DOB, DOCUMENT, PHONE, NAME_LEAD = 1, 2, 3, 4, 5, 6, 7
KIND_NAMES = {
    NAME: "name",
    NAME_PHONETIC: "name_phonetic",
    NAME_TYPO: "name_typo",
    DOB: "dob",
    DOCUMENT: "document",
    PHONE: "phone",
    NAME_LEAD: "name_lead",
}

PARTICLES = frozenset({"de", "del", "la", "las", "los", "da", "das", "do", "dos", "y", "e"})
MIN_TYPO_TOKEN = 4  # shorter tokens get no one-deletion neighbourhood: too many chance matches
MAX_TOKEN = 40
PHONE_DIGITS = 8  # the legacy phone key: the last digits, with or without country and area codes
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 7, 17  # a phone as typed, trunk zero and country code included

#: a centre's country (alpha-3, as stored) to the region phone numbering plans are kept under
PHONE_REGIONS = {
    "VEN": "VE", "COL": "CO", "ECU": "EC", "PER": "PE", "BRA": "BR", "CHL": "CL", "BOL": "BO",
    "ARG": "AR", "HTI": "HT", "CUB": "CU", "DOM": "DO", "PAN": "PA", "GUY": "GY", "SUR": "SR",
    "TTO": "TT", "URY": "UY", "PRY": "PY", "MEX": "MX", "NIC": "NI", "HND": "HN", "GTM": "GT",
    "SLV": "SV", "CRI": "CR",
}  # fmt: skip

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def strip_accents(text: str) -> str:
    """Unicode NFKD without the combining marks."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Accent- and case-folded, with every run of non-alphanumerics turned into one space."""
    return _NON_ALNUM.sub(" ", strip_accents(text).lower()).strip()


def name_tokens(text: str) -> list[str]:
    """Folded name tokens without particles: "María José Pérez de la Cruz" -> maria jose perez cruz."""
    return [t[:MAX_TOKEN] for t in fold(text).split() if t not in PARTICLES and not t.isdigit()]


_PHONETIC_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), r)
    for p, r in [
        (r"nh", "ny"),
        (r"lh", "y"),
        (r"ll", "y"),
        (r"ch", "X"),
        (r"sh", "X"),
        (r"ph", "f"),
        (r"th", "t"),
        (r"qu", "k"),
        (r"gu(?=[ei])", "G"),
        (r"g(?=[ei])", "j"),
        (r"G", "g"),
        (r"c(?=[eiy])", "s"),
        (r"c", "k"),
        (r"q", "k"),
        (r"z", "s"),
        (r"x", "s"),
        (r"v", "b"),
        (r"w", "u"),
        (r"y", "i"),
        (r"h", ""),
        (r"(.)\1+", r"\1"),
    ]
]


@lru_cache(maxsize=4096)
def phonetic_key(token: str) -> str:
    """A sound-alike key for Spanish and Portuguese spelling: b/v, s/z/c(e,i)/ç, ll/y/lh, silent h,
    qu/k/c, gu/g, ss/s, nh/ñ, double letters. "Gonsalez" and "González" share one key."""
    s = token.lower().replace("ç", "s").replace("ñ", "ny")
    s = re.sub(r"[^a-z]", "", strip_accents(s))
    for pattern, repl in _PHONETIC_RULES:
        s = pattern.sub(repl, s)
    return s.lower()


def typo_neighbourhood(token: str) -> set[str]:
    """The token and every string made by removing one of its letters."""
    out = {token}
    if len(token) >= MIN_TYPO_TOKEN:
        out.update(token[:i] + token[i + 1 :] for i in range(len(token)))
    return out


def normalise_document(value: str) -> str:
    """Document numbers compare on upper-case letters and digits only."""
    return re.sub(r"[^0-9A-Z]", "", strip_accents(value).upper())


def phone_digits(value: str) -> str:
    """The digits of a phone as typed (spaces, dashes, dots and brackets dropped)."""
    return re.sub(r"\D", "", value)


def is_phone_like(value: str) -> bool:
    """Enough digits to be a phone number."""
    return MIN_PHONE_DIGITS <= len(phone_digits(value)) <= MAX_PHONE_DIGITS


def normalise_phone(value: str, country: str | None) -> str:
    """A phone as one comparable key: its national significant number ("3001234567": area or mobile
    code and subscriber number, without country code or trunk zero), read as people write it in the
    centre's country (alpha-3): with or without the country code (after +, 00 or nothing), with a
    trunk zero, spaces, dashes, dots or brackets. The country code is left out of the key on
    purpose: a Venezuelan number typed at a Colombian desk without its +58 still finds its person
    (two countries' identical national numbers meet by chance only). A number the numbering plan
    cannot place keeps its bare digits. Empty when it is no phone at all."""
    digits = phone_digits(value)
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        return ""
    international = value.strip().startswith("+") or digits.startswith("00")
    text = "+" + digits.removeprefix("00") if international else digits
    region = PHONE_REGIONS.get(country or "")
    try:
        number = phonenumbers.parse(text, None if international else region)
    except phonenumbers.NumberParseException:
        return digits
    if not phonenumbers.is_possible_number(number):
        return digits
    return str(number.national_number)  # a trunk zero read as a leading zero is dropped too


def phone_keys(value: str, countries: Iterable[str | None]) -> set[str]:
    """Every key a typed phone may have been stored under, for a searcher who reaches centres in
    these countries: one per country, plus the legacy last-digits key entries written before
    phones were read by numbering plan carry (until `flask index rebuild` rewrites them)."""
    keys = {normalise_phone(value, country) for country in countries} | {normalise_phone(value, None)}
    keys.discard("")
    legacy = legacy_phone_key(value)
    return keys | {legacy} if legacy else keys


def legacy_phone_key(value: str) -> str:
    """The key phones were indexed under before: their last digits (it finds people indexed
    before a rebuild; the decrypted phone confirms)."""
    digits = phone_digits(value)
    return digits[-PHONE_DIGITS:] if len(digits) >= 7 else ""


class BlindIndexer:
    """Computes blind-index hashes with a key per kind derived from the root key."""

    def __init__(self, root_key: bytes, bits: dict[str, int]):
        self._keys = {kind: _derive(root_key, name) for kind, name in KIND_NAMES.items()}
        self._bits = {kind: int(bits[name]) for kind, name in KIND_NAMES.items()}

    def hash(self, kind: int, value: str) -> int:
        """The truncated HMAC-SHA256 of value for this kind, as a non-negative integer."""
        digest = hmac.new(self._keys[kind], value.encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") >> (64 - self._bits[kind])

    def name_entries(self, *names: str) -> set[tuple[int, int]]:
        """A person's (kind, hash) entries for every token of the given names: exact and phonetic."""
        entries: set[tuple[int, int]] = set()
        for name in names:
            for raw in re.split(r"[\s\-]+", name or ""):
                for token in name_tokens(raw):
                    entries.add((NAME, self.hash(NAME, token)))
                    entries.add((NAME_PHONETIC, self.hash(NAME_PHONETIC, phonetic_key(_raw_token(raw, token)))))
        return entries

    def vocabulary_entries(self, *names: str) -> set[tuple[int, int]]:
        """(typo hash, exact hash) pairs: each token's one-deletion neighbourhood, pointing at the token."""
        pairs: set[tuple[int, int]] = set()
        for name in names:
            for token in name_tokens(name or ""):
                exact = self.hash(NAME, token)
                pairs.update((self.hash(NAME_TYPO, t), exact) for t in typo_neighbourhood(token))
        return pairs

    def lead_entries(self, given_names: str, family_names: str) -> set[tuple[int, int]]:
        """(kind, hash) entries for the first given name and the first family name."""
        return {
            (NAME_LEAD, self.hash(NAME_LEAD, tokens[0]))
            for tokens in (name_tokens(given_names or ""), name_tokens(family_names or ""))
            if tokens
        }

    def query_token(self, raw: str) -> tuple[int, list[int], int, int]:
        """Hashes for one query token: exact, its typo neighbourhood (to look up in the vocabulary),
        phonetic, leading name."""
        token = name_tokens(raw)[0]
        return (
            self.hash(NAME, token),
            sorted({self.hash(NAME_TYPO, t) for t in typo_neighbourhood(token)}),
            self.hash(NAME_PHONETIC, phonetic_key(_raw_token(raw, token))),
            self.hash(NAME_LEAD, token),
        )


def _raw_token(raw: str, token: str) -> str:
    """The raw spelling (with ç and ñ) when the raw text is one token, else the folded token."""
    return raw if len(name_tokens(raw)) == 1 else token


@lru_cache(maxsize=32)
def _derive(root_key: bytes, kind_name: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"msc-blind-index|{kind_name}".encode()).derive(
        root_key
    )
