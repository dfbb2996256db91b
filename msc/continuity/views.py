"""Continuity pages: ask for a record (at the desk, or from a hint), the requests to answer and those asked,
one request and its answer; the route on a person's profile and the count on the home page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from msc.beneficiaries import proof as proofs
from msc.beneficiaries import regional
from msc.continuity import service
from msc.continuity.forms import AnswerForm, AskForm, RequestForm
from msc.continuity.models import Transfer
from msc.continuity.vocab import FOR_ASKER, NEXT_STEPS, REFUSAL_REASONS, SECTIONS, STATUSES
from msc.db import get_by_uid_or_404, utcnow
from msc.extensions import limiter
from msc.forms import form_status, rule_on_form
from msc.sections import Row, Section
from msc.security import audit
from msc.security.policy import Permission, can, centre_ids_in_scope, requires, role_allows

bp = Blueprint("continuity", __name__)


def _ask_limit() -> str:
    return str(current_app.config.get("CONTINUITY_RATE_LIMIT", "10 per minute"))


def _per_user() -> str:
    return f"user:{current_user.get_id()}"


def _centre_choices(form: AskForm | RequestForm) -> None:
    mine = [c for c in current_user.centres if c.active]
    form.centre.choices = [(c.id, c.name) for c in mine]


@bp.route("/ask", methods=["GET", "POST"])
@requires(Permission.CONTINUITY_ASK)
@limiter.limit(_ask_limit, methods=["POST"], key_func=_per_user)
def ask():
    """Ask for a person's record: with the person at the desk (their proof, their consent) it moves at once;
    from a hint of the regional check (`record=<uid>`) a request goes to the centre that holds it."""
    record = request.values.get("record", "")
    if record:
        return _request_page(record)
    form = AskForm()
    _centre_choices(form)
    if form.validate_on_submit():
        g.commit_on_error = True  # keep the audit record of a proof that did not match
        with rule_on_form(form):
            centre = service.asking_centre(current_user, form.centre.data)
            proof = proofs.Proof(form.case_number.data, form.date_of_birth.data, form.card_token.data)
            transfer = service.at_desk(current_user, centre, proof)
            flash(_("The record is now at your centre. Its route shows where the person was served before."), "info")
            return redirect(url_for("beneficiaries.profile", uid=transfer.beneficiary.uid))
    return render_template("continuity/ask.html", form=form), form_status(form)


def _request_page(record: str):
    form = RequestForm(record=record)
    _centre_choices(form)
    if form.validate_on_submit():
        with rule_on_form(form):
            centre = service.asking_centre(current_user, form.centre.data)
            # a hint's link carries the record sealed for this user; a request may also name the uid itself
            record = form.record.data or ""
            service.request_record(current_user, centre, regional.referenced_uid(record, current_user.id) or record)
            flash(str(service.REQUEST_SENT), "info")
            return redirect(url_for("continuity.asked"))
    return render_template("continuity/request.html", form=form), form_status(form)


@bp.get("/requests")
@requires(Permission.CONTINUITY_DECIDE)
def requests():
    """The requests for records of the user's centres waiting for an answer (escalated ones for a
    protection officer), oldest first."""
    found = service.to_answer(current_user)
    return render_template("continuity/requests.html", found=found, statuses=STATUSES)


@bp.get("/asked")
@requires(Permission.CONTINUITY_ASK)
def asked():
    """The requests of the user's centres: where each stands and, for a refusal, what to do next."""
    return render_template(
        "continuity/asked.html",
        found=service.asked_by(current_user),
        statuses=STATUSES,
        reasons=REFUSAL_REASONS,
        next_steps=NEXT_STEPS,
        for_asker=FOR_ASKER,
    )


def _load(transfer_uid: str) -> Transfer:
    """The request with this opaque id, if the user answers it; 404 otherwise (never confirm it exists)."""
    transfer = get_by_uid_or_404(Transfer, transfer_uid)
    if not service.may_answer(current_user, transfer) or transfer.beneficiary.is_erased:
        audit.record("access.out_of_scope", detail=request.endpoint)
        abort(404)
    return transfer


@bp.route("/r/<transfer_uid>", methods=["GET", "POST"])
@requires(Permission.CONTINUITY_DECIDE)
def answer(transfer_uid: str):
    """One request: who asks, since when; accept (choosing what comes along) or refuse (saying why)."""
    transfer = _load(transfer_uid)
    form = AnswerForm()
    if form.validate_on_submit():
        g.commit_on_error = True  # a request found superseded stays so
        with rule_on_form(form):
            if form.decision.data == "accept":
                service.accept(current_user, transfer, form.sections.data or [])
                flash(_("Accepted: the record is now at %(centre)s.", centre=transfer.to_centre.name), "info")
            elif form.decision.data == "refuse":
                service.refuse(current_user, transfer, form.reason.data, form.note.data)
                flash(_("Refused. The asking centre reads the reason and what to do next."), "info")
            else:
                raise service.ContinuityError(_("Choose whether to accept or refuse."), field="decision")
            return redirect(url_for("continuity.requests"))
    return render_template(
        "continuity/answer.html",
        transfer=transfer,
        form=form,
        statuses=STATUSES,
        reasons=REFUSAL_REASONS,
        sections=SECTIONS,
    ), form_status(form)


# ---- on other pages ------------------------------------------------------------------------


#: each count of the route, and the permission that sees what it counts (as the profile's own sections)
ROUTE_COUNTS = {
    "handovers": Permission.VIEW,
    "shelter": Permission.SHELTER_VIEW,
    "referrals": Permission.CASE_VIEW,
    "fund": Permission.FUND_VIEW,
}


def profile_probe(user, person) -> dict:
    """What the profile's route and transfers look for."""
    if not can(user, Permission.VIEW):
        return {}
    return {"provided": service.provided_any(person), "transfers": service.any_transfer(person)}


def profile_section(user, person, found: Mapping[str, bool]) -> dict:
    """On a person's profile: their route (stays, and counts of what each centre provided) and every request
    for their record between centres."""
    if not can(user, Permission.VIEW):
        return {}
    return {
        "route": service.route(
            person,
            kinds=[kind for kind, permission in ROUTE_COUNTS.items() if can(user, permission)],
            reach=centre_ids_in_scope(user),
            provided=found["provided"],
        ),
        "transfers": service.of_person(person) if found["transfers"] else [],
        "transfer_statuses": STATUSES,
        "transfer_sections": SECTIONS,
    }


def case_section(user, case) -> dict:
    """On a case's page: the regional fund history that came along with the person's record."""
    return {"fund_history": service.fund_history(case)}


HOME_ROWS = 5
#: how long a record that arrived shows on the home of its new centre
ARRIVED_DAYS = 14


def _arrived(user) -> list[Section]:
    """Records that moved to the user's centres lately: their case waits for a caseworker there."""
    came = service.arrived(user, utcnow() - dt.timedelta(days=ARRIVED_DAYS), HOME_ROWS)
    if not came.total:
        return []
    rows = [
        Row(t.beneficiary.case_number, url_for("beneficiaries.profile", uid=t.beneficiary.uid), t.from_centre.name)
        for t in came.items
    ]
    return [
        Section(
            key="continuity_arrived",
            title=_("Records that arrived from other centres"),
            rows=rows,
            summary=ngettext(
                "%(num)d in the last two weeks; a case arrives without a caseworker",
                "%(num)d in the last two weeks; cases arrive without a caseworker",
                came.total,
            ),
            order=31,
        )
    ]


def home_sections(user, today: dt.date) -> list[Section]:
    """On the landing page: the requests for records the user answers (escalated ones for a protection
    officer)."""
    if not role_allows(user, Permission.CONTINUITY_DECIDE):
        return []
    found = []
    if user.role != "protection_officer":
        found += _arrived(user)
    waiting = service.to_answer(user, HOME_ROWS)
    if not waiting.total:
        return found
    rows = [
        Row(
            t.beneficiary.case_number,
            url_for("continuity.answer", transfer_uid=t.uid),
            t.to_centre.name,
            _("escalated") if t.status == "escalated" else "",
        )
        for t in waiting.items
    ]
    return [
        *found,
        Section(
            key="continuity",
            title=_("Requests for records from other centres"),
            rows=rows,
            summary=ngettext("%(num)d waiting for an answer", "%(num)d waiting for an answer", waiting.total),
            link=url_for("continuity.requests"),
            link_text=_("All requests"),
            order=30,
        ),
    ]
