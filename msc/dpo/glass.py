"""Break-the-glass: opening one person's record outside one's scope, for a stated reason, for a short time,
always audited and reviewed by the DPO."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from msc.beneficiaries.service import by_case_number
from msc.db import session, utcnow
from msc.dpo.vocab import GLASS_REASONS, REVIEW_OUTCOMES
from msc.errors import DomainError, checked_text
from msc.security import audit
from msc.security.actor import Actor
from msc.security.emergency import BreakGlass, ReviewOutcome, running, running_grant
from msc.security.policy import Permission, in_scope, role_allows

MAX_TEXT = 1000
MIN_EXPLANATION = 15


class GlassError(DomainError):
    """A break-the-glass request or review that cannot be taken, said in words."""


def minutes() -> int:
    return int(current_app.config.get("BREAK_GLASS_MINUTES", 60))


def open_record(user: Actor, case_number: str | None, reason: str | None, explanation: str | None) -> BreakGlass:
    """Open a record of another centre by its case number, with a coded reason and an explanation."""
    if not role_allows(user, Permission.BREAK_GLASS):
        raise GlassError(_l("Your role cannot open records outside your centres."))
    if not (case_number or "").strip():
        raise GlassError(_l("Give the case number of the record."), field="case_number")
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
    person = by_case_number(case_number)
    if person is None or person.is_erased:
        raise GlassError(_l("No record has that case number."), field="case_number")
    if in_scope(user, person.centre_id):
        raise GlassError(_l("This record is already within your reach: open it from the search."), field="case_number")
    running_now = running_grant(user.id, person.id)
    if running_now is not None:
        return running_now
    now = utcnow()
    grant = BreakGlass(
        user_id=user.id,
        beneficiary=person,
        beneficiary_id=person.id,
        centre_id=person.centre_id,
        reason=reason,
        started_at=now,
        expires_at=now + dt.timedelta(minutes=minutes()),
    )
    grant.explanation = text
    session.add(grant)
    session.flush()
    audit.record(
        "access.break_glass",
        object_type="beneficiary",
        object_id=person.id,
        detail=f"{reason}:{grant.uid}:{minutes()}min",
        user_id=user.id,
    )
    return grant


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
    grant.outcome, grant.reviewed_by_id, grant.reviewed_at = outcome, user.id, utcnow()
    grant.review_note = text
    audit.record(
        "access.break_glass_review", object_type="break_glass", object_id=grant.id, detail=outcome, user_id=user.id
    )


def queue(reviewed: bool = False, limit: int = 200) -> list[BreakGlass]:
    """Accesses awaiting review, oldest first (or the reviewed ones, newest first)."""
    stmt = sa.select(BreakGlass)
    if reviewed:
        stmt = stmt.where(BreakGlass.outcome.is_not(None)).order_by(BreakGlass.reviewed_at.desc())
    else:
        stmt = stmt.where(BreakGlass.outcome.is_(None)).order_by(BreakGlass.started_at)
    return list(session.scalars(stmt.limit(limit)))


def mine(user: Actor) -> list[BreakGlass]:
    """The user's accesses still running."""
    if user.id is None:  # the system opens no record in an emergency
        return []
    return list(session.scalars(running(user.id).order_by(BreakGlass.expires_at)))
