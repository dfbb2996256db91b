"""The DPO's desk, the data held about people: erasure on request, retention runs and periods,
subject access."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from msc.beneficiaries.vocab import country_name
from msc.centres.models import Centre
from msc.db import session
from msc.dpo import erasure, subject, subject_words
from msc.dpo.blueprint import bp
from msc.dpo.forms import EraseForm, PolicyForm, SubjectAccessForm
from msc.forms import ConfirmForm, form_status, rule_on_form
from msc.security.policy import Permission, requires

# ---- erasure and retention ------------------------------------------------------------------


@bp.route("/dpo/erase", methods=["GET", "POST"])
@requires(Permission.DPO_REVIEW)
def erase():
    """Erase one person's data on request: first what it will do, then, confirmed, for good."""
    form = EraseForm()
    person = held = None
    if form.validate_on_submit():
        with rule_on_form(form):
            found = erasure.find(form.case_number.data)
            erasure.check_reason(form.reason.data)
            if form.confirm.data:
                erasure.erase(current_user, found, form.reason.data)
                flash(_("The person's data was erased for good. The figures remain."), "info")
                return redirect(url_for("dpo.retention"))
            person, held = found, erasure.held(found)
    return render_template("dpo/erase.html", form=form, person=person, held=held), form_status(form)


def _policy_form(**kw) -> PolicyForm:
    countries = sorted(session.scalars(sa.select(Centre.country).distinct()))
    return PolicyForm(countries=[(c, country_name(c)) for c in countries], **kw)


@bp.route("/dpo/retention", methods=["GET", "POST"])
@requires(Permission.DPO_REVIEW)
def retention():
    """Who the retention run would anonymise today (the dry run), then the run itself."""
    confirm = ConfirmForm()
    if request.method == "POST" and confirm.validate_on_submit():
        done = erasure.run(current_user)
        flash(
            ngettext(
                "Retention run finished: %(num)d person anonymised.",
                "Retention run finished: %(num)d people anonymised.",
                done.erased,
            ),
            "info",
        )
        return redirect(url_for("dpo.retention"))
    return _retention_page(_policy_form())


def _retention_page(policy_form: PolicyForm):
    return render_template(
        "dpo/retention.html",
        due=erasure.due(),
        policies=erasure.policies(),
        default_years=erasure.default_years(),
        runs=erasure.runs(),
        policy_form=policy_form,
        confirm=ConfirmForm(),
    ), form_status(policy_form)


@bp.post("/dpo/retention/policy")
@requires(Permission.DPO_REVIEW)
def retention_policy():
    """Set a country's retention period."""
    form = _policy_form()
    if form.validate_on_submit():
        with rule_on_form(form):
            erasure.set_policy(current_user, form.country.data, form.years.data)
            flash(_("Retention period saved."), "info")
            return redirect(url_for("dpo.retention"))
    return _retention_page(form)


# ---- subject access -------------------------------------------------------------------------


@bp.route("/dpo/subject-access", methods=["GET", "POST"])
@requires(Permission.DPO_REVIEW)
def subject_access():
    """Everything held about one person, in their language, to print or as JSON (producing it is audited)."""
    form = SubjectAccessForm()
    if form.validate_on_submit():
        with rule_on_form(form):
            person = erasure.find(form.case_number.data)
            report = subject.build(current_user, person)
            words = subject_words.in_words(report, form.language.data)
            # The record that the report was produced is kept even if showing it fails afterwards
            # (building it only reads, and writes that audit record).
            session.commit()
            if form.fmt.data == "json":
                body = json.dumps(words.as_json(), ensure_ascii=False, indent=2)
                return Response(
                    body,
                    mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="subject-access-{report.case_number}.json"'},
                )
            with force_locale(form.language.data):
                return render_template("dpo/subject_access.html", words=words)
    return render_template("dpo/subject_access_form.html", form=form), form_status(form)
