"""The reception search box: one query finds by case number, card token, document, phone, date of
birth or name. Ranking and paging happen on blind-index entries; only the top few candidates are
decrypted, then confirmed against the query."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import lazy_gettext as _l

from msc.beneficiaries import casenumber, regional
from msc.beneficiaries.matching import W_EXACT, W_LEAD, W_PHONETIC, W_TYPO, lead_score, name_score
from msc.beneficiaries.models import Beneficiary, Consent, ConsentStatus
from msc.beneficiaries.models import BlindIndexEntry as E
from msc.beneficiaries.models import NameVocabulary as V
from msc.centres.models import Centre
from msc.crypto import blind, blind_indexer
from msc.crypto.rotation import searched_generation
from msc.db import among, on_postgresql, session
from msc.errors import RuleError
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import centre_ids_in_scope, scope_filter

CARD_RE = re.compile(r"^[A-HJ-NP-Z2-9]{4}-?[A-HJ-NP-Z2-9]{4}-?[A-HJ-NP-Z2-9]{4}-?[A-HJ-NP-Z2-9]{4}$")
DMY_RE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
YMD_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# one piece of a phone typed in groups: "+57", "(11)", "300", "91234-5678"
PHONE_PIECE_RE = re.compile(r"^\+?[\d().\-]*\d[\d().\-]*$")
MAX_QUERY = 200
CONFIRM_SPARE = 5  # candidates decrypted beyond the page, for the few chance matches confirm() drops
MAX_NAME_TOKENS = 6
#: rank() reads the holders of the query's pairs of name words first when at least one in this many of the
#: places it fills leads with every word (see _spelt_alike_first; measured in bench/README.md)
SPELT_ALIKE_SHARE = 5

W_DOB, W_DOCUMENT, W_PHONE = 3, 6, 6
Q_LEAD, Q_DOB, Q_DOCUMENT = 50, 100, 101  # query-part ids beside the name words 0..n


@dataclass
class ParsedQuery:
    """A query split into what it can mean."""

    names: list[blind.NameWord] = field(default_factory=list)
    dob: dt.date | None = None
    numbers: list[str] = field(default_factory=list)
    #: the countries whose numbering plans read a phone in the query (the searcher's centres')
    countries: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """What the query searched by (never what it contained)."""
        if self.names:
            return "name"
        return "date_of_birth" if self.dob else "number"


@dataclass
class Hit:
    person: Beneficiary
    score: int


@dataclass
class SearchResult:
    kind: str
    hits: list[Hit]
    page: int
    has_more: bool
    exact: Beneficiary | None = None  # a case number or card token: open the record directly
    #: a name search whose page holds only equally good matches, with more after it: among so many
    #: namesakes the person may be further on, so the desk is offered to narrow it (date of birth,
    #: second surname) in one step
    crowded: bool = False
    #: records beyond the user's reach that may be the person sought (regional.py): shown apart
    hints: list[regional.Hint] = field(default_factory=list)


def _as_date(token: str) -> dt.date | None:
    m = DMY_RE.match(token)
    try:
        if m:
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
        m = YMD_RE.match(token)
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
    return None


def _phone_runs(tokens: list[str]) -> list[str]:
    """The tokens, with a run of number pieces that together make a phone ("+57 300 123 4567",
    "(11) 91234-5678") joined into one token."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) > 1 and blind.is_phone_like(" ".join(run)):
            out.append(" ".join(run))
        else:
            out.extend(run)
        run.clear()

    for token in tokens:
        if PHONE_PIECE_RE.match(token) and _as_date(token) is None:
            run.append(token)
        else:
            flush()
            out.append(token)
    flush()
    return out


def parse(query: str, countries: list[str] | None = None) -> ParsedQuery:
    """Split a query: dates, numbers (documents and phones) and name words."""
    parsed = ParsedQuery(countries=countries or [])
    for token in _phone_runs(query.split()):
        day = _as_date(token)
        if day is not None:
            parsed.dob = day
        elif sum(ch.isdigit() for ch in token) >= 4:
            parsed.numbers.append(token)
        else:
            parsed.names.extend(blind.name_words(token, query=True))
    parsed.names = parsed.names[:MAX_NAME_TOKENS]
    return parsed


def check_query(query: str | None) -> str:
    """A clean query, or a translated reason why not."""
    query = (query or "").strip()
    if not query:
        raise RuleError(_l("Type a name, case number, document, phone or date of birth to search."), field="q")
    if len(query) > MAX_QUERY:
        raise RuleError(_l("The search is too long: use at most %(n)d characters.", n=MAX_QUERY), field="q")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in query):
        raise RuleError(_l("Remove the invisible or control characters from the search."), field="q")
    return query


def narrowed(query: str | None, narrowing: str | None) -> str:
    """The query with what narrows it among namesakes added: a date of birth or more name words (a
    second surname, a second given name); a number or a case number narrows nothing here."""
    query = check_query(query)
    narrowing = (narrowing or "").strip()
    if not narrowing:
        raise RuleError(_l("Type the date of birth or the second surname to narrow the search."), field="narrow")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in narrowing):
        raise RuleError(_l("Remove the invisible or control characters from the search."), field="narrow")
    extra = parse(narrowing)
    if extra.numbers or not (extra.dob or extra.names):
        raise RuleError(_l("To narrow the search, type a date of birth (day/month/year) or a surname."), field="narrow")
    combined = f"{query} {narrowing}"
    if len(combined) > MAX_QUERY:
        raise RuleError(_l("The search is too long: use at most %(n)d characters.", n=MAX_QUERY), field="narrow")
    return combined


def search(user: Actor, query: str, page: int = 1) -> SearchResult:
    """Find people in the user's scope; never logs or stores the query itself."""
    query = check_query(query)
    page = max(1, min(page, 50))
    compact = query.upper().replace(" ", "")
    if CARD_RE.match(compact) and not compact.replace("-", "").isdigit():
        found = _direct(user, "card", Beneficiary.card_token == card_token(compact))
        if found.exact is not None:
            return found
        hint = _card_hint(user, card_token(compact))
        if hint is not None:
            found.hints = [hint]
            regional.record_shown("search", found.hints)
            return found
    number = _case_number(query)
    if number is not None:
        column = Beneficiary.legacy_case_number if number.legacy else Beneficiary.case_number
        # two name words of 14 to 20 letters read as a case number when their last letter happens to
        # be the check character (one in 32): without a digit and without a record, they are names
        if any(ch.isdigit() for ch in query) or _in_scope(user, column == number.text):
            return _direct(user, "case_number", column == number.text)
    parsed = parse(query)
    if parsed.numbers:  # a phone is read by the numbering plans of the user's countries (names need none)
        parsed.countries = _countries_of(user)
    if not (parsed.names or parsed.dob or parsed.numbers):
        raise RuleError(_l("Nothing to search for: type at least one name, number or date."), field="q")
    result = _ranked(user, parsed, page)
    audit.record("beneficiary.search", detail=f"{parsed.kind}:{len(result.hits)}")
    if page == 1:  # the first page of results says it once; "More results" does not ask again
        result.hints = regional_hints(user, parsed)
        regional.record_shown("search", result.hints)
    return result


def regional_hints(user: Actor, parsed: ParsedQuery) -> list[regional.Hint]:
    """Records beyond the user's reach that match the query, as hints: ranked on the whole region's
    blind index among people whose consent to continuity is in force; only the best few are decrypted
    to confirm why they match."""
    if centre_ids_in_scope(user) is None:
        return []  # the whole region is in reach: nothing is beyond it
    if parsed.names and not parsed.dob and not parsed.numbers:
        # a name alone is a reason only when every word matches (see _matched): the people holding every word
        # spelt or sounding alike, one intersection, rather than a second full ranking on every search
        whole = [word for word in parsed.names if not word.part]
        ids = alike(user, whole, regional.MAX_HINTS, beyond=True) if len(whole) >= 2 else []
    else:
        ids = rank(user, parsed, limit=regional.MAX_HINTS, beyond=True)
    if not ids:
        return []
    hints = []
    for hit in confirm(parsed, ids, hints=True):
        hint = regional.hint_for(hit.person, _matched(parsed, hit.person))
        if hint is not None:
            hints.append(hint)
    return hints


def _matched(parsed: ParsedQuery, person: Beneficiary) -> list[str]:
    """What of the query a (decrypted) person matches, as regional reason codes."""
    reasons = []
    # a similar name is a reason when every word typed matches and there are at least two: one common
    # word alone ("garcia") recognises nobody, and must not list who else in the region carries it
    whole = [word for word in parsed.names if not word.part]
    if len(whole) >= 2 and name_score(whole, person.full_name)[1] == len(whole):
        reasons.append("name")
    if parsed.dob and person.date_of_birth == parsed.dob:
        reasons.append("dob")
    docs = {blind.normalise_document(n) for n in parsed.numbers} - {""}
    if docs and person.document_number and blind.normalise_document(person.document_number) in docs:
        reasons.append("document")
    phones = {blind.normalise_phone(n, c) for n in parsed.numbers for c in [*parsed.countries, None]} - {""}
    if phones and person.phone and blind.normalise_phone(person.phone, person.centre.country) in phones:
        reasons.append("phone")
    return reasons


def _card_hint(user: Actor, token: str) -> regional.Hint | None:
    """A card presented at a centre beyond the one that issued it: a hint when the record may be shared."""
    person = session.scalar(
        sa.select(Beneficiary).where(
            Beneficiary.card_token == token, sa.not_(scope_filter(user, Beneficiary.centre_id))
        )
    )
    return regional.hint_for(person, ["card"]) if person is not None else None


def _countries_of(user: Actor) -> list[str]:
    """The countries of the centres the user reaches: a phone typed without its country code is
    read by each of their numbering plans."""
    ids = centre_ids_in_scope(user)
    stmt = sa.select(Centre.country).distinct().order_by(Centre.country)
    if ids is not None:
        stmt = stmt.where(Centre.id.in_(sorted(ids) or [-1]))
    return list(session.scalars(stmt))


def card_token(text: str) -> str:
    """A card token as stored (four groups of four), from what was typed or scanned."""
    token = text.upper().replace(" ", "").replace("-", "")
    return "-".join(token[i : i + 4] for i in range(0, 16, 4))


def _case_number(query: str) -> casenumber.CaseNumber | None:
    """The case number the query is, if it is one; a mistyped one is refused in words when it clearly
    meant to be a case number (a centre code and a dash first), else the query is searched as words."""
    try:
        return casenumber.parse(query)
    except casenumber.CaseNumberError:
        if casenumber.looks_like(query):
            raise
        return None


def _in_scope(user: Actor, where: sa.ColumnElement[bool]) -> bool:
    stmt = sa.select(Beneficiary.id).where(where, scope_filter(user, Beneficiary.centre_id))
    return session.scalar(stmt) is not None


def _direct(user: Actor, kind: str, where: sa.ColumnElement[bool]) -> SearchResult:
    person = session.scalar(sa.select(Beneficiary).where(where, scope_filter(user, Beneficiary.centre_id)))
    if person is not None and person.merged_into_id is not None:
        # the number of a record merged into another (on paper files still) finds the kept record
        person = session.scalar(
            sa.select(Beneficiary).where(
                Beneficiary.id == person.merged_into_id, scope_filter(user, Beneficiary.centre_id)
            )
        )
    if person is not None or kind == "case_number":
        audit.record("beneficiary.search", detail=f"{kind}:{1 if person else 0}")
    hits = [Hit(person, 100)] if person else []
    return SearchResult(kind, hits, 1, False, exact=person)


def _ranked(user: Actor, parsed: ParsedQuery, page: int) -> SearchResult:
    page_size = current_app.config["SEARCH_PAGE_SIZE"]
    want = page * page_size
    candidate_ids = rank(user, parsed, limit=want + CONFIRM_SPARE)
    if not candidate_ids:
        return SearchResult(parsed.kind, [], page, False)
    confirmed = confirm(parsed, candidate_ids)
    start = (page - 1) * page_size
    hits, has_more = confirmed[start:want], len(confirmed) > want
    crowded = bool(parsed.names) and has_more and len(hits) == page_size and len({h.score for h in hits}) == 1
    return SearchResult(parsed.kind, hits, page, has_more, crowded=crowded)


# The ranking runs on every search and registration, so its SQL is written out as text: building a
# dozen select() constructs per query cost more Python time than SQLite spends answering it.
# Only our own constants and bound parameters go into it, never text typed by a user.
_ENTRIES, _VOCABULARY, _PEOPLE = E.__tablename__, V.__tablename__, Beneficiary.__tablename__
#: the person's latest decision on continuity of care is "given" (as service.has_consent reads it;
#: regional.continuity_in_force is the same condition for select())
_CONTINUITY_IN_FORCE = (
    f"(SELECT c.status FROM {Consent.__tablename__} AS c WHERE c.beneficiary_id = r.bid "
    f"AND c.purpose = '{regional.CONTINUITY}' ORDER BY c.id DESC LIMIT 1) = '{ConsentStatus.GIVEN.value}'"
)


@lru_cache(maxsize=512)
def _statement(sql: str, expanding: tuple[str, ...]) -> sa.TextClause:
    return sa.text(sql).bindparams(*(sa.bindparam(name, expanding=True) for name in expanding))


def _among(name: str, pg: bool, *, ints: str = "BIGINT") -> str:
    """`IN` a list parameter, in this module's SQL text as db.among writes it for select(): one array on
    PostgreSQL (the ranking's text stays the same, so it is prepared and planned once per connection;
    planning it took as long as running it), the values spelt out on SQLite."""
    return f"= ANY(CAST(:{name} AS {ints}[]))" if pg else f"IN :{name}"


def _not_among(name: str, pg: bool, *, ints: str = "BIGINT") -> str:
    """`NOT IN` a list parameter (as `_among`; the lists hold no NULL)."""
    return f"<> ALL(CAST(:{name} AS {ints}[]))" if pg else f"NOT IN :{name}"


def _run(
    sql: str,
    params: dict[str, object],
    user: Actor,
    exclude_id: int | None,
    order: str,
    limit: int,
    beyond: bool = False,
) -> list[int]:
    """Cut a ranking (`sql` gives `bid` and the `order` columns) to the user's centres, drop one person
    if asked, and keep the best `limit`. `beyond`: cut it instead to the centres out of the user's reach,
    and to the people there whose consent to continuity is in force (the regional hints: without that
    consent nobody learns that a record exists).

    On PostgreSQL the ranking is sorted first and each candidate's centre read by its key as the rows
    stream out, until the page is full: with a join, the planner looked up every candidate (or walked
    the whole table of people backwards) before ranking them, which cost more than the ranking itself
    for a common name. SQLite sorts again after such a filter, so there the join stays."""
    ids = centre_ids_in_scope(user)
    if beyond and ids is None:
        return []  # the whole region is in reach: nothing is beyond it
    pg = on_postgresql()
    where = []
    if exclude_id is not None:
        where.append("r.bid <> :exclude")
        params["exclude"] = exclude_id
    statement = f"SELECT r.bid FROM ({sql}) AS r"
    if ids is not None:
        params["centres"] = sorted(ids) or [-1]
        within = (_not_among if beyond else _among)("centres", pg, ints="INTEGER")
        if pg:
            statement = f"SELECT r.bid FROM ({sql} ORDER BY {order}) AS r"
            where.append(f"(SELECT b.centre_id FROM {_PEOPLE} AS b WHERE b.id = r.bid) {within}")
        else:
            statement += f" JOIN {_PEOPLE} AS b ON b.id = r.bid"
            where.append(f"b.centre_id {within}")
    if beyond:
        where.append(_CONTINUITY_IN_FORCE)
    if where:
        statement += " WHERE " + " AND ".join(where)
    statement += f" ORDER BY r.{order.replace(', ', ', r.')} LIMIT :limit"
    params["limit"] = limit
    expanding = () if pg else tuple(k for k, v in params.items() if isinstance(v, list))
    return list(session.scalars(_statement(statement, expanding), params))


def rank(
    user: Actor, parsed: ParsedQuery, limit: int, exclude_id: int | None = None, *, beyond: bool = False
) -> list[int]:
    """Beneficiary ids ranked on the blind index: per query word its best match (exact > phonetic >
    one typo) plus a point when it is the person's first given or first family name, summed over
    words, lifted by a matching date of birth, document or phone. `beyond`: among the people out of
    the user's reach whose consent to continuity is in force, instead of those in it.

    A name alone first tries two shortcuts that return the same page when they fill it: the people who
    lead with every word (`_all_leading`), then those who hold every word spelt as typed
    (`_spelt_alike_first`); else every matching entry is grouped (`_grouped`)."""
    active = searched_generation()
    idx, gen = blind_indexer(active.key_id), int(active.generation)
    hashes = [idx.query_word(word) for word in parsed.names]
    if hashes and not parsed.dob and not parsed.numbers:
        top = _all_leading(user, gen, [h.leads for h in hashes], limit, exclude_id, beyond)
        if len(top) >= limit:
            return top
        # the pairs' holders fill the page mostly when many of them lead with every word (perhaps a fifth of
        # the page): below that, trying them is a statement more before the full ranking
        if active.layout >= 2 and len(top) * SPELT_ALIKE_SHARE >= limit:
            top = _spelt_alike_first(user, idx, gen, parsed.names, hashes, limit, exclude_id, beyond)
            if len(top) >= limit:
                return top
    return _grouped(user, idx, gen, parsed, hashes, limit, exclude_id, beyond)


def _grouped(
    user: Actor,
    idx: blind.BlindIndexer,
    gen: int,
    parsed: ParsedQuery,
    hashes: list[blind.QueryHashes],
    limit: int,
    exclude_id: int | None,
    beyond: bool,
) -> list[int]:
    """The full ranking: every entry that matches some part of the query, grouped by person."""
    selects: list[str] = []
    params: dict[str, object] = {}
    parts: list[int] = []
    pg = on_postgresql()

    def part(kind: int, q: int, weight: int, condition: str) -> None:
        selects.append(
            f"SELECT beneficiary_id AS bid, {q} AS q, {weight} AS w FROM {_ENTRIES} "
            f"WHERE generation = {gen} AND kind = {kind} AND {condition}"
        )
        if q not in parts:
            parts.append(q)

    for i, h in enumerate(hashes):
        params.update({f"e{i}": h.exact, f"t{i}": h.typos, f"l{i}": h.leads})
        part(blind.NAME, i, W_EXACT, f"hash {_among(f'e{i}', pg)}")
        if h.sound is not None:
            params[f"p{i}"] = h.sound
            part(blind.NAME_PHONETIC, i, W_PHONETIC, f"hash = :p{i}")
        if h.skeletons:
            # a Latin spelling and a name written without its vowels, met through the vocabulary
            params[f"k{i}"] = h.skeletons
            part(
                blind.NAME,
                i,
                W_PHONETIC,
                f"hash IN (SELECT token_hash FROM {_VOCABULARY} "
                f"WHERE generation = {gen} AND typo_hash {_among(f'k{i}', pg)} "
                f"AND token_hash {_not_among(f'e{i}', pg)})",
            )
        part(
            blind.NAME,
            i,
            W_TYPO,
            f"hash IN (SELECT token_hash FROM {_VOCABULARY} "
            f"WHERE generation = {gen} AND typo_hash {_among(f't{i}', pg)} "
            f"AND token_hash {_not_among(f'e{i}', pg)})",
        )
        part(blind.NAME_LEAD, Q_LEAD + i, W_LEAD, f"hash {_among(f'l{i}', pg)}")
    if parsed.dob:
        params["dob"] = idx.hash(blind.DOB, parsed.dob.isoformat())
        part(blind.DOB, Q_DOB, W_DOB, "hash = :dob")
    docs = sorted(
        {idx.hash(blind.DOCUMENT, blind.normalise_document(n)) for n in parsed.numbers if blind.normalise_document(n)}
    )
    phones = sorted({idx.hash(blind.PHONE, key) for n in parsed.numbers for key in phone_keys(parsed, n)})
    if docs:
        params["docs"] = docs
        part(blind.DOCUMENT, Q_DOCUMENT, W_DOCUMENT, f"hash {_among('docs', pg)}")
    if phones:
        params["phones"] = phones
        part(blind.PHONE, Q_DOCUMENT, W_PHONE, f"hash {_among('phones', pg)}")
    if not selects:
        return []
    # one grouping: each query part scores its best match for the person, or nothing
    score = " + ".join(f"COALESCE(MAX(CASE WHEN q = {q} THEN w END), 0)" for q in parts)
    sql = f"SELECT bid, {score} AS score FROM ({' UNION ALL '.join(selects)}) AS m GROUP BY bid"
    return _run(sql, params, user, exclude_id, "score DESC, bid DESC", limit, beyond)


def phone_keys(parsed: ParsedQuery, number: str) -> set[str]:
    """The index keys a number of the query may be stored under (legacy last-digit keys included)."""
    return blind.phone_keys(number, parsed.countries) if blind.is_phone_like(number) else set()


def _all_leading(
    user: Actor, gen: int, leads: list[list[int]], limit: int, exclude_id: int | None, beyond: bool = False
) -> list[int]:
    """People whose first given and first family names are exactly the query's words: they score
    the most any ranking can give, so when there are enough of them they are the first page."""
    pg = on_postgresql()
    per_word = [
        f"SELECT beneficiary_id AS bid FROM {_ENTRIES} WHERE generation = {gen} AND "
        f"kind = {blind.NAME_LEAD} AND hash {_among(f'l{i}', pg)}"
        for i in range(len(leads))
    ]
    sql = f"SELECT x.bid FROM ({' INTERSECT '.join(per_word)}) AS x"
    params: dict[str, object] = {f"l{i}": hashes for i, hashes in enumerate(leads)}
    return _run(sql, params, user, exclude_id, "bid DESC", limit, beyond)


def _spelt_alike_first(
    user: Actor,
    idx: blind.BlindIndexer,
    gen: int,
    words: list[blind.NameWord],
    hashes: list[blind.QueryHashes],
    limit: int,
    exclude_id: int | None,
    beyond: bool,
) -> list[int]:
    """The people who hold every query word spelt as typed and lead with all but one of them, best
    first, when there are enough of them to fill the page (else fewer, and the full ranking runs).

    Why they are the full ranking's first page: a word that a person does not hold spelt as typed
    scores at most W_PHONETIC for them (a sound or a consonant skeleton), and no point as a leading
    name, which is always spelt as typed; every other word scores at most W_EXACT + W_LEAD. So the
    people who score more than (n - 1) * (W_EXACT + W_LEAD) + W_PHONETIC hold every word spelt as
    typed, and with it the pair of every two of them, as `_paired` reads them: among the holders of
    the pairs (a short list even for two common words) their score is W_EXACT per word and W_LEAD per
    leading one. For two common words at a million people this reads some hundred people's entries
    instead of grouping the entries of every holder of either word and of its typos.

    A name's pairs are written for its first blind.MAX_PAIRED_WORDS words: someone who holds a query
    word only beyond them is not among the holders, and is met by the full ranking alone."""
    n = len(words)
    bar = (n - 1) * (W_EXACT + W_LEAD) + max(W_PHONETIC, W_TYPO) + 1
    # a person leads with two words at most (first given name, first family name): four words never reach the bar
    if n < 2 or n * W_EXACT + 2 * W_LEAD < bar:
        return []
    keys = [blind.pair_keys(word) for word in words]
    if not _disjoint(keys):
        return []
    pg = on_postgresql()
    params: dict[str, object] = {}
    holders = _pair_holders(idx, gen, keys, params, pg)
    parts: list[str] = []
    for i, h in enumerate(hashes):
        params.update({f"e{i}": h.exact, f"l{i}": h.leads})
        for kind, name, weight in ((blind.NAME, f"e{i}", W_EXACT), (blind.NAME_LEAD, f"l{i}", W_LEAD)):
            parts.append(  # a lookup in the primary key per person and part (EXISTS read every holder of the word)
                f"COALESCE((SELECT {weight} FROM {_ENTRIES} AS e WHERE e.generation = {gen} AND e.kind = {kind} "
                f"AND e.hash {_among(name, pg)} AND e.beneficiary_id = x.bid LIMIT 1), 0)"
            )
    # the fence (OFFSET 0, LIMIT -1) keeps the score from being computed again in the outer WHERE
    fence = "OFFSET 0" if pg else "LIMIT -1"
    scored = f"SELECT x.bid AS bid, {' + '.join(parts)} AS score FROM ({holders}) AS x {fence}"
    sql = f"SELECT s.bid, s.score FROM ({scored}) AS s WHERE s.score >= {bar}"
    return _run(sql, params, user, exclude_id, "score DESC, bid DESC", limit, beyond)


def alike(user: Actor, words: list[blind.NameWord], limit: int, *, beyond: bool = False) -> list[int]:
    """People whose names hold every one of these words spelt alike or sounding alike (no typo
    neighbourhood), the latest registered first; `beyond` as for `rank`. The regional duplicate check
    and the search's hints ask only this of the name, so a second full ranking does not double the
    cost of every registration. Read on the pairs of name words (one short list per pair) when the
    generation holds them; else as the intersection of every word's holders, which grows with the
    commonest word (at a million people, 115–180 ms for two common words)."""
    if not words:
        return []
    active = searched_generation()
    idx, gen = blind_indexer(active.key_id), int(active.generation)
    keys = list(dict.fromkeys(blind.pair_keys(word) for word in words))
    if active.layout >= 2 and len(keys) >= 2 and _disjoint(keys):
        return _paired(user, idx, gen, keys, limit, beyond)
    per_word: list[str] = []
    params: dict[str, object] = {}
    pg = on_postgresql()
    for i, word in enumerate(words):
        h = idx.query_word(word)
        params[f"e{i}"] = h.exact
        spelt = (
            f"SELECT beneficiary_id AS bid FROM {_ENTRIES} "
            f"WHERE generation = {gen} AND kind = {blind.NAME} AND hash {_among(f'e{i}', pg)}"
        )
        if h.sound is not None:
            params[f"p{i}"] = h.sound
            sounding = (
                f"SELECT beneficiary_id AS bid FROM {_ENTRIES} "
                f"WHERE generation = {gen} AND kind = {blind.NAME_PHONETIC} AND hash = :p{i}"
            )
            per_word.append(f"SELECT w.bid FROM ({spelt} UNION {sounding}) AS w")
        else:
            per_word.append(f"SELECT w.bid FROM ({spelt}) AS w")
    sql = f"SELECT x.bid FROM ({' INTERSECT '.join(per_word)}) AS x"
    return _run(sql, params, user, None, "bid DESC", limit, beyond)


def _paired(
    user: Actor, idx: blind.BlindIndexer, gen: int, keys: list[frozenset[str]], limit: int, beyond: bool
) -> list[int]:
    """`alike` on the pairs of name words (`_pair_holders`)."""
    params: dict[str, object] = {}
    sql = f"SELECT x.bid FROM ({_pair_holders(idx, gen, keys, params, on_postgresql())}) AS x"
    return _run(sql, params, user, None, "bid DESC", limit, beyond)


def _disjoint(keys: list[frozenset[str]]) -> bool:
    """No two words share a pair key: the pairs can be read for them. A word typed twice, or two words
    sounding alike, are matched word by word instead."""
    return all(a.isdisjoint(b) for i, a in enumerate(keys) for b in keys[i + 1 :])


def _pair_holders(
    idx: blind.BlindIndexer, gen: int, keys: list[frozenset[str]], params: dict[str, object], pg: bool
) -> str:
    """The people who hold every one of these words spelt or sounding alike, read on the pairs of name
    words: the holders of the first word with each other one, one short list per pair, intersected
    (holding a pair of two different words means holding both). A query giving `bid`; its parameters
    are added to `params`."""
    per_pair: list[str] = []
    for i, other in enumerate(keys[1:]):
        params[f"n{i}"] = sorted({idx.pair_hash(a, b) for a in keys[0] for b in other})
        per_pair.append(  # a person holds a pair once per key of each word: DISTINCT when it is alone
            f"SELECT DISTINCT beneficiary_id AS bid FROM {_ENTRIES} "
            f"WHERE generation = {gen} AND kind = {blind.NAME_PAIR} AND hash {_among(f'n{i}', pg)}"
        )
    return " INTERSECT ".join(per_pair)


@lru_cache(maxsize=2)
def _loads(hints: bool) -> tuple[so.strategy_options._AbstractLoad, ...]:
    """How confirm() loads the candidates (built once: options cost more to build than to apply)."""
    if hints:
        return (so.lazyload(Beneficiary.needs), so.selectinload(Beneficiary.consents))
    return (so.lazyload(Beneficiary.needs),)


def confirm(parsed: ParsedQuery, candidate_ids: list[int], *, hints: bool = False) -> list[Hit]:
    """Decrypt the candidates, drop chance matches of the truncated hashes, and re-rank. `hints`: they
    are records beyond reach, whose consents say whether they may be hinted at (read with them)."""
    stmt = sa.select(Beneficiary).where(among(Beneficiary.id, candidate_ids)).options(*_loads(hints))
    people = {p.id: p for p in session.scalars(stmt)}
    docs = {blind.normalise_document(n) for n in parsed.numbers} - {""}
    phones = {blind.normalise_phone(n, c) for n in parsed.numbers for c in [*parsed.countries, None]} - {""}
    hits: list[tuple[int, int, Hit]] = []
    for order, pid in enumerate(candidate_ids):
        person = people.get(pid)
        if person is None or person.is_erased or person.merged_into_id is not None:
            continue
        score = 0
        if parsed.names:
            score, matched = name_score(parsed.names, person.full_name)
            if matched == 0:
                continue
            score += lead_score(parsed.names, person.given_names or "", person.family_names or "")
        if parsed.dob and person.date_of_birth == parsed.dob:
            score += W_DOB
        if docs and person.document_number and blind.normalise_document(person.document_number) in docs:
            score += W_DOCUMENT
        if phones and person.phone and blind.normalise_phone(person.phone, person.centre.country) in phones:
            score += W_PHONE
        if score == 0:
            continue
        hits.append((-score, order, Hit(person, score)))
    hits.sort(key=lambda t: (t[0], t[1]))
    return [h for _, _, h in hits]
