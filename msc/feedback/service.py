"""Feedback rules: what may be sent, where each kind goes, who may see it, deadlines, answers, and the
reference code that shows the person only the status and the answer."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import TypeVarTuple, overload

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.centres.models import Centre
from msc.crypto import DataKey, legacy_reference_hashes, reference_hash
from msc.db import Listing, listing, session, utcnow
from msc.errors import DomainError, checked_text
from msc.feedback.models import Feedback, FeedbackStatus
from msc.security import audit
from msc.security.actor import Actor
from msc.security.models import User
from msc.security.policy import Permission, centre_ids_in_scope, in_scope, role_allows

SENSITIVE_KINDS = ("sea", "fraud", "misconduct", "data_breach")
KINDS = ("thanks", "suggestion", "question", "complaint_service", *SENSITIVE_KINDS)
CHANNELS = ("desk", "self_service", "survey")
STATUSES = tuple(FeedbackStatus)
SERVICES = ("nfi", "referral", "reception", "shelter", "other")
#: days to answer, by kind (thanks need no answer)
DEADLINE_DAYS = {
    "thanks": None,
    "suggestion": 30,
    "question": 7,
    "complaint_service": 14,
    "sea": 3,
    "fraud": 7,
    "misconduct": 7,
    "data_breach": 3,
    "survey": None,
}
MAX_TEXT = 2000
MAX_CONTACT = 200
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_RE = re.compile(r"^[2-9A-HJ-NP-Z]{5}-?[2-9A-HJ-NP-Z]{5}$")
#: markup or script in what people write is refused, not silently kept
CODE_LIKE = re.compile(r"<\s*/?\s*[a-z!]|javascript:|on\w+\s*=", re.I)


class FeedbackError(DomainError):
    """A feedback rule said no."""


def _clean(value: str | None, *, field: str, required: bool, limit: int) -> str:
    """What a person wrote (checked_text in the public page's own words), refused when it is not plain text."""
    text = checked_text(
        value,
        field=field,
        error=FeedbackError,
        required=required,
        limit=limit,
        missing=_l("Please write your message."),
        too_long=_l("Please keep it shorter (at most %(n)d characters).", n=limit),
    )
    if not text:
        return ""
    if "\x00" in text or any(ord(c) < 32 and c not in "\n\r\t" for c in text) or "\ufffd" in text:
        raise FeedbackError(_l("Please write plain text: some characters could not be read."), field=field)
    if CODE_LIKE.search(text):
        raise FeedbackError(_l("Please write plain text, without code or web addresses with scripts."), field=field)
    return text


def normalise_code(code: str | None) -> str | None:
    """A typed code as stored (upper case, no dash, no spaces), or None when it cannot be one."""
    compact = (code or "").strip().upper().replace(" ", "")
    if not CODE_RE.match(compact):
        return None
    return compact.replace("-", "")


@dataclass
class Sent:
    """What the person takes away: the reference code, shown once."""

    item: Feedback
    code: str

    @property
    def shown_code(self) -> str:
        return f"{self.code[:5]}-{self.code[5:]}"


def submit(
    centre: Centre,
    *,
    channel: str,
    kind: str,
    text: str | None,
    contact: str | None = None,
    user: Actor | None = None,
    beneficiary_id: int | None = None,
    rating: int | None = None,
    service: str | None = None,
) -> Sent:
    """Record feedback; sensitive kinds go to the focal points only. Self-service is always anonymous
    (linked to nobody); a contact is kept only if the person gives one."""
    if channel not in CHANNELS:
        raise FeedbackError(_l("Unknown channel."))
    if not centre.active:
        raise FeedbackError(_l("This centre does not take feedback here any more."))
    if channel == "survey":
        if rating is None or not 1 <= rating <= 5:
            raise FeedbackError(_l("Choose from 1 to 5."), field="rating")
        if service not in SERVICES:
            raise FeedbackError(_l("Choose the service you are rating."), field="service")
        kind = "survey"
    elif kind not in KINDS:
        raise FeedbackError(_l("Choose what kind of message it is."), field="kind")
    if channel == "desk":
        if user is None or not role_allows(user, Permission.FEEDBACK_RECORD) or not in_scope(user, centre.id):
            raise FeedbackError(_l("You cannot record feedback for this centre."))
    else:
        beneficiary_id = None
    text = _clean(text, field="text", required=channel != "survey", limit=MAX_TEXT)
    contact = _clean(contact, field="contact", required=False, limit=MAX_CONTACT)
    today = clock.today(centre.country)
    days = DEADLINE_DAYS.get(kind)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    key = DataKey.generate()
    session.add(key)
    item = Feedback(
        reference_hash=reference_hash(code),
        centre_id=centre.id,
        centre=centre,
        channel=channel,
        kind=kind,
        sensitive=kind in SENSITIVE_KINDS,
        status=FeedbackStatus.CLOSED if kind in ("thanks", "survey") else FeedbackStatus.RECEIVED,
        due_on=today + dt.timedelta(days=days) if days else None,
        beneficiary_id=beneficiary_id,
        rating=rating,
        service=service if channel == "survey" else None,
        data_key=key,
        recorded_by_id=user.id if user is not None else None,
        received_at=utcnow(),
        received_on=today,
    )
    if text:
        item.text = text
    if contact:
        item.contact = contact
    session.add(item)
    session.flush()
    audit.record(
        "feedback.received", object_type="feedback", object_id=item.id, detail="sensitive" if item.sensitive else kind
    )
    return Sent(item, code)


@dataclass
class Status:
    """All a reference code reveals: where the message stands, and the answer once given."""

    status: str
    response: str | None


def lookup(code: str | None) -> Status | None:
    """The status and the answer for a code; nothing (and nothing else) for an unknown or guessed one."""
    compact = normalise_code(code)
    if compact is None:
        return None
    current = reference_hash(compact)
    hashes = [current] + legacy_reference_hashes(compact)
    item = session.scalar(sa.select(Feedback).where(Feedback.reference_hash.in_(hashes)))
    if item is None:
        return None
    if item.reference_hash != current:  # a code given out before codes had their own key: move it
        item.reference_hash, item.reference_legacy = current, False
        session.commit()
    answered = item.status in (FeedbackStatus.ANSWERED, FeedbackStatus.CLOSED) and item.response_ct is not None
    return Status(item.status, item.response if answered else None)


# ---- who sees what ---------------------------------------------------------------------------


def is_focal_point(user: Actor) -> bool:
    """A protection officer designated as PSEA focal point."""
    return role_allows(user, Permission.FEEDBACK_FOCAL_POINT) and bool(user.psea_focal_point)


#: the columns a statement over feedback selects
_Columns = TypeVarTuple("_Columns")


@overload
def visible(user: Actor, stmt: None = None) -> sa.Select[Feedback]: ...


@overload
def visible(user: Actor, stmt: sa.Select[*_Columns]) -> sa.Select[*_Columns]: ...


def visible(user: Actor, stmt: sa.Select[*_Columns] | None = None) -> sa.Select[*_Columns] | sa.Select[Feedback]:
    """The feedback a user may see: focal points the sensitive items in their scope; centre managers the
    others of their centres; nobody else any. Centre staff never learn that sensitive items exist."""
    query = stmt if stmt is not None else sa.select(Feedback)
    ids = centre_ids_in_scope(user)
    if ids is not None:
        query = query.where(Feedback.centre_id.in_(ids or [-1]))
    if is_focal_point(user):
        return query.where(Feedback.sensitive.is_(True))
    if role_allows(user, Permission.FEEDBACK_MANAGE):
        return query.where(Feedback.sensitive.is_(False))
    return query.where(sa.false())


def may_see(user: Actor, item: Feedback) -> bool:
    return session.scalar(visible(user, sa.select(Feedback.id)).where(Feedback.id == item.id)) is not None


def queue(user: Actor, status: str | None = None, limit: int = 200) -> list[Feedback]:
    """Open items first by deadline, then the rest, newest first."""
    stmt = visible(user)
    if status in STATUSES:
        stmt = stmt.where(Feedback.status == status)
    return list(
        session.scalars(
            stmt.order_by(
                Feedback.status == FeedbackStatus.CLOSED, Feedback.due_on.is_(None), Feedback.due_on, Feedback.id.desc()
            ).limit(limit)
        )
    )


#: waiting for someone at the centre to act
OPEN = (FeedbackStatus.RECEIVED, FeedbackStatus.IN_PROGRESS)


def waiting(user: Actor, limit: int = 5) -> Listing:
    """The open items the user must answer (received or in progress), soonest deadline first."""
    stmt = visible(user).where(Feedback.status.in_(OPEN))
    return listing(stmt.order_by(Feedback.due_on.is_(None), Feedback.due_on, Feedback.id), limit)


def overdue_count(user: Actor, today: dt.date) -> int:
    """How many of the open items the user must answer are past their deadline."""
    stmt = visible(user, sa.select(sa.func.count()).select_from(Feedback))
    return session.scalar(stmt.where(Feedback.status.in_(OPEN), Feedback.due_on < today)) or 0


def read(user: Actor, item: Feedback) -> None:
    """Reads of sensitive complaints are audited (who, which, when)."""
    if item.sensitive:
        audit.record("feedback.sensitive.view", object_type="feedback", object_id=item.id)


def update(
    user: Actor, item: Feedback, *, status: str, assignee_id: int | None = None, response: str | None = None
) -> None:
    """Move an item on; the response is what the person reads with their code."""
    if not may_see(user, item):
        raise FeedbackError(_l("You cannot handle this message."))
    if status not in STATUSES:
        raise FeedbackError(_l("Choose a status."), field="status")
    response = _clean(response, field="response", required=False, limit=MAX_TEXT)
    if status == FeedbackStatus.ANSWERED and not (response or item.response_ct):
        raise FeedbackError(_l("Write the answer the person will read with their code."), field="response")
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if assignee is None or not (may_see(assignee, item)):
            raise FeedbackError(_l("Assign it to someone who may see it."), field="assignee_id")
        item.assignee_id = assignee_id
    if response:
        item.response = response
    if status == FeedbackStatus.ANSWERED and item.answered_on is None:
        item.answered_on = clock.today(item.centre.country)
    item.status = status
    audit.record("feedback.update", object_type="feedback", object_id=item.id, detail=status)


def kiosk_made(user: Actor, centre: Centre) -> None:
    """A centre manager made a device the centre's feedback kiosk (audited: who, for which centre)."""
    audit.record("feedback.kiosk_made", object_type="centre", object_id=centre.id, user_id=user.id)
