"""The import pages: upload a list, map its columns and values, look at the preview and decide on the
duplicates, follow the import, download its report, undo it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from msc.centres.models import Centre
from msc.db import read_mostly, session
from msc.errors import DomainError
from msc.exports import csv_response
from msc.extensions import csrf
from msc.forms import ConfirmForm, form_status, show_on_form
from msc.imports import mapping, service, vocab
from msc.imports.forms import UploadForm
from msc.imports.models import BatchState, ImportBatch
from msc.jobs import service as jobs
from msc.jobs.models import Job
from msc.sections import Row, Section
from msc.security.policy import (
    Permission,
    active_centres_of,
    centre_ids_in_scope,
    check_scope,
    requires,
    role_allows,
)
from msc.urls import parse_id

bp = Blueprint("imports", __name__)

PER_PAGE = 50


def _batch(uid: str) -> ImportBatch:
    batch = session.scalar(sa.select(ImportBatch).where(ImportBatch.uid == uid))
    if batch is None:
        abort(404)
    check_scope(current_user, batch.centre_id)
    return batch


def _recent() -> list[ImportBatch]:
    scope = centre_ids_in_scope(current_user)
    stmt = sa.select(ImportBatch).order_by(ImportBatch.created_at.desc()).limit(50)
    if scope is not None:
        stmt = stmt.where(ImportBatch.centre_id.in_(scope or [-1]))
    return list(session.scalars(stmt))


@bp.route("/", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token: the global check would read the body under the 1 MB limit
@requires(Permission.IMPORT)
def index():
    """The imports of the user's centres, and a new one: the file is read in memory, never kept."""
    request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]
    centres = active_centres_of(current_user)
    form = UploadForm(centres=centres, mappings=service.mappings())
    if form.validate_on_submit():
        centre = next(c for c in centres if c.id == form.centre_id.data)  # the form offers only these
        upload = form.file.data
        try:
            batch = service.upload(
                current_user, centre, upload.filename or "", upload.read(), form.mapping_uid.data or None
            )
        except DomainError as err:
            show_on_form(form, err)
        else:
            return redirect(url_for("imports.columns", uid=batch.uid))
    names = {c.id: c.name for c in session.scalars(sa.select(Centre))}
    page = render_template(
        "imports/index.html", form=form, batches=_recent(), centres=names, states=_states(), confirm=ConfirmForm()
    )
    return page, form_status(form)


@bp.route("/<uid>/columns", methods=["GET", "POST"])
@requires(Permission.IMPORT)
def columns(uid: str):
    """Map each column to a field, each value of a list to MSC Case's, and say how dates are written."""
    batch = _batch(uid)
    if batch.state not in (BatchState.UPLOADED, BatchState.CHECKED) and not service.check_stopped(batch):
        return redirect(url_for("imports.batch", uid=batch.uid))
    form = ConfirmForm()
    headers = service.columns_of(batch)
    config = batch.settings
    error = None
    if request.method == "POST" and form.validate_on_submit():
        chosen = {h: request.form.get(f"column-{i}", "") for i, h in enumerate(headers)}
        values: dict[str, dict[str, str]] = {}
        for i, header in enumerate(headers):
            target = config["columns"].get(header)
            for k in range(service.VALUES_SHOWN):
                raw = request.form.get(f"value-{i}-{k}-raw")
                code = request.form.get(f"value-{i}-{k}", "")
                if raw is not None and code and target:
                    values.setdefault(target, {})[raw] = code
        finish = request.form.get("action") == "check"
        try:
            config = service.set_mapping(
                current_user,
                batch,
                chosen,
                values,
                request.form.get("date_format", ""),
                request.form.get("save_as", "").strip() or None,
                complete=finish,
            )
            if finish:
                service.start_check(current_user, batch)
                return redirect(url_for("imports.batch", uid=batch.uid))
        except DomainError as err:
            error = err.message
            config = {**config, "columns": chosen}
    samples = service.distinct_values(batch, config, service.VALUES_SHOWN)
    return render_template(
        "imports/columns.html",
        batch=batch,
        form=form,
        headers=headers,
        config=config,
        samples=samples,
        fields=vocab.FIELDS,
        choices={t: vocab.choices(t) for t in (*vocab.CHOICE_FIELDS, *vocab.MULTI_FIELDS)},
        known=lambda target, raw: mapping.value_of(config, target, raw) or "",
        date_formats=vocab.DATE_FORMATS,
        blank=vocab.BLANK,
        error=error,
        saved_name=batch.mapping_id and service.mapping_name(batch.mapping_id),
    ), (422 if error else 200)


@bp.get("/<uid>")
@requires(Permission.IMPORT)
def batch(uid: str):
    """Where an import stands: its progress, its preview with the rows to look at, or its outcome."""
    found = _batch(uid)
    page = parse_id(request.args.get("page")) or 1
    problems: list[service.Problem] = []
    total = 0
    counts = None
    if found.state == BatchState.CHECKED:
        problems, total = service.problems(current_user, found, page, PER_PAGE)
        counts = service.summary(found)
    job = session.get(Job, found.job_id) if found.job_id else None
    return render_template(
        "imports/batch.html",
        batch=found,
        job=job,
        counts=counts,
        problems=problems,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        states=_states(),
        confirm=ConfirmForm(),
        stalled=found.state == BatchState.RUNNING and job is not None and job.finished,
        check_stopped=service.check_stopped(found),
    )


@bp.get("/<uid>/status")
@requires(Permission.IMPORT)
@read_mostly
def status(uid: str):
    """Where the import's job stands, for the page's script that follows it."""
    found = _batch(uid)
    job = session.get(Job, found.job_id) if found.job_id else None
    if job is None:
        abort(404)
    return jobs.status_json(job)


@bp.post("/<uid>/decisions")
@requires(Permission.IMPORT)
def decisions(uid: str):
    """Keep what becomes of each possible duplicate of the page: skip, link or import as someone else."""
    found = _batch(uid)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    chosen = {}
    for key, value in request.form.items():
        if key.startswith("decision-") and (index := parse_id(key.removeprefix("decision-"))) is not None:
            chosen[index] = value
    try:
        service.decide(current_user, found, chosen)
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash(_("Decisions kept."), "success")
    page = parse_id(request.form.get("page")) or 1
    return redirect(url_for("imports.batch", uid=found.uid, page=page))


@bp.post("/<uid>/start")
@requires(Permission.IMPORT)
def start(uid: str):
    """Import the checked list (or resume an import that stopped)."""
    found = _batch(uid)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.start(current_user, found)
    except DomainError as err:
        flash(err.message, "error")
    return redirect(url_for("imports.batch", uid=found.uid))


@bp.get("/<uid>/report.csv")
@requires(Permission.IMPORT)
def report(uid: str):
    """What became of each row: imported (with the case number), linked, skipped or refused (and why)."""
    found = _batch(uid)
    header = [_("Row"), _("Outcome"), _("Case number"), _("Column"), _("Why")]
    return csv_response(f"import-{found.created_at:%Y%m%d}-{found.uid[:8]}", header, service.report(found))


@bp.post("/<uid>/undo")
@requires(Permission.IMPORT)
def undo(uid: str):
    """Remove the people an import registered, while none of them was worked on since."""
    found = _batch(uid)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        removed = service.undo(current_user, found)
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash(
            ngettext("Import undone: %(num)d record removed.", "Import undone: %(num)d records removed.", removed),
            "success",
        )
    return redirect(url_for("imports.batch", uid=found.uid))


def _states() -> dict[str, str]:
    return {
        BatchState.UPLOADED: _("Columns to map"),
        BatchState.CHECKING: _("Checking the rows"),
        BatchState.CHECKED: _("Preview ready"),
        BatchState.RUNNING: _("Importing"),
        BatchState.DONE: _("Imported"),
        BatchState.UNDONE: _("Undone"),
    }


def home_sections(user, today: dt.date) -> list[Section]:
    """On a centre manager's home: the imports under way or waiting for a decision."""
    if not role_allows(user, Permission.IMPORT):
        return []
    scope = centre_ids_in_scope(user)
    stmt = (
        sa.select(ImportBatch)
        .where(ImportBatch.state.in_((BatchState.UPLOADED, BatchState.CHECKED, BatchState.RUNNING)))
        .order_by(ImportBatch.created_at.desc())
        .limit(5)
    )
    if scope is not None:
        stmt = stmt.where(ImportBatch.centre_id.in_(scope or [-1]))
    waiting = list(session.scalars(stmt))
    if not waiting:
        return []
    states = _states()
    return [
        Section(
            "imports",
            _("Imports"),
            [
                Row(
                    ngettext("List of %(num)d row", "List of %(num)d rows", b.total_rows)
                    + f" · {format_datetime(b.created_at, 'short')}",
                    url_for("imports.batch", uid=b.uid),
                    states.get(b.state, b.state),
                )
                for b in waiting
            ],
            link=url_for("imports.index"),
            link_text=_("All imports"),
        )
    ]
