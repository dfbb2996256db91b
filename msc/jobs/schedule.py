"""The schedule: which task runs when (JOBS_SCHEDULE, task name -> rule), and the loop that queues each
slot of it once.

Rules are "every minute", "every N minutes" (slots aligned on UTC), or "daily at HH:MM" (in the
installation's zone, BABEL_DEFAULT_TIMEZONE, msc.clock). A slot is the period a run belongs to
("audit.anchor@2026-12-02T17:31Z", "reports.check@2026-12-02"); jobs.slot is unique, so however many
workers run the schedule, each slot is queued once. A slot missed while no worker ran is not made up,
except that a daily task whose hour passed today while nothing ran runs when a worker starts.

A feature adds a scheduled task by registering it (msc.jobs.registry.task) and naming it here, e.g.
    JOBS_SCHEDULE = {..., "referrals.remind": "daily at 07:00"}
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app

from msc import clock
from msc.db import session, utcnow
from msc.jobs import registry, runner
from msc.jobs.models import Job, JobState
from msc.ops import errors

log = logging.getLogger("msc.jobs")

#: names of the schedule that no feature registers, already logged
_UNKNOWN: set[str] = set()
_EVERY = re.compile(r"^every (?:(\d+) )?minutes?$")
_DAILY = re.compile(r"^daily at ([01]\d|2[0-3]):([0-5]\d)$")


class ScheduleError(ValueError):
    """A rule of JOBS_SCHEDULE that means nothing."""


@dataclass(frozen=True)
class Every:
    """Each N minutes, on UTC boundaries."""

    minutes: int


@dataclass(frozen=True)
class Daily:
    """Once a day, at a time of the installation's zone."""

    at: dt.time


Rule = Every | Daily


def parse(text: str) -> Rule:
    """A rule from its words: "every minute", "every 5 minutes", "daily at 03:00"."""
    words = " ".join(str(text).lower().split())
    if m := _EVERY.match(words):
        minutes = int(m.group(1) or 1)
        if not 1 <= minutes <= 24 * 60:
            raise ScheduleError(f"{text!r}: between every minute and every {24 * 60} minutes")
        return Every(minutes)
    if m := _DAILY.match(words):
        return Daily(dt.time(int(m.group(1)), int(m.group(2))))
    raise ScheduleError(f'{text!r}: write "every minute", "every N minutes" or "daily at HH:MM"')


def entries(config: Mapping[str, object]) -> dict[str, Rule]:
    """The configured schedule, parsed (ScheduleError names the first rule that means nothing)."""
    raw = config.get("JOBS_SCHEDULE") or {}
    if not isinstance(raw, Mapping):
        raise ScheduleError("JOBS_SCHEDULE must map task names to rules")
    return {str(name): parse(str(rule)) for name, rule in raw.items()}


def slot(name: str, rule: Rule, now: dt.datetime) -> str | None:
    """The slot of `name` that is due at `now`, or None (a daily task before its time)."""
    if isinstance(rule, Every):
        minute = int(now.astimezone(dt.UTC).timestamp() // 60)
        start = dt.datetime.fromtimestamp((minute - minute % rule.minutes) * 60, dt.UTC)
        return f"{name}@{start:%Y-%m-%dT%H:%MZ}"
    local = now.astimezone(clock.default_zone())
    if local.time() < rule.at:
        return None
    return f"{name}@{local.date().isoformat()}"


def tick(now: dt.datetime | None = None) -> list[int]:
    """Queue every slot that is due and not yet queued (by this or any other scheduler); commit. Also hand
    over again what was queued long ago and never started (a backend that lost it), and mark failed a
    running job whose worker stopped reporting. The ids of the jobs queued now."""
    config = current_app.config
    now = now or utcnow()
    queued = []
    for name, rule in entries(config).items():
        if not registry.known(name):
            if name not in _UNKNOWN:  # once per process, not at every tick
                _UNKNOWN.add(name)
                log.warning("the schedule names %s, which no feature registers", name)
            continue
        task = registry.get(name)
        if task.enabled_by and not config.get(task.enabled_by):
            continue
        due = slot(name, rule, now)
        if due is not None and (job_id := runner.enqueue_slot(name, due)) is not None:
            queued.append(job_id)
    _requeue_forgotten(now)
    _fail_lost(now)
    session.commit()
    return queued


def _requeue_forgotten(now: dt.datetime) -> None:
    cutoff = now - dt.timedelta(seconds=int(current_app.config["JOBS_REQUEUE_SECONDS"]))
    ids = list(
        session.scalars(
            sa.select(Job.id).where(Job.state == JobState.QUEUED, Job.created_at < cutoff).order_by(Job.id).limit(50)
        )
    )
    if ids:
        session.info.setdefault(runner.PENDING, []).extend(ids)


def _fail_lost(now: dt.datetime) -> None:
    cutoff = now - dt.timedelta(minutes=int(current_app.config["JOBS_LOST_MINUTES"]))
    lost = session.execute(
        sa.update(Job)
        .where(Job.state == JobState.RUNNING, sa.func.coalesce(Job.updated_at, Job.started_at) < cutoff)
        .values(state=JobState.FAILED, error="WorkerLost", finished_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if lost:
        log.error("%d running jobs lost their worker", lost)


def loop(app: Flask, stop: threading.Event) -> None:
    """Tick every JOBS_TICK_SECONDS until `stop` is set; an error is logged and reported, never fatal."""
    seconds = float(app.config["JOBS_TICK_SECONDS"])
    while True:
        try:
            with app.app_context():
                tick()
        except Exception as err:
            log.error("the schedule could not run: %s", type(err).__name__)
            errors.report(err)
        if stop.wait(seconds):
            return


def start_thread(app: Flask) -> threading.Event:
    """Run the schedule in a daemon thread of this process; set the event it returns to stop it."""
    stop = threading.Event()
    threading.Thread(target=loop, args=(app, stop), name="msc-schedule", daemon=True).start()
    return stop
