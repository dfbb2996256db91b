"""Onward movement pages: planning a person's journey from their profile, the receiving centre's expected
arrivals and its confirmation, the sending centre's planned journeys and their cancellation, the journeys
that did not arrive; the journeys on the profile and the counts on the home page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import NoReturn

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from msc import clock
from msc.beneficiaries.access import load_beneficiary
from msc.continuity import onward
from msc.continuity.onward_forms import CancelForm, PlanForm
from msc.continuity.onward_models import OnwardMovement
from msc.continuity.onward_vocab import (
    CANCEL_REASONS,
    ESCORTS,
    FLAGS,
    OTHER_CITY,
    PROVISIONS,
    STATUSES,
    TRANSPORT,
)
from msc.db import get_by_uid_or_404
from msc.forms import ConfirmForm, form_status, rule_on_form
from msc.sections import Row, Section
from msc.security import audit
from msc.security.policy import Permission, can, requires, role_allows

bp = Blueprint("onward", __name__)

VOCAB = {
    "transport": TRANSPORT,
    "escorts": ESCORTS,
    "provisions": PROVISIONS,
    "statuses": STATUSES,
    "cancel_reasons": CANCEL_REASONS,
    "flags": FLAGS,
}


def _destinations(form: PlanForm, person) -> None:
    centres = [(f"centre:{c.id}", f"{c.name} ({c.country})") for c in onward.destination_centres(person)]
    places = [(f"place:{m}", m) for m in onward.municipalities()]
    form.destination.choices = {
        _("Choose…"): [("", "—")],
        _("A centre (the record moves there on arrival)"): centres,
        _("A city that is not a centre"): places,
        _("Elsewhere"): [(OTHER_CITY, _("Another city (type it below)"))],
    }


@bp.route("/b/<uid>/plan", methods=["GET", "POST"])
@requires(Permission.ONWARD_PLAN)
def plan(uid: str):
    """Plan the journey of a person the user's centre serves."""
    person = load_beneficiary(uid)
    if not onward.may_plan(current_user, person):
        audit.record("access.out_of_scope", detail=request.endpoint)
        abort(404)
    form = PlanForm()
    _destinations(form, person)
    if form.validate_on_submit():
        with rule_on_form(form):
            onward.plan(
                current_user,
                person,
                onward.Journey(
                    destination=form.destination.data,
                    other_city=form.other_city.data,
                    planned_on=form.planned_on.data,
                    transport=form.transport.data,
                    escort=form.escort.data,
                    escort_reason=form.escort_reason.data,
                    provided=form.provided.data or [],
                ),
            )
            flash(_("Onward movement planned. It shows on the profile and at the receiving centre."), "info")
            return redirect(url_for("beneficiaries.profile", uid=person.uid))
    age = person.age_on(clock.today_at(person.centre))
    return render_template("continuity/onward_plan.html", person=person, form=form, age=age), form_status(form)


@bp.get("/expected")
@requires(Permission.ONWARD_RECEIVE)
def expected():
    """The journeys planned to the user's centres: who to expect, and when."""
    found = onward.expected(current_user)
    audit.record("onward.expected", detail=f"rows:{len(found.items)}")  # names of people held by another centre
    return render_template("continuity/onward_expected.html", found=found, **VOCAB)


@bp.get("/planned")
@requires(Permission.ONWARD_PLAN)
def planned():
    """The journeys the user's centres planned and that are still waiting for an arrival."""
    return render_template("continuity/onward_planned.html", found=onward.planned_from(current_user), **VOCAB)


@bp.get("/not-arrived")
@requires(Permission.ONWARD_FLAGS)
def not_arrived():
    """The journeys of the user's centres that did not arrive, protection flags first."""
    return render_template(
        "continuity/onward_not_arrived.html",
        found=onward.not_arrived(current_user),
        days=onward.overdue_days(),
        **VOCAB,
    )


def _load(movement_uid: str) -> OnwardMovement:
    """The journey with this opaque id, if the user is at its sending or receiving centre; 404 otherwise."""
    movement = get_by_uid_or_404(OnwardMovement, movement_uid)
    if not onward.may_see(current_user, movement):
        _out_of_reach()
    return movement


def _out_of_reach() -> NoReturn:
    audit.record("access.out_of_scope", detail=request.endpoint)
    abort(404)


def _page(movement: OnwardMovement, confirm_form: ConfirmForm, cancel_form: CancelForm):
    sending = onward.sends(current_user, movement)
    return render_template(
        "continuity/onward_movement.html",
        movement=movement,
        person=movement.beneficiary,
        age=movement.beneficiary.age_on(movement.planned_on),
        sending=sending,
        may_confirm=onward.may_confirm(current_user, movement),
        may_cancel=onward.may_cancel(current_user, movement),
        confirm_form=confirm_form,
        cancel_form=cancel_form,
        **VOCAB,
    ), form_status(confirm_form, cancel_form)


@bp.get("/m/<movement_uid>")
@requires(Permission.ONWARD_RECEIVE)
def movement(movement_uid: str):
    """One journey: for the receiving centre what recognising the person needs, for the sending centre all
    it planned; the button that confirms the arrival or the form that cancels the journey."""
    journey = _load(movement_uid)
    person_id, detail = journey.beneficiary_id, f"onward:{journey.uid}"
    audit.record("beneficiary.view", object_type="beneficiary", object_id=person_id, detail=detail)
    return _page(journey, ConfirmForm(prefix="arrival"), CancelForm(prefix="cancel"))


@bp.post("/m/<movement_uid>/arrived")
@requires(Permission.ONWARD_RECEIVE)
def confirm(movement_uid: str):
    """The person arrived: the record moves to the receiving centre. A desk whose journey closed meanwhile
    (cancelled, moved elsewhere, consent withdrawn) is told why on its list of expected arrivals."""
    found = get_by_uid_or_404(OnwardMovement, movement_uid)
    if not onward.may_see(current_user, found):
        why = onward.why_not_expected(current_user, found)
        if why is None:
            _out_of_reach()
        flash(why, "error")
        return redirect(url_for("onward.expected"))
    form = ConfirmForm(prefix="arrival")
    if form.validate_on_submit():
        g.commit_on_error = True  # a journey found superseded stays so
        with rule_on_form(form):
            onward.confirm(current_user, found)
            flash(_("Arrival confirmed: the record is now at your centre."), "info")
            return redirect(url_for("beneficiaries.profile", uid=found.beneficiary.uid))
    return _page(found, form, CancelForm(prefix="cancel"))


@bp.post("/m/<movement_uid>/cancel")
@requires(Permission.ONWARD_PLAN)
def cancel(movement_uid: str):
    """The sending centre cancels a planned journey, saying why."""
    found = _load(movement_uid)
    form = CancelForm(prefix="cancel")
    if form.validate_on_submit():
        with rule_on_form(form):
            onward.cancel(current_user, found, form.reason.data)
            flash(_("Onward movement cancelled."), "info")
            return redirect(url_for("beneficiaries.profile", uid=found.beneficiary.uid))
    return _page(found, ConfirmForm(prefix="arrival"), form)


# ---- on other pages ------------------------------------------------------------------------


def profile_probe(user, person) -> dict:
    """What the profile's onward movements look for."""
    return {"onward": onward.any_of_person(person)} if can(user, Permission.VIEW) else {}


def profile_section(user, person, found: Mapping[str, bool]) -> dict:
    """On a person's profile: their onward movements, and the link to plan one for the centre serving them."""
    if not can(user, Permission.VIEW):
        return {}
    return {
        "onward_movements": onward.of_person(person) if found["onward"] else [],
        "onward_may_plan": onward.may_plan(user, person),
        "onward_vocab": VOCAB,
    }


HOME_ROWS = 5


def _expected_section(user) -> list[Section]:
    found = onward.expected(user, HOME_ROWS)
    if not found.total:
        return []
    rows = [
        Row(
            m.beneficiary.full_name,
            url_for("onward.movement", movement_uid=m.uid),
            f"{format_date(m.planned_on)} — {m.from_centre.name}",
        )
        for m in found.items
    ]
    return [
        Section(
            key="onward_expected",
            title=_("Expected arrivals"),
            rows=rows,
            summary=ngettext(
                "%(num)d person on the way to your centre", "%(num)d people on the way to your centre", found.total
            ),
            link=url_for("onward.expected"),
            link_text=_("All expected arrivals"),
            order=32,
        )
    ]


def _not_arrived_section(user) -> list[Section]:
    found = onward.not_arrived(user, 50)
    if not found:
        return []
    rows = [
        Row(
            f.movement.from_centre.name + " → " + (f.movement.to_centre.name if f.movement.to_centre else ""),
            url_for("onward.not_arrived"),
            format_date(f.movement.planned_on),
            str(FLAGS[f.flag]) if f.flag else "",
        )
        for f in found[:HOME_ROWS]
    ]
    flagged = sum(1 for f in found if f.flag)
    return [
        Section(
            key="onward_not_arrived",
            title=_("Onward movements that did not arrive"),
            rows=rows,
            summary=ngettext("%(num)d did not arrive", "%(num)d did not arrive", len(found))
            + (" — " + ngettext("%(num)d protection flag", "%(num)d protection flags", flagged) if flagged else ""),
            link=url_for("onward.not_arrived"),
            link_text=_("All that did not arrive"),
            order=29,
            alert=flagged > 0,
        )
    ]


def home_sections(user, today: dt.date) -> list[Section]:
    """On the landing page: the receiving centre's expected arrivals; the journeys that did not arrive for
    centre managers and protection officers."""
    found: list[Section] = []
    if role_allows(user, Permission.ONWARD_RECEIVE):
        found += _expected_section(user)
    if role_allows(user, Permission.ONWARD_FLAGS):
        found += _not_arrived_section(user)
    return found
