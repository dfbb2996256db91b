"""Feedback reports: satisfaction per centre and service by month, messages by kind and status, and the
share answered within the deadline. Aggregates of what the user may see (sensitive kinds only for focal
points), counts under 5 suppressed; nothing is decrypted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from msc.centres.models import Centre
from msc.db import session
from msc.exports import suppress
from msc.feedback.models import Feedback
from msc.feedback.service import visible
from msc.numbers import Measure, Share
from msc.security.actor import Actor


def _month() -> sa.ColumnElement[str]:
    # Literal positions: PostgreSQL matches the GROUP BY expression to the selected one only when they
    # are written the same, and bound parameters would be numbered apart.
    return sa.func.substr(sa.cast(Feedback.received_on, sa.String), sa.literal_column("1"), sa.literal_column("7"))


@dataclass
class Satisfaction:
    centre: str
    service: str | None
    month: str
    answers: int
    total: int

    @property
    def average(self) -> Measure | str:
        """The mean rating, shown only from 5 answers."""
        return Measure(self.total / self.answers) if self.answers >= 5 else "—"

    @property
    def shown_answers(self) -> int | str:
        return suppress(self.answers)


def satisfaction(user: Actor, start: dt.date, end: dt.date) -> list[Satisfaction]:
    stmt = visible(
        user,
        sa.select(Centre.code, Feedback.service, _month(), sa.func.count(), sa.func.sum(Feedback.rating)).join(
            Centre, Centre.id == Feedback.centre_id
        ),
    ).where(Feedback.kind == "survey", Feedback.received_on >= start, Feedback.received_on <= end)
    stmt = stmt.group_by(Centre.code, Feedback.service, _month()).order_by(Centre.code, Feedback.service, _month())
    return [Satisfaction(c, s, m, int(n), int(t or 0)) for c, s, m, n, t in session.execute(stmt)]


@dataclass
class KindStatus:
    centre: str
    kind: str
    status: str
    count: int


def by_kind_and_status(user: Actor, start: dt.date, end: dt.date) -> list[KindStatus]:
    stmt = visible(
        user,
        sa.select(Centre.code, Feedback.kind, Feedback.status, sa.func.count()).join(
            Centre, Centre.id == Feedback.centre_id
        ),
    ).where(Feedback.kind != "survey", Feedback.received_on >= start, Feedback.received_on <= end)
    stmt = stmt.group_by(Centre.code, Feedback.kind, Feedback.status).order_by(
        Centre.code, Feedback.kind, Feedback.status
    )
    return [KindStatus(centre, kind, status, int(n)) for centre, kind, status, n in session.execute(stmt)]


@dataclass
class Timeliness:
    centre: str
    due: int
    in_time: int

    @property
    def share(self) -> Share | str:
        return Share(self.in_time, self.due, digits=0) if self.due >= 5 else "—"


def answered_in_time(user: Actor, start: dt.date, end: dt.date, today: dt.date) -> list[Timeliness]:
    """Of the messages whose deadline has passed (or that were answered), how many were answered in time."""
    in_time = sa.case((sa.and_(Feedback.answered_on.is_not(None), Feedback.answered_on <= Feedback.due_on), 1), else_=0)
    stmt = visible(
        user,
        sa.select(Centre.code, sa.func.count(), sa.func.sum(in_time)).join(Centre, Centre.id == Feedback.centre_id),
    ).where(
        Feedback.due_on.is_not(None),
        Feedback.received_on >= start,
        Feedback.received_on <= end,
        sa.or_(Feedback.due_on < today, Feedback.answered_on.is_not(None)),
    )
    stmt = stmt.group_by(Centre.code).order_by(Centre.code)
    return [Timeliness(c, int(n), int(k or 0)) for c, n, k in session.execute(stmt)]
