"""The runner's own task: forgetting old jobs."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from msc.db import session, utcnow
from msc.jobs import registry
from msc.jobs.models import FINISHED, Job
from msc.jobs.registry import Context, Outcome, task

#: finished routine runs (each minute's) are kept this long; other jobs JOBS_KEEP_DAYS
ROUTINE_KEEP = dt.timedelta(days=1)


@task(
    "jobs.prune",
    _l("Forget old jobs"),
    outcomes={"pruned": _l("Old jobs forgotten: %(num)d.")},
    routine=True,
)
def prune(ctx: Context) -> Outcome:
    """Delete finished jobs older than JOBS_KEEP_DAYS, and finished routine runs older than a day."""
    now = utcnow()
    routine = [t.name for t in registry.all_tasks() if t.routine]
    old = now - dt.timedelta(days=int(current_app.config["JOBS_KEEP_DAYS"]))
    gone = session.execute(
        sa.delete(Job).where(
            Job.state.in_(FINISHED),
            sa.or_(Job.created_at < old, sa.and_(Job.kind.in_(routine), Job.created_at < now - ROUTINE_KEEP)),
        )
    ).rowcount  # type: ignore[attr-defined]
    return Outcome("pruned", gone)
