"""`flask worker`: run the jobs and the schedule. On Redis (JOBS_BACKEND=rq), an RQ SimpleWorker — no
fork: jobs run in this process, in the app — takes job ids from the queue; otherwise the jobs queued in
the database are run here one after another. The schedule runs in a thread beside it (--no-schedule
leaves it to another worker; running it in several is safe: each slot is queued once)."""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from msc.jobs import runner, schedule

log = logging.getLogger("msc.jobs")


@click.command("worker")
@click.option("--no-schedule", is_flag=True, help="Only run jobs; another worker runs the schedule.")
@click.option("--burst", is_flag=True, help="Run what is queued, then stop.")
@with_appcontext
def worker(no_schedule: bool, burst: bool) -> None:
    """Run queued jobs (key rotations, retention, the nightly checks) and the schedule."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    logging.getLogger("msc.jobs").setLevel(logging.INFO)
    stop_schedule = None if no_schedule or burst else schedule.start_thread(app)
    backend = app.config["JOBS_BACKEND"]
    click.echo(f"worker: {backend} backend, schedule {'off' if stop_schedule is None else 'on'}")
    try:
        if backend == "rq":
            _rq(app, burst)
        else:
            _database(app, burst)
    finally:
        if stop_schedule is not None:
            stop_schedule.set()


def _rq(app: Flask, burst: bool) -> None:
    from rq import SimpleWorker

    rq_backend = runner.backend(app)
    assert isinstance(rq_backend, runner.RQBackend)
    SimpleWorker([rq_backend.queue], connection=rq_backend.redis).work(burst=burst, with_scheduler=False)


def _database(app: Flask, burst: bool) -> None:
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        with app.app_context():
            ran = runner.run_queued(limit=1)
        if not ran:
            if burst:
                return
            stop.wait(float(app.config["JOBS_POLL_SECONDS"]))
