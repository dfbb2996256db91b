"""Comparing decrypted names with a query, the same ways the blind index matches them."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from msc.crypto.blind import MIN_TYPO_TOKEN, NameWord, name_words

# Weights of a query word's best match, and the bonus when it is a person's leading name.
W_EXACT, W_PHONETIC, W_TYPO, W_LEAD = 3, 2, 1, 1
EXACT, PHONETIC, TYPO = W_EXACT, W_PHONETIC, W_TYPO


def within_one_edit(a: str, b: str) -> bool:
    """One insertion, deletion, substitution or transposition apart (or equal)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if la > lb:
        a, b = b, a
    return any(a == b[:i] + b[i + 1 :] for i in range(len(b)))


def token_score(query: NameWord, words: Sequence[NameWord]) -> int:
    """The best match of one query word against a person's name words: a spelling in common, the
    same sound, the same consonant skeleton across a script that leaves vowels out, or one typo."""
    best = 0
    for word in words:
        best = max(best, _word_score(query, word))
        if best == EXACT:
            break
    return best


@lru_cache(maxsize=65536)  # a list's or a registry's names share their words: each two are compared once
def _word_score(query: NameWord, word: NameWord) -> int:
    """How one query word matches one word of a name (0: it does not)."""
    if set(word.forms).intersection(query.forms):
        return EXACT
    if query.sound and word.sound == query.sound:
        return PHONETIC
    if (query.vowelless or word.vowelless) and query.skeletons & word.skeletons:
        return PHONETIC
    if any(
        len(q) >= MIN_TYPO_TOKEN and len(t) >= MIN_TYPO_TOKEN and within_one_edit(q, t)
        for q in query.forms
        for t in word.forms
    ):
        return TYPO
    return 0


def name_score(query_words: list[NameWord], name: str | tuple[NameWord, ...]) -> tuple[int, int]:
    """(sum of best matches, how many query words matched) of a query against a decrypted name (or its
    words, when the caller read them once for many comparisons)."""
    words = name_words(name) if isinstance(name, str) else name
    scores = [token_score(q, words) for q in query_words]
    return sum(scores), sum(1 for s in scores if s)


def lead_score(query_words: list[NameWord], given_names: str, family_names: str) -> int:
    """One point per query word that is the person's first given name or first family name."""
    leads = {form for words in (name_words(given_names), name_words(family_names)) if words for form in words[0].forms}
    return W_LEAD * sum(1 for q in query_words if leads.intersection(q.forms))
