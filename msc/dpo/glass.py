"""Break-the-glass: opening one person's record outside one's scope, for a stated reason, for a short time,
read-only, always audited and reviewed by the DPO.

It cannot be used to harvest records:
- the person must be present or known: the case number and the date of birth, or the card's token;
  anything that does not match (no such number, an erased person, another date of birth) gets one and
  the same answer, is audited, and counts against a small daily allowance of failed attempts;
- a quota of accesses per user and rolling day; past it the request waits for a protection officer
  (not the requester) to approve it, and the access starts at the approval;
- every access shows on the DPO's home at once, and a burst (one user's, or the region's) raises an
  alert there, in the audit log and in the application log (without personal data);
- the access is read-only and shows what its reason needs (msc.security.emergency.SECTIONS)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from msc.beneficiaries import casenumber
from msc.beneficiaries import proof as proofs
from msc.beneficiaries.proof import Proof as Proof  # the form of a proof, for this feature's callers
from msc.db import Listing, listing, rows_changed, session, utcnow, write_lock
from msc.dpo.vocab import GLASS_DECISIONS, GLASS_REASONS, REVIEW_OUTCOMES
from msc.errors import DomainError, checked_text
from msc.security import audit
from msc.security.actor import Actor
from msc.security.emergency import BreakGlass, GlassStatus, ReviewOutcome, running, running_grant
from msc.security.models import AuditEvent, User
from msc.security.policy import Permission, centre_ids_in_scope, in_scope, role_allows

MAX_TEXT = 1000
MIN_EXPLANATION = 15
DAY = dt.timedelta(hours=24)

#: the one answer to a proof that does not match, whatever did not match
NO_MATCH = _l("No record matches this case number and date of birth, or this card.")

FAILED = "access.break_glass_failed"
BURST = "access.break_glass_burst"


class GlassError(DomainError):
    """A break-the-glass request, approval or review that cannot be taken, said in words."""


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def minutes() -> int:
    return _setting("BREAK_GLASS_MINUTES", 60)


def daily_quota() -> int:
    """Accesses a user opens at once per rolling day; past it a protection officer approves first."""
    return _setting("BREAK_GLASS_DAILY_QUOTA", 3)


def failed_allowance() -> int:
    """Proofs that did not match a user may make per rolling day before every request is refused."""
    return _setting("BREAK_GLASS_FAILED_PROOFS", 5)


# ---- opening --------------------------------------------------------------------------------


def open_record(user: Actor, proof: Proof, reason: str | None, explanation: str | None) -> BreakGlass:
    """Open a record of another centre for a coded reason and an explanation, on proof that the person is
    present or known. Within the user's daily quota the access runs at once; past it the request waits
    for a protection officer (status pending). Anything that does not match gets NO_MATCH."""
    if not role_allows(user, Permission.BREAK_GLASS) or user.id is None:
        raise GlassError(_l("Your role cannot open records outside your centres."))
    number = _checked_proof(proof)
    if reason not in GLASS_REASONS:
        raise GlassError(_l("Choose the reason."), field="reason")
    text = checked_text(
        explanation,
        field="explanation",
        error=GlassError,
        minimum=MIN_EXPLANATION,
        limit=MAX_TEXT,
        missing=_l("Explain in a sentence or two why you need this record now."),
    )
    _one_request_at_a_time(user.id)
    now = utcnow()
    if failed_since(user.id, now - DAY) >= failed_allowance():
        audit.record("access.break_glass_blocked", detail="failed_proofs", user_id=user.id)
        raise GlassError(
            _l(
                "Too many attempts that did not match today: emergency access is closed to you until tomorrow. "
                "A protection officer can help."
            )
        )
    person = proofs.matching(proof, number)
    if person is None:
        audit.record(FAILED, detail="no_match", user_id=user.id)
        watch(user.id)
        raise GlassError(NO_MATCH, field="case_number")
    if in_scope(user, person.centre_id):
        # Only after a full proof: it tells nothing the search does not.
        raise GlassError(_l("This record is already within your reach: open it from the search."), field="case_number")
    earlier = _current(user.id, person.id)
    if earlier is not None:
        return earlier
    within_quota = granted_since(user.id, now - DAY) < daily_quota()
    grant = BreakGlass(
        user_id=user.id,
        beneficiary=person,
        beneficiary_id=person.id,
        centre_id=person.centre_id,
        reason=reason,
        status=GlassStatus.GRANTED if within_quota else GlassStatus.PENDING,
        requested_at=now,
    )
    if within_quota:
        grant.started_at, grant.expires_at = now, now + dt.timedelta(minutes=minutes())
    grant.explanation = text
    session.add(grant)
    session.flush()
    audit.record(
        "access.break_glass" if within_quota else "access.break_glass_request",
        object_type="beneficiary",
        object_id=person.id,
        detail=f"{reason}:{grant.uid}:{minutes()}min" if within_quota else f"{reason}:{grant.uid}:over_quota",
        user_id=user.id,
    )
    watch(user.id)
    return grant


def _one_request_at_a_time(user_id: int) -> None:
    """Hold the requester's row to the end of the transaction, so that their requests are counted one
    after the other: requests sent at the same moment cannot each see the quota, or the allowance of
    failed proofs, before the others are written (PostgreSQL; SQLite's write lock does it already)."""
    write_lock(session.connection())
    session.execute(sa.select(User.id).where(User.id == user_id).with_for_update())


def _checked_proof(proof: Proof) -> casenumber.CaseNumber | None:
    """What the proof says (msc.beneficiaries.proof), its refusal said as this feature's error."""
    try:
        return proofs.checked(proof)
    except proofs.ProofError as err:
        raise GlassError(err.message, field=err.field) from err


def _current(user_id: int, beneficiary_id: int) -> BreakGlass | None:
    """The user's access to this person still running, or their request still waiting."""
    found = running_grant(user_id, beneficiary_id)
    if found is not None:
        return found
    return session.scalar(
        sa.select(BreakGlass)
        .where(
            BreakGlass.user_id == user_id,
            BreakGlass.beneficiary_id == beneficiary_id,
            BreakGlass.status == GlassStatus.PENDING,
        )
        .limit(1)
    )


def granted_since(user_id: int, since: dt.datetime) -> int:
    """Accesses granted to the user (at once or on approval) since a moment."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(BreakGlass)
            .where(
                BreakGlass.user_id == user_id,
                BreakGlass.status == GlassStatus.GRANTED,
                BreakGlass.started_at >= since,
            )
        )
        or 0
    )


def failed_since(user_id: int | None, since: dt.datetime) -> int:
    """Proofs that did not match since a moment (one user's, or everybody's with None)."""
    stmt = sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == FAILED, AuditEvent.at >= since)
    if user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == user_id)
    return session.scalar(stmt) or 0


# ---- bursts ---------------------------------------------------------------------------------


def burst_window() -> dt.timedelta:
    return dt.timedelta(minutes=_setting("BREAK_GLASS_BURST_MINUTES", 10))


def _requested_since(user_id: int | None, since: dt.datetime) -> int:
    stmt = sa.select(sa.func.count()).select_from(BreakGlass).where(BreakGlass.requested_at >= since)
    if user_id is not None:
        stmt = stmt.where(BreakGlass.user_id == user_id)
    return session.scalar(stmt) or 0


def watch(user_id: int) -> None:
    """After each request or failed proof: a burst of them, by this user or across the region, within the
    window raises an alert (once per window): an audit record the DPO's home shows, and a warning in the
    application log (ids and counts only)."""
    since = utcnow() - burst_window()
    mine = _requested_since(user_id, since) + failed_since(user_id, since)
    if mine >= _setting("BREAK_GLASS_BURST_COUNT", 5) and not _alerted(since, user_id):
        audit.record(BURST, object_type="user", object_id=user_id, detail=f"user:{mine}", user_id=user_id)
        current_app.logger.warning(
            "break-the-glass burst: user id %s made %d requests or failed proofs in %s", user_id, mine, burst_window()
        )
    everyone = _requested_since(None, since) + failed_since(None, since)
    if everyone >= _setting("BREAK_GLASS_REGION_BURST_COUNT", 15) and not _alerted(since, None):
        audit.record(BURST, object_type="region", detail=f"region:{everyone}", user_id=user_id)
        current_app.logger.warning(
            "break-the-glass burst: %d requests or failed proofs across the region in %s", everyone, burst_window()
        )


def _alerted(since: dt.datetime, user_id: int | None) -> bool:
    stmt = sa.select(AuditEvent.seq).where(AuditEvent.action == BURST, AuditEvent.at >= since)
    if user_id is None:
        stmt = stmt.where(AuditEvent.object_type == "region")
    else:
        stmt = stmt.where(AuditEvent.object_type == "user", AuditEvent.object_id == str(user_id))
    return session.scalar(stmt.limit(1)) is not None


@dataclass
class Alert:
    """A burst the DPO should look at: whose (None for the region's), when, how many."""

    at: dt.datetime
    user: User | None
    count: int


def alerts(hours: int = 24) -> list[Alert]:
    """Bursts of the last hours, newest first."""
    events = list(
        session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == BURST, AuditEvent.at >= utcnow() - dt.timedelta(hours=hours))
            .order_by(AuditEvent.seq.desc())
            .limit(50)
        )
    )
    users = {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_({e.user_id for e in events} or {-1})))}
    found = []
    for e in events:
        count = int((e.detail or "x:0").rsplit(":", 1)[-1] or 0)
        whose = users.get(e.user_id) if e.object_type == "user" and e.user_id is not None else None
        found.append(Alert(e.at, whose, count))
    return found


# ---- approval past the quota ----------------------------------------------------------------


def may_approve(user: Actor, grant: BreakGlass) -> bool:
    """A protection officer other than the requester, whose reach covers the record's centre or one of the
    requester's centres."""
    if not role_allows(user, Permission.BREAK_GLASS_APPROVE) or user.id == grant.user_id:
        return False
    mine = centre_ids_in_scope(user)
    if mine is None:
        return True
    theirs = centre_ids_in_scope(grant.user)
    return grant.centre_id in mine or (theirs is not None and bool(theirs & mine))


def awaiting_approval(user: Actor) -> list[BreakGlass]:
    """Requests past the quota the user may approve, oldest first."""
    pending = session.scalars(
        sa.select(BreakGlass).where(BreakGlass.status == GlassStatus.PENDING).order_by(BreakGlass.requested_at)
    )
    return [g for g in pending if may_approve(user, g)]


def decide(user: Actor, grant: BreakGlass, decision: str | None, note: str | None) -> None:
    """A protection officer approves (the access starts now) or refuses a request past the quota, with a
    note; nobody approves their own request."""
    if grant.user_id == user.id:
        raise GlassError(_l("Nobody approves their own emergency access: another protection officer must."))
    if not may_approve(user, grant):
        raise GlassError(_l("Only a protection officer who covers the requester or the record approves this."))
    if grant.status != GlassStatus.PENDING:
        raise GlassError(_l("This request was already decided."))
    if decision not in GLASS_DECISIONS:
        raise GlassError(_l("Choose whether to approve or refuse."), field="decision")
    text = checked_text(
        note, field="note", error=GlassError, limit=MAX_TEXT, missing=_l("Write a note on your decision.")
    )
    now = utcnow()
    grant.decided_by_id, grant.decided_at = user.id, now
    grant.decision_note = text
    if decision == "approve":
        grant.status = GlassStatus.GRANTED
        grant.started_at, grant.expires_at = now, now + dt.timedelta(minutes=minutes())
    else:
        grant.status = GlassStatus.REFUSED
    audit.record(
        f"access.break_glass_{decision}",
        object_type="break_glass",
        object_id=grant.id,
        detail=grant.uid,
        user_id=user.id,
    )


# ---- ending and review ----------------------------------------------------------------------


def end(user: Actor, grant: BreakGlass) -> None:
    """The user closes their access before it runs out."""
    if grant.user_id != user.id:
        raise GlassError(_l("Only the person who opened this access can end it."))
    if grant.open_at(utcnow()):
        grant.ended_at = utcnow()
        audit.record(
            "access.break_glass_end",
            object_type="beneficiary",
            object_id=grant.beneficiary_id,
            detail=grant.uid,
            user_id=user.id,
        )


def review(user: Actor, grant: BreakGlass, outcome: str | None, note: str | None) -> None:
    """The DPO's review: justified or not, with a note (required when not justified)."""
    if not role_allows(user, Permission.DPO_REVIEW):
        raise GlassError(_l("Only the data protection officer reviews emergency access."))
    if outcome not in REVIEW_OUTCOMES:
        raise GlassError(_l("Choose the outcome of the review."), field="outcome")
    text = checked_text(
        note,
        field="note",
        error=GlassError,
        required=outcome == ReviewOutcome.NOT_JUSTIFIED,
        limit=MAX_TEXT,
        missing=_l("Write why the access was not justified."),
    )
    # claimed with a conditional UPDATE: a second review (a stale form, a second click, another DPO at the
    # same time) never replaces the first, which stands with its note
    claimed = rows_changed(
        sa.update(BreakGlass)
        .where(BreakGlass.id == grant.id, BreakGlass.outcome.is_(None))
        .values(outcome=outcome, reviewed_by_id=user.id, reviewed_at=utcnow())
    )
    session.expire(grant, ["outcome", "reviewed_by_id", "reviewed_at"])
    if not claimed:
        raise GlassError(_l("This emergency access was already reviewed: the first review stands."))
    grant.review_note = text
    audit.record(
        "access.break_glass_review", object_type="break_glass", object_id=grant.id, detail=outcome, user_id=user.id
    )


def queue(reviewed: bool = False, limit: int = 200) -> list[BreakGlass]:
    """Accesses and requests awaiting review, oldest first (or the reviewed ones, newest first)."""
    stmt = sa.select(BreakGlass)
    if reviewed:
        stmt = stmt.where(BreakGlass.outcome.is_not(None)).order_by(BreakGlass.reviewed_at.desc())
    else:
        stmt = stmt.where(BreakGlass.outcome.is_(None)).order_by(BreakGlass.requested_at)
    return list(session.scalars(stmt.limit(limit)))


def awaiting_review(limit: int = 5) -> Listing:
    """The first accesses and requests awaiting review (oldest first), and how many there are."""
    stmt = sa.select(BreakGlass).where(BreakGlass.outcome.is_(None))
    return listing(stmt.order_by(BreakGlass.requested_at, BreakGlass.id), limit)


def latest(limit: int = 20) -> list[BreakGlass]:
    """For the DPO's home: every access and request not yet reviewed, the newest first, running or not."""
    return list(
        session.scalars(
            sa.select(BreakGlass)
            .where(BreakGlass.outcome.is_(None))
            .order_by(BreakGlass.requested_at.desc(), BreakGlass.id.desc())
            .limit(limit)
        )
    )


def mine(user: Actor) -> list[BreakGlass]:
    """The user's accesses still running."""
    if user.id is None:  # the system opens no record in an emergency
        return []
    return list(session.scalars(running(user.id).order_by(BreakGlass.expires_at)))


def waiting(user: Actor) -> list[BreakGlass]:
    """The user's requests past the quota still waiting for a protection officer."""
    if user.id is None:
        return []
    return list(
        session.scalars(
            sa.select(BreakGlass)
            .where(BreakGlass.user_id == user.id, BreakGlass.status == GlassStatus.PENDING)
            .order_by(BreakGlass.requested_at)
        )
    )
