"""A job: one run of a registered task, its state and progress. The pages read these rows only."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.db import Base, utcnow


class JobState(StrEnum):
    """Where a job stands: waiting for a worker, running, finished well, or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


#: states a job no longer leaves
FINISHED = (JobState.DONE, JobState.FAILED)


class Job(Base):
    """One run of a task. Nothing personal is ever kept here: a task's outcome is a code and a number,
    a failure the exception's class name."""

    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_state_created", "state", "created_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: the registered task's name, e.g. "audit.verify"
    kind: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    #: a short argument the task understands (the kind of key a rotation replaces), never personal data
    argument: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    #: a JobState
    state: so.Mapped[str] = so.mapped_column(sa.String(16), default=JobState.QUEUED)
    #: progress: units of work done out of total (None while the task has not said)
    done: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    total: so.Mapped[int | None]
    #: the outcome: a code of the task's outcomes and a number it fills in
    outcome: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    outcome_count: so.Mapped[int | None]
    #: a failure: the exception's class name only (its text could carry a value)
    error: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    #: who asked for it (None: the schedule or the command line)
    requested_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: a scheduled run's slot ("audit.anchor@2026-12-02T17:31Z"): unique, so two schedulers queue it once
    slot: so.Mapped[str | None] = so.mapped_column(sa.String(96), unique=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    started_at: so.Mapped[dt.datetime | None]
    #: the last progress report (a running job whose heartbeat stops has lost its worker)
    updated_at: so.Mapped[dt.datetime | None]
    finished_at: so.Mapped[dt.datetime | None]

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def percent(self) -> int | None:
        """How far it got, 0-100 (None when the task has not said how much there is to do)."""
        if self.state == JobState.DONE:
            return 100
        if not self.total:
            return None
        return min(100, int(100 * self.done / self.total))
