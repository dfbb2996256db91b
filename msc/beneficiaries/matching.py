"""Comparing decrypted names with a query, the same three ways the blind index matches them."""

from __future__ import annotations

from msc.crypto.blind import MIN_TYPO_TOKEN, name_tokens, phonetic_key

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


def token_score(query: str, tokens: list[str], phonetics: list[str]) -> int:
    """The best match of one query token against a person's name tokens."""
    if query in tokens:
        return EXACT
    if phonetic_key(query) in phonetics:
        return PHONETIC
    if len(query) >= MIN_TYPO_TOKEN and any(len(t) >= MIN_TYPO_TOKEN and within_one_edit(query, t) for t in tokens):
        return TYPO
    return 0


def name_score(query_tokens: list[str], full_name: str) -> tuple[int, int]:
    """(sum of best matches, how many query tokens matched) of a query against a decrypted name."""
    tokens = name_tokens(full_name)
    phonetics = [phonetic_key(t) for t in tokens]
    scores = [token_score(q, tokens, phonetics) for q in query_tokens]
    return sum(scores), sum(1 for s in scores if s)


def lead_score(query_tokens: list[str], given_names: str, family_names: str) -> int:
    """One point per query word that is the person's first given name or first family name."""
    leads = {tokens[0] for tokens in (name_tokens(given_names), name_tokens(family_names)) if tokens}
    return W_LEAD * sum(1 for q in query_tokens if q in leads)
