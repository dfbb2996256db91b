"""Onward movements: a person's journey from the centre that serves them to the next one, in line with
protection and do-no-harm.

- The centre that serves the person (its caseworkers or manager) plans the journey: where to (another
  active centre of the region, a municipality of the centres list that is not a centre, or another city
  typed and kept encrypted), the planned date, the means of transport, what was provided for the journey,
  and for a child (under 18 on the planned date, or of unknown age: the cautious reading) who escorts
  them. "No escort" for a child needs a written best-interests reason (encrypted). A centre destination
  needs the person's consent to continuity of care in force, because the arrival moves the record there.
- The receiving centre sees its expected arrivals with only what recognising the person at the desk
  needs: names, age, sex, planned date, the sending centre and its country. No case number, date of
  birth, needs or case content reach it before the arrival is confirmed.
- Confirming the arrival moves the record with the continuity move (msc.continuity.service.move_now): a
  Transfer of `how` "onward", moved at once, identity and household only, the stay recorded; the sending
  centre keeps its read-only view as after any move. The movement is claimed with a conditional UPDATE,
  so of two confirmations (or a confirmation and a cancellation) one wins and the other is told in words.
- The daily run flags a movement to a centre whose arrival was not confirmed ONWARD_OVERDUE_DAYS after the
  planned date as not arrived. For a child or a case in protection (the person's protected needs,
  decrypted here: a suspected victim of trafficking, or an unaccompanied or separated child; cases and
  the fund keep no readable trafficking flag) it is a protection flag, shown to both centres' managers and
  to the protection officers whose reach covers either centre. The flag is computed from the encrypted
  needs whenever it is shown: the database holds no clear column that would tell a trafficking case.
  A movement to a place that is not a centre has no one to confirm it and is not watched.

Every step is on the person's record (history) and in the audit log, in codes only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from msc import clock
from msc.beneficiaries.models import Beneficiary, BeneficiaryChange
from msc.beneficiaries.regional import continuity_in_force
from msc.beneficiaries.service import has_consent
from msc.centres.models import Centre
from msc.continuity.models import Transfer
from msc.continuity.onward_models import OnwardMovement, OnwardStatus
from msc.continuity.onward_vocab import CANCEL_REASONS, ESCORTS, OTHER_CITY, PROVISIONS, TRANSPORT
from msc.continuity.service import PURPOSE, move_now
from msc.crypto import DataKey
from msc.db import Listing, listing, rows_changed, session, utcnow
from msc.errors import DomainError, checked_text
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import Permission, centre_ids_in_scope, in_scope, role_allows

ADULT_AGE = 18
MAX_CITY = 120
MAX_REASON = 1000
#: how far ahead a journey may be planned
MAX_AHEAD = dt.timedelta(days=180)
#: the protected needs that make a journey that did not arrive a protection flag
PROTECTION_NEEDS = frozenset({"trafficking", "uasc"})

MOVED_ELSEWHERE = _l(
    "The person's record moved to another centre since this journey was planned, so it did not come to yours. "
    "Ask for the record from the regional check: the request goes to the centre that holds it now."
)


NO_CONSENT = _l(
    "The person no longer consents to continuity of care, so the record cannot move. Nothing changed: "
    "the person may give consent again at the centre that holds the record, or register at yours."
)


class OnwardError(DomainError):
    """A journey that cannot be planned, confirmed or cancelled, said in words."""


def overdue_days() -> int:
    """Days after the planned date without a confirmed arrival before a journey is flagged as not arrived."""
    return int(current_app.config.get("ONWARD_OVERDUE_DAYS", 3))


# ---- who may do what -------------------------------------------------------------------------


def _reaches(user: Actor, centre_id: int | None) -> bool:
    if centre_id is None:
        return False
    reach = centre_ids_in_scope(user)
    return reach is None or centre_id in reach


def may_plan(user: Actor, person: Beneficiary) -> bool:
    """The caseworkers and manager of the centre that serves the person plan their journey."""
    return (
        role_allows(user, Permission.ONWARD_PLAN)
        and in_scope(user, person.centre_id)
        and person.centre.active
        and not person.is_erased
    )


def may_cancel(user: Actor, movement: OnwardMovement) -> bool:
    """The sending centre's caseworkers and manager cancel a journey it planned."""
    return role_allows(user, Permission.ONWARD_PLAN) and _reaches(user, movement.from_centre_id)


def may_confirm(user: Actor, movement: OnwardMovement) -> bool:
    """The receiving centre's reception, caseworkers and manager confirm an arrival."""
    return role_allows(user, Permission.ONWARD_RECEIVE) and _reaches(user, movement.to_centre_id)


def sends(user: Actor, movement: OnwardMovement) -> bool:
    """Whether the user is at the desk of the centre that planned the journey (they read all it planned)."""
    return role_allows(user, Permission.ONWARD_RECEIVE) and _reaches(user, movement.from_centre_id)


def may_see(user: Actor, movement: OnwardMovement) -> bool:
    """Who may open a journey's page: the desks of the sending centre; those of the receiving centre while
    they expect the person (as `expected` lists them) and once the person arrived."""
    if movement.beneficiary.is_erased or not role_allows(user, Permission.ONWARD_RECEIVE):
        return False
    if _reaches(user, movement.from_centre_id):
        return True
    if not _reaches(user, movement.to_centre_id):
        return False
    return movement.status == OnwardStatus.ARRIVED or _no_longer_expected(movement) is None


def why_not_expected(user: Actor, movement: OnwardMovement) -> str | None:
    """For the receiving centre's desk that confirms a journey it may no longer open (cancelled, settled by
    a move elsewhere, consent withdrawn): why, in words that name no one. None for anyone else."""
    if not may_confirm(user, movement) or movement.beneficiary.is_erased:
        return None
    return _no_longer_expected(movement)


def _no_longer_expected(movement: OnwardMovement) -> str | None:
    """Why the receiving centre no longer expects the journey's person, in words that name no one; None
    while it does: the journey is planned, the person still at the sending centre and still consenting to
    continuity of care (without that consent nothing of the person reaches another centre)."""
    try:
        _check_planned(movement)
    except OnwardError as err:
        return err.message
    person = movement.beneficiary
    if person.centre_id != movement.from_centre_id:
        return str(MOVED_ELSEWHERE)
    return None if has_consent(person, PURPOSE) else str(NO_CONSENT)


# ---- planning --------------------------------------------------------------------------------


@dataclass
class Journey:
    """What the sending centre typed: `destination` is "centre:<id>", "place:<municipality>" or "other"."""

    destination: str | None = None
    other_city: str | None = None
    planned_on: dt.date | None = None
    transport: str | None = None
    escort: str | None = None
    escort_reason: str | None = None
    provided: Collection[str] = field(default_factory=tuple)


def destination_centres(person: Beneficiary) -> list[Centre]:
    """The active centres of the region a person may go on to (all but the one serving them), by country."""
    stmt = sa.select(Centre).where(Centre.active.is_(True), Centre.id != person.centre_id)
    return list(session.scalars(stmt.order_by(Centre.country, Centre.name)))


def municipalities() -> list[str]:
    """The municipalities of the centres list, a destination that needs no free text."""
    return sorted(set(session.scalars(sa.select(Centre.municipality).where(Centre.municipality != ""))))


def is_child(person: Beneficiary, on: dt.date) -> bool:
    """Under 18 on the day, or of unknown age (the cautious reading for a journey)."""
    age = person.age_on(on)
    return age is None or age < ADULT_AGE


def plan(user: Actor, person: Beneficiary, journey: Journey) -> OnwardMovement:
    """Plan a person's journey from the centre that serves them. Refused in words, on the field concerned:
    a destination or a code not on the lists, a date in the past, a child without escort and without a
    best-interests reason, a centre destination without consent to continuity, a journey already planned."""
    if not may_plan(user, person):
        raise OnwardError(_l("Only the centre that serves the person plans their onward movement."))
    to_centre, municipality, other_city = _destination(person, journey)
    today = clock.today_at(person.centre)
    if journey.planned_on is None:
        raise OnwardError(_l("Give the planned date of the journey."), field="planned_on")
    if journey.planned_on < today or journey.planned_on > today + MAX_AHEAD:
        raise OnwardError(
            _l("The planned date is from today up to six months ahead."),
            field="planned_on",
        )
    if journey.transport not in TRANSPORT:
        raise OnwardError(_l("Choose the means of transport."), field="transport")
    provided = sorted(set(journey.provided))
    if set(provided) - set(PROVISIONS):
        raise OnwardError(_l("Choose among the items listed."), field="provided")
    escort, reason = _escort(person, journey)
    if to_centre is not None and not has_consent(person, PURPOSE):
        raise OnwardError(
            _l(
                "The person has not given consent to continuity of care, and their record goes to the receiving "
                "centre when they arrive. Record their consent on their profile first, or choose a city that "
                "is not a centre."
            ),
            field="destination",
        )
    if _planned_for(person) is not None:
        raise OnwardError(_ALREADY_PLANNED)
    movement = OnwardMovement(
        beneficiary=person,
        beneficiary_id=person.id,
        from_centre_id=person.centre_id,
        to_centre_id=to_centre.id if to_centre else None,
        to_municipality=municipality,
        planned_on=journey.planned_on,
        transport=journey.transport,
        escort=escort,
        provided=",".join(provided),
        status=OnwardStatus.PLANNED,
        planned_by_id=user.id,
        planned_at=utcnow(),
    )
    movement.to_other_city = other_city
    movement.escort_reason = reason
    try:
        with session.begin_nested():
            session.add(movement)
            session.flush()
    except IntegrityError:
        # another desk planned the person's journey at the same moment: theirs stands
        raise OnwardError(_ALREADY_PLANNED) from None
    _history(user, person, "onward_planned")
    kind = "centre" if to_centre else ("place" if municipality else "other")
    audit.record(
        "onward.planned",
        object_type="beneficiary",
        object_id=person.id,
        detail=f"{movement.uid}:{kind}",
        user_id=user.id,
    )
    return movement


_ANSWERED = _l("This journey was settled a moment ago by someone else: reload the page.")
_ALREADY_PLANNED = _l(
    "An onward movement is already planned for this person: cancel it first, or wait for the receiving centre "
    "to confirm the arrival."
)


def _destination(person: Beneficiary, journey: Journey) -> tuple[Centre | None, str | None, str | None]:
    choice = journey.destination or ""
    kind, _sep, value = choice.partition(":")
    if kind == "centre":
        found = next((c for c in destination_centres(person) if str(c.id) == value), None)
        if found is not None:
            return found, None, None
    elif kind == "place" and value in municipalities():
        return None, value, None
    elif choice == OTHER_CITY:
        city = checked_text(
            journey.other_city,
            field="other_city",
            error=OnwardError,
            limit=MAX_CITY,
            missing=_l("Write the city or place the person goes to."),
        )
        return None, None, city
    raise OnwardError(_l("Choose where the person goes: a centre, a city, or another city."), field="destination")


def _escort(person: Beneficiary, journey: Journey) -> tuple[str | None, str | None]:
    assert journey.planned_on is not None
    if not is_child(person, journey.planned_on):
        return None, None  # an adult travels on their own choice
    if journey.escort not in ESCORTS:
        raise OnwardError(
            _l("A child travels with an escort: choose who, or “No escort” with the best-interests reason."),
            field="escort",
        )
    if journey.escort != "none":
        return journey.escort, None
    reason = checked_text(
        journey.escort_reason,
        field="escort_reason",
        error=OnwardError,
        minimum=10,
        limit=MAX_REASON,
        missing=_l("Write why travelling without an escort is in the best interests of the child."),
    )
    return "none", reason


def _planned_for(person: Beneficiary) -> OnwardMovement | None:
    return session.scalar(
        sa.select(OnwardMovement).where(
            OnwardMovement.beneficiary_id == person.id, OnwardMovement.status == OnwardStatus.PLANNED
        )
    )


# ---- arrival and cancellation ----------------------------------------------------------------


def confirm(user: Actor, movement: OnwardMovement) -> Transfer:
    """The receiving centre confirms the arrival: the record moves to it (a Transfer of `how` "onward",
    identity and household only). A journey already confirmed or cancelled, or a record that moved
    elsewhere meanwhile, is refused in words; of two confirmations at once, one wins."""
    if not may_confirm(user, movement):
        raise OnwardError(_l("Only the receiving centre confirms an arrival."))
    person = movement.beneficiary
    if person.is_erased:
        raise OnwardError(_l("This record was erased: nothing can move."))
    _check_planned(movement)
    if person.centre_id != movement.from_centre_id:
        _settle(movement, OnwardStatus.SUPERSEDED, None)
        raise OnwardError(MOVED_ELSEWHERE)
    if not has_consent(person, PURPOSE):
        raise OnwardError(NO_CONSENT)
    now = utcnow()
    if not _claim(movement, OnwardStatus.ARRIVED, user, now):
        _check_planned(movement)  # says what happened first
        raise OnwardError(_ANSWERED)
    assert movement.to_centre_id is not None
    transfer = move_now(
        user, person, movement.from_centre_id, movement.to_centre_id, "onward", movement.planned_by_id, now
    )
    if transfer is None:
        movement.status = OnwardStatus.SUPERSEDED
        raise OnwardError(MOVED_ELSEWHERE)
    movement.transfer_id = transfer.id
    _history(user, person, "onward_arrived")
    audit.record("onward.arrived", object_type="beneficiary", object_id=person.id, detail=movement.uid, user_id=user.id)
    return transfer


def cancel(user: Actor, movement: OnwardMovement, reason: str | None) -> None:
    """The sending centre cancels a planned journey, with a coded reason."""
    if not may_cancel(user, movement):
        raise OnwardError(_l("Only the centre that planned the journey cancels it."))
    if reason not in CANCEL_REASONS:
        raise OnwardError(_l("Choose the reason for the cancellation."), field="reason")
    _check_planned(movement)
    if not _claim(movement, OnwardStatus.CANCELLED, user, utcnow(), reason):
        _check_planned(movement)
        raise OnwardError(_ANSWERED)
    _history(user, movement.beneficiary, "onward_cancelled")
    audit.record(
        "onward.cancelled",
        object_type="beneficiary",
        object_id=movement.beneficiary_id,
        detail=f"{movement.uid}:{reason}",
        user_id=user.id,
    )


def _check_planned(movement: OnwardMovement) -> None:
    if movement.status == OnwardStatus.ARRIVED:
        raise OnwardError(_l("This arrival was already confirmed: the record is at the receiving centre."))
    if movement.status == OnwardStatus.CANCELLED:
        raise OnwardError(_l("The sending centre cancelled this journey: nothing moved. Call them to hear why."))
    if movement.status == OnwardStatus.SUPERSEDED:
        raise OnwardError(MOVED_ELSEWHERE)


def _claim(
    movement: OnwardMovement, status: OnwardStatus, user: Actor, now: dt.datetime, reason: str | None = None
) -> bool:
    """Settle a planned journey if it is still planned (a conditional UPDATE: one of two answers wins)."""
    changed = rows_changed(
        sa.update(OnwardMovement)
        .where(OnwardMovement.id == movement.id, OnwardMovement.status == OnwardStatus.PLANNED)
        .values(status=status, decided_by_id=user.id, decided_at=now, cancel_reason=reason)
        .execution_options(synchronize_session=False)
    )
    session.expire(movement, ["status", "decided_by_id", "decided_at", "cancel_reason"])
    return changed == 1


def _settle(movement: OnwardMovement, status: OnwardStatus, user: Actor | None) -> None:
    session.execute(
        sa.update(OnwardMovement)
        .where(OnwardMovement.id == movement.id, OnwardMovement.status == OnwardStatus.PLANNED)
        .values(status=status, decided_at=utcnow(), decided_by_id=user.id if user else None)
        .execution_options(synchronize_session=False)
    )
    session.expire(movement, ["status", "decided_by_id", "decided_at"])


def _history(user: Actor | None, person: Beneficiary, action: str) -> None:
    session.add(BeneficiaryChange(beneficiary_id=person.id, user_id=user.id if user else None, action=action))


# ---- who did not arrive ----------------------------------------------------------------------


def protection_flag(movement: OnwardMovement) -> str | None:
    """Why a journey that did not arrive is a protection flag: "child" (under 18 on the planned date, or of
    unknown age), "protection" (a suspected victim of trafficking or an unaccompanied or separated child,
    read from the person's encrypted needs), or None."""
    person = movement.beneficiary
    if person.is_erased:
        return None
    if is_child(person, movement.planned_on):
        return "child"
    if PROTECTION_NEEDS & set(person.protected_needs or []):
        return "protection"
    return None


@dataclass
class Overdue:
    """What the daily run found: journeys flagged as not arrived, and how many of them are protection flags."""

    flagged: int = 0
    protection: int = 0
    superseded: int = 0


def flag_overdue(now: dt.datetime) -> Overdue:
    """Flag each planned journey to a centre whose arrival was not confirmed ONWARD_OVERDUE_DAYS after its
    planned date (the receiving centre's day) as not arrived; a journey whose person's record moved to
    another centre meanwhile is settled as superseded instead (the person arrived somewhere)."""
    found = Overdue()
    days = overdue_days()
    # a day of slack for the centres' time zones; each movement is checked at its centre below
    latest = clock.day_of(now, None) - dt.timedelta(days=days - 1)
    stmt = sa.select(OnwardMovement).where(
        OnwardMovement.status == OnwardStatus.PLANNED,
        OnwardMovement.to_centre_id.is_not(None),
        OnwardMovement.not_arrived_at.is_(None),
        OnwardMovement.planned_on <= latest,
    )
    for movement in session.scalars(stmt.order_by(OnwardMovement.id)).all():
        person = movement.beneficiary
        if person.is_erased:
            continue
        if person.centre_id != movement.from_centre_id:
            _settle(movement, OnwardStatus.SUPERSEDED, None)
            found.superseded += 1
            continue
        assert movement.to_centre is not None
        if clock.day_of(now, movement.to_centre.country) < movement.planned_on + dt.timedelta(days=days):
            continue
        movement.not_arrived_at = now
        found.flagged += 1
        if protection_flag(movement) is not None:
            found.protection += 1
        _history(None, person, "onward_not_arrived")
        audit.record("onward.not_arrived", object_type="beneficiary", object_id=person.id, detail=movement.uid)
    return found


@dataclass
class NotArrived:
    """A journey that did not arrive, and its protection flag (None: not a protection case)."""

    movement: OnwardMovement
    flag: str | None


def not_arrived(user: Actor, limit: int = 200) -> list[NotArrived]:
    """The journeys of the user's centres (sending or receiving) flagged as not arrived, protection flags
    first: all of them for a centre manager, only the protection flags for a protection officer."""
    if not role_allows(user, Permission.ONWARD_FLAGS):
        return []
    stmt = sa.select(OnwardMovement).where(
        OnwardMovement.status == OnwardStatus.PLANNED, OnwardMovement.not_arrived_at.is_not(None)
    )
    reach = centre_ids_in_scope(user)
    if reach is not None:
        ids = list(reach) or [-1]
        stmt = stmt.where(sa.or_(OnwardMovement.from_centre_id.in_(ids), OnwardMovement.to_centre_id.in_(ids)))
    rows = session.scalars(stmt.order_by(OnwardMovement.planned_on, OnwardMovement.id).limit(limit)).all()
    found = [NotArrived(m, protection_flag(m)) for m in rows if not m.beneficiary.is_erased]
    if user.role == "protection_officer":
        found = [f for f in found if f.flag is not None]
    return sorted(found, key=lambda f: f.flag is None)


# ---- lists -----------------------------------------------------------------------------------


def expected(user: Actor, limit: int = 200) -> Listing:
    """The journeys planned to the user's centres whose person is still at the sending centre and still
    consents to continuity of care, by date."""
    stmt = (
        sa.select(OnwardMovement)
        .join(Beneficiary, Beneficiary.id == OnwardMovement.beneficiary_id)
        .join(DataKey, DataKey.id == Beneficiary.data_key_id)
        .where(
            OnwardMovement.status == OnwardStatus.PLANNED,
            OnwardMovement.to_centre_id.is_not(None),
            Beneficiary.centre_id == OnwardMovement.from_centre_id,
            DataKey.destroyed_at.is_(None),  # an erased person is expected nowhere
            continuity_in_force(Beneficiary.id),  # nor one who withdrew consent to continuity of care
        )
    )
    if not role_allows(user, Permission.ONWARD_RECEIVE):
        stmt = stmt.where(sa.false())
    reach = centre_ids_in_scope(user)
    if reach is not None:
        stmt = stmt.where(OnwardMovement.to_centre_id.in_(list(reach) or [-1]))
    return listing(stmt.order_by(OnwardMovement.planned_on, OnwardMovement.id), limit)


def planned_from(user: Actor, limit: int = 200) -> Listing:
    """The journeys the user's centres planned and that are still waiting, by date."""
    stmt = sa.select(OnwardMovement).where(OnwardMovement.status == OnwardStatus.PLANNED)
    if not role_allows(user, Permission.ONWARD_PLAN):
        stmt = stmt.where(sa.false())
    reach = centre_ids_in_scope(user)
    if reach is not None:
        stmt = stmt.where(OnwardMovement.from_centre_id.in_(list(reach) or [-1]))
    return listing(stmt.order_by(OnwardMovement.planned_on, OnwardMovement.id), limit)


def _whose(person: Beneficiary) -> sa.ColumnElement[bool]:
    return OnwardMovement.beneficiary_id == person.id


def of_person(person: Beneficiary) -> list[OnwardMovement]:
    """A person's onward movements, newest first (for their profile)."""
    return list(
        session.scalars(
            sa.select(OnwardMovement)
            .where(_whose(person))
            .options(so.lazyload(OnwardMovement.beneficiary))  # the person, from the session
            .order_by(OnwardMovement.planned_at.desc(), OnwardMovement.id.desc())
        )
    )


def any_of_person(person: Beneficiary) -> sa.Exists:
    """Whether the person has an onward movement (as a condition: msc/sections.py asks it with others)."""
    return sa.exists().where(_whose(person))
