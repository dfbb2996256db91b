"""Erasure and retention: crypto-shredding a person's data for good, while the non-identifying figures
(sex, age band, nationality, centre, dates by month, counts) stay so that reports still add up.

Erasing a person destroys their data key — every field encrypted under it (names, date of birth,
documents, phone, consents' details, case notes, referral texts, hand-over names and signatures, fund
answers) becomes unreadable at once — removes their blind-index entries, replaces the case number and
card token with random values nobody can search for, and erases the feedback linked to them. Only the
year of birth and the report dimensions remain."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.beneficiaries import duplicates
from msc.beneficiaries.casenumber import CaseNumberError
from msc.beneficiaries.models import Beneficiary, BlindIndexEntry, Consent
from msc.beneficiaries.service import by_case_number
from msc.cases.models import Case, CaseStatus
from msc.centres.models import Centre
from msc.crypto import DataKey
from msc.db import Base, session, utcnow
from msc.dpo.models import Erasure, RetentionPolicy, RetentionRun
from msc.dpo.vocab import ERASURE_REASONS
from msc.errors import DomainError
from msc.feedback.models import Feedback
from msc.fund.models import Application, subject_tag
from msc.nfi.models import Distribution
from msc.referrals.models import Referral
from msc.reports import cube
from msc.security import audit
from msc.security.actor import SYSTEM, Actor
from msc.security.policy import Permission, role_allows

MAX_YEARS = 100


class ErasureError(DomainError):
    """An erasure or a retention setting that cannot be taken, said in words."""


def _check(user: Actor) -> None:
    # the system runs retention from the command line; of the staff, only the DPO erases
    if user is not SYSTEM and not role_allows(user, Permission.DPO_REVIEW):
        raise ErasureError(_l("Only the data protection officer erases personal data."))


def find(case_number: str | None) -> Beneficiary:
    """The person with this case number who still has data to erase."""
    if not (case_number or "").strip():
        raise ErasureError(_l("Give the case number of the record."), field="case_number")
    try:
        person = by_case_number(case_number)
    except CaseNumberError as err:
        raise ErasureError(err.message, field="case_number") from err
    if person is None:
        raise ErasureError(_l("No record has that case number."), field="case_number")
    if person.is_erased:
        raise ErasureError(_l("This person's data was already erased."), field="case_number")
    return person


@dataclass
class Held:
    """What an erasure will make unreadable, counted (shown before the DPO confirms)."""

    consents: int
    cases: int
    referrals: int
    hand_overs: int
    applications: int
    feedback: int


def held(person: Beneficiary) -> Held:
    """How many records of each kind an erasure of this person would touch (shown before it is confirmed)."""

    def count(model: type[Base], column: so.QueryableAttribute[int | None]) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(model).where(column == person.id)) or 0

    return Held(
        count(Consent, Consent.beneficiary_id),
        count(Case, Case.beneficiary_id),
        count(Referral, Referral.beneficiary_id),
        count(Distribution, Distribution.beneficiary_id),
        session.scalar(sa.select(sa.func.count()).where(Application.subject_tag == subject_tag(person))) or 0,
        count(Feedback, Feedback.beneficiary_id),
    )


def check_reason(reason: str | None) -> None:
    """An erasure says why it happens, from the list."""
    if reason not in ERASURE_REASONS:
        raise ErasureError(_l("Choose why the data is erased."), field="reason")


def erase(user: Actor, person: Beneficiary, reason: str | None, run: RetentionRun | None = None) -> Erasure:
    """Erase one person's data for good, recorded with its reason."""
    _check(user)
    check_reason(reason)
    # the person's row first: an index-key rotation's batch that holds it finishes (and its entries
    # are deleted below), or waits for this erasure and then finds nothing to index
    session.execute(sa.select(Beneficiary.id).where(Beneficiary.id == person.id).with_for_update())
    session.refresh(person.data_key)
    if person.is_erased:
        raise ErasureError(_l("This person's data was already erased."), field="case_number")

    cube.carry_sensitive(session, person)
    session.execute(sa.delete(BlindIndexEntry).where(BlindIndexEntry.beneficiary_id == person.id))
    duplicates.forget(person.id)
    person.case_number = f"ERASED-{secrets.token_hex(10).upper()}"
    person.card_token = secrets.token_hex(10)
    for item in session.scalars(sa.select(Feedback).where(Feedback.beneficiary_id == person.id)):
        item.data_key.destroy()
    person.data_key.destroy()
    record = Erasure(beneficiary_id=person.id, reason=reason, run_id=run.id if run else None, user_id=user.id)
    session.add(record)
    session.flush()
    audit.record("dpo.erase", object_type="beneficiary", object_id=person.id, detail=reason, user_id=user.id)
    return record


# ---- retention ------------------------------------------------------------------------------


def default_years() -> int:
    return int(current_app.config.get("RETENTION_YEARS", 5))


def policies() -> dict[str, int]:
    """Years kept after the last case closed, per country (the default for countries not set)."""
    return {p.country: p.years for p in session.scalars(sa.select(RetentionPolicy))}


def set_policy(user: Actor, country: str | None, years: str | int | None) -> RetentionPolicy:
    _check(user)
    country = (country or "").strip().upper()
    if not session.scalar(sa.select(Centre.id).where(Centre.country == country).limit(1)):
        raise ErasureError(_l("Choose a country with centres."), field="country")
    try:
        value = int(str(years or "").strip())
    except ValueError:
        raise ErasureError(_l("Give the number of whole years."), field="years") from None
    if not 1 <= value <= MAX_YEARS:
        raise ErasureError(_l("Keep data between 1 and %(n)d years after the case closed.", n=MAX_YEARS), field="years")
    policy = session.get(RetentionPolicy, country) or RetentionPolicy(country=country, years=value)
    policy.years, policy.updated_by_id, policy.updated_at = value, user.id, utcnow()
    session.add(policy)
    audit.record("dpo.retention_policy", detail=f"{country}:{value}", user_id=user.id)
    return policy


@dataclass
class Due:
    """A person whose retention period has ended: the last case closed, nothing open."""

    person: Beneficiary
    country: str
    closed_on: dt.date
    due_on: dt.date


def due(today: dt.date | None = None) -> list[Due]:
    """Who a retention run would anonymise today (the dry run): due on or before today at the person's centre
    (or on `today`, when given)."""
    years = policies()
    fallback = default_years()
    # nobody closed after the start of the year after (today less the shortest period) can be due: the
    # database skips them, so the DPO's home counts the due without reading every closed case
    # (without `today`, each centre's own day: none is later than the year after the UTC one)
    latest_year = today.year if today is not None else utcnow().year + 1
    cutoff = dt.datetime(latest_year - min([fallback, *years.values()]) + 1, 1, 1, tzinfo=dt.UTC)
    last_closed = (
        sa.select(Case.beneficiary_id, sa.func.max(Case.closed_at).label("closed"))
        .group_by(Case.beneficiary_id)
        .having(sa.func.sum(sa.case((Case.status != CaseStatus.CLOSED, 1), else_=0)) == 0)
        .subquery()
    )
    rows = session.execute(
        sa.select(Beneficiary, Centre.country, last_closed.c.closed)
        .join(last_closed, last_closed.c.beneficiary_id == Beneficiary.id)
        .join(Centre, Centre.id == Beneficiary.centre_id)
        .join(DataKey, DataKey.id == Beneficiary.data_key_id)
        .where(DataKey.wrapped.is_not(None), last_closed.c.closed < cutoff)
        .order_by(last_closed.c.closed)
    )
    out = []
    for person, country, closed in rows:
        if closed is None:
            continue
        closed_on = clock.day_of(closed, country)
        kept = years.get(country, fallback)
        try:
            due_on = closed_on.replace(year=closed_on.year + kept)
        except ValueError:  # 29 February
            due_on = closed_on.replace(year=closed_on.year + kept, day=28)
        if due_on <= (today or clock.today(country)):
            out.append(Due(person, country, closed_on, due_on))
    return out


def run(user: Actor, today: dt.date | None = None) -> RetentionRun:
    """Anonymise everyone whose retention period has ended (what `due` lists), in one recorded run."""
    _check(user)
    found = due(today)
    record = RetentionRun(user_id=user.id, erased=0)
    session.add(record)
    session.flush()
    for item in found:
        erase(user, item.person, "retention", record)
        record.erased += 1
    audit.record(
        "dpo.retention_run",
        object_type="retention_run",
        object_id=record.id,
        detail=f"erased:{record.erased}",
        user_id=user.id,
    )
    return record


def runs(limit: int = 20) -> list[RetentionRun]:
    return list(session.scalars(sa.select(RetentionRun).order_by(RetentionRun.id.desc()).limit(limit)))
