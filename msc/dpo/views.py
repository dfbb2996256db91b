"""Data protection for staff: break-the-glass access, correction requests from a person's record,
personal-data exports. The DPO's own pages are in desk, desk_erasure and desk_keys."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user

from msc.beneficiaries import corrections
from msc.beneficiaries.access import load_beneficiary
from msc.beneficiaries.models import CorrectionRequest
from msc.db import get_by_uid_or_404, utcnow
from msc.dpo import exports, glass
from msc.dpo.blueprint import bp
from msc.dpo.forms import CorrectionForm, DecisionForm, GlassForm, PersonalExportForm, RefusalForm
from msc.dpo.models import PersonalExport
from msc.dpo.vocab import EXPORT_PURPOSES
from msc.extensions import limiter
from msc.forms import ConfirmForm, form_status, rule_on_form
from msc.security.emergency import BreakGlass, GlassStatus
from msc.security.policy import Permission, centres_in_scope, requires

# ---- break-the-glass (staff) ----------------------------------------------------------------


def _glass_limit() -> str:
    return str(current_app.config.get("BREAK_GLASS_RATE_LIMIT", "10 per minute"))


def _per_user() -> str:
    return f"user:{current_user.get_id()}"


@bp.route("/access/break-glass", methods=["GET", "POST"])
@requires(Permission.BREAK_GLASS)
@limiter.limit(_glass_limit, methods=["POST"], key_func=_per_user)
def break_glass():
    """Open a record of another centre, showing the person is present or known and saying why; the access
    ends by itself. Past the daily quota the request waits for a protection officer."""
    form = GlassForm()
    if form.validate_on_submit():
        g.commit_on_error = True  # keep the audit record of a proof that did not match
        with rule_on_form(form):
            proof = glass.Proof(form.case_number.data, form.date_of_birth.data, form.card_token.data)
            grant = glass.open_record(current_user, proof, form.reason.data, form.explanation.data)
            if grant.status == GlassStatus.PENDING:
                flash(
                    _(
                        "You have used your emergency accesses for today: a protection officer must approve this one "
                        "first. It will appear here, open, once approved."
                    ),
                    "info",
                )
                return redirect(url_for("dpo.break_glass"))
            flash(
                _(
                    "Emergency access open until %(time)s. It is recorded and reviewed by the data protection officer.",
                    time=format_time(grant.expires_at, "HH:mm") if grant.expires_at else "",
                ),
                "info",
            )
            return redirect(url_for("beneficiaries.profile", uid=grant.beneficiary.uid))
    return render_template(
        "dpo/break_glass.html",
        form=form,
        running=glass.mine(current_user),
        waiting=glass.waiting(current_user),
        minutes=glass.minutes(),
        quota=glass.daily_quota(),
        end_form=ConfirmForm(),
    ), form_status(form)


@bp.post("/access/break-glass/<grant_uid>/end")
@requires(Permission.BREAK_GLASS)
def end_glass(grant_uid: str):
    """End one's own emergency access now."""
    grant = get_by_uid_or_404(BreakGlass, grant_uid)
    if ConfirmForm().validate_on_submit():
        try:
            glass.end(current_user, grant)
            flash(_("Emergency access ended."), "info")
        except glass.GlassError as err:
            flash(str(err), "error")
    return redirect(url_for("dpo.break_glass"))


@bp.get("/access/break-glass/requests")
@requires(Permission.BREAK_GLASS_APPROVE)
def glass_requests():
    """Emergency accesses asked past the requester's daily quota, waiting for a protection officer."""
    return render_template("dpo/glass_requests.html", waiting=glass.awaiting_approval(current_user))


@bp.route("/access/break-glass/requests/<grant_uid>", methods=["GET", "POST"])
@requires(Permission.BREAK_GLASS_APPROVE)
def glass_decide(grant_uid: str):
    """Approve (the access starts now) or refuse one request, with a note; never one's own."""
    grant = get_by_uid_or_404(BreakGlass, grant_uid)
    if grant.user_id != current_user.id and not glass.may_approve(current_user, grant):
        abort(404)
    form = DecisionForm()
    if form.validate_on_submit():
        with rule_on_form(form):
            glass.decide(current_user, grant, form.decision.data, form.note.data)
            flash(_("Decision recorded."), "info")
            return redirect(url_for("dpo.glass_requests"))
    return render_template(
        "dpo/glass_decide.html",
        grant=grant,
        form=form,
        pending=grant.status == GlassStatus.PENDING,
        granted_today=glass.granted_since(grant.user_id, utcnow() - glass.DAY),
        failed_today=glass.failed_since(grant.user_id, utcnow() - glass.DAY),
    ), form_status(form)


# ---- correction requests (the desk) ---------------------------------------------------------


@bp.route("/b/<uid>/corrections", methods=["GET", "POST"])
@requires(Permission.EDIT)
def corrections_page(uid: str):
    """A person's correction requests: record a new one; apply one through the edit form, or refuse it."""
    person = load_beneficiary(uid)
    form = CorrectionForm()
    if form.validate_on_submit():
        with rule_on_form(form):
            corrections.record(current_user, person, form.fields.data or [], form.details.data)
            flash(_("Correction request recorded."), "info")
            return redirect(url_for("dpo.corrections_page", uid=uid))
    return render_template(
        "dpo/corrections.html", person=person, form=form, requests=corrections.of(person), refusal=RefusalForm()
    ), form_status(form)


@bp.post("/corrections/<correction_uid>/refuse")
@requires(Permission.EDIT)
def refuse_correction(correction_uid: str):
    """Refuse a correction, saying why."""
    request_row = get_by_uid_or_404(CorrectionRequest, correction_uid)
    person = load_beneficiary(request_row.beneficiary.uid)
    form = RefusalForm()
    if form.validate_on_submit():
        try:
            corrections.refuse(current_user, request_row, form.reason.data)
        except corrections.CorrectionError as err:
            flash(str(err), "error")
        else:
            flash(_("Correction refused; the reason is kept for the person."), "info")
    return redirect(url_for("dpo.corrections_page", uid=person.uid))


# ---- personal-data exports ------------------------------------------------------------------


@bp.route("/exports/personal", methods=["GET", "POST"])
@requires(Permission.DATA_EXPORT)
def personal_export():
    """Export the people of one's centres for a stated purpose, as an encrypted archive; one's latest
    exports and whether they wait to be downloaded (archives that expired unread are deleted here)."""
    exports.purge()
    form = PersonalExportForm(centres=centres_in_scope(current_user))
    if form.validate_on_submit():
        with rule_on_form(form):
            export, secret = exports.create(
                current_user, form.purpose.data, form.purpose_note.data, form.centre_id.data or None
            )
            return render_template("dpo/export_ready.html", export=export, secret=secret)
    return _export_page(form), form_status(form)


def _export_page(form: PersonalExportForm, gone: str | None = None) -> str:
    return render_template(
        "dpo/export.html", form=form, mine=exports.mine(current_user), gone=gone, purposes=EXPORT_PURPOSES
    )


@bp.get("/exports/personal/<export_uid>.zip")
@requires(Permission.DATA_EXPORT)
def personal_export_file(export_uid: str):
    """The archive, once, for whoever made it, until it expires."""
    try:
        data = exports.take(current_user, get_by_uid_or_404(PersonalExport, export_uid))
    except exports.ExportError as err:
        g.commit_on_error = True  # the expired archive stays deleted
        return _export_page(PersonalExportForm(centres=centres_in_scope(current_user)), gone=str(err.message)), 410
    if data is None:
        abort(404)
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="msc-people-{export_uid[:8]}.zip"'},
    )
