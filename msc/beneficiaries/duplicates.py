"""Possible duplicates: before saving, show who may already be registered and why. The pairs found when a
person is registered or edited (or checked again on demand) are kept, so that opening a profile reads them
instead of searching again."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from msc.beneficiaries import regional
from msc.beneficiaries.matching import name_score
from msc.beneficiaries.models import Beneficiary, BlindIndexEntry, DuplicateCandidate, DuplicateDecision
from msc.beneficiaries.regional import Hint
from msc.beneficiaries.search import ParsedQuery, alike, rank
from msc.crypto import blind, blind_indexer
from msc.crypto.rotation import searched_generation
from msc.db import insert_for, session, utcnow
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
    norm = blind.normalise_document(number or "")
    if not norm:
        return None
    for pid in _ids_with(blind.DOCUMENT, norm, None):
        if pid == exclude_id:
            continue
        other = session.get(Beneficiary, pid)
        if other is None or other.document_number is None or blind.normalise_document(other.document_number) != norm:
            continue  # a chance match of the truncated hash
        return other
    return None


def check_document_unique(user: Actor, document_type: str, number: str | None, exclude_id: int | None = None) -> None:
    """A document number belongs to one record; say which (in scope) or that it is elsewhere."""
    other = holder_of_document(number, exclude_id)
    if other is not None:
        if in_scope(user, other.centre_id):
            raise RuleError(
                _l(
                    "This document number is already registered to case %(case)s. Open that record "
                    "instead of registering again.",
                    case=other.case_number,
                ),
                field="document_number",
            )
        raise RuleError(
            _l("This document number is already registered at another centre. Ask a caseworker to look into it."),
            field="document_number",
        )


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

    def reasons(self, person: Beneficiary) -> tuple[int, list[str]]:
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
    candidates = []
    for pid in found:
        person = people.get(pid)
        if person is None or person.is_erased:
            continue
        total, reasons = sought.reasons(person)
        if reasons:
            candidates.append((len(reasons), total, Candidate(person, reasons)))
    decided = _decided_pairs(exclude_id, [c.beneficiary.id for _, _, c in candidates])
    candidates = [t for t in candidates if t[2].beneficiary.id not in decided]
    candidates.sort(key=lambda t: (-t[0], -t[1], -t[2].beneficiary.id))
    return [c for _, _, c in candidates[:MAX_CANDIDATES]]


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
    order = {pid: i for i, pid in enumerate(named)}
    found = dob_ids | phone_ids | set(named)
    # the most signals first; among equals the same date of birth, the same phone, then the name's rank
    best = sorted(
        found,
        key=lambda p: (
            -((p in dob_ids) + (p in phone_ids) + (p in order)),
            p not in dob_ids,
            p not in phone_ids,
            order.get(p, len(order)),
            -p,
        ),
    )[: regional.MAX_HINTS]
    if not best:
        return []
    people = session.scalars(
        sa.select(Beneficiary)
        .where(Beneficiary.id.in_(best))
        .options(so.lazyload(Beneficiary.needs), so.selectinload(Beneficiary.consents))
    )
    ranked = []
    for person in people:
        if person.is_erased or in_scope(user, person.centre_id):
            continue
        total, reasons = sought.reasons(person)
        hint = regional.hint_for(person, reasons)
        if hint is not None:
            ranked.append((-len(reasons), -total, best.index(person.id), hint))
    ranked.sort(key=lambda t: t[:3])
    return [t[3] for t in ranked]


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


def store(user: Actor, person_id: int, found: list[Candidate], *, new: bool = False) -> None:
    """Keep the pairs just found for a person (both profiles show a pair). The search saw only the user's
    reach: pairs with people beyond it stay as they were; pairs within it that were not found again go.
    `new`: the person was just registered and has no pairs yet."""
    found_reasons = {c.beneficiary.id: ",".join(c.reasons) for c in found if c.beneficiary.id != person_id}
    pair = (DuplicateCandidate.first_id, DuplicateCandidate.second_id)
    kept = (
        []
        if new
        else [b if a == person_id else a for a, b in session.execute(_pairs_of(person_id).with_only_columns(*pair))]
    )
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
        now = utcnow()
        values = [
            {"first_id": min(person_id, o), "second_id": max(person_id, o), "reasons": r, "found_at": now}
            for o, r in sorted(found_reasons.items())
        ]  # in the pairs' order, so two desks lock shared pairs in the same order
        stmt = insert_for(session.connection())(DuplicateCandidate).values(values)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["first_id", "second_id"],
                set_={"reasons": stmt.excluded.reasons, "found_at": stmt.excluded.found_at},
            )
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
