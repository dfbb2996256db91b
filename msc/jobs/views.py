"""The jobs pages (administrators and the DPO): recent jobs, one job's progress, a JSON status for the
pages that follow a job, and "run now" for the nightly checks."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from msc.db import get_or_404, read_mostly, session
from msc.forms import ConfirmForm
from msc.jobs import runner, service
from msc.jobs.models import Job
from msc.sections import Row, Section
from msc.security.models import User
from msc.security.policy import Permission, requires, role_allows

bp = Blueprint("jobs", __name__)


@bp.app_context_processor
def _words():
    return {"job_title": service.title, "job_state": service.state_label, "job_summary": service.summary}


@bp.get("/")
@requires(Permission.JOBS)
@read_mostly
def index():
    """The newest jobs with their state, progress, times and who asked; the checks that can run now."""
    routine = request.args.get("all") == "1"
    jobs = service.recent(routine=routine)
    return render_template(
        "jobs/index.html",
        jobs=jobs,
        routine=routine,
        users=_users(jobs),
        runnable=service.runnable(),
        form=ConfirmForm(),
    )


@bp.get("/<int:job_id>")
@requires(Permission.JOBS)
@read_mostly
def detail(job_id: int):
    """One job: its progress while it runs (the page follows it), its outcome once finished."""
    job = get_or_404(Job, job_id)
    return render_template("jobs/detail.html", job=job, users=_users([job]))


@bp.get("/<int:job_id>/status")
@requires(Permission.JOBS)
@read_mostly
def status(job_id: int):
    """Where a job stands, for the pages' script that follows it."""
    job = get_or_404(Job, job_id)
    return service.status_json(job)


@bp.post("/run/<name>")
@requires(Permission.JOBS)
def run_now(name: str):
    """Start a nightly check now; the job's page follows it."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        job = service.run_now(current_user, name)
    except runner.JobError:
        abort(404)
    flash(_("%(task)s queued: this page shows how it goes.", task=service.title(job)), "info")
    return redirect(url_for("jobs.detail", job_id=job.id))


def _users(jobs: list[Job]) -> dict[int, str]:
    ids = {j.requested_by_id for j in jobs if j.requested_by_id is not None}
    if not ids:
        return {}
    return {row.id: row.username for row in session.execute(sa.select(User.id, User.username).where(User.id.in_(ids)))}


def home_sections(user, today: dt.date) -> list[Section]:
    """On the home of administrators and the DPO: the jobs that failed this week (none: nothing shown)."""
    if not role_allows(user, Permission.JOBS):
        return []
    failed = service.failed_recently()
    if not failed:
        return []
    return [
        Section(
            "jobs_failed",
            _("Jobs that failed"),
            [
                Row(
                    f"{service.title(j)} · {format_datetime(j.created_at)}",
                    url_for("jobs.detail", job_id=j.id),
                    service.summary(j),
                    _("failed"),
                )
                for j in failed
            ],
            link=url_for("jobs.index"),
            link_text=_("All jobs"),
            order=1,
            alert=True,
        )
    ]
