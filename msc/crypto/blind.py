"""Blind indexes: keyed, truncated HMACs of normalised values, so the database can match without seeing.

Names are folded (accents, case, hyphens, particles) in whatever script they are written, and each
word is indexed in its own script and as a Latin transliteration, so a clerk typing "Mohammed" finds
"محمد" and the other way round. Each spelling is indexed for its person exactly, by a phonetic key
suited to Spanish and Portuguese spelling, and (for the first given and first family name) as a
leading name. One typo, insertion, omission or transposition is
caught through a name vocabulary that is linked to nobody: for every distinct token it maps the
hashes of its one-deletion neighbourhood to the token's exact hash, so a query first finds the
neighbouring words, then the people who carry them. The vocabulary also maps consonant skeletons
to Latin spellings, which is how a Latin spelling meets a word written without its vowels. Each
kind of hash has its own key, derived with HKDF from the index root key. Every hash is truncated so
that unrelated values share it by chance; candidates are decrypted and confirmed afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from anyascii import anyascii
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Entry kinds, stored as small integers. NAME_LEAD holds the first given name and the first family
# name: the names a person goes by, which should outrank a query word found in a middle name.
# NAME_TYPO hashes live only in the name vocabulary, never beside a person.
# NAME_SKELETON and NAME_SKELETON_FULL are vocabulary keys too: the consonant skeleton of a word written in
# a script that leaves vowels out (Arabic, Persian, Hebrew, Devanagari…), and of one written in full.
# NAME_PAIR holds two words of a person's name together, each by its sound: a person holding both of
# a query's words is one look-up, not the intersection of everyone holding either.
NAME, NAME_PHONETIC, NAME_TYPO, DOB, DOCUMENT, PHONE, NAME_LEAD = 1, 2, 3, 4, 5, 6, 7
NAME_SKELETON, NAME_SKELETON_FULL = 8, 9
NAME_PAIR = 10
KIND_NAMES = {
    NAME: "name",
    NAME_PHONETIC: "name_phonetic",
    NAME_TYPO: "name_typo",
    DOB: "dob",
    DOCUMENT: "document",
    PHONE: "phone",
    NAME_LEAD: "name_lead",
    NAME_SKELETON: "name_skeleton",
    NAME_SKELETON_FULL: "name_skeleton_full",
    NAME_PAIR: "name_pair",
}
#: which entries a person's rows hold: 1 names (exact, sound, leading), date of birth, document and phone;
#: 2 also the pairs of name words. A generation built before records its older layout (rotation.py).
LAYOUT = 2
#: the bits of a kind a setting written before it existed does not name (else name_typo's width): a
#: pair's holders are the first cut of the regional hints, so chance collisions must stay rare
DEFAULT_BITS = {NAME_PAIR: 24}
#: words of a name paired with each other (a longer name pairs its first ones: 28 pairs at most)
MAX_PAIRED_WORDS = 8

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


# Letters of scripts that leave short vowels unwritten (Arabic, Persian, Urdu, Hebrew, Syriac, Thaana)
# or whose Latin transliteration keeps or drops an inherent vowel unpredictably (the Brahmic scripts of
# South Asia: Devanagari for Nepali and Hindi, Bengali, Gurmukhi…): their words also match a Latin
# spelling by consonant skeleton ("mhmd" is "Mohammed").
_VOWELLESS = ((0x0590, 0x08FF), (0x0900, 0x0DFF), (0xFB1D, 0xFDFF), (0xFE70, 0xFEFF))
# Chinese characters: a Chinese name is written without spaces, one syllable per character.
_HAN = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
# Invisible joiners and direction marks, the Arabic tatweel (a stretching stroke), and the vowel points
# Arabic and Hebrew write only sometimes: not part of how a name is matched.
_INVISIBLE = dict.fromkeys(
    [*map(ord, "\u200b\u200c\u200d\u200e\u200f\u061c\ufeff\u0640\u0670"), *range(0x064B, 0x0660), *range(0x5B0, 0x5C8)]
)
# Letters written differently in Arabic, Persian and Urdu for the same name: one spelling each.
_ARABIC_VARIANTS = str.maketrans({"ى": "ي", "ی": "ي", "ې": "ي", "ک": "ك", "ة": "ه", "ۀ": "ه", "ہ": "ه", "ھ": "ه"})
_FIRST_VOWELLESS, _FIRST_HAN = chr(_VOWELLESS[0][0]), chr(_HAN[0][0])
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_LATIN_WORD = re.compile(r"[^\W_]+")
_HAN_CLASS = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _HAN)
_HAN_RUNS = re.compile(f"[{_HAN_CLASS}]+|[^{_HAN_CLASS}]+")
_ARABIC_ARTICLE = "ال"
_WORD_CHARS = frozenset("LMN")


def _in(ch: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in ranges)


@dataclass(frozen=True)
class NameWord:
    """One word of a name, as it is matched: its folded spellings (the word in its own script, when that
    is not Latin, and its Latin transliteration), its sound-alike key, and whether its script leaves
    vowels out. `part` marks the single characters of a Chinese name, indexed beside the whole."""

    forms: tuple[str, ...]
    sound: str
    vowelless: bool = False
    part: bool = False

    @property
    def latin(self) -> tuple[str, ...]:
        """The Latin spellings."""
        return tuple(f for f in self.forms if f.isascii())

    @property
    def skeletons(self) -> set[str]:
        """The consonant skeletons of the Latin spellings."""
        return {k for k in map(consonant_skeleton, self.latin) if k}


def latin_spelling(text: str) -> str:
    """A Latin transliteration, folded, without the apostrophes transliterations use for sounds
    Latin has no letter for ("Наталья" -> natalya, "محمد" -> mhmd)."""
    return _NON_ALNUM.sub("", anyascii(text).lower())


def _own_script(text: str) -> str:
    """A word in its own script, folded: compatibility forms, vowel points and accents dropped, case
    folded, and the letters that Arabic-script languages write differently made one."""
    return strip_accents(text).casefold().translate(_ARABIC_VARIANTS)


def _word(text: str, part: bool = False, extra: str = "") -> NameWord | None:
    latin = latin_spelling(text)[:MAX_TOKEN]
    own = _own_script(text)[:MAX_TOKEN]
    forms = [own] if own != latin and not own.isascii() else []
    if extra:
        forms += [f for f in (_own_script(extra)[:MAX_TOKEN], latin_spelling(extra)[:MAX_TOKEN]) if f]
    if latin:
        forms.append(latin)
    if not forms:
        return None
    # the sound key reads ç and ñ before transliteration drops their marks
    sound = phonetic_key(latin_spelling(text.lower().replace("ç", "s").replace("ñ", "ny")))
    vowelless = max(text) >= _FIRST_VOWELLESS and any(_in(ch, _VOWELLESS) for ch in text)
    return NameWord(tuple(dict.fromkeys(forms)), sound, vowelless, part)


def _chunks(text: str) -> list[str]:
    """Runs of letters, marks and digits, in any script; everything else separates words."""
    text = unicodedata.normalize("NFC", text.translate(_INVISIBLE))
    if max(text, default=" ") < "\u0300":  # Latin letters, accented ones composed: no marks to keep
        return _LATIN_WORD.findall(text)
    out, cur = [], []
    for ch in text:
        if unicodedata.category(ch)[0] in _WORD_CHARS:
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def _han_words(run: str, query: bool) -> list[NameWord]:
    """A run of Chinese characters. Indexed: the whole run, its given-name part (all but the first
    character, when three or more: a family name and given name typed together) and each character,
    each with its pinyin syllables joined ("小明" -> 小明/xiaoming, 小/xiao, 明/ming). Queried: the first
    character (usually the family name) and the rest as one word ("王小明" -> 王/wang, 小明/xiaoming)."""
    words: list[NameWord | None]
    if query:
        words = [_word(run)] if len(run) == 1 else [_word(run[0]), _word(run[1:])]
    else:
        words = [_word(run)]
        if len(run) >= 3:
            words.append(_word(run[1:], part=True))
        if len(run) >= 2:
            words += [_word(ch, part=True) for ch in run]
    return [w for w in words if w is not None]


def name_words(text: str, query: bool = False) -> list[NameWord]:
    """The words of a name, in any script, without particles and bare numbers. `query` splits a run of
    Chinese characters as a query is matched, rather than as a name is indexed."""
    return list(_name_words(text or "", query))


@lru_cache(maxsize=16384)  # a name is read again at every comparison, and a list repeats its names
def _name_words(text: str, query: bool) -> tuple[NameWord, ...]:
    if text.isascii():  # most names at the desk: nothing to transliterate
        tokens = (t[:MAX_TOKEN] for t in _ASCII_WORD.findall(text.lower()) if t not in PARTICLES and not t.isdigit())
        return tuple(NameWord((t,), phonetic_key(t)) for t in tokens)
    return tuple(word for chunk in _chunks(text) for word in _chunk_words(chunk, query))


@lru_cache(maxsize=8192)  # as phonetic_key: a desk meets the same names again and again
def _chunk_words(chunk: str, query: bool) -> tuple[NameWord, ...]:
    """The words one run of letters stands for: none (a particle, a number), one, or several (Chinese)."""
    if chunk.isdigit() or latin_spelling(chunk).isdigit():
        return ()
    if max(chunk) >= _FIRST_HAN and any(_in(ch, _HAN) for ch in chunk):
        words: list[NameWord] = []
        for run in _HAN_RUNS.findall(chunk):
            if _in(run[0], _HAN):
                words += _han_words(run, query)
            elif (word := _word(run)) is not None:
                words.append(word)
        return tuple(words)
    if fold(chunk) in PARTICLES:
        return ()
    # an Arabic name often carries the article ("الزهراء"): the word without it is a spelling too
    article = chunk.startswith(_ARABIC_ARTICLE) and len(chunk) > len(_ARABIC_ARTICLE) + 1
    word = _word(chunk, extra=chunk[len(_ARABIC_ARTICLE) :] if article else "")
    return (word,) if word is not None else ()


def name_tokens(text: str) -> list[str]:
    """Folded name tokens without particles, every spelling of every word: "María José Pérez de la Cruz"
    -> maria jose perez cruz; "Владимир" -> владимир vladimir."""
    return [form for word in name_words(text) for form in word.forms]


def consonant_skeleton(latin: str) -> str:
    """A Latin spelling's consonants, the way a script that leaves vowels out writes them: vowels, w and
    y dropped, doubles collapsed, a final h dropped, sh read as s, c and q as k ("Mohammed" and "mhmd"
    -> mhmd; "Fatima" and "ftmh" -> ftm)."""
    s = latin.replace("sh", "s").replace("ph", "f").replace("q", "k").replace("c", "k")
    s = re.sub(r"(.)\1+", r"\1", re.sub(r"[aeiouwy]", "", s))
    return s[:-1] if len(s) > 1 and s.endswith("h") else s


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


def pair_keys(word: NameWord) -> frozenset[str]:
    """What a word is paired by: its sound, the sound of each of its Latin spellings and its spellings
    in another script, so that two words spelt alike (in any script) or sounding alike, as search.alike
    matches them, share a key; a word with no sound at all, by its spellings."""
    keys = {word.sound, *(phonetic_key(form) for form in word.latin)} - {""}
    keys |= {f"={form}" for form in word.forms if not form.isascii() or not keys}
    return frozenset(keys)


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


@lru_cache(maxsize=16384)  # the numbering plan's parser is slow, and a phone is compared again and again
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


#: name words whose vocabulary an indexer keeps worked out (about 4 kB each)
_VOCABULARY_KEPT = 4_000


class BlindIndexer:
    """Computes blind-index hashes with a key per kind derived from the root key."""

    def __init__(self, root_key: bytes, bits: dict[str, int]):
        self._keys = {kind: _derive(root_key, name) for kind, name in KIND_NAMES.items()}
        # keyed once per kind; each hash copies the keyed state (cheaper than keying again)
        self._macs = {kind: hmac.new(key, digestmod=hashlib.sha256) for kind, key in self._keys.items()}
        #: each name word's vocabulary pairs, worked out once (a name many people share is common)
        self._vocabulary: dict[NameWord, frozenset[tuple[int, int]]] = {}
        self._queries: dict[NameWord, QueryHashes] = {}
        # the skeleton keys live in the vocabulary: a setting that predates them gives them its width
        self._bits = {
            kind: int(bits.get(name) or DEFAULT_BITS.get(kind) or bits["name_typo"])
            for kind, name in KIND_NAMES.items()
        }

    def hash(self, kind: int, value: str) -> int:
        """The truncated HMAC-SHA256 of value for this kind, as a non-negative integer."""
        mac = self._macs[kind].copy()
        mac.update(value.encode())
        digest = mac.digest()
        return int.from_bytes(digest[:8], "big") >> (64 - self._bits[kind])

    def name_entries(self, *names: str) -> set[tuple[int, int]]:
        """A person's (kind, hash) entries for every spelling of every word of the given names: exact
        and phonetic."""
        entries: set[tuple[int, int]] = set()
        for name in names:
            for word in name_words(name):
                entries.update((NAME, self.hash(NAME, form)) for form in word.forms)
                if word.sound:
                    entries.add((NAME_PHONETIC, self.hash(NAME_PHONETIC, word.sound)))
        return entries

    def vocabulary_entries(self, *names: str) -> set[tuple[int, int]]:
        """(neighbour hash, exact hash) pairs: each spelling's one-deletion neighbourhood, and the
        consonant skeleton of its Latin spelling, pointing at the spelling."""
        pairs: set[tuple[int, int]] = set()
        for name in names:
            for word in name_words(name):
                known = self._vocabulary.get(word)
                if known is None:
                    if len(self._vocabulary) >= _VOCABULARY_KEPT:
                        self._vocabulary.clear()
                    known = self._vocabulary[word] = frozenset(self._word_vocabulary(word))
                pairs |= known
        return pairs

    def _word_vocabulary(self, word: NameWord) -> set[tuple[int, int]]:
        pairs: set[tuple[int, int]] = set()
        for form in word.forms:
            exact = self.hash(NAME, form)
            pairs.update((self.hash(NAME_TYPO, t), exact) for t in typo_neighbourhood(form))
        kind = NAME_SKELETON if word.vowelless else NAME_SKELETON_FULL
        pairs.update(
            (self.hash(kind, consonant_skeleton(form)), self.hash(NAME, form))
            for form in word.latin
            if consonant_skeleton(form)
        )
        return pairs

    def lead_entries(self, given_names: str, family_names: str) -> set[tuple[int, int]]:
        """(kind, hash) entries for every spelling of the first given name and the first family name."""
        return {
            (NAME_LEAD, self.hash(NAME_LEAD, form))
            for words in (name_words(given_names or ""), name_words(family_names or ""))
            if words
            for form in words[0].forms
        }

    def pair_entries(self, given_names: str, family_names: str) -> set[tuple[int, int]]:
        """(NAME_PAIR, hash) entries for every two words of the name (given and family names together),
        each word by its pair keys."""
        words = (name_words(given_names or "") + name_words(family_names or ""))[:MAX_PAIRED_WORDS]
        keys = [pair_keys(word) for word in words]
        return {
            (NAME_PAIR, self.pair_hash(a, b))
            for i, first in enumerate(keys)
            for second in keys[i + 1 :]
            for a in first
            for b in second
        }

    def pair_hash(self, a: str, b: str) -> int:
        """The hash of two words' keys together, in either order."""
        return self.hash(NAME_PAIR, "|".join(sorted((a, b))))

    def query_word(self, word: NameWord) -> QueryHashes:
        """Hashes for one query word: its spellings exactly, their typo neighbourhoods and its consonant
        skeleton (to look up in the vocabulary), its sound, and its spellings as a leading name. A word
        in a script that leaves vowels out meets any word of the same skeleton; a word written in full
        meets only those written without vowels (else "Mario" would meet "Maria")."""
        known = self._queries.get(word)
        if known is None:
            if len(self._queries) >= _VOCABULARY_KEPT:
                self._queries.clear()
            known = self._queries[word] = self._query_word(word)
        return known

    def _query_word(self, word: NameWord) -> QueryHashes:
        kinds = (NAME_SKELETON, NAME_SKELETON_FULL) if word.vowelless else (NAME_SKELETON,)
        return QueryHashes(
            exact=sorted({self.hash(NAME, f) for f in word.forms}),
            typos=sorted({self.hash(NAME_TYPO, t) for f in word.forms for t in typo_neighbourhood(f)}),
            skeletons=sorted({self.hash(kind, k) for kind in kinds for k in word.skeletons}),
            sound=self.hash(NAME_PHONETIC, word.sound) if word.sound else None,
            leads=sorted({self.hash(NAME_LEAD, f) for f in word.forms}),
        )


@dataclass(frozen=True)
class QueryHashes:
    """What one query word is looked up by (kept and shared: never changed)."""

    exact: list[int]
    typos: list[int]
    skeletons: list[int]
    sound: int | None
    leads: list[int]


@lru_cache(maxsize=32)
def _derive(root_key: bytes, kind_name: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"msc-blind-index|{kind_name}".encode()).derive(
        root_key
    )
