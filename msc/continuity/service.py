"""Continuity between centres: a centre asks for a person's record and the record moves to it.

Two ways:
- at the desk, the person proves presence (the case number and the date of birth, or the card: the same
  proof as an emergency access, msc.beneficiaries.proof) and has given consent to continuity: the record
  moves at once. Anything else (no such record, an erased one, a closed centre's, another date of birth,
  no consent) gets one and the same answer, is audited and counts against a daily allowance;
- from a hint of the regional duplicate check (the record's uid), a request goes to the centre that holds
  the record; its caseworkers or manager accept it (choosing what comes along) or refuse it (saying why);
  unanswered for 48 hours, the country's protection officers may answer it too.

A move is one conditional UPDATE of the person's centre: of two centres asking at once, one wins and the
other is told that the record moved to another centre. Only the person asked for moves (each member of a
household gives their own consent and is asked for on their own). Their case moves with them, without its
caseworkers; referrals, hand-overs, placements and fund applications keep the centre that made them, and
that centre keeps a read-only view of the profile (msc.security.policy.served_before). Every step is on the
person's record (history and route) and in the audit log, in codes.
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
from msc.beneficiaries import proof as proofs
from msc.beneficiaries.models import Beneficiary, BeneficiaryChange
from msc.beneficiaries.service import has_consent
from msc.cases.models import Case, CaseEvent, Task
from msc.cases.service import withheld_before
from msc.centres import stays
from msc.centres.models import Centre
from msc.continuity.models import OPEN, Transfer, TransferStatus
from msc.continuity.onward_models import OnwardMovement, OnwardStatus
from msc.continuity.vocab import REFUSAL_REASONS, SECTIONS
from msc.db import Listing, listing, rows_changed, session, utcnow
from msc.errors import DomainError, checked_text
from msc.fund.models import Application, subject_tag
from msc.nfi.models import Distribution
from msc.referrals.models import Referral
from msc.security import audit
from msc.security.actor import Actor
from msc.security.models import AuditEvent
from msc.security.policy import Permission, centre_ids_in_scope, in_scope, role_allows
from msc.shelters.models import Placement, Shelter

#: the purpose a person consents to for their record to move
PURPOSE = "continuity"
#: a request unanswered this long goes to the country's protection officers
ESCALATE_AFTER = dt.timedelta(hours=48)
DAY = dt.timedelta(hours=24)
MAX_NOTE = 1000

#: the one answer at the desk to whatever did not let the record move
NO_MATCH = _l(
    "Nothing moved. Either no record matches this case number and date of birth, or this card, or the person has "
    "not given consent to continuity of care at the centre that holds the record. Check the proof with the person; "
    "if they were registered at another centre, that centre records their consent first, then ask again."
)
#: the one answer to a request sent from a hint, whatever the record
REQUEST_SENT = _l(
    "Request sent to the centre that holds the record. It answers within 48 hours, or a protection officer does; "
    "the answer shows in your centre's requests."
)
MOVED_ELSEWHERE = _l(
    "The record moved to another centre a moment ago, so it did not come to yours. Ask again: your request goes "
    "to the centre that holds it now."
)
FAILED = "continuity.no_match"


class ContinuityError(DomainError):
    """A request, an answer or a move that cannot be made, said in words."""


def _failed_allowance() -> int:
    return int(current_app.config.get("CONTINUITY_FAILED_PROOFS", 5))


# ---- asking --------------------------------------------------------------------------------


def asking_centre(user: Actor, centre_id: int | None) -> Centre:
    """The centre a desk asks for: one of the user's own active centres (the only one, if they have one)."""
    if not role_allows(user, Permission.CONTINUITY_ASK):
        raise ContinuityError(_l("Your role does not ask for records of other centres."))
    mine = [c for c in user.centres if c.active]
    if centre_id is None and len(mine) == 1:
        return mine[0]
    found = next((c for c in mine if c.id == centre_id), None)
    if found is None:
        raise ContinuityError(_l("Choose the centre the record comes to: one of your centres."), field="centre")
    return found


def at_desk(user: Actor, centre: Centre, proof: proofs.Proof) -> Transfer:
    """The person is at the desk and proves presence: with their consent to continuity in force, their
    record moves at once to the desk's centre. Whatever else gets NO_MATCH, audited and counted."""
    try:
        number = proofs.checked(proof)
    except proofs.ProofError as err:
        raise ContinuityError(err.message, field=err.field) from err
    now = utcnow()
    if _failed_since(user, now - DAY) >= _failed_allowance():
        audit.record("continuity.blocked", detail="failed_proofs", user_id=user.id)
        raise ContinuityError(
            _l(
                "Too many attempts that did not match today: asking at the desk is closed to you until tomorrow. "
                "Ask for the record from the regional check, or call the centre that holds it."
            )
        )
    person = proofs.matching(proof, number)
    if person is not None:
        seen = person.centre_id
        _lock(person.id)
        session.refresh(person)
        if person.centre_id != seen:  # another desk moved it while this one asked: that one won
            raise ContinuityError(MOVED_ELSEWHERE, field="case_number")
    if person is None or not person.centre.active or not has_consent(person, PURPOSE):
        audit.record(FAILED, detail="desk", user_id=user.id)
        raise ContinuityError(NO_MATCH, field="case_number")
    if person.centre_id == centre.id or in_scope(user, person.centre_id):
        # Only after a full proof and consent: it tells nothing the search does not.
        raise ContinuityError(
            _l("This record is already within your reach: open it from the search."), field="case_number"
        )
    transfer = move_now(user, person, person.centre_id, centre.id, "desk", user.id, now)
    if transfer is None:
        raise ContinuityError(MOVED_ELSEWHERE, field="case_number")
    return transfer


def move_now(
    user: Actor,
    person: Beneficiary,
    from_centre_id: int,
    to_centre_id: int,
    how: str,
    requested_by_id: int | None,
    now: dt.datetime,
) -> Transfer | None:
    """Move a record with nothing asked of its holder (the person at the desk, an arrival confirmed): the
    transfer as done, then the move; None when another centre moved the record first (the transfer stays,
    superseded)."""
    transfer = Transfer(
        beneficiary=person,
        beneficiary_id=person.id,
        from_centre_id=from_centre_id,
        to_centre_id=to_centre_id,
        requested_by_id=requested_by_id,
        requested_at=now,
        how=how,
        status=TransferStatus.MOVED,
        decided_by_id=user.id,
        decided_at=now,
        sections="",
    )
    session.add(transfer)
    session.flush()
    if not _move(user, transfer, ()):
        transfer.status = TransferStatus.SUPERSEDED
        return None
    return transfer


def request_record(user: Actor, centre: Centre, person_uid: str | None) -> Transfer | None:
    """Ask the centre that holds a record (named by its uid, from a hint of the regional check) to send it.
    The answer is the same whatever the record (REQUEST_SENT): a record that does not exist, is erased or
    belongs to a closed centre makes no request. A second request from the same centre is the first."""
    person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == (person_uid or "")))
    if person is None or person.is_erased or not person.centre.active:
        audit.record(FAILED, detail="request", user_id=user.id)
        return None
    if person.centre_id == centre.id or in_scope(user, person.centre_id):
        raise ContinuityError(_l("This record is already within your reach: open it from the search."))
    earlier = _open_request(person.id, centre.id)
    if earlier is not None:
        return earlier
    transfer = Transfer(
        beneficiary=person,
        beneficiary_id=person.id,
        from_centre_id=person.centre_id,
        to_centre_id=centre.id,
        requested_by_id=user.id,
        requested_at=utcnow(),
        how="request",
        status=TransferStatus.PENDING,
    )
    try:
        with session.begin_nested():
            session.add(transfer)
            session.flush()
    except IntegrityError:
        # another desk of the same centre asked at the same moment: theirs is the request
        return _open_request(person.id, centre.id)
    _history(user, person, "transfer_requested")
    audit.record(
        "continuity.requested", object_type="beneficiary", object_id=person.id, detail=transfer.uid, user_id=user.id
    )
    return transfer


def _open_request(beneficiary_id: int, to_centre_id: int) -> Transfer | None:
    return session.scalar(
        sa.select(Transfer).where(
            Transfer.beneficiary_id == beneficiary_id,
            Transfer.to_centre_id == to_centre_id,
            Transfer.status.in_(OPEN),
        )
    )


def _failed_since(user: Actor, since: dt.datetime) -> int:
    stmt = sa.select(sa.func.count()).select_from(AuditEvent)
    stmt = stmt.where(AuditEvent.action == FAILED, AuditEvent.at >= since, AuditEvent.user_id == user.id)
    return session.scalar(stmt) or 0


# ---- answering -----------------------------------------------------------------------------


def may_answer(user: Actor, transfer: Transfer) -> bool:
    """The holding centre's caseworkers and manager answer an open request; once escalated, so do the
    protection officers whose reach covers the holding centre."""
    if not role_allows(user, Permission.CONTINUITY_DECIDE):
        return False
    reach = centre_ids_in_scope(user)
    covers = reach is None or transfer.from_centre_id in reach
    if user.role == "protection_officer":
        return covers and transfer.status == TransferStatus.ESCALATED
    return covers


def accept(user: Actor, transfer: Transfer, sections: Collection[str]) -> None:
    """The holding centre accepts: the record moves, with identity and household and the chosen sections.
    Without the person's consent to continuity nothing moves, and the answer says to record it first."""
    _lock(transfer.beneficiary_id)
    session.refresh(transfer)
    _check_answerable(user, transfer)
    chosen = sorted(set(sections))
    if set(chosen) - set(SECTIONS):
        raise ContinuityError(_l("Choose among the sections listed."), field="sections")
    if not has_consent(transfer.beneficiary, PURPOSE):
        raise ContinuityError(
            _l(
                "The person has not given consent to continuity of care, so the record cannot move. Record their "
                "consent first on their profile, then accept; or refuse, saying so."
            ),
            field="decision",
        )
    now = utcnow()
    transfer.decided_by_id, transfer.decided_at = user.id, now
    transfer.sections = ",".join(chosen)
    if not _move(user, transfer, chosen):
        transfer.status = TransferStatus.SUPERSEDED
        raise ContinuityError(MOVED_ELSEWHERE)
    transfer.status = TransferStatus.ACCEPTED
    audit.record(
        "continuity.accepted",
        object_type="beneficiary",
        object_id=transfer.beneficiary_id,
        detail=f"{transfer.uid}:{transfer.sections}",
        user_id=user.id,
    )


def refuse(user: Actor, transfer: Transfer, reason: str | None, note: str | None) -> None:
    """The holding centre (or a protection officer) refuses, with a coded reason the asking centre reads
    with what to do next, and a note (required for another reason) that stays with the holding centre."""
    _lock(transfer.beneficiary_id)
    session.refresh(transfer)
    _check_answerable(user, transfer)
    if reason not in REFUSAL_REASONS:
        raise ContinuityError(_l("Choose the reason for the refusal."), field="reason")
    text = checked_text(
        note,
        field="note",
        error=ContinuityError,
        required=reason == "other",
        limit=MAX_NOTE,
        missing=_l("Write the reason in a sentence."),
    )
    transfer.status = TransferStatus.REFUSED
    transfer.refusal_reason = reason
    transfer.refusal_note = text
    transfer.decided_by_id, transfer.decided_at = user.id, utcnow()
    _history(user, transfer.beneficiary, "transfer_refused")
    audit.record(
        "continuity.refused",
        object_type="beneficiary",
        object_id=transfer.beneficiary_id,
        detail=f"{transfer.uid}:{reason}",
        user_id=user.id,
    )


def _lock(beneficiary_id: int) -> None:
    """Take the person's row before anything else (every answer and move does, in this order), so that two
    answers or moves for one person wait for each other instead of crossing (PostgreSQL; SQLite writes one
    at a time anyway). The caller then reads the request or the person as they stand now."""
    session.execute(sa.select(Beneficiary.id).where(Beneficiary.id == beneficiary_id).with_for_update())


def _check_answerable(user: Actor, transfer: Transfer) -> None:
    if not may_answer(user, transfer):
        raise ContinuityError(
            _l("Only the centre that holds the record, or a protection officer after 48 hours, answers.")
        )
    if not transfer.is_open:
        raise ContinuityError(_l("This request was already answered."))
    if transfer.beneficiary.is_erased:
        raise ContinuityError(_l("This record was erased: nothing can move."))


# ---- the move ------------------------------------------------------------------------------


def _move(user: Actor, transfer: Transfer, shared: Collection[str]) -> bool:
    """Move the person's record (and their case) to the asking centre, if it is still where the request
    found it: a conditional UPDATE, so that of two moves at once only one happens. False if it moved."""
    person = transfer.beneficiary
    moved = rows_changed(
        sa.update(Beneficiary)
        .where(Beneficiary.id == person.id, Beneficiary.centre_id == transfer.from_centre_id)
        .values(centre_id=transfer.to_centre_id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if moved != 1:
        return False
    session.expire(person, ["centre_id", "centre", "updated_at"])
    centre = session.get_one(Centre, transfer.to_centre_id)
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == person.id))
    if case is not None:
        case.centre_id = centre.id
        case.caseworkers = []  # the new centre's manager assigns someone there
        session.execute(
            sa.update(Task)
            .where(Task.case_id == case.id, Task.done_at.is_(None))
            .values(assignee_id=None)
            .execution_options(synchronize_session=False)
        )
        session.add(CaseEvent(case_id=case.id, user_id=user.id, action="moved", detail=transfer.uid))
    stays.arrive(person.id, centre.id, clock.today_at(centre), stays.MOVED, shared)
    # the other open requests were addressed to the centre that no longer holds the record
    for other in session.scalars(
        sa.select(Transfer).where(
            Transfer.beneficiary_id == person.id, Transfer.status.in_(OPEN), Transfer.id != transfer.id
        )
    ):
        other.status = TransferStatus.MOVED if other.to_centre_id == centre.id else TransferStatus.SUPERSEDED
    # a journey planned from the former centre no longer leaves from there: the new centre plans its own
    session.execute(
        sa.update(OnwardMovement)
        .where(
            OnwardMovement.beneficiary_id == person.id,
            OnwardMovement.status == OnwardStatus.PLANNED,
            OnwardMovement.from_centre_id != centre.id,
        )
        .values(status=OnwardStatus.SUPERSEDED, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    _history(user, person, "moved", shared)
    audit.record(
        "continuity.moved",
        object_type="beneficiary",
        object_id=person.id,
        detail=f"{transfer.uid}:{transfer.how}",
        user_id=user.id,
    )
    return True


def _history(user: Actor, person: Beneficiary, action: str, fields: Collection[str] = ()) -> None:
    session.add(BeneficiaryChange(beneficiary_id=person.id, user_id=user.id, action=action, fields=",".join(fields)))


# ---- escalation ----------------------------------------------------------------------------


def escalate_due(now: dt.datetime) -> int:
    """Requests unanswered for 48 hours go to the protection officers of the holding centre's country
    (they appear on their home and list). Returns how many were escalated."""
    due = list(
        session.scalars(
            sa.select(Transfer).where(
                Transfer.status == TransferStatus.PENDING, Transfer.requested_at <= now - ESCALATE_AFTER
            )
        )
    )
    for transfer in due:
        transfer.status, transfer.escalated_at = TransferStatus.ESCALATED, now
        audit.record(
            "continuity.escalated", object_type="beneficiary", object_id=transfer.beneficiary_id, detail=transfer.uid
        )
    return len(due)


# ---- lists ---------------------------------------------------------------------------------


def to_answer(user: Actor, limit: int = 200) -> Listing:
    """Open requests the user may answer, oldest first."""
    stmt = sa.select(Transfer).where(Transfer.status.in_(OPEN))
    reach = centre_ids_in_scope(user)
    if reach is not None:
        stmt = stmt.where(Transfer.from_centre_id.in_(reach or [-1]))
    if user.role == "protection_officer":
        stmt = stmt.where(Transfer.status == TransferStatus.ESCALATED)
    if not role_allows(user, Permission.CONTINUITY_DECIDE):
        stmt = stmt.where(sa.false())
    return listing(stmt.order_by(Transfer.requested_at, Transfer.id), limit)


def arrived(user: Actor, since: dt.datetime, limit: int = 5) -> Listing:
    """Records that moved to the user's centres since a moment and are still there, newest first (for the
    centre's manager and caseworkers: a case that arrived has no caseworker yet)."""
    stmt = (
        sa.select(Transfer)
        .join(Beneficiary, Beneficiary.id == Transfer.beneficiary_id)
        .where(
            Transfer.status.in_((TransferStatus.ACCEPTED, TransferStatus.MOVED)),
            Transfer.decided_at >= since,
            Beneficiary.centre_id == Transfer.to_centre_id,
        )
    )
    reach = centre_ids_in_scope(user)
    if reach is not None:
        stmt = stmt.where(Transfer.to_centre_id.in_(reach or [-1]))
    return listing(stmt.order_by(Transfer.decided_at.desc(), Transfer.id.desc()), limit)


def asked_by(user: Actor, limit: int = 100) -> list[Transfer]:
    """The requests of the user's centres, newest first (their status, and what to do next)."""
    reach = centre_ids_in_scope(user)
    stmt = sa.select(Transfer)
    if reach is not None:
        stmt = stmt.where(Transfer.to_centre_id.in_(reach or [-1]))
    return list(session.scalars(stmt.order_by(Transfer.requested_at.desc(), Transfer.id.desc()).limit(limit)))


def _whose(person: Beneficiary) -> sa.ColumnElement[bool]:
    return Transfer.beneficiary_id == person.id


def of_person(person: Beneficiary) -> list[Transfer]:
    """Every request for a person's record and every move (their disclosures between centres), newest first."""
    return list(
        session.scalars(
            sa.select(Transfer)
            .where(_whose(person))
            .options(so.lazyload(Transfer.beneficiary))  # the person, from the session
            .order_by(Transfer.requested_at.desc(), Transfer.id.desc())
        )
    )


def any_transfer(person: Beneficiary) -> sa.Exists:
    """Whether the person's record was ever asked for or moved (as a condition: msc/sections.py asks it with
    others)."""
    return sa.exists().where(_whose(person))


def fund_history(case: Case) -> list[Application]:
    """The regional fund applications made for the person at earlier centres, when the record moved here
    with its fund history (none otherwise: they stay with the centres that made them), oldest first."""
    if not any(s.how == stays.MOVED for s in stays.route_of(case.beneficiary_id)):
        return []
    stmt = sa.select(Application).where(
        Application.subject_tag == subject_tag(case.beneficiary), Application.centre_id != case.centre_id
    )
    cutoff = withheld_before(case, "fund")
    if cutoff is not None:
        stmt = stmt.where(Application.submitted_at >= cutoff)
    return list(session.scalars(stmt.order_by(Application.submitted_at)))


# ---- the route -----------------------------------------------------------------------------


@dataclass
class Stop:
    """One stay on the route, and what its centre provided the person (counts over all their stays there,
    shown on the last of them; None on the earlier ones)."""

    stay: stays.Stay
    counts: dict[str, int] | None = field(default_factory=dict)


#: what a centre provided, in the order the route shows it
PROVIDED = ("handovers", "shelter", "referrals", "fund")
#: the counts that tell of a section a move may leave behind (SECTIONS)
_CARRIED = ("referrals", "fund")


def _provided(person: Beneficiary) -> list[tuple[str, so.InstrumentedAttribute[int], sa.ColumnElement[bool]]]:
    """What the centres provided the person, per kind (PROVIDED): the centre it is counted at, and the
    condition of the person's rows."""
    return [
        (
            "handovers",
            Distribution.centre_id,
            (Distribution.beneficiary_id == person.id) & Distribution.voided_at.is_(None),
        ),
        ("shelter", Shelter.centre_id, (Placement.beneficiary_id == person.id) & (Shelter.id == Placement.shelter_id)),
        ("referrals", Referral.centre_id, Referral.beneficiary_id == person.id),
        ("fund", Application.centre_id, Application.subject_tag == subject_tag(person)),
    ]


def provided_any(person: Beneficiary) -> sa.ColumnElement[bool]:
    """Whether any centre provided the person anything the route counts (as a condition: msc/sections.py
    asks it with others)."""
    return sa.or_(*(sa.exists().where(rows) for _, _, rows in _provided(person)))


def route(
    person: Beneficiary,
    kinds: Collection[str] = PROVIDED,
    reach: Collection[int] | None = None,
    *,
    provided: bool = True,
) -> list[Stop]:
    """The person's stays, first to last, with counts of what each centre provided (never the content).
    `kinds`: the counts the viewer's role may see. `reach`: the viewer's centres (None: every centre); at a
    centre out of it, the referrals and fund applications are counted only when a later move carried those
    sections along: a move that left the fund history behind does not tell that there was one.
    `provided=False`: the caller knows that no centre provided anything (provided_any), and every count is 0."""
    found = stays.route_of(person.id)
    per_centre: dict[int, dict[str, int]] = {}
    if provided:
        counted = sa.union_all(  # one round trip for the four counts
            *(
                sa.select(sa.literal(kind), centre, sa.func.count()).where(rows).group_by(centre)
                for kind, centre, rows in _provided(person)
            )
        )
        for kind, centre_id, count in session.execute(counted):
            per_centre.setdefault(centre_id, dict.fromkeys(PROVIDED, 0))[kind] = count
    last = {s.centre_id: s.id for s in found}
    allowed = [k for k in PROVIDED if k in kinds]
    out = []
    for n, s in enumerate(found):
        if last[s.centre_id] != s.id:
            out.append(Stop(s, None))
            continue
        shown = allowed
        if reach is not None and s.centre_id not in reach:
            carried = {section for later in found[n + 1 :] for section in later.shared_sections}
            shown = [k for k in shown if k not in _CARRIED or k in carried]
        counts = per_centre.get(s.centre_id, {})
        out.append(Stop(s, {k: counts.get(k, 0) for k in shown}))
    return out
