"""Reception rules: register, edit, households and consent (the blind index is kept in step by `index`).

Services flush and raise; the request commits. Errors carry translated messages safe to show.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.beneficiaries import casenumber, duplicates, regional
from msc.beneficiaries.index import Clear, reindex, reindex_new
from msc.beneficiaries.models import (
    OTHER_ENTRY_POINT,
    Beneficiary,
    BeneficiaryChange,
    Consent,
    ConsentStatus,
    DuplicateDecision,
    Household,
    SpecificNeed,
)
from msc.beneficiaries.regional import Hint
from msc.beneficiaries.vocab import PROTECTED_NEEDS, SENSITIVE_NEEDS, age_band
from msc.centres import stays
from msc.centres.models import Centre, EntryPoint
from msc.crypto import DataKey, blind
from msc.db import number_new, session, utcnow
from msc.errors import RuleError
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import in_scope
from msc.signals import consent_withdrawn

ADULT_AGE = 18
MAX_AGE = 120
CARD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed by hand from a card


class PossibleDuplicates(Exception):
    """The person may already be registered; the clerk must look before saving. `hints`: records
    beyond the user's reach that may be the person (regional.py), shown without saying whose."""

    def __init__(self, candidates: list[duplicates.Candidate], hints: list[Hint] | None = None):
        super().__init__("possible duplicates")
        self.candidates = candidates
        self.hints = hints or []


@dataclass
class PersonData:
    """What reception records about a person (identifying fields are encrypted on save)."""

    given_names: str
    family_names: str
    sex: str
    nationality: str
    date_of_birth: dt.date | None = None
    estimated_age: int | None = None
    document_type: str = "none"
    document_number: str | None = None
    phone: str | None = None
    arrival_date: dt.date | None = None
    #: a listed entry point's id (as the form sends it), "other", or None (not recorded)
    entry_point: str | None = None
    languages: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)

    def birth_date(self, today: dt.date) -> tuple[dt.date, bool]:
        """The date of birth and whether it is estimated (from an age: mid-year of the birth year)."""
        if self.date_of_birth is not None:
            return self.date_of_birth, False
        if self.estimated_age is None:
            raise RuleError(_l("Give the date of birth or an estimated age."), field="date_of_birth")
        return dt.date(today.year - self.estimated_age, 7, 1), True


@dataclass
class ConsentData:
    """One consent decision as recorded at the desk."""

    purpose: str
    status: str
    legal_basis: str = "consent"
    method: str = "verbal"
    given_by: str = "self"
    guardian_name: str | None = None
    best_interests_note: str | None = None


@dataclass
class HouseholdChoice:
    """Start a new household with this person as head, or join the household of an existing record."""

    join_case_number: str | None = None
    relationship: str = "head"
    #: or the household itself, by its uid (a system that read it through the API)
    join_household_uid: str | None = None

    @property
    def joins(self) -> bool:
        return bool(self.join_case_number or self.join_household_uid)


# ---- validation ------------------------------------------------------------------------------


def validate_person(data: PersonData, today: dt.date) -> tuple[dt.date, bool]:
    """Rules on a person's data that the form alone cannot check; returns the birth date to store."""
    dob, estimated = data.birth_date(today)
    if dob > today:
        raise RuleError(_l("The date of birth cannot be in the future."), field="date_of_birth")
    if today.year - dob.year > MAX_AGE:
        raise RuleError(
            _l("The age cannot be over %(n)d years.", n=MAX_AGE),
            field="estimated_age" if estimated else "date_of_birth",
        )
    if data.arrival_date is not None:
        if data.arrival_date > today:
            raise RuleError(_l("The arrival date cannot be in the future."), field="arrival_date")
        if data.arrival_date < dob:
            raise RuleError(_l("The arrival date cannot be before the date of birth."), field="arrival_date")
    if data.document_type != "none" and not data.document_number:
        raise RuleError(_l("Enter the document number, or choose 'No document'."), field="document_number")
    if data.document_number and data.document_type == "none":
        raise RuleError(_l("Choose the type of document for this number."), field="document_type")
    if data.document_number and not blind.normalise_document(data.document_number):
        raise RuleError(_l("The document number needs letters or digits."), field="document_number")
    if data.phone and not blind.is_phone_like(data.phone):
        raise RuleError(_l("Enter a phone number with at least 7 digits."), field="phone")
    return dob, estimated


def validate_consents(consents: list[ConsentData], age: int) -> None:
    """Registration needs consent (or another recorded legal basis); a child's consent comes from
    a guardian or a recorded best-interests decision."""
    by_purpose = {c.purpose: c for c in consents}
    reg = by_purpose.get("registration")
    if reg is None or (reg.status != ConsentStatus.GIVEN and reg.legal_basis == "consent"):
        raise RuleError(
            _l("Registration needs the person's consent, or another legal basis recorded (such as vital interest)."),
            field="consent_registration",
        )
    for c in consents:
        check_who_consented(c, age)


def check_who_consented(c: ConsentData, age: int) -> None:
    """A child's consent comes from a guardian (named) or a written best-interests decision."""
    if c.status == ConsentStatus.GIVEN:
        if age < ADULT_AGE and c.given_by == "self":
            raise RuleError(
                _l(
                    "This person is a child: consent must come from a parent or guardian, or a "
                    "best-interests decision must be recorded."
                ),
                field="given_by",
            )
        if c.given_by == "guardian" and not c.guardian_name:
            raise RuleError(_l("Write the name of the parent or guardian who gave consent."), field="guardian_name")
        if c.given_by == "best_interests" and not c.best_interests_note:
            raise RuleError(
                _l("Write the best-interests decision: why it is in the child's interest."), field="best_interests_note"
            )


def household_guardian(member: Beneficiary, today: dt.date) -> Beneficiary | None:
    """Who gives consent for a child joining this member's household: its head, when an adult (the
    registration form starts from them; the clerk changes it when someone else is the guardian)."""
    head = member.household.head if member.household is not None else None
    if head is None or head.is_erased:
        return None
    age = head.age_on(today)
    return head if age is not None and age >= ADULT_AGE else None


# ---- registration ---------------------------------------------------------------------------


def register(
    user: Actor,
    centre: Centre,
    data: PersonData,
    consents: list[ConsentData],
    household: HouseholdChoice,
    acknowledged: set[int] | None = None,
    hints_seen: bool = False,
) -> Beneficiary:
    """Register a person with consent; refuse on a rule, or stop on possible duplicates not yet seen.
    Records beyond the user's reach that may be the person stop it once, as hints (`hints_seen`: the
    desk has seen them and goes on): they never block the registration."""
    today = clock.today_at(centre)
    dob, estimated = validate_person(data, today)
    age = _age(dob, today)
    validate_consents(consents, age)
    entry = entry_point_of(centre.country, data.entry_point)
    joined = _household_to_join(user, household) if household.joins else None
    duplicates.check_document_unique(user, data.document_type, data.document_number)
    found = duplicates.find(user, data, dob, country=centre.country)
    candidates = [c for c in found if c.beneficiary.id not in (acknowledged or set())]
    hints = [] if hints_seen else duplicates.regional_hints(user, data, dob, country=centre.country)
    if candidates or hints:
        regional.record_shown("registration", hints)
        raise PossibleDuplicates(candidates, hints)
    ready = _Ready(
        Registration(
            data,
            consents,
            household=joined,
            relationship=household.relationship,
            # the pairs found are kept (the acknowledged ones too: the answer hides them)
            pairs={c.beneficiary.id: c.reasons for c in found},
            acknowledged=acknowledged or set(),
        ),
        dob,
        estimated,
        age,
        entry,
    )
    return _write(user, centre, today, [ready])[0]


@dataclass
class Registration:
    """One person of a list registered with others (`register_many`), as `register` takes them, with the
    duplicates the caller already looked for and answered."""

    data: PersonData
    consents: list[ConsentData]
    #: the household: one of the records' (to join), or a new one (not yet written) that this person
    #: heads when first of it, the list's next rows joining it; None: a new household of their own
    household: Household | None = None
    relationship: str = "head"
    #: records that may be this person (id -> reason codes): kept as pairs for a desk to look at
    pairs: dict[int, list[str]] = field(default_factory=dict)
    #: records answered "not the same person"
    acknowledged: set[int] = field(default_factory=set)
    #: a person of a list that recorded no consent: registered with none and marked so (nothing of
    #: theirs is shared or referred until a desk records it)
    consent_unrecorded: bool = False


@dataclass
class _Ready:
    item: Registration
    dob: dt.date
    estimated: bool
    age: int
    entry: tuple[int | None, bool]


def register_many(user: Actor, centre: Centre, items: list[Registration]) -> list[Beneficiary | RuleError]:
    """Register the people of a list at once, each by the rules of `register` (a person refused by one
    gets its RuleError in their place; the others are registered) and the document register (the list's
    own rows too), written in a few statements for all of them. The duplicates are the caller's: it
    looked for them and had them answered before (an import's preview)."""
    today = clock.today_at(centre)
    results: list[Beneficiary | RuleError | None] = [None] * len(items)
    checked: list[tuple[int, _Ready]] = []
    for n, item in enumerate(items):
        try:
            dob, estimated = validate_person(item.data, today)
            age = _age(dob, today)
            if not item.consent_unrecorded:
                validate_consents(item.consents, age)
            entry = entry_point_of(centre.country, item.data.entry_point)
            if item.household is not None and item.household.id is not None and item.relationship == "head":
                raise RuleError(
                    _l("That household already has a head: choose the relationship to the head."),
                    field="relationship",
                )
        except RuleError as err:
            results[n] = err
            continue
        checked.append((n, _Ready(item, dob, estimated, age, entry)))
    holders = duplicates.holders_of_documents([ready.item.data.document_number for _, ready in checked])
    listed: dict[str, int] = {}
    ready_list: list[tuple[int, _Ready]] = []
    for n, ready in checked:
        number = blind.normalise_document(ready.item.data.document_number or "")
        holder = holders.get(number) if number else None
        if holder is not None:
            results[n] = duplicates.document_taken(user, holder)
        elif number and number in listed:
            results[n] = RuleError(
                _l("This document number is already in the list, on an earlier row."), field="document_number"
            )
        else:
            if number:
                listed[number] = n
            ready_list.append((n, ready))
    for (n, _), person in zip(ready_list, _write(user, centre, today, [r for _, r in ready_list])):
        results[n] = person
    return [r for r in results if r is not None]


def _write(user: Actor, centre: Centre, today: dt.date, ready: list[_Ready]) -> list[Beneficiary]:
    """Write people whose rules passed: their records, households, consents, blind index, pairs and
    answers, stays, changes and audit, in one flush and a few statements whatever their number."""
    if not ready:
        return []
    session.flush()  # what was waiting goes first: the rows below are numbered after it
    numbers = _new_case_numbers(centre, len(ready))
    people: list[Beneficiary] = []
    #: households begun here (all their members are here): household -> (member, age)
    started: dict[int, tuple[Household, list[tuple[Beneficiary, int]]]] = {}
    joined: dict[int, Household] = {}
    for r, number in zip(ready, numbers):
        item = r.item
        person = Beneficiary(
            data_key=DataKey.generate(),
            centre=centre,
            centre_id=centre.id,
            case_number=number,
            card_token=_new_card_token(),
            registered_by_id=user.id,
            consent_unrecorded=item.consent_unrecorded,
        )
        _apply(person, item.data, r.dob, r.estimated, r.entry)
        household = item.household or Household(centre_id=centre.id)
        if household.id is None and id(household) not in started:
            started[id(household)] = (household, [])
            person.relationship_to_head = "head"
        else:
            person.relationship_to_head = item.relationship
        person.household = household
        if id(household) in started:
            started[id(household)][1].append((person, r.age))
        else:
            joined[id(household)] = household
        for c in [] if item.consent_unrecorded else item.consents:
            _add_consent(user, person, c)
        people.append(person)
    # a household begun here has all its members here: its flags are written with the rows, not after
    for household, members in started.values():
        has_adult = any(age >= ADULT_AGE for _, age in members)
        household.no_adult = not has_adult
        for person, age in members:
            person.possible_uasc = not has_adult and age < ADULT_AGE
    number_new(session, [person.data_key for person in people])
    number_new(session, [household for household, _ in started.values()])
    number_new(session, people)
    number_new(session, [c for person in people for c in person.consents])
    session.add_all(people)
    session.flush()
    reindex_new(
        [
            Clear(
                person.id,
                r.item.data.given_names,
                r.item.data.family_names,
                r.dob,
                r.item.data.document_number or None,
                r.item.data.phone or None,
                centre.country,
            )
            for r, person in zip(ready, people)
        ]
    )
    duplicates.keep_pairs({person.id: r.item.pairs for r, person in zip(ready, people)})
    for r, person in zip(ready, people):
        # only records found as possible duplicates are answered: a form's list of acknowledged ids may
        # hold any id (one out of the user's reach, or none at all)
        for other_id in sorted(r.item.acknowledged & r.item.pairs.keys()):
            remember_not_same(user, person.id, other_id)
    for household in joined.values():
        refresh_uasc_flags(household)
    stays.first_arrivals([person.id for person in people], centre.id, today, stays.REGISTERED)
    changes = [BeneficiaryChange(beneficiary_id=p.id, user_id=user.id, action="registered", fields="") for p in people]
    number_new(session, changes)
    session.add_all(changes)
    for person in people:
        audit.record("beneficiary.create", object_type="beneficiary", object_id=person.id)
    return people


def _age(dob: dt.date, today: dt.date) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def entry_point_choices(countries: list[str], keep_id: int | None = None) -> list[EntryPoint]:
    """The entry points a form offers: the active ones of these countries (the centre's), by country
    and name, and the one a record already names even if it was deactivated since."""
    where = sa.and_(EntryPoint.country.in_(countries), EntryPoint.active.is_(True))
    if keep_id is not None:
        where = sa.or_(where, EntryPoint.id == keep_id)
    return list(session.scalars(sa.select(EntryPoint).where(where).order_by(EntryPoint.country, EntryPoint.name)))


def entry_point_of(country: str, code: str | None, keep_id: int | None = None) -> tuple[int | None, bool]:
    """(entry point id, other) for what a form sent: an active entry point of the centre's country
    (or the one the record already has), "other", or nothing. Anything else is refused."""
    code = (code or "").strip()
    if not code:
        return None, False
    if code == OTHER_ENTRY_POINT:
        return None, True
    place = session.get(EntryPoint, int(code)) if code.isascii() and code.isdigit() and len(code) < 10 else None
    if place is not None and (place.id == keep_id or (place.active and place.country == country)):
        return place.id, False
    raise RuleError(
        _l("Choose one of the entry points of the centre's country, or “Other”."),
        field="entry_point",
    )


def _apply(
    person: Beneficiary, data: PersonData, dob: dt.date, estimated: bool, entry: tuple[int | None, bool]
) -> None:
    person.given_names = data.given_names
    person.family_names = data.family_names
    person.date_of_birth = dob
    person.dob_estimated = estimated
    person.birth_year = dob.year
    person.age_band = age_band(_age(dob, clock.day_of(person.registered_at or utcnow(), person.centre.country)))
    person.sex = data.sex
    person.nationality = data.nationality
    person.document_type = data.document_type
    person.document_number = data.document_number or None
    person.phone = data.phone or None
    person.arrival_date = data.arrival_date
    person.entry_point_id, person.entry_point_other = entry
    person.languages = ",".join(sorted(set(data.languages)))
    plain_needs = sorted(set(data.needs) - PROTECTED_NEEDS)
    person.needs = [SpecificNeed(code=code) for code in plain_needs]
    # always written, an empty list too: every person's blob has the same length
    person.protected_needs = sorted(set(data.needs) & PROTECTED_NEEDS)


def by_case_number(text: str | None, *, legacy: bool = True) -> Beneficiary | None:
    """The record with this case number, as typed (letter case, spaces, dashes and O/I/L for 0/1 do not
    matter); with `legacy`, an old counted number finds the record too. A mistyped character raises
    CaseNumberError before anything is looked up."""
    number = casenumber.parse(text)
    if number is None or (number.legacy and not legacy):
        return None
    column = Beneficiary.legacy_case_number if number.legacy else Beneficiary.case_number
    return session.scalar(sa.select(Beneficiary).where(column == number.text))


def _household_to_join(user: Actor, choice: HouseholdChoice) -> Household:
    if choice.join_household_uid:
        found = session.scalar(sa.select(Household).where(Household.uid == choice.join_household_uid))
        if found is None or not in_scope(user, found.centre_id):
            raise RuleError(_l("No household found with that id."), field="household")
    else:
        try:
            member = by_case_number(choice.join_case_number)
        except casenumber.CaseNumberError as err:
            raise RuleError(err.message, field="household_case_number") from err
        if member is None or not in_scope(user, member.centre_id) or member.household is None:
            raise RuleError(_l("No household found for that case number."), field="household_case_number")
        found = member.household
    if choice.relationship == "head":
        raise RuleError(
            _l("That household already has a head: choose the relationship to the head."), field="relationship"
        )
    return found


def _new_case_numbers(centre: Centre, n: int) -> list[str]:
    """`n` random case numbers not yet taken (40 random bits: a clash is rare, and drawn again)."""
    numbers: list[str] = []
    for _ in range(8):
        drawn = {casenumber.new(centre.code) for _ in range(n - len(numbers))} - set(numbers)
        taken = set(session.scalars(sa.select(Beneficiary.case_number).where(Beneficiary.case_number.in_(drawn))))
        numbers += sorted(drawn - taken)
        if len(numbers) == n:
            return numbers
    raise RuntimeError("no free case number found")  # pragma: no cover - 8 clashes of 40 random bits


def _new_card_token() -> str:
    # 32 letters: the low five bits of a random byte pick one, each as likely as the others
    raw = "".join(CARD_ALPHABET[b & 31] for b in secrets.token_bytes(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _add_consent(user: Actor, person: Beneficiary, c: ConsentData) -> Consent:
    consent = Consent(
        beneficiary=person,
        purpose=c.purpose,
        status=c.status,
        legal_basis=c.legal_basis,
        method=c.method,
        given_by=c.given_by,
        recorded_by_id=user.id,
    )
    consent.guardian_name = c.guardian_name if c.given_by == "guardian" else None
    consent.best_interests_note = c.best_interests_note if c.given_by == "best_interests" else None
    session.add(consent)
    return consent


# ---- edits ----------------------------------------------------------------------------------

TRACKED_FIELDS = (
    "given_names",
    "family_names",
    "date_of_birth",
    "dob_estimated",
    "sex",
    "nationality",
    "document_type",
    "document_number",
    "phone",
    "arrival_date",
    "entry_point",
    "languages",
)


def update(user: Actor, person: Beneficiary, data: PersonData) -> list[str]:
    """Save edits to a person; returns (and logs) the names of the fields that changed."""
    today = clock.today_at(person.centre)
    if data.date_of_birth is None and data.estimated_age is None:
        data.date_of_birth = person.date_of_birth if not person.dob_estimated else None
        data.estimated_age = None if data.date_of_birth else person.age_on(today)
    dob, estimated = validate_person(data, today)
    entry = entry_point_of(person.centre.country, data.entry_point, keep_id=person.entry_point_id)
    duplicates.check_document_unique(user, data.document_type, data.document_number, exclude_id=person.id)
    before = {name: getattr(person, name) for name in TRACKED_FIELDS}
    before_needs = set(person.need_codes) | set(person.sensitive_needs or [])
    _apply(person, data, dob, estimated, entry)
    changed = [name for name in TRACKED_FIELDS if getattr(person, name) != before[name]]
    if set(data.needs) != before_needs:
        changed.append("needs")
    if not changed:
        return []
    person.updated_at = utcnow()
    reindex(person)
    if duplicates.MATCHED_FIELDS.intersection(changed):
        _find_duplicates_of(user, person)
    if person.household is not None:
        refresh_uasc_flags(person.household)
    _log_change(user, person, "edited", changed)
    audit.record("beneficiary.update", object_type="beneficiary", object_id=person.id, detail=",".join(changed))
    return changed


def keep_hidden_needs(person: Beneficiary, submitted: list[str], may_see_sensitive: bool) -> list[str]:
    """A user who cannot see sensitive needs must not erase them by saving a form that hides them."""
    if may_see_sensitive:
        return submitted
    return sorted((set(submitted) - SENSITIVE_NEEDS) | set(person.sensitive_needs or []))


def _log_change(user: Actor, person: Beneficiary, action: str, fields: list[str]) -> None:
    session.add(BeneficiaryChange(beneficiary_id=person.id, user_id=user.id, action=action, fields=",".join(fields)))


# ---- consent --------------------------------------------------------------------------------


def current_consents(person: Beneficiary) -> dict[str, Consent]:
    """The latest decision per purpose."""
    latest: dict[str, Consent] = {}
    for c in person.consents:
        latest[c.purpose] = c
    return latest


def record_consent(user: Actor, person: Beneficiary, data: ConsentData) -> Consent:
    """Record a new decision for one purpose (consent given later, refused, or withdrawn)."""
    today = clock.today_at(person.centre)
    age = person.age_on(today) or 0
    if data.status == ConsentStatus.WITHDRAWN:
        current = current_consents(person).get(data.purpose)
        if current is None or current.status != ConsentStatus.GIVEN:
            raise RuleError(_l("There is no consent given for this purpose to withdraw."), field="purpose")
    else:
        check_who_consented(data, age)
    consent = _add_consent(user, person, data)
    if data.purpose == "registration" and data.status != ConsentStatus.WITHDRAWN:
        person.consent_unrecorded = False  # an imported person's consent, now recorded at the desk
    session.flush()
    _log_change(user, person, "consent", [data.purpose])
    audit.record(f"consent.{data.status}", object_type="beneficiary", object_id=person.id, detail=data.purpose)
    if data.status == ConsentStatus.WITHDRAWN:
        consent_withdrawn.send(person, user=user, purpose=data.purpose)  # takes effect at once
    return consent


def has_consent(person: Beneficiary, purpose: str) -> bool:
    """Whether the latest decision for the purpose is 'given' (withdrawal takes effect at once)."""
    current = current_consents(person).get(purpose)
    return current is not None and current.status == ConsentStatus.GIVEN


# ---- households and UASC -------------------------------------------------------------------


def refresh_uasc_flags(household: Household) -> None:
    """Flag every child of a household with no adult in it as possible UASC (and unflag otherwise). The flag
    is encrypted under each member's key (every member holds one, true or false): an erased member's
    is gone with their key and stays so."""
    session.flush()
    members = list(household.members)
    today = clock.today_at(members[0].centre if members else None)
    has_adult = any((m.age_on(today) or 0) >= ADULT_AGE for m in members)
    household.no_adult = not has_adult
    for m in members:
        flag = not has_adult and (m.age_on(today) or 0) < ADULT_AGE
        if not m.is_erased and (m.possible_uasc_ct is None or m.possible_uasc != flag):
            m.possible_uasc = flag


def mark_households_without_adult(today: dt.date) -> int:
    """Set every household's `no_adult` from its members' years of birth (a bulk load that wrote households
    directly; registration and edits keep it as they go). Says how many have no member surely adult."""
    member = so.aliased(Beneficiary)
    surely_adult = sa.exists().where(member.household_id == Household.id, member.birth_year < today.year - ADULT_AGE)
    session.execute(sa.update(Household).values(no_adult=~surely_adult))
    return session.scalar(sa.select(sa.func.count()).select_from(Household).where(Household.no_adult)) or 0


# ---- duplicates -----------------------------------------------------------------------------


def _find_duplicates_of(user: Actor, person: Beneficiary) -> list[duplicates.Candidate]:
    found = duplicates.find(
        user,
        PersonData(
            given_names=person.given_names or "",
            family_names=person.family_names or "",
            sex=person.sex,
            nationality=person.nationality,
            phone=person.phone,
        ),
        person.date_of_birth,
        exclude_id=person.id,
        country=person.centre.country,
    )
    duplicates.store(user, person.id, found)
    return found


def check_duplicates_again(user: Actor, person: Beneficiary) -> list[duplicates.Candidate]:
    """Search again for people who may be this person (within the user's reach) and keep what is found."""
    found = _find_duplicates_of(user, person)
    audit.record(
        "beneficiary.duplicate_check",
        object_type="beneficiary",
        object_id=person.id,
        detail=str(len(found)),
        user_id=user.id,
    )
    return found


def remember_not_same(user: Actor, a_id: int, b_id: int) -> None:
    """Remember the clerk's answer that two records are different people."""
    first, second = sorted((a_id, b_id))
    exists = session.scalar(
        sa.select(DuplicateDecision.id).where(
            DuplicateDecision.first_id == first, DuplicateDecision.second_id == second
        )
    )
    if exists is None:
        session.add(DuplicateDecision(first_id=first, second_id=second, decided_by_id=user.id))
        audit.record("beneficiary.not_duplicate", object_type="beneficiary", object_id=a_id, detail=str(b_id))
