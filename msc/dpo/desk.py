"""The DPO's desk: the dashboard, the audit log search, the chain check and the review of
emergency accesses."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from msc import clock
from msc.db import get_by_uid_or_404, utcnow
from msc.dpo import glass, keys, oversight
from msc.dpo.blueprint import bp
from msc.dpo.forms import AuditSearchForm, ReviewForm
from msc.forms import ConfirmForm, form_status, rule_on_form
from msc.security.emergency import BreakGlass
from msc.security.policy import Permission, requires


@bp.get("/dpo/")
@requires(Permission.DPO_REVIEW)
def dashboard():
    """What needs the DPO's attention (first of all every emergency access not yet reviewed, and any
    burst of them), and the state of the audit chain and the keys."""
    return render_template(
        "dpo/dashboard.html",
        summary=oversight.summary(),
        verify_form=ConfirmForm(),
        keys_phase=keys.phase,
        alerts=glass.alerts(),
        latest=glass.latest(),
        failed_today=glass.failed_since(None, utcnow() - glass.DAY),
    )


@bp.get("/dpo/audit")
@requires(Permission.DPO_REVIEW)
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
                clock.viewer_country(current_user),
            )
        )
    users = oversight.users_by_id(found.items) if found else {}
    return render_template("dpo/audit.html", form=form, found=found, users=users), form_status(form)


@bp.post("/dpo/verify")
@requires(Permission.DPO_REVIEW)
def verify():
    """Walk the audit chain now."""
    if ConfirmForm().validate_on_submit():
        result, _detail = oversight.check_chain(current_user)  # the check as kept for the dashboard
        if result.ok:
            flash(
                ngettext(
                    "The audit chain is intact: %(num)d record checked.",
                    "The audit chain is intact: %(num)d records checked.",
                    result.checked,
                ),
                "info",
            )
        elif result.broken_seq is None:
            flash(_("The audit chain's witness does not match: %(reason)s", reason=result.reason), "error")
        else:
            flash(_("The audit chain is broken at record %(seq)s.", seq=result.broken_seq), "error")
    return redirect(url_for("dpo.dashboard"))


@bp.get("/dpo/break-glass")
@requires(Permission.DPO_REVIEW)
def glass_queue():
    """Emergency accesses awaiting review, and the latest reviewed."""
    return render_template("dpo/glass_queue.html", waiting=glass.queue(), reviewed=glass.queue(reviewed=True, limit=50))


@bp.route("/dpo/break-glass/<grant_uid>", methods=["GET", "POST"])
@requires(Permission.DPO_REVIEW)
def glass_review(grant_uid: str):
    """Review one emergency access: justified or not, with a note."""
    grant = get_by_uid_or_404(BreakGlass, grant_uid)
    form = ReviewForm()
    if form.validate_on_submit():
        with rule_on_form(form):
            glass.review(current_user, grant, form.outcome.data, form.note.data)
            flash(_("Review recorded."), "info")
            return redirect(url_for("dpo.glass_queue"))
    return render_template(
        "dpo/glass_review.html",
        grant=grant,
        form=form,
        requested_on=clock.day_of(grant.requested_at, clock.viewer_country(current_user)),
    ), form_status(form)
