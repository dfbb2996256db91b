"""Break-the-glass for staff; the DPO's dashboard, audit search, review queue and chain check."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from msc.beneficiaries import corrections
from msc.beneficiaries.access import load_beneficiary
from msc.beneficiaries.models import CorrectionRequest
from msc.beneficiaries.vocab import country_name
from msc.centres.models import Centre
from msc.db import get_by_uid_or_404, session
from msc.dpo import erasure, exports, glass, keys, oversight, subject
from msc.dpo.forms import (
    AuditSearchForm,
    CorrectionForm,
    EraseForm,
    GlassForm,
    PersonalExportForm,
    PolicyForm,
    RefusalForm,
    RetireKeyForm,
    ReviewForm,
    SubjectAccessForm,
)
from msc.dpo.models import PersonalExport
from msc.dpo.vocab import ERASURE_REASONS, GLASS_REASONS, REVIEW_OUTCOMES
from msc.errors import show_on_form
from msc.forms import ConfirmForm
from msc.security.emergency import BreakGlass
from msc.security.policy import (
    BREAK_GLASS,
    DATA_EXPORT,
    DPO_REVIEW,
    EDIT,
    KEYS_ROTATE,
    centres_in_scope,
    requires,
)

bp = Blueprint("dpo", __name__)


@bp.context_processor
def _vocab():
    return {"glass_reasons": GLASS_REASONS, "outcomes": REVIEW_OUTCOMES, "erasure_reasons": ERASURE_REASONS}


# ---- break-the-glass (staff) ----------------------------------------------------------------


@bp.route("/access/break-glass", methods=["GET", "POST"])
@requires(BREAK_GLASS)
def break_glass():
    """Open a record of another centre, saying why; the access ends by itself."""
    form = GlassForm()
    if form.validate_on_submit():
        try:
            grant = glass.open_record(current_user, form.case_number.data, form.reason.data, form.explanation.data)
        except glass.GlassError as err:
            show_on_form(form, err)
        else:
            flash(
                _(
                    "Emergency access open until %(time)s. It is recorded and reviewed by the data protection officer.",
                    time=grant.expires_at.strftime("%H:%M UTC"),
                ),
                "info",
            )
            return redirect(url_for("beneficiaries.profile", uid=grant.beneficiary.uid))
    status = 422 if form.errors else 200
    return render_template(
        "dpo/break_glass.html",
        form=form,
        running=glass.mine(current_user),
        minutes=glass.minutes(),
        end_form=ConfirmForm(),
    ), status


@bp.post("/access/break-glass/<grant_uid>/end")
@requires(BREAK_GLASS)
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


# ---- the DPO --------------------------------------------------------------------------------


@bp.get("/dpo/")
@requires(DPO_REVIEW)
def dashboard():
    """What needs the DPO's attention, and the state of the audit chain and the keys."""
    return render_template(
        "dpo/dashboard.html", summary=oversight.summary(), verify_form=ConfirmForm(), keys_phase=keys.phase
    )


@bp.get("/dpo/audit")
@requires(DPO_REVIEW)
def audit_log():
    """Search the audit log by user, record, action and period."""
    form = AuditSearchForm(request.args, object_types=oversight.object_types())
    found = None
    if form.validate():
        found = oversight.search(
            oversight.AuditQuery(
                form.user.data,
                form.action.data,
                form.object_type.data or None,
                form.object_id.data,
                form.start.data,
                form.end.data,
            )
        )
    users = oversight.users_by_id(found.items) if found else {}
    return render_template("dpo/audit.html", form=form, found=found, users=users), 200 if found else 422


@bp.post("/dpo/verify")
@requires(DPO_REVIEW)
def verify():
    """Walk the audit chain now."""
    if ConfirmForm().validate_on_submit():
        result = oversight.check_chain(current_user)
        if result.ok:
            flash(_("The audit chain is intact: %(n)d records checked.", n=result.checked), "info")
        else:
            flash(_("The audit chain is broken at record %(seq)s.", seq=result.broken_seq), "error")
    return redirect(url_for("dpo.dashboard"))


@bp.get("/dpo/break-glass")
@requires(DPO_REVIEW)
def glass_queue():
    """Emergency accesses awaiting review, and the latest reviewed."""
    return render_template("dpo/glass_queue.html", waiting=glass.queue(), reviewed=glass.queue(reviewed=True, limit=50))


@bp.route("/dpo/break-glass/<grant_uid>", methods=["GET", "POST"])
@requires(DPO_REVIEW)
def glass_review(grant_uid: str):
    """Review one emergency access: justified or not, with a note."""
    grant = get_by_uid_or_404(BreakGlass, grant_uid)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            glass.review(current_user, grant, form.outcome.data, form.note.data)
        except glass.GlassError as err:
            show_on_form(form, err)
        else:
            flash(_("Review recorded."), "info")
            return redirect(url_for("dpo.glass_queue"))
    return render_template("dpo/glass_review.html", grant=grant, form=form), 422 if form.errors else 200


# ---- erasure and retention ------------------------------------------------------------------


@bp.route("/dpo/erase", methods=["GET", "POST"])
@requires(DPO_REVIEW)
def erase():
    """Erase one person's data on request: first what it will do, then, confirmed, for good."""
    form = EraseForm()
    person = held = None
    if form.validate_on_submit():
        try:
            person = erasure.find(form.case_number.data)
            erasure.check_reason(form.reason.data)
            if form.confirm.data:
                erasure.erase(current_user, person, form.reason.data)
                flash(_("The person's data was erased for good. The figures remain."), "info")
                return redirect(url_for("dpo.retention"))
            held = erasure.held(person)
        except erasure.ErasureError as err:
            show_on_form(form, err)
            person = None
    return render_template("dpo/erase.html", form=form, person=person, held=held), 422 if form.errors else 200


def _policy_form(**kw) -> PolicyForm:
    countries = sorted(session.scalars(sa.select(Centre.country).distinct()))
    return PolicyForm(countries=[(c, country_name(c)) for c in countries], **kw)


@bp.route("/dpo/retention", methods=["GET", "POST"])
@requires(DPO_REVIEW)
def retention():
    """Who the retention run would anonymise today (the dry run), then the run itself."""
    confirm = ConfirmForm()
    if request.method == "POST" and confirm.validate_on_submit():
        done = erasure.run(current_user)
        flash(_("Retention run finished: %(n)d people anonymised.", n=done.erased), "info")
        return redirect(url_for("dpo.retention"))
    return _retention_page(_policy_form(), 200)


def _retention_page(policy_form: PolicyForm, status: int):
    return render_template(
        "dpo/retention.html",
        due=erasure.due(),
        policies=erasure.policies(),
        default_years=erasure.default_years(),
        runs=erasure.runs(),
        policy_form=policy_form,
        confirm=ConfirmForm(),
    ), status


@bp.post("/dpo/retention/policy")
@requires(DPO_REVIEW)
def retention_policy():
    """Set a country's retention period."""
    form = _policy_form()
    if form.validate_on_submit():
        try:
            erasure.set_policy(current_user, form.country.data, form.years.data)
        except erasure.ErasureError as err:
            show_on_form(form, err)
        else:
            flash(_("Retention period saved."), "info")
            return redirect(url_for("dpo.retention"))
    return _retention_page(form, 422)


# ---- subject access -------------------------------------------------------------------------


@bp.route("/dpo/subject-access", methods=["GET", "POST"])
@requires(DPO_REVIEW)
def subject_access():
    """Everything held about one person, in their language, to print or as JSON (producing it is audited)."""
    form = SubjectAccessForm()
    if form.validate_on_submit():
        try:
            person = erasure.find(form.case_number.data)
        except erasure.ErasureError as err:
            show_on_form(form, err)
        else:
            report = subject.build(current_user, person)
            if form.fmt.data == "json":
                body = json.dumps(report.as_json(), ensure_ascii=False, indent=2)
                return Response(
                    body,
                    mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="subject-access-{report.case_number}.json"'},
                )
            with force_locale(form.language.data):
                return render_template("dpo/subject_access.html", report=report)
    return render_template("dpo/subject_access_form.html", form=form), 422 if form.errors else 200


# ---- correction requests (the desk) ---------------------------------------------------------


@bp.route("/b/<uid>/corrections", methods=["GET", "POST"])
@requires(EDIT)
def corrections_page(uid: str):
    """A person's correction requests: record a new one; apply one through the edit form, or refuse it."""
    person = load_beneficiary(uid)
    form = CorrectionForm()
    if form.validate_on_submit():
        try:
            corrections.record(current_user, person, form.fields.data or [], form.details.data)
        except corrections.CorrectionError as err:
            show_on_form(form, err)
        else:
            flash(_("Correction request recorded."), "info")
            return redirect(url_for("dpo.corrections_page", uid=uid))
    return render_template(
        "dpo/corrections.html", person=person, form=form, requests=corrections.of(person), refusal=RefusalForm()
    ), 422 if form.errors else 200


@bp.post("/corrections/<correction_uid>/refuse")
@requires(EDIT)
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
@requires(DATA_EXPORT)
def personal_export():
    """Export the people of one's centres for a stated purpose, as an encrypted archive."""
    form = PersonalExportForm(centres=centres_in_scope(current_user))
    if form.validate_on_submit():
        try:
            export, secret = exports.create(current_user, form.purpose.data, form.centre_id.data or None)
        except exports.ExportError as err:
            show_on_form(form, err)
        else:
            return render_template("dpo/export_ready.html", export=export, secret=secret)
    return render_template("dpo/export.html", form=form), 422 if form.errors else 200


@bp.get("/exports/personal/<export_uid>.zip")
@requires(DATA_EXPORT)
def personal_export_file(export_uid: str):
    """The archive, once, for whoever made it."""
    data = exports.take(current_user, get_by_uid_or_404(PersonalExport, export_uid))
    if data is None:
        abort(404)
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="msc-people-{export_uid[:8]}.zip"'},
    )


# ---- keys -----------------------------------------------------------------------------------


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("/dpo/keys")
@requires(KEYS_ROTATE)
def keys_page():
    """The keys in use, rotations under way with their progress, and old keys that can be retired."""
    return render_template(
        "dpo/keys.html", status=keys.status(), phase=keys.phase, form=ConfirmForm(), retire_form=RetireKeyForm()
    )


@bp.post("/dpo/keys/<any(kek, index):kind>/start")
@requires(KEYS_ROTATE)
def keys_start(kind: str):
    """Start a KEK or index-key rotation; the page then carries it on."""
    if ConfirmForm().validate_on_submit():
        try:
            keys.start(current_user, kind, new_kek=False if request.form.get("rewrap") == "1" else None)
        except keys.KeysError as err:
            flash(str(err), "error")
        else:
            flash(
                _("Rotation started. Keep this page open to carry it on, or come back later: nothing is lost."), "info"
            )
    return redirect(url_for("dpo.keys_page"))


@bp.post("/dpo/keys/<any(kek, index):kind>/step")
@requires(KEYS_ROTATE)
def keys_step(kind: str):
    """Carry a rotation on for a couple of seconds; answer its progress (JSON for the page's script)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        job = keys.step(current_user, kind)
    except keys.KeysError as err:
        if _wants_json():
            return {"error": str(err)}, 409
        flash(str(err), "error")
        return redirect(url_for("dpo.keys_page"))
    if _wants_json():
        return {
            "phase": keys.phase(job),
            "percent": job.percent,
            "done": job.done,
            "total": job.total,
            "label": render_template("dpo/_rotation_progress.html", job=job, job_phase=keys.phase(job)),
        }
    return redirect(url_for("dpo.keys_page"))


@bp.post("/dpo/keys/retire")
@requires(KEYS_ROTATE)
def keys_retire():
    """Remove an old key from the key ring once nothing needs it."""
    form = RetireKeyForm()
    if form.validate_on_submit():
        try:
            keys.retire(current_user, form.kind.data, form.key_id.data)
        except keys.KeysError as err:
            flash(str(err), "error")
        else:
            flash(_("Key %(key)s retired: it is no longer in the key ring.", key=form.key_id.data), "info")
    else:
        flash(_("Choose a key to retire."), "error")
    return redirect(url_for("dpo.keys_page"))
