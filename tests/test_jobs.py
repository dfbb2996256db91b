"""The job runner: tasks, queuing after commit, progress, failures without personal data, the schedule's
slots, the thread and RQ backends, `flask worker`, and the jobs pages."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import time
import uuid

import pytest
import sqlalchemy as sa

from msc import create_app
from msc.db import session
from msc.jobs import runner, schedule
from msc.jobs.models import Job, JobState
from msc.jobs.registry import JobFailed, Outcome, task
from msc.ops import errors
from msc.security.models import AuditEvent
from msc.settings import ConfigurationError, check_production
from tests.conftest import _new_app
from tests.test_access import login_as

NAME = "Yorleidys Contreras"
REDIS_URL = os.environ.get("MSC_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


@task("test.count", "Count", outcomes={"counted": "%(num)d counted"}, run_now=False)
def _count(ctx):
    seen = []
    for i in range(3):
        ctx.progress(i + 1, 3)
        # another connection sees the progress at once: progress() commits
        with ctx_engine().connect() as conn:
            seen.append(conn.scalar(sa.select(Job.done).where(Job.id == ctx.job.id)))
    _count.seen = seen
    return Outcome("counted", 3)


@task("test.boom", "Boom")
def _boom(ctx):
    session.add(AuditEvent(action="never.kept", detail="x"))  # rolled back with the failure
    raise ValueError(f"duplicate key (document)=(V-20111222) for {NAME}")


@task("test.check", "Check", outcomes={"bad": "%(num)d wrong"})
def _check(ctx):
    raise JobFailed("bad", 7)


def ctx_engine():
    from flask import current_app

    return current_app.extensions["msc.engine"]


@pytest.fixture
def reported(monkeypatch):
    found: list[BaseException] = []
    monkeypatch.setattr(errors, "report", found.append)
    return found


def _job(app, job_id) -> Job:
    with app.app_context():
        return session.get(Job, job_id)


# ---- the registry, progress, failures ---------------------------------------------------------------


def test_a_task_runs_once_its_transaction_commits_and_reports_progress(app):
    with app.app_context():
        job = runner.enqueue("test.count")
        assert job.state == JobState.QUEUED
        session.commit()
        assert runner.run_queued() == 1
        assert runner.run_queued() == 0
    job = _job(app, job.id)
    assert (job.state, job.done, job.total, job.outcome, job.outcome_count) == ("done", 3, 3, "counted", 3)
    assert job.started_at <= job.finished_at and job.error is None and job.percent == 100
    assert _count.seen == [1, 2, 3]


def test_an_unknown_task_cannot_be_queued(app):
    with app.app_context(), pytest.raises(runner.JobError):
        runner.enqueue("no.such.task")


def test_a_failure_keeps_the_exception_class_and_nothing_personal(app, reported, caplog):
    caplog.set_level(logging.INFO, logger="msc.jobs")
    with app.app_context():
        job_id = runner.enqueue("test.boom").id
        session.commit()
        runner.run_queued()
        assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "never.kept")) is None
    job = _job(app, job_id)
    assert (job.state, job.error, job.outcome) == ("failed", "ValueError", None)
    row = json.dumps({c.key: str(getattr(job, c.key)) for c in Job.__table__.columns})
    assert "Yorleidys" not in row and "V-2011" not in row
    assert "Yorleidys" not in caplog.text and "ValueError" in caplog.text
    assert [type(e).__name__ for e in reported] == ["ValueError"]


def test_a_check_that_fails_says_so_in_its_own_words(app, reported):
    with app.app_context():
        job_id = runner.enqueue("test.check").id
        session.commit()
        runner.run_queued()
        job = session.get(Job, job_id)
        from msc.jobs import service

        assert (job.state, job.outcome, job.outcome_count) == ("failed", "bad", 7)
        assert service.summary(job) == "7 wrong"
    assert len(reported) == 1


def test_a_job_reaches_the_backend_only_after_commit_and_runs_once(app):
    handed: list[list[int]] = []

    class Recording:
        def submit(self, ids):
            handed.append(list(ids))

    app.extensions["msc.jobs.backend"] = Recording()
    with app.app_context():
        runner.enqueue("test.count")
        session.rollback()
        assert handed == []
        job_id = runner.enqueue("test.count").id
        assert handed == []
        session.commit()
        assert handed == [[job_id]]
        assert runner.perform(job_id) == "done"
        assert runner.perform(job_id) is None  # handed over twice: claimed once


# ---- the schedule -------------------------------------------------------------------------------


def test_schedule_rules_and_their_slots(app):
    assert schedule.parse("every minute") == schedule.Every(1)
    assert schedule.parse("Every 15 minutes") == schedule.Every(15)
    assert schedule.parse("daily at 07:00") == schedule.Daily(dt.time(7, 0))
    for bad in ("hourly", "daily at 25:00", "every 0 minutes", "daily 7"):
        with pytest.raises(schedule.ScheduleError):
            schedule.parse(bad)
    at = dt.datetime(2026, 12, 2, 17, 44, 30, tzinfo=dt.UTC)
    with app.app_context():  # Bogotá is UTC-5: 12:44 there
        assert schedule.slot("a", schedule.Every(1), at) == "a@2026-12-02T17:44Z"
        assert schedule.slot("a", schedule.Every(15), at) == "a@2026-12-02T17:30Z"
        assert schedule.slot("r", schedule.Daily(dt.time(12, 0)), at) == "r@2026-12-02"
        assert schedule.slot("r", schedule.Daily(dt.time(13, 0)), at) is None
        late = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)  # 21:00 on the 2nd in Bogotá
        assert schedule.slot("r", schedule.Daily(dt.time(13, 0)), late) == "r@2026-12-02"


def test_a_schedule_that_means_nothing_stops_the_app(tmp_path, db_url, keys_file):
    own = tmp_path / "keys.json"
    shutil.copyfile(keys_file, own)
    with pytest.raises(ConfigurationError, match="JOBS_SCHEDULE"):
        _new_app(tmp_path, db_url, own, JOBS_SCHEDULE={"audit.verify": "now and then"})


def test_two_schedulers_queue_each_slot_once(app):
    other = create_app(
        "testing",
        {
            "INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": app.config["DATABASE_URL"],
            "KEYS_FILE": app.config["KEYS_FILE"],
        },
    )
    at = dt.datetime(2026, 12, 2, 9, 0, 10, tzinfo=dt.UTC)  # 04:00 in Bogotá: past 02:00, 03:00 and 03:30
    try:
        with app.app_context():
            first = schedule.tick(at)
        with other.app_context():
            second = schedule.tick(at + dt.timedelta(seconds=20))
        with app.app_context():
            kinds = sorted(session.scalars(sa.select(Job.kind)))
            assert second == [] and len(first) == len(kinds)
            # retention is off outside production (RETENTION_AUTO)
            assert kinds == [
                "audit.anchor",
                "audit.verify",
                "continuity.escalate",
                "exports.purge",
                "jobs.prune",
                "reports.check",
                "webhooks.deliver",
            ]
            later = schedule.tick(at + dt.timedelta(minutes=1))
            assert sorted(session.get(Job, i).kind for i in later) == [
                "audit.anchor",
                "exports.purge",
                "webhooks.deliver",
            ]
    finally:
        other.extensions["msc.engine"].dispose()


def test_retention_runs_on_the_schedule_when_it_is_switched_on(app):
    app.config["RETENTION_AUTO"] = True
    app.config["JOBS_SCHEDULE"] = {"dpo.retention": "daily at 02:00"}
    with app.app_context():
        [job_id] = schedule.tick(dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC))
        runner.run_queued()
        job = session.get(Job, job_id)
        assert (job.kind, job.state, job.outcome, job.outcome_count) == ("dpo.retention", "done", "anonymised", 0)


def test_a_job_whose_worker_stopped_is_marked_failed_and_a_forgotten_one_handed_over_again(app):
    handed: list[int] = []

    class Recording:
        def submit(self, ids):
            handed.extend(ids)

    app.extensions["msc.jobs.backend"] = Recording()
    app.config["JOBS_SCHEDULE"] = {}
    now = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
    with app.app_context():
        old = now - dt.timedelta(hours=3)
        lost = Job(kind="test.count", state=JobState.RUNNING, created_at=old, started_at=old, updated_at=old)
        forgotten = Job(kind="test.count", state=JobState.QUEUED, created_at=now - dt.timedelta(minutes=10))
        session.add_all([lost, forgotten])
        session.commit()
        handed.clear()
        schedule.tick(now)
        assert handed == [forgotten.id]
        session.refresh(lost)
        assert (lost.state, lost.error) == ("failed", "WorkerLost")


# ---- the scheduled tasks ------------------------------------------------------------------------


def test_the_nightly_and_minute_tasks(app, make, reported):
    make.person(given_names="Ana", family_names="Rojas")
    with app.app_context():
        ids = {k: runner.enqueue(k).id for k in ("audit.anchor", "audit.verify", "exports.purge", "reports.check")}
        session.commit()
        runner.run_queued()
        jobs = {k: session.get(Job, i) for k, i in ids.items()}
        assert {k: j.state for k, j in jobs.items()} == dict.fromkeys(ids, "done")
        assert jobs["audit.verify"].outcome == "intact" and jobs["audit.verify"].outcome_count > 0
        assert jobs["audit.anchor"].outcome in ("witnessed", "unchanged")
        assert jobs["reports.check"].outcome == "ok"
        # a dashboard count that no longer adds up fails the nightly check
        from msc.reports.models import ReportCount

        session.execute(sa.update(ReportCount).values(n=ReportCount.n + 1))
        session.commit()
        job_id = runner.enqueue("reports.check").id
        session.commit()
        runner.run_queued()
        job = session.get(Job, job_id)
        assert (job.state, job.outcome) == ("failed", "differ") and job.outcome_count > 0
    assert len(reported) == 1


# ---- backends --------------------------------------------------------------------------------------


def _wait_finished(app, job_id, seconds=15.0) -> Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = _job(app, job_id)
        if job.finished:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job.state}")


def test_the_thread_backend_runs_a_job_in_this_process_after_commit(app):
    app.config["JOBS_BACKEND"] = "thread"
    with app.app_context():
        job_id = runner.enqueue("test.count").id
        time.sleep(0.1)
        assert session.get(Job, job_id).state == JobState.QUEUED  # not before the commit
        session.commit()
    assert _wait_finished(app, job_id).state == JobState.DONE


@pytest.fixture
def redis_queue(app):
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    name = f"msc-jobs-test-{uuid.uuid4().hex[:8]}"
    app.config.update(JOBS_BACKEND="rq", JOBS_REDIS_URL=REDIS_URL, JOBS_QUEUE=name)
    yield name
    from rq import Queue

    Queue(name, connection=client).delete(delete_jobs=True)
    client.close()


def test_the_rq_backend_carries_the_job_id_to_a_worker(app, redis_queue):
    from rq import SimpleWorker

    with app.app_context():
        job_id = runner.enqueue("test.count").id
        backend = runner.backend(app)
        assert backend.queue.count == 0  # nothing before the commit
        session.commit()
        assert backend.queue.count == 1
        assert backend.queue.jobs[0].args == (job_id,)
        SimpleWorker([backend.queue], connection=backend.redis).work(burst=True, logging_level="WARNING")
        assert backend.queue.count == 0
    job = _job(app, job_id)
    assert (job.state, job.done, job.outcome) == ("done", 3, "counted")


def test_flask_worker_runs_what_is_queued(app, redis_queue):
    from flask.cli import ScriptInfo

    from msc.jobs.worker import worker

    with app.app_context():
        job_id = runner.enqueue("audit.verify").id
        session.commit()
    res = app.test_cli_runner().invoke(worker, ["--burst"], obj=ScriptInfo(create_app=lambda: app))
    assert res.exit_code == 0, res.output
    assert _job(app, job_id).state == JobState.DONE
    app.config["JOBS_BACKEND"] = "inline"  # without Redis: what is queued in the database
    with app.app_context():
        job_id = runner.enqueue("audit.verify").id
        session.commit()
    res = app.test_cli_runner().invoke(worker, ["--burst"], obj=ScriptInfo(create_app=lambda: app))
    assert res.exit_code == 0 and "inline backend" in res.output
    assert _job(app, job_id).state == JobState.DONE


def test_production_refuses_the_rq_backend_without_redis():
    from tests.test_config import PUBLIC, STRONG

    base = {
        "SECRET_KEY": STRONG,
        "KEYS_FILE": "/k.json",
        "KEYS_FILE_PENDING": True,
        "DATABASE_URL": "postgresql+psycopg://msc@db/msc",
        "AUDIT_WITNESS_FILE": "/w.log",
        "PUBLIC_URL": PUBLIC,
        "JOBS_BACKEND": "rq",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    with pytest.raises(ConfigurationError, match="MSC_JOBS_REDIS_URL"):
        check_production(base)
    check_production({**base, "JOBS_REDIS_URL": "redis://127.0.0.1:6379/1"})
    check_production({**base, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"})


# ---- pages -----------------------------------------------------------------------------------------


def test_jobs_pages_run_now_and_status(app, make, client, auth, reported):
    uid = make.user("dpo", "dpo", scope="region")
    login_as(app, client, uid)
    page = client.get("/jobs/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Run now: Audit chain check" in text and "Run now: Report counts check" in text
    assert client.post("/jobs/run/audit.verify").status_code == 400  # no CSRF token
    from tests.conftest import csrf

    token = csrf(client, "/jobs/")
    assert client.post("/jobs/run/exports.purge", data={"csrf_token": token}).status_code == 404
    assert client.post("/jobs/run/no.such", data={"csrf_token": token}).status_code == 404
    res = client.post("/jobs/run/audit.verify", data={"csrf_token": token})
    assert res.status_code == 302
    job_id = int(res.headers["Location"].rsplit("/", 1)[1])
    detail = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in detail and "Waiting for the worker" in detail and "jobs.js" in detail
    assert client.get(f"/jobs/{job_id}/status").get_json()["state"] == "queued"
    with app.app_context():
        runner.run_queued()
        event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "jobs.run"))
        assert (event.user_id, event.object_id, event.detail) == (uid, str(job_id), "audit.verify")
    status = client.get(f"/jobs/{job_id}/status").get_json()
    assert status["state"] == "done" and status["finished"] and status["percent"] == 100
    assert "Audit chain intact" in status["label"]
    detail = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Audit chain intact" in detail and 'http-equiv="refresh"' not in detail and "dpo" in detail
    assert client.get("/jobs/999999/status").status_code == 404
    assert client.get("/jobs/999999").status_code == 404


def test_routine_runs_are_left_off_the_list_unless_asked_for_or_failed(app, make, client, reported):
    login_as(app, client, make.user("admin1", "admin"))
    with app.app_context():
        runner.enqueue("audit.anchor")
        runner.enqueue("reports.check")
        session.commit()
        runner.run_queued()
    text = client.get("/jobs/").get_data(as_text=True)
    assert "Report counts check" in text and "Audit chain witness" not in text
    assert "Audit chain witness" in client.get("/jobs/?all=1").get_data(as_text=True)


def test_a_failed_job_shows_on_the_home_of_admins_and_the_dpo_only(app, make, reported):
    from msc import sections

    users = {r: make.user(f"u_{r}", r) for r in ("admin", "dpo", "reception", "centre_manager")}
    with app.test_request_context():
        from msc.security.models import User

        for user_id in users.values():
            assert "jobs_failed" not in {s.key for s in sections.home(session.get(User, user_id), dt.date(2026, 12, 2))}
        runner.enqueue("test.boom")
        session.commit()
        runner.run_queued()
        for role, user_id in users.items():
            found = {s.key: s for s in sections.home(session.get(User, user_id), dt.date(2026, 12, 2))}
            assert ("jobs_failed" in found) == (role in ("admin", "dpo")), role
        rows = found_rows = {s.key: s for s in sections.home(session.get(User, users["dpo"]), dt.date(2026, 12, 2))}
        assert "ValueError" in rows["jobs_failed"].rows[0].note and found_rows["jobs_failed"].alert


def test_a_feature_adds_a_scheduled_task_with_one_line(app, caplog):
    """A schedule may name a task before its feature registers it (nothing runs, one warning); once
    registered, the same line queues it."""
    app.config["JOBS_SCHEDULE"] = {"test.remind": "daily at 07:00"}
    at = dt.datetime(2026, 12, 2, 13, 0, tzinfo=dt.UTC)  # 08:00 in Bogotá
    with app.app_context():
        assert schedule.tick(at) == [] and "test.remind" in caplog.text

        @task("test.remind", "Remind")
        def _remind(ctx):
            return None

        [job_id] = schedule.tick(at)
        assert session.get(Job, job_id).slot == "test.remind@2026-12-02"
        assert schedule.tick(at + dt.timedelta(hours=1)) == []


def test_a_backend_that_cannot_take_the_job_leaves_it_queued_for_the_schedule(app, reported):
    class Down:
        def submit(self, ids):
            raise ConnectionError("redis down")

    app.extensions["msc.jobs.backend"] = Down()
    with app.app_context():
        job_id = runner.enqueue("test.count").id
        session.commit()  # the commit stands
        assert session.get(Job, job_id).state == JobState.QUEUED
    assert [type(e).__name__ for e in reported] == ["ConnectionError"]
