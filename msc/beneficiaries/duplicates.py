"""Possible duplicates: before saving, show who may already be registered and why. The pairs found when a
person is registered or edited (or checked again on demand) are kept, so that opening a profile reads them
instead of searching again."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from msc.beneficiaries import regional
from msc.beneficiaries.matching import name_score
from msc.beneficiaries.models import (
    Beneficiary,
    BlindIndexEntry,
    DuplicateCandidate,
    DuplicateDecision,
    NameVocabulary,
)
from msc.beneficiaries.regional import Hint
from msc.beneficiaries.search import ParsedQuery, alike, rank
from msc.crypto import blind, blind_indexer
from msc.crypto.rotation import searched_generation
from msc.db import insert_for, session, table_of, utcnow
from msc.errors import RuleError
from msc.security.actor import Actor
from msc.security.policy import centre_ids_in_scope, in_scope, scope_filter

if TYPE_CHECKING:
    from msc.beneficiaries.service import PersonData

REASONS = {
    "dob_name": _l("Same date of birth and a similar name"),
    "phonetic": _l("The name sounds the same"),
    "phone": _l("Same phone number"),
}
MAX_CANDIDATES = 5
#: the fields the search for duplicates reads: editing another leaves the stored pairs as they are
MATCHED_FIELDS = frozenset({"given_names", "family_names", "date_of_birth", "dob_estimated", "phone"})


@dataclass
class Candidate:
    beneficiary: Beneficiary
    reasons: list[str]

    @property
    def reason_labels(self) -> list[str]:
        """The reasons, translated."""
        return [str(REASONS[r]) for r in self.reasons]


def _ids_with(kind: int, value: str | set[str], user: Actor | None, *, beyond: bool = False) -> list[int]:
    """People whose index holds this value: in the user's reach (or anywhere without a user); `beyond`:
    out of the user's reach, and only those whose consent to continuity is in force."""
    active = searched_generation()
    idx = blind_indexer(active.key_id)
    hashes = sorted({idx.hash(kind, v) for v in ({value} if isinstance(value, str) else value)})
    stmt = (
        sa.select(BlindIndexEntry.beneficiary_id)
        .join(Beneficiary, Beneficiary.id == BlindIndexEntry.beneficiary_id)
        .where(
            BlindIndexEntry.generation == active.generation,
            BlindIndexEntry.kind == kind,
            BlindIndexEntry.hash.in_(hashes),
            Beneficiary.merged_into_id.is_(None),
        )
    )
    if beyond and user is not None:
        stmt = stmt.where(
            sa.not_(scope_filter(user, Beneficiary.centre_id)), regional.continuity_in_force(Beneficiary.id)
        )
    elif user is not None:
        stmt = stmt.where(scope_filter(user, Beneficiary.centre_id))
    return list(session.scalars(stmt.limit(200)))


def holder_of_document(number: str | None, exclude_id: int | None = None) -> Beneficiary | None:
    """The record a document number is registered to, anywhere (the caller decides what it may say of it)."""
    return holders_of_documents([number], exclude_id).get(blind.normalise_document(number or ""))


def holders_of_documents(numbers: list[str | None], exclude_id: int | None = None) -> dict[str, Beneficiary]:
    """The records these document numbers are registered to, anywhere, at once: normalised number -> record
    (but the one of `exclude_id`)."""
    wanted = {blind.normalise_document(n or "") for n in numbers} - {""}
    if not wanted:
        return {}
    active = searched_generation()
    idx = blind_indexer(active.key_id)
    hashed = _holders(int(active.generation), blind.DOCUMENT, {idx.hash(blind.DOCUMENT, n) for n in wanted})
    out: dict[str, Beneficiary] = {}
    for person in _load({pid for found in hashed.values() for pid in found} - {exclude_id}).values():
        number = blind.normalise_document(person.document_number or "")
        if number in wanted and number not in out:  # (else a chance match of the truncated hash)
            out[number] = person
    return out


def document_taken(user: Actor, holder: Beneficiary) -> RuleError:
    """Why a document number cannot be registered again: the record that holds it (in scope), or that it
    is elsewhere."""
    if in_scope(user, holder.centre_id):
        return RuleError(
            _l(
                "This document number is already registered to case %(case)s. Open that record "
                "instead of registering again.",
                case=holder.case_number,
            ),
            field="document_number",
        )
    return RuleError(
        _l("This document number is already registered at another centre. Ask a caseworker to look into it."),
        field="document_number",
    )


def check_document_unique(user: Actor, document_type: str, number: str | None, exclude_id: int | None = None) -> None:
    """A document number belongs to one record; say which (in scope) or that it is elsewhere."""
    other = holder_of_document(number, exclude_id)
    if other is not None:
        raise document_taken(user, other)


class Compared(Protocol):
    """What the reasons read of someone: a (decrypted) record, or a row of a list being read (whose names
    come as their words, read once for the many rows it is compared with)."""

    @property
    def given_names(self) -> str | tuple[blind.NameWord, ...] | None: ...

    @property
    def family_names(self) -> str | tuple[blind.NameWord, ...] | None: ...

    @property
    def full_name(self) -> str | tuple[blind.NameWord, ...]: ...

    @property
    def date_of_birth(self) -> dt.date | None: ...

    @property
    def phone(self) -> str | None: ...

    @property
    def centre(self) -> Any: ...


@dataclass
class Sought:
    """The person being registered, as the duplicate check compares others with them."""

    query_tokens: list[blind.NameWord]
    #: the characters of a Chinese name are indexed beside it; the name reason asks for the whole
    family_tokens: list[blind.NameWord]
    first_given: list[blind.NameWord]
    dob: dt.date
    #: the phone as read by the numbering plan of the registering centre's country
    phone: str

    @classmethod
    def of(cls, data: PersonData, dob: dt.date, country: str | None) -> Sought:
        """What is compared, from the form's data."""
        return cls(
            query_tokens=blind.name_words(f"{data.given_names} {data.family_names}"),
            family_tokens=[word for word in blind.name_words(data.family_names) if not word.part],
            first_given=blind.name_words(data.given_names)[:1],
            dob=dob,
            phone=blind.normalise_phone(data.phone or "", country),
        )

    def reasons(self, person: Compared) -> tuple[int, list[str]]:
        """The name score and the reasons a (decrypted) person may be the one sought."""
        reasons = []
        total, matched = name_score(self.query_tokens, person.full_name)
        _, family_matched = name_score(self.family_tokens, person.family_names or "")
        _, given_matched = name_score(self.first_given, person.given_names or "")
        if person.date_of_birth == self.dob and matched >= 1:
            reasons.append("dob_name")
        elif (
            self.family_tokens and family_matched == len(self.family_tokens) and given_matched == len(self.first_given)
        ):
            # same family names and same first given name, spelt alike or sounding alike
            reasons.append("phonetic")
        if self.phone and person.phone and blind.normalise_phone(person.phone, person.centre.country) == self.phone:
            reasons.append("phone")
        return total, reasons


def find(
    user: Actor, data: PersonData, dob: dt.date, exclude_id: int | None = None, country: str | None = None
) -> list[Candidate]:
    """People in scope who may be this person, with the reasons, best first. The phone is read as
    people write it in `country` (the registering centre's)."""

    sought = Sought.of(data, dob, country)
    first_given, family_tokens, phone = sought.first_given, sought.family_tokens, sought.phone
    found: dict[int, set[str]] = {}

    for pid in _ids_with(blind.DOB, dob.isoformat(), user):
        found.setdefault(pid, set()).add("dob?")
    if phone:
        # entries written before phones were read by numbering plan carry the legacy key
        for pid in _ids_with(blind.PHONE, {phone, blind.legacy_phone_key(data.phone or "")} - {""}, user):
            found.setdefault(pid, set()).add("phone?")
    # the name reason needs the first given name and every family name: rank on those words only
    for pid in rank(user, ParsedQuery(names=first_given + family_tokens), limit=10, exclude_id=exclude_id):
        found.setdefault(pid, set()).add("name?")
    if exclude_id is not None:
        found.pop(exclude_id, None)
    if not found:
        return []

    people = {
        p.id: p
        for p in session.scalars(
            sa.select(Beneficiary).where(Beneficiary.id.in_(found)).options(so.lazyload(Beneficiary.needs))
        )
    }
    decided = _decided_pairs(exclude_id, list(people))
    return _best_candidates(sought, [people[pid] for pid in found if pid in people], decided)


def _best_candidates(sought: Sought, people: Iterable[Beneficiary], decided: set[int] | None = None) -> list[Candidate]:
    """Those of these people with a reason to be the one sought (and not answered "not the same person"),
    the most reasons first, then the best name, then the latest; at most MAX_CANDIDATES."""
    ranked = []
    for person in people:
        if person.is_erased or person.id in (decided or set()):
            continue
        total, reasons = sought.reasons(person)
        if reasons:
            ranked.append((len(reasons), total, Candidate(person, reasons)))
    ranked.sort(key=lambda t: (-t[0], -t[1], -t[2].beneficiary.id))
    return [c for _, _, c in ranked[:MAX_CANDIDATES]]


def regional_hints(user: Actor, data: PersonData, dob: dt.date, country: str | None = None) -> list[Hint]:
    """Records beyond the user's reach that may be this person, as hints (regional.py), looked for as
    `find` looks in reach — the same date of birth, the same phone, the name alike (search.alike) — but
    only among people whose consent to continuity is in force. At most MAX_HINTS are decrypted, to confirm the
    reasons on the server; nothing of them leaves it but the hints."""
    if centre_ids_in_scope(user) is None:
        return []  # the whole region is in reach: nothing is beyond it
    sought = Sought.of(data, dob, country)
    dob_ids = set(_ids_with(blind.DOB, dob.isoformat(), user, beyond=True))
    phone_ids: set[int] = set()
    if sought.phone:
        keys = {sought.phone, blind.legacy_phone_key(data.phone or "")} - {""}
        phone_ids = set(_ids_with(blind.PHONE, keys, user, beyond=True))
    # the name: every family name and the first given name spelt or sounding alike (what the 'phonetic'
    # reason asks); a name with a typo beyond reach is found through the same date of birth
    named = alike(user, sought.first_given + sought.family_tokens, regional.MAX_HINTS, beyond=True)
    best = _hint_order(dob_ids, phone_ids, named)
    if not best:
        return []
    people = _load(set(best))
    beyond = [people[pid] for pid in best if pid in people and not in_scope(user, people[pid].centre_id)]
    return _hints(sought, beyond)


def _hint_order(dob_ids: set[int], phone_ids: set[int], named: list[int]) -> list[int]:
    """The records beyond reach to decrypt for hints, at most MAX_HINTS: the most signals first; among
    equals the same date of birth, the same phone, then the name's rank (`named`, best first)."""
    order = {pid: i for i, pid in enumerate(named)}
    return sorted(
        dob_ids | phone_ids | set(named),
        key=lambda p: (
            -((p in dob_ids) + (p in phone_ids) + (p in order)),
            p not in dob_ids,
            p not in phone_ids,
            order.get(p, len(order)),
            -p,
        ),
    )[: regional.MAX_HINTS]


def _hints(sought: Sought, people: list[Beneficiary]) -> list[Hint]:
    """The hints of these (decrypted) records beyond reach, in `_hint_order`: those that may be shared and
    match, the most reasons first, then the best name."""
    ranked = []
    for position, person in enumerate(people):
        if person.is_erased:
            continue
        total, reasons = sought.reasons(person)
        hint = regional.hint_for(person, reasons)
        if hint is not None:
            ranked.append((-len(reasons), -total, position, hint))
    ranked.sort(key=lambda t: t[:3])
    return [t[3] for t in ranked]


@dataclass
class Found:
    """What `find_many` found for one person: as `find`, `regional_hints` and `holder_of_document` say."""

    candidates: list[Candidate]
    hints: list[Hint]
    #: the record the person's document number is registered to, anywhere
    document: Beneficiary | None = None


#: the name's holders looked at per person, the latest registered first (a name shared by many)
MAX_ALIKE = 10
#: hashes per statement (SQLite's bound parameters)
_CHUNK = 900


def find_many(user: Actor, people: list[tuple[PersonData, dt.date]], country: str | None) -> list[Found]:
    """`find`, `regional_hints` and the document's holder for many people at once (a list being imported):
    one lookup of the blind index per kind for all of them, and every record met decrypted once, instead
    of several statements per person. The same reasons, confirmed the same way on the decrypted records.
    The name is looked for as `alike` looks for it (every family name and the first given name, spelt or
    sounding alike, among the latest MAX_ALIKE holders): a name with one typo is met through the same date
    of birth or phone, as the regional check meets it. A record born the same day is decrypted only when
    its index holds one of the person's name words as the ranking meets them (spelt, sounding, one typo or
    the consonant skeleton away)."""
    active = searched_generation()
    idx, gen = blind_indexer(active.key_id), int(active.generation)
    reach = centre_ids_in_scope(user)
    sought = [Sought.of(data, dob, country) for data, dob in people]
    wanted: dict[int, set[int]] = {blind.DOB: set(), blind.PHONE: set(), blind.NAME_PAIR: set()}
    asks: list[dict[str, Any]] = []
    near: set[int] = set()
    for (data, dob), s in zip(people, sought):
        ask: dict[str, Any] = {"dob": idx.hash(blind.DOB, dob.isoformat()), "phones": set(), "pairs": None}
        # the name words as the ranking meets them (spelt, sounding, one typo or the skeleton away): a record
        # born the same day is decrypted when it holds one of them
        words = [idx.query_word(w) for w in s.query_tokens]
        ask["words"] = {(blind.NAME, h) for w in words for h in w.exact}
        ask["words"] |= {(blind.NAME_PHONETIC, w.sound) for w in words if w.sound is not None}
        ask["near"] = {h for w in words for h in (*w.typos, *w.skeletons)}
        near |= ask["near"]
        if s.phone:
            phones = {s.phone, blind.legacy_phone_key(data.phone or "")} - {""}
            ask["phones"] = {idx.hash(blind.PHONE, key) for key in phones}
        keys = list(dict.fromkeys(blind.pair_keys(word) for word in s.first_given + s.family_tokens))
        if (
            active.layout >= 2
            and len(keys) >= 2
            and all(a.isdisjoint(b) for i, a in enumerate(keys) for b in keys[i + 1 :])
        ):
            ask["pairs"] = [{idx.pair_hash(a, b) for a in keys[0] for b in other} for other in keys[1:]]
            for group in ask["pairs"]:
                wanted[blind.NAME_PAIR] |= group
        wanted[blind.DOB].add(ask["dob"])
        wanted[blind.PHONE] |= ask["phones"]
        asks.append(ask)
    holders = {kind: _holders(gen, kind, hashes) for kind, hashes in wanted.items()}
    centre_of: dict[int, int] = {}
    for by_hash in holders.values():
        for found in by_hash.values():
            centre_of.update(found)

    born_alike = {pid for found in holders[blind.DOB].values() for pid in found}
    words_of = _name_entries(gen, born_alike)
    spelt_near = _vocabulary(gen, near)
    for ask in asks:
        ask["words"] |= {(blind.NAME, h) for n in ask["near"] for h in spelt_near.get(n, ())}

    def within(pid: int) -> bool:
        return reach is None or centre_of[pid] in reach

    per_person = []
    for ask, s in zip(asks, sought):
        dob_ids = {pid for pid in holders[blind.DOB].get(ask["dob"], {}) if words_of.get(pid, set()) & ask["words"]}
        phone_ids = {pid for h in ask["phones"] for pid in holders[blind.PHONE].get(h, {})}
        if ask["pairs"] is not None:
            named = set.intersection(
                *({pid for h in group for pid in holders[blind.NAME_PAIR].get(h, {})} for group in ask["pairs"])
            )
        else:  # one name word (or a word typed twice): asked alone
            named = set(alike(user, s.first_given + s.family_tokens, MAX_ALIKE))
            if reach is not None:
                named |= set(alike(user, s.first_given + s.family_tokens, regional.MAX_HINTS, beyond=True))
            centre_of.update(_centres_of(named - centre_of.keys()))
        per_person.append((dob_ids, phone_ids, named))

    beyond_ids = {pid for sets in per_person for group in sets for pid in group if not within(pid)}
    sharing = _continuity_in_force(beyond_ids) if reach is not None else set()
    loaded = _load({pid for sets in per_person for group in sets for pid in group if within(pid) or pid in sharing})
    documents = holders_of_documents([data.document_number for data, _ in people])
    out = []
    for (dob_ids, phone_ids, named), s, (data, _) in zip(per_person, sought, people):
        namesakes = sorted((pid for pid in named if within(pid)), reverse=True)[:MAX_ALIKE]
        mine = [pid for pid in sorted(dob_ids | phone_ids) if within(pid)] + namesakes
        candidates = _best_candidates(s, [loaded[pid] for pid in dict.fromkeys(mine) if pid in loaded])
        hints: list[Hint] = []
        if reach is not None:
            far_named = sorted((pid for pid in named if pid in sharing), reverse=True)[: regional.MAX_HINTS]
            far = {pid for pid in dob_ids | phone_ids if pid in sharing}
            best = _hint_order(far & dob_ids, far & phone_ids, far_named)
            hints = _hints(s, [loaded[pid] for pid in best if pid in loaded])
        holder = documents.get(blind.normalise_document(data.document_number or ""))
        out.append(Found(candidates, hints, holder))
    return out


def _holders(gen: int, kind: int, hashes: set[int]) -> dict[int, dict[int, int]]:
    """hash -> {id: centre id} of the living records whose index holds it, anywhere."""
    out: dict[int, dict[int, int]] = defaultdict(dict)
    ordered = sorted(hashes)
    for start in range(0, len(ordered), _CHUNK):
        rows = session.execute(
            sa.select(BlindIndexEntry.hash, BlindIndexEntry.beneficiary_id, Beneficiary.centre_id)
            .join(Beneficiary, Beneficiary.id == BlindIndexEntry.beneficiary_id)
            .where(
                BlindIndexEntry.generation == gen,
                BlindIndexEntry.kind == kind,
                BlindIndexEntry.hash.in_(ordered[start : start + _CHUNK]),
                Beneficiary.merged_into_id.is_(None),
            )
        )
        for h, pid, centre_id in rows:
            out[h][pid] = centre_id
    return out


def _name_entries(gen: int, ids: set[int]) -> dict[int, set[tuple[int, int]]]:
    """id -> the (kind, hash) entries of their name words' spellings and sounds."""
    out: dict[int, set[tuple[int, int]]] = defaultdict(set)
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        rows = session.execute(
            sa.select(BlindIndexEntry.beneficiary_id, BlindIndexEntry.kind, BlindIndexEntry.hash).where(
                BlindIndexEntry.generation == gen,
                BlindIndexEntry.beneficiary_id.in_(ordered[start : start + _CHUNK]),
                BlindIndexEntry.kind.in_((blind.NAME, blind.NAME_PHONETIC)),
            )
        )
        for pid, kind, h in rows:
            out[pid].add((kind, h))
    return out


def _vocabulary(gen: int, hashes: set[int]) -> dict[int, set[int]]:
    """Typo and skeleton hash -> the spellings of the registry's name words it leads to."""
    out: dict[int, set[int]] = defaultdict(set)
    ordered = sorted(hashes)
    for start in range(0, len(ordered), _CHUNK):
        rows = session.execute(
            sa.select(NameVocabulary.typo_hash, NameVocabulary.token_hash).where(
                NameVocabulary.generation == gen, NameVocabulary.typo_hash.in_(ordered[start : start + _CHUNK])
            )
        )
        for near, token in rows:
            out[near].add(token)
    return out


def _centres_of(ids: set[int]) -> dict[int, int]:
    if not ids:
        return {}
    return dict(
        session.execute(sa.select(Beneficiary.id, Beneficiary.centre_id).where(Beneficiary.id.in_(ids))).tuples()
    )


def _continuity_in_force(ids: set[int]) -> set[int]:
    """Those of these records whose consent to continuity of care is in force (they may be hinted at)."""
    out: set[int] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        out |= set(
            session.scalars(
                sa.select(Beneficiary.id).where(
                    Beneficiary.id.in_(ordered[start : start + _CHUNK]), regional.continuity_in_force(Beneficiary.id)
                )
            )
        )
    return out


def _load(ids: set[int]) -> dict[int, Beneficiary]:
    """These records, with their consents (a hint reads them), each decrypted when first compared."""
    out: dict[int, Beneficiary] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        stmt = (
            sa.select(Beneficiary)
            .where(Beneficiary.id.in_(ordered[start : start + _CHUNK]))
            .options(so.lazyload(Beneficiary.needs), so.selectinload(Beneficiary.consents))
        )
        out.update((p.id, p) for p in session.scalars(stmt))
    return out


def _decided_pairs(person_id: int | None, others: list[int]) -> set[int]:
    """Ids already answered 'not the same person' for this person."""
    if person_id is None or not others:
        return set()
    rows = session.execute(
        sa.select(DuplicateDecision.first_id, DuplicateDecision.second_id).where(
            sa.or_(DuplicateDecision.first_id == person_id, DuplicateDecision.second_id == person_id)
        )
    )
    return {b if a == person_id else a for a, b in rows}


# ---- the pairs kept --------------------------------------------------------------------------


def _pairs_of(person_id: int) -> sa.Select[DuplicateCandidate]:
    return sa.select(DuplicateCandidate).where(
        sa.or_(DuplicateCandidate.first_id == person_id, DuplicateCandidate.second_id == person_id)
    )


def _other(row: DuplicateCandidate, person_id: int) -> int:
    return row.second_id if row.first_id == person_id else row.first_id


def store(user: Actor, person_id: int, found: list[Candidate]) -> None:
    """Keep the pairs just found for a person (both profiles show a pair). The search saw only the user's
    reach: pairs with people beyond it stay as they were; pairs within it that were not found again go."""
    found_reasons = {c.beneficiary.id: ",".join(c.reasons) for c in found if c.beneficiary.id != person_id}
    pair = (DuplicateCandidate.first_id, DuplicateCandidate.second_id)
    kept = [b if a == person_id else a for a, b in session.execute(_pairs_of(person_id).with_only_columns(*pair))]
    within = set()
    if kept:
        within = set(
            session.scalars(
                sa.select(Beneficiary.id).where(Beneficiary.id.in_(kept), scope_filter(user, Beneficiary.centre_id))
            )
        )
    # Core statements, not the unit of work: two desks editing the two people of a pair at once may both
    # touch its row, and neither must fail because the other already updated, removed or added it.
    gone = [other for other in kept if other not in found_reasons and other in within]
    if gone:
        session.execute(sa.delete(DuplicateCandidate).where(sa.or_(*(_pair(person_id, o) for o in gone))))
    if found_reasons:
        keep_pairs({person_id: {o: r.split(",") for o, r in found_reasons.items()}})


def keep_pairs(found: dict[int, dict[int, list[str]]]) -> None:
    """Keep pairs found (person -> other -> reason codes), both ways, in one statement."""
    now = utcnow()
    values = {
        (min(person_id, o), max(person_id, o)): ",".join(reasons)
        for person_id, others in found.items()
        for o, reasons in others.items()
        if o != person_id
    }
    if not values:
        return
    rows = [
        {"first_id": a, "second_id": b, "reasons": r, "found_at": now} for (a, b), r in sorted(values.items())
    ]  # in the pairs' order, so two desks lock shared pairs in the same order
    # one statement run for every row (compiled once), on the table: not the unit of work's bulk path
    stmt = insert_for(session.connection())(table_of(DuplicateCandidate))
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["first_id", "second_id"],
            set_={"reasons": stmt.excluded.reasons, "found_at": stmt.excluded.found_at},
        ),
        rows,
    )


def _pair(person_id: int, other: int) -> sa.ColumnElement[bool]:
    first, second = sorted((person_id, other))
    return sa.and_(DuplicateCandidate.first_id == first, DuplicateCandidate.second_id == second)


def stored(user: Actor, person_id: int) -> list[Candidate]:
    """The kept pairs of a person, in the user's reach and not answered 'not the same person', best first."""
    reasons = {_other(row, person_id): row.reasons.split(",") for row in session.scalars(_pairs_of(person_id))}
    if not reasons:
        return []
    decided = _decided_pairs(person_id, list(reasons))
    ids = [pid for pid in reasons if pid not in decided]
    if not ids:
        return []
    people = session.scalars(
        sa.select(Beneficiary)
        .where(Beneficiary.id.in_(ids), Beneficiary.merged_into_id.is_(None), scope_filter(user, Beneficiary.centre_id))
        .options(so.lazyload(Beneficiary.needs))
    )
    candidates = [Candidate(p, [r for r in reasons[p.id] if r in REASONS]) for p in people if not p.is_erased]
    candidates.sort(key=lambda c: (-len(c.reasons), -c.beneficiary.id))
    return candidates[:MAX_CANDIDATES]


def forget(person_id: int) -> None:
    """Remove every kept pair of a person (their data is being erased)."""
    session.execute(
        sa.delete(DuplicateCandidate).where(
            sa.or_(DuplicateCandidate.first_id == person_id, DuplicateCandidate.second_id == person_id)
        )
    )
