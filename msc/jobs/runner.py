"""Queue a job, hand its id to a backend once the queuing transaction commits, run it.

Backends (JOBS_BACKEND):
- "rq": an RQ queue on Redis (production); `flask worker` runs an RQ SimpleWorker (no fork) in the app.
- "thread": a thread of the process that queued the job runs it (the embedded default: `make run` on
  SQLite); `flask worker` on this backend runs what is queued in the database.
- "inline": nothing runs by itself; run_queued() runs what is queued, in the caller (the tests).

A backend only ever carries a job's id. Whoever runs a job first claims it (queued -> running, one
UPDATE), so a job handed over twice (a re-queue after Redis lost it) still runs once.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable
from typing import Protocol

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app, has_app_context

from msc.db import insert_for, session, utcnow
from msc.jobs import registry
from msc.jobs.models import Job, JobState
from msc.jobs.registry import Context, JobFailed, Outcome
from msc.ops import errors
from msc.security.actor import SYSTEM, Actor
from msc.security.models import User
from msc.settings import jobs_redis_url

log = logging.getLogger("msc.jobs")

#: session.info key: ids of jobs queued in this transaction, handed to the backend once it commits
PENDING = "msc.jobs.pending"


class JobError(Exception):
    """A job cannot be queued (an unknown task)."""


# ---- queuing ---------------------------------------------------------------------------------------


def enqueue(kind: str, user: Actor | None = None, argument: str | None = None) -> Job:
    """Queue a run of the task `kind`; it starts once the caller's transaction commits."""
    if not registry.known(kind):
        raise JobError(f"no task named {kind!r}")
    job = Job(kind=kind, argument=argument, state=JobState.QUEUED, requested_by_id=user.id if user else None)
    session.add(job)
    session.flush()
    session.info.setdefault(PENDING, []).append(job.id)
    return job


def enqueue_slot(kind: str, slot: str) -> int | None:
    """Queue the scheduled run `slot` of a task unless a job already holds that slot (another worker's
    scheduler got there first): the id of the new job, or None."""
    bind = session.connection()
    stmt = (
        insert_for(bind)(Job)
        .values(kind=kind, state=JobState.QUEUED, slot=slot, done=0, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["slot"])
        .returning(Job.id)
    )
    job_id = session.execute(stmt).scalar()
    if job_id is not None:
        session.info.setdefault(PENDING, []).append(job_id)
    return job_id


def register_listeners() -> None:
    """Hand the jobs a transaction queued to the backend once it commits (never before: a worker would
    not find the row), and forget them if it rolls back. Once per process, like the audit's listeners."""
    if sa.event.contains(so.Session, "after_commit", _after_commit):
        return
    sa.event.listen(so.Session, "after_commit", _after_commit)
    sa.event.listen(so.Session, "after_rollback", _after_rollback)


def _after_commit(db_session: so.Session) -> None:
    ids = db_session.info.pop(PENDING, None)
    if not ids or not has_app_context():
        return
    try:
        backend(current_app._get_current_object()).submit(ids)  # type: ignore[attr-defined]
    except Exception as err:  # the jobs stay queued in the database: the scheduler hands them over again
        log.error(
            "could not hand jobs %s to the %s backend: %s", ids, current_app.config["JOBS_BACKEND"], type(err).__name__
        )
        errors.report(err)


def _after_rollback(db_session: so.Session) -> None:
    db_session.info.pop(PENDING, None)


# ---- backends -------------------------------------------------------------------------------------


class Backend(Protocol):
    def submit(self, ids: Iterable[int]) -> None: ...


class InlineBackend:
    """Jobs wait in the database until run_queued() runs them (tests)."""

    def submit(self, ids: Iterable[int]) -> None:
        return None


class ThreadBackend:
    """One daemon thread per app runs the jobs of this process one after another (SQLite has one writer)."""

    def __init__(self, app: Flask):
        self.app = app
        self.queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, ids: Iterable[int]) -> None:
        for job_id in ids:
            self.queue.put(job_id)
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="msc-jobs", daemon=True)
                self.thread.start()

    def _loop(self) -> None:
        while True:
            job_id = self.queue.get()
            try:
                with self.app.app_context():
                    perform(job_id)
            except Exception:  # perform() keeps its failures; this is the database gone away
                log.exception("job %s could not run", job_id)


class RQBackend:
    """An RQ queue on Redis: the job's id is all it carries."""

    def __init__(self, app: Flask):
        from redis import Redis
        from rq import Queue

        self.redis = Redis.from_url(jobs_redis_url(app.config) or "")
        self.queue = Queue(app.config["JOBS_QUEUE"], connection=self.redis)
        self.timeout = int(app.config["JOBS_TIMEOUT_SECONDS"])

    def submit(self, ids: Iterable[int]) -> None:
        for job_id in ids:
            self.queue.enqueue(
                "msc.jobs.runner.run_in_worker",
                job_id,
                job_timeout=self.timeout,
                result_ttl=0,
                failure_ttl=7 * 24 * 3600,
                description=f"msc job {job_id}",
            )


def backend(app: Flask) -> Backend:
    """The app's backend, made on first use."""
    found: Backend | None = app.extensions.get("msc.jobs.backend")
    if found is None:
        name = app.config["JOBS_BACKEND"]
        if name == "rq":
            found = RQBackend(app)
        elif name == "thread":
            found = ThreadBackend(app)
        else:
            found = InlineBackend()
        app.extensions["msc.jobs.backend"] = found
    return found


# ---- running ---------------------------------------------------------------------------------------


def run_in_worker(job_id: int) -> None:
    """What the RQ worker calls: run the job in an application context of its own (its own session)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():
        perform(job_id)


def perform(job_id: int) -> str | None:
    """Claim a queued job and run it to its end: done, or failed with nothing personal kept (the
    exception's class; the error itself goes to error reporting, which drops its text). The state it
    ended in, or None when another worker had claimed it."""
    now = utcnow()
    claimed = session.execute(
        sa.update(Job)
        .where(Job.id == job_id, Job.state == JobState.QUEUED)
        .values(state=JobState.RUNNING, started_at=now, updated_at=now)
    ).rowcount  # type: ignore[attr-defined]
    session.commit()
    if not claimed:
        return None
    job = session.get(Job, job_id)
    assert job is not None
    kind = job.kind
    try:
        task = registry.get(kind)
        outcome = task.func(Context(job, _actor(job)))
    except JobFailed as err:
        session.rollback()
        log.error("job %s (%s) failed: %s", job_id, kind, err.outcome.code)
        errors.report(err)
        return _finish(job_id, JobState.FAILED, err.outcome, None)
    except Exception as err:
        session.rollback()
        log.error("job %s (%s) failed: %s", job_id, kind, type(err).__name__)
        errors.report(err)
        return _finish(job_id, JobState.FAILED, None, type(err).__name__)
    log.info("job %s (%s) done", job_id, kind)
    return _finish(job_id, JobState.DONE, outcome, None)


def _actor(job: Job) -> Actor:
    if job.requested_by_id is None:
        return SYSTEM
    user = session.get(User, job.requested_by_id)
    return user if user is not None else SYSTEM


def _finish(job_id: int, state: JobState, outcome: Outcome | None, error: str | None) -> str:
    job = session.get(Job, job_id)
    assert job is not None
    job.state = state
    job.finished_at = job.updated_at = utcnow()
    if outcome is not None:
        job.outcome, job.outcome_count = outcome.code[:32], outcome.count
    job.error = error[:100] if error else None
    session.commit()
    return state


def next_queued() -> int | None:
    """The oldest queued job's id."""
    return session.scalar(sa.select(Job.id).where(Job.state == JobState.QUEUED).order_by(Job.id).limit(1))


def run_queued(limit: int | None = None) -> int:
    """Run the queued jobs, oldest first, in this process (the tests; `flask worker` without Redis):
    how many ran."""
    ran = 0
    while limit is None or ran < limit:
        job_id = next_queued()
        if job_id is None:
            break
        perform(job_id)
        ran += 1
    return ran
