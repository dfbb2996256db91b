"""The DPO's view of the audit log: search by user, record, action and period; the figures that need
attention; the last walk of the chain. Metadata only: the log never holds personal data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from msc import clock
from msc.crypto import rotation
from msc.crypto.keys import keyring
from msc.db import Listing, listing, session, utcnow
from msc.dpo.models import AuditCheck
from msc.security import audit, witness
from msc.security.actor import SYSTEM, Actor
from msc.security.emergency import BreakGlass, ReviewOutcome
from msc.security.models import AuditEvent, User

PAGE = 100

#: what the dashboard counts, by the actions that make it
WATCHED = {
    "failed_logins": ("login.failed", "login.mfa_failed"),
    "lockouts": ("login.lockout",),
    "denials": ("access.denied", "access.out_of_scope"),
    "break_glass": ("access.break_glass", "access.break_glass_request"),
    "consent_withdrawals": ("consent.withdrawn",),
    "key_rotations": ("keys.rotate", "keys.index_rotate", "keys.retire"),
}


@dataclass
class AuditQuery:
    user: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: int | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    #: whose calendar the start and end days are (the viewer's country; None: the default zone)
    country: str | None = None


def object_types() -> list[str]:
    return [
        t
        for t in session.scalars(
            sa.select(AuditEvent.object_type)
            .where(AuditEvent.object_type.is_not(None))
            .distinct()
            .order_by(AuditEvent.object_type)
        )
        if t is not None
    ]


def search(q: AuditQuery, limit: int = PAGE) -> Listing:
    """Records of the log matching every given filter, newest first."""
    stmt = sa.select(AuditEvent)
    if q.user:
        stmt = stmt.where(AuditEvent.user_id.in_(sa.select(User.id).where(User.username == q.user.strip())))
    if q.action:
        stmt = stmt.where(AuditEvent.action.startswith(q.action.strip(), autoescape=True))
    if q.object_type:
        stmt = stmt.where(AuditEvent.object_type == q.object_type)
    if q.object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == str(q.object_id))
    if q.start:
        stmt = stmt.where(AuditEvent.at >= clock.start_of(q.start, q.country))
    if q.end:
        stmt = stmt.where(AuditEvent.at < clock.start_of(q.end + dt.timedelta(days=1), q.country))
    return listing(stmt.order_by(AuditEvent.seq.desc()), limit)


def users_by_id(events: Iterable[AuditEvent]) -> dict[int, User]:
    ids = {e.user_id for e in events if e.user_id}
    return {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(ids or [-1])))}


@dataclass
class Summary:
    days: int
    counts: dict[str, int]
    exports: int
    awaiting_review: int
    not_justified: int
    last_check: AuditCheck | None
    keys_by_kek: dict[str, int]
    destroyed_keys: int
    active_kek: str
    rotations: list[rotation.KeyRotation]  # key rotations under way


def summary(days: int = 30) -> Summary:
    since = utcnow() - dt.timedelta(days=days)
    recent = sa.and_(AuditEvent.at >= since)
    counts = {
        name: session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(recent, AuditEvent.action.in_(actions))
        )
        or 0
        for name, actions in WATCHED.items()
    }
    exports = (
        session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(recent, AuditEvent.action.endswith(".export"))
        )
        or 0
    )
    awaiting = (
        session.scalar(sa.select(sa.func.count()).select_from(BreakGlass).where(BreakGlass.outcome.is_(None))) or 0
    )
    refused = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(BreakGlass)
            .where(BreakGlass.outcome == ReviewOutcome.NOT_JUSTIFIED, BreakGlass.reviewed_at >= since)
        )
        or 0
    )
    by_kek = rotation.keys_by_kek()
    destroyed = rotation.destroyed_keys()
    under_way = [job for job in (rotation.running(rotation.KEK), rotation.running(rotation.INDEX)) if job is not None]
    return Summary(
        days, counts, exports, awaiting, refused, last_check(), by_kek, destroyed, keyring().active_kek, under_way
    )


def recent_exports(days: int = 30, limit: int = 5) -> Listing:
    """Downloads and exports of the last days (the audit events that record them), newest first."""
    since = utcnow() - dt.timedelta(days=days)
    stmt = sa.select(AuditEvent).where(AuditEvent.at >= since, AuditEvent.action.endswith(".export"))
    return listing(stmt.order_by(AuditEvent.seq.desc()), limit)


def last_check() -> AuditCheck | None:
    return session.scalar(sa.select(AuditCheck).order_by(AuditCheck.id.desc()).limit(1))


def check_chain(user: Actor = SYSTEM, extra_witnesses: Iterable[Path] = ()) -> tuple[AuditCheck, audit.VerifyResult]:
    """Walk the audit chain now, compare it with its witness, and keep the result (the page and `flask
    audit verify` both do); once this commits, the head is written to the witness."""
    result = audit.verify(extra_witnesses)
    found = AuditCheck(
        user_id=user.id,
        ok=result.ok,
        checked=result.checked,
        broken_seq=result.broken_seq,
        reason=(result.reason or "")[:200] or None,
    )
    session.add(found)
    audit.record("audit.verify", detail=f"{'ok' if result.ok else 'broken'}:{result.checked}")
    witness.due(now=True)
    return found, result
