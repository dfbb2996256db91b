"""What the jobs pages read and say: recent jobs, a job's words (its task, outcome, failure), and the
failures an administrator or the DPO must see."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from msc import numbers
from msc.db import session, utcnow
from msc.jobs import registry, runner
from msc.jobs.models import Job, JobState
from msc.security import audit
from msc.security.actor import Actor

#: how far back a failed job shows on the home page of admins and the DPO
FAILED_SHOWN = dt.timedelta(days=7)


def recent(limit: int = 50, routine: bool = False) -> list[Job]:
    """The newest jobs; without `routine`, each minute's routine runs only when they failed."""
    stmt = sa.select(Job).order_by(Job.id.desc()).limit(limit)
    if not routine:
        quiet = [t.name for t in registry.all_tasks() if t.routine]
        stmt = stmt.where(sa.or_(Job.kind.not_in(quiet), Job.state == JobState.FAILED))
    return list(session.scalars(stmt))


def failed_recently(limit: int = 5) -> list[Job]:
    """Jobs that failed in the last week, newest first."""
    return list(
        session.scalars(
            sa.select(Job)
            .where(Job.state == JobState.FAILED, Job.created_at >= utcnow() - FAILED_SHOWN)
            .order_by(Job.id.desc())
            .limit(limit)
        )
    )


def runnable() -> list[registry.Task]:
    """The tasks a person may start from the jobs page."""
    return [t for t in registry.all_tasks() if t.run_now]


def run_now(user: Actor, name: str) -> Job:
    """Queue a run of a task the jobs page offers, on behalf of `user` (audited)."""
    if not registry.known(name) or not registry.get(name).run_now:
        raise runner.JobError(f"{name} cannot be started by hand")
    job = runner.enqueue(name, user)
    audit.record("jobs.run", object_type="job", object_id=job.id, detail=name, user_id=user.id)
    return job


def title(job: Job) -> str:
    """What the job does, in the reader's language."""
    return str(registry.get(job.kind).title) if registry.known(job.kind) else job.kind


def state_label(job: Job) -> str:
    labels = {
        JobState.QUEUED: _("Waiting"),
        JobState.RUNNING: _("Running"),
        JobState.DONE: _("Done"),
        JobState.FAILED: _("Failed"),
    }
    return str(labels[JobState(job.state)])


def summary(job: Job) -> str:
    """One sentence on where the job stands or what it came to (nothing personal: a code and a number)."""
    if job.outcome and registry.known(job.kind):
        sentence = registry.get(job.kind).outcomes.get(job.outcome)
        if sentence is not None:
            return str(sentence) % {"num": job.outcome_count or 0}
    return str(_sentence(job))


def _sentence(job: Job) -> object:
    if job.state == JobState.FAILED:
        if job.error == "WorkerLost":
            return _("The worker running it stopped before it finished. Start it again.")
        return _(
            "It stopped on an error (%(error)s). The error was reported to the operators; nothing personal was kept.",
            error=job.error or "?",
        )
    if job.state == JobState.QUEUED:
        return _("Waiting for the worker.")
    if job.state == JobState.RUNNING:
        if job.total:
            return _("Progress: %(done)d of %(total)d.", done=job.done, total=job.total)
        return _("Running.")
    return _("Done.")


def status_json(job: Job) -> dict[str, object]:
    """A job's state for a script: state, finished, progress, and the sentence the page shows."""
    return {
        "id": job.id,
        "state": job.state,
        "finished": job.finished,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "percent_text": numbers.percent(job.percent / 100) if job.percent is not None else "",
        "label": f"{state_label(job)}: {summary(job)}",
    }
