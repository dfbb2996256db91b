"""Case rules. Services flush and raise CaseError with a translated message; the request commits."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.beneficiaries.models import Beneficiary, Household
from msc.beneficiaries.vocab import NEEDS
from msc.cases.models import Assessment, Case, CaseEvent, CaseNote, CaseStatus, Task, case_assignments
from msc.cases.vocab import CLOSE_REASONS, RISK_LEVELS, RISK_ORDER, SECTOR_NEEDS, SEVERITIES
from msc.centres import stays
from msc.crypto import DataKey, Detached, EncryptedField, detached_key
from msc.db import Listing, listing, session, utcnow
from msc.errors import DomainError, checked_text
from msc.security import audit
from msc.security.actor import Actor
from msc.security.models import User
from msc.security.policy import Permission, in_scope, role_allows, roles_with, scope_filter

#: the age from which a person is an adult
ADULT_AGE = 18

#: allowed status changes (a closed case can be reopened)
TRANSITIONS: dict[str, set[CaseStatus]] = {
    CaseStatus.OPEN: {CaseStatus.ACTIVE, CaseStatus.CLOSED},
    CaseStatus.ACTIVE: {CaseStatus.CLOSED},
    CaseStatus.CLOSED: {CaseStatus.OPEN},
}
MAX_NOTE = 5000
MAX_TASK = 300


class CaseError(DomainError):
    """A case rule said no."""


def _event(user: Actor, case: Case, action: str, detail: str | None = None) -> None:
    session.add(CaseEvent(case_id=case.id, user_id=user.id, action=action, detail=detail))


def may_access(user: Actor, case: Case) -> bool:
    """A case is reachable within the user's centres, or by a caseworker assigned to it (an emergency
    access does not open a case: its page shows what the reason needs on the person's profile)."""
    return in_scope(user, case.centre_id) or any(c.id == user.id for c in case.caseworkers)


def _whose(person: Beneficiary) -> sa.ColumnElement[bool]:
    return Case.beneficiary_id == person.id


def case_of(person: Beneficiary) -> Case | None:
    """The person's case, if one was ever opened. The person comes from the session, not joined again, and
    the caseworkers are read when asked for (the profile shows the case's status, not who holds it)."""
    return session.scalar(
        sa.select(Case).where(_whose(person)).options(so.lazyload(Case.beneficiary), so.lazyload(Case.caseworkers))
    )


def has_case(person: Beneficiary) -> sa.Exists:
    """Whether a case was ever opened for the person (as a condition: msc/sections.py asks it with others)."""
    return sa.exists().where(_whose(person))


def open_case(user: Actor, person: Beneficiary) -> Case:
    """Open a case for a person (reopening a closed one); the opener is assigned if a caseworker."""
    existing = case_of(person)
    if existing is not None:
        if existing.status != CaseStatus.CLOSED:
            raise CaseError(_l("This person already has an open case."))
        change_status(user, existing, CaseStatus.OPEN)
        return existing
    case = Case(beneficiary=person, beneficiary_id=person.id, centre_id=person.centre_id, opened_by_id=user.id)
    if user.role == "caseworker":
        case.caseworkers = [cast(User, user)]  # a caseworker acts through their account
    session.add(case)
    session.flush()
    _event(user, case, "opened")
    audit.record("case.open", object_type="case", object_id=case.id)
    return case


def change_status(user: Actor, case: Case, new: str, reason: str | None = None) -> None:
    """Move a case along open → active → closed (closing needs a reason; closed cases may reopen)."""
    if new not in TRANSITIONS.get(case.status, set()):
        raise CaseError(_l("A case cannot go from this status to that one."), field="status")
    if new == CaseStatus.CLOSED:
        if reason not in CLOSE_REASONS:
            raise CaseError(_l("Choose why the case is being closed."), field="reason")
        case.close_reason, case.closed_at = reason, utcnow()
    else:
        case.close_reason, case.closed_at = None, None
    detail = f"{case.status}>{new}" + (f":{reason}" if new == CaseStatus.CLOSED else "")
    case.status = new
    _event(user, case, "status", detail)
    audit.record("case.status", object_type="case", object_id=case.id, detail=detail)


def _require_not_closed(case: Case) -> None:
    if case.status == CaseStatus.CLOSED:
        raise CaseError(_l("This case is closed: reopen it first."))


def set_risk(user: Actor, case: Case, level: str) -> None:
    """Set the risk level (low, medium, high, critical)."""
    if level not in RISK_LEVELS:
        raise CaseError(_l("Choose a risk level from the list."), field="risk_level")
    _require_not_closed(case)
    if level != case.risk_level:
        _event(user, case, "risk", f"{case.risk_level}>{level}")
        case.risk_level = level
        audit.record("case.risk", object_type="case", object_id=case.id, detail=level)


def assignable_caseworkers(case: Case) -> list[User]:
    """Active caseworkers whose reach includes the case's centre."""
    users = session.scalars(
        sa.select(User)
        .where(User.role.in_(roles_with(Permission.CASE_MANAGE)), User.active.is_(True))
        .order_by(User.display_name)
    )
    return [u for u in users if in_scope(u, case.centre_id)]


def assign(user: Actor, case: Case, caseworker_ids: list[int]) -> None:
    """Set the caseworkers of a case (at least one, all working for its centre)."""
    allowed = {u.id: u for u in assignable_caseworkers(case)}
    if not caseworker_ids:
        raise CaseError(_l("Choose at least one caseworker."), field="caseworkers")
    if not set(caseworker_ids) <= set(allowed):
        raise CaseError(_l("Only caseworkers of this centre can be assigned."), field="caseworkers")
    before = {c.id for c in case.caseworkers}
    case.caseworkers = [allowed[i] for i in caseworker_ids]
    for uid in set(caseworker_ids) - before:
        _event(user, case, "assigned", str(uid))
    for uid in before - set(caseworker_ids):
        _event(user, case, "unassigned", str(uid))
    audit.record("case.assign", object_type="case", object_id=case.id)


# ---- assessment and priority ---------------------------------------------------------------


@dataclass
class Priority:
    level: str
    reasons: list[str]


def derive_priority(sector: dict[str, str], specific: list[str]) -> Priority:
    """The priority of a case from its assessment, with the reasons in words."""
    reasons: list[str] = []
    specific_set = set(specific)
    if {"trafficking", "uasc"} & specific_set or sector.get("protection") == "severe":
        reasons += [str(NEEDS[c][0]) for c in ("trafficking", "uasc") if c in specific_set]
        if sector.get("protection") == "severe":
            reasons.append(str(_l("Severe protection need")))
        return Priority("critical", reasons)
    severe = [k for k, v in sector.items() if v == "severe"]
    serious = [c for c in ("gbv_survivor", "serious_medical") if c in specific_set]
    if severe or serious:
        return Priority(
            "high",
            [str(NEEDS[c][0]) for c in serious]
            + [str(_l("Severe need: %(sector)s", sector=SECTOR_NEEDS[k])) for k in severe],
        )
    some = [k for k, v in sector.items() if v == "some"]
    others = [c for c in specific if c in NEEDS]
    if some or others:
        return Priority(
            "medium",
            [str(NEEDS[c][0]) for c in others]
            + [str(_l("Some need: %(sector)s", sector=SECTOR_NEEDS[k])) for k in some],
        )
    return Priority("low", [str(_l("No needs recorded"))])


def assess(user: Actor, case: Case, sector: dict[str, str], specific: list[str]) -> Assessment:
    """Record an assessment; the case takes the derived priority."""
    _require_not_closed(case)
    if set(sector) - set(SECTOR_NEEDS) or set(sector.values()) - set(SEVERITIES):
        raise CaseError(_l("Answer each need from the list."))
    if set(specific) - set(NEEDS):
        raise CaseError(_l("Choose specific needs from the list."))
    priority = derive_priority(sector, specific)
    assessment = Assessment(case=case, case_id=case.id, priority=priority.level, assessed_by_id=user.id)
    assessment.answers = {"sector": sector, "specific": sorted(specific)}
    session.add(assessment)
    case.priority = priority.level
    if case.status == CaseStatus.OPEN:
        change_status(user, case, CaseStatus.ACTIVE)
    session.flush()
    _event(user, case, "assessed", priority.level)
    audit.record("case.assess", object_type="case", object_id=case.id, detail=priority.level)
    return assessment


def latest_assessment(case: Case) -> Assessment | None:
    """The most recent assessment of a case (of those its centre received, when the record moved)."""
    stmt = sa.select(Assessment).where(Assessment.case_id == case.id)
    cutoff = withheld_before(case, "assessment")
    if cutoff is not None:
        stmt = stmt.where(Assessment.assessed_at >= cutoff)
    return session.scalar(stmt.order_by(Assessment.assessed_at.desc(), Assessment.id.desc()).limit(1))


def withheld_before(case: Case, section: str) -> dt.datetime | None:
    """What of a case (assessment, notes, referrals) written before this moment stays with the centres that
    wrote it: the latest move of the person's record that did not send the section along (msc/continuity).
    None when nothing is withheld."""
    moments = [
        s.arrived_at
        for s in stays.route_of(case.beneficiary_id)
        if s.how == stays.MOVED and section not in s.shared_sections
    ]
    return max(moments, default=None)


def override_priority(user: Actor, case: Case, level: str | None, reason: str | None) -> None:
    """Override the derived priority (a reason is required), or go back to the derived one."""
    _require_not_closed(case)
    if level:
        if level not in RISK_LEVELS:
            raise CaseError(_l("Choose a priority from the list."), field="priority")
        if not reason or not reason.strip():
            raise CaseError(_l("Write why the priority differs from the assessment."), field="reason")
    case.priority_override = level or None
    case.override_reason = reason.strip() if level and reason else None
    _event(user, case, "priority_override", level or "derived")
    audit.record("case.priority_override", object_type="case", object_id=case.id, detail=level or "derived")


# ---- notes ---------------------------------------------------------------------------------


def add_note(user: Actor, case: Case, body: str, sensitive: bool) -> CaseNote:
    """Add an encrypted note (sensitive notes are for the few who must read them)."""
    text = checked_text(
        body,
        field="body",
        error=CaseError,
        limit=MAX_NOTE,
        missing=_l("Write the note."),
        too_long=_l("A note can have at most %(n)d characters.", n=MAX_NOTE),
    )
    note = CaseNote(case=case, case_id=case.id, author_id=user.id, sensitive=sensitive)
    note.body = text
    session.add(note)
    session.flush()
    _event(user, case, "note", "sensitive" if sensitive else None)
    audit.record("case.note", object_type="case", object_id=case.id, detail="sensitive" if sensitive else None)
    return note


def may_read_note(user: Actor, note: CaseNote) -> bool:
    """Sensitive notes: the assigned caseworkers, protection officers in scope, and the author."""
    if not note.sensitive:
        return True
    uid = user.id
    if note.author_id == uid or any(c.id == uid for c in note.case.caseworkers):
        return True
    return role_allows(user, Permission.CASE_SENSITIVE_NOTES) and in_scope(user, note.case.centre_id)


def visible_notes(user: Actor, case: Case) -> tuple[list[CaseNote], int]:
    """The notes the user may read, newest first, and how many sensitive ones are withheld."""
    stmt = sa.select(CaseNote).where(CaseNote.case_id == case.id)
    cutoff = withheld_before(case, "notes")
    if cutoff is not None:  # the notes of the centres before a move that did not send them along
        stmt = stmt.where(CaseNote.created_at >= cutoff)
    notes = list(session.scalars(stmt.order_by(CaseNote.created_at.desc(), CaseNote.id.desc())))
    readable = [n for n in notes if may_read_note(user, n)]
    if any(n.sensitive for n in readable):
        audit.record("case.note.read_sensitive", object_type="case", object_id=case.id)
    return readable, len(notes) - len(readable)


def written_while_held(user: Actor, case: Case, centre_ids: Collection[int]) -> list[CaseNote]:
    """The case's notes written while one of these centres held the person's record, newest first, those the
    user may read: a centre the record moved on from keeps reading what it wrote."""
    route = stays.route_of(case.beneficiary_id)
    periods = [
        sa.and_(
            CaseNote.created_at >= stay.arrived_at,
            *([CaseNote.created_at < route[i + 1].arrived_at] if i + 1 < len(route) else []),
        )
        for i, stay in enumerate(route)
        if stay.centre_id in centre_ids
    ]
    if not periods:
        return []
    stmt = sa.select(CaseNote).where(CaseNote.case_id == case.id, sa.or_(*periods))
    notes = session.scalars(stmt.order_by(CaseNote.created_at.desc(), CaseNote.id.desc()))
    return [n for n in notes if may_read_note(user, n)]


# ---- tasks ---------------------------------------------------------------------------------


def add_task(user: Actor, case: Case, title: str, due_on: dt.date | None, assignee_id: int | None) -> Task:
    """A follow-up task for one of the case's caseworkers, due on a day."""
    _require_not_closed(case)
    what = checked_text(title, field="title", error=CaseError, limit=MAX_TASK, missing=_l("Say what needs to be done."))
    if due_on is None:
        raise CaseError(_l("Give a due date."), field="due_on")
    if due_on < clock.today_at(case.beneficiary.centre):
        raise CaseError(_l("The due date is in the past."), field="due_on")
    if assignee_id not in {u.id for u in assignable_caseworkers(case)}:
        raise CaseError(_l("Assign the task to a caseworker of this centre."), field="assignee")
    task = Task(case=case, case_id=case.id, due_on=due_on, assignee_id=assignee_id, created_by_id=user.id)
    task.title = what
    session.add(task)
    session.flush()
    _event(user, case, "task", due_on.isoformat())
    audit.record("case.task", object_type="case", object_id=case.id)
    return task


def complete_task(user: Actor, task: Task) -> None:
    """Mark a task done (once)."""
    if task.done_at is not None:
        raise CaseError(_l("This task is already done."))
    task.done_at, task.done_by_id = utcnow(), user.id
    _event(user, task.case, "task_done", task.due_on.isoformat())
    audit.record("case.task_done", object_type="case", object_id=task.case_id)


def open_tasks(case: Case) -> list[Task]:
    """Tasks not done yet, soonest first."""
    return list(
        session.scalars(sa.select(Task).where(Task.case_id == case.id, Task.done_at.is_(None)).order_by(Task.due_on))
    )


# ---- the caseworker's home ---------------------------------------------------------------


@dataclass
class Home:
    cases_by_risk: dict[str, Listing]
    tasks_due_today: Listing
    tasks_overdue: Listing
    uasc_waiting: list[Beneficiary]


HOME_CASES = 25
HOME_TASKS = 20


def my_cases(user: Actor, risk: str | None = None) -> sa.Select[Case]:
    """A statement for the user's open and active cases (of one risk level), oldest first."""
    stmt = (
        sa.select(Case)
        .join(case_assignments)
        .where(case_assignments.c.user_id == user.id, Case.status != CaseStatus.CLOSED)
        .order_by(Case.opened_at, Case.id)
    )
    return stmt.where(Case.risk_level == risk) if risk else stmt


#: load only what the lists show: no caseworker lists, no needs
LEAN_CASE = (so.lazyload(Case.caseworkers), so.joinedload(Case.beneficiary).lazyload(Beneficiary.needs))


def home(user: Actor, today: dt.date) -> Home:
    """My cases by risk, my tasks due today and overdue, possible UASC not yet assessed — the first
    rows of each with their totals, so the page stays a glance however large the caseload."""
    counts = cases_by_risk(user)
    by_risk = {
        level: Listing(
            list(session.scalars(my_cases(user, level).limit(HOME_CASES).options(*LEAN_CASE)))
            if counts.get(level)
            else [],
            counts.get(level, 0),
        )
        for level in RISK_ORDER
    }
    overdue, due_today = tasks_due(user, today)
    return Home(by_risk, due_today, overdue, uasc_waiting(user, today))


def cases_by_risk(user: Actor) -> dict[str, int]:
    """How many open and active cases the user holds at each risk level (levels with none left out)."""
    return {
        level: count
        for level, count in session.execute(
            sa.select(Case.risk_level, sa.func.count())
            .join(case_assignments)
            .where(case_assignments.c.user_id == user.id, Case.status != CaseStatus.CLOSED)
            .group_by(Case.risk_level)
        )
    }


def tasks_due(user: Actor, today: dt.date, limit: int | None = None) -> tuple[Listing, Listing]:
    """The user's open tasks past their day, and those due today (soonest first, then as added)."""
    open_tasks = (
        sa.select(Task).where(Task.assignee_id == user.id, Task.done_at.is_(None)).order_by(Task.due_on, Task.id)
    )
    task_options = (so.joinedload(Task.case).options(*LEAN_CASE),)  # in the tasks' statement
    limit = limit or HOME_TASKS
    overdue = listing(open_tasks.where(Task.due_on < today), limit, *task_options)
    return overdue, listing(open_tasks.where(Task.due_on == today), limit, *task_options)


@functools.cache
def _without_adult() -> sa.CompoundSelect[tuple[int]]:
    """The people of the households that had no adult when they last changed, and those of no household:
    two index reads joined as a list of ids (an OR of the two makes PostgreSQL read the whole table). Built
    once: an alias of the people's table costs a proxy of each of its columns."""
    member = so.aliased(Beneficiary)
    return sa.union_all(
        sa.select(member.id).join(Household, Household.id == member.household_id).where(Household.no_adult),
        sa.select(member.id).where(member.household_id.is_(None)),
    )


#: another member of the person's household (built once, like _without_adult)
_MEMBER = so.aliased(Beneficiary)


UASC_WAITING = 50
_UASC_BATCH = 200


def uasc_waiting(user: Actor, today: dt.date, limit: int = UASC_WAITING) -> list[Beneficiary]:
    """Possible unaccompanied or separated children in the user's scope with no assessment yet, oldest
    registration first. The mark is encrypted under each person's key: the database picks the unassessed
    people who may be children in a household with no one surely adult (by year of birth), among the
    households that had no adult when they last changed (a partial index: a few hundred of them where the
    whole table would be read), and the mark itself is read here, a batch at a time, until the list is full:
    from the columns it needs and the person's data key, not as whole records (building a record costs more
    than decrypting its mark); only the people listed are loaded."""
    assessed = sa.select(Assessment.id).join(Case).where(Case.beneficiary_id == Beneficiary.id)
    member = _MEMBER
    surely_adult = sa.exists().where(
        member.household_id == Beneficiary.household_id, member.birth_year < today.year - ADULT_AGE
    )
    stmt = (
        sa.select(
            Beneficiary.id, Beneficiary.uid, Beneficiary.possible_uasc_ct, DataKey.uid, DataKey.kek_id, DataKey.wrapped
        )
        .join(DataKey, DataKey.id == Beneficiary.data_key_id)
        .where(
            scope_filter(user, Beneficiary.centre_id),
            Beneficiary.merged_into_id.is_(None),  # a record merged into another is listed through the kept one
            sa.or_(Beneficiary.birth_year.is_(None), Beneficiary.birth_year >= today.year - ADULT_AGE),
            Beneficiary.possible_uasc_ct.is_not(None),
            Beneficiary.id.in_(_without_adult()),
            ~surely_adult,
            ~sa.exists(assessed),
        )
        .order_by(Beneficiary.registered_at, Beneficiary.id)
    )
    mark = cast(EncryptedField, Beneficiary.possible_uasc)
    found: list[int] = []
    offset = 0
    while len(found) < limit:
        batch = session.execute(stmt.offset(offset).limit(_UASC_BATCH)).all()
        for pid, uid, blob, key_uid, kek_id, wrapped in batch:
            if len(found) >= limit:
                break
            if mark.read(Detached(Beneficiary.__tablename__, uid, detached_key(key_uid, kek_id, wrapped)), blob):
                found.append(pid)
        if len(batch) < _UASC_BATCH:
            break
        offset += _UASC_BATCH
    people = session.scalars(
        sa.select(Beneficiary).where(Beneficiary.id.in_(found)).options(so.lazyload(Beneficiary.needs))
    )
    listed = {person.id: person for person in people}
    return [listed[pid] for pid in found]
