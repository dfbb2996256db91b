"""Shelter pages: occupancy, a shelter's residents, placing a person, check-out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from msc import clock
from msc.beneficiaries.access import load_beneficiary
from msc.beneficiaries.models import Beneficiary
from msc.db import get_by_uid_or_404, get_or_404
from msc.forms import ConfirmForm, form_status, rule_on_form
from msc.sections import Row, Section
from msc.security.policy import Permission, active_centres_of, can, check_scope, requires, role_allows
from msc.shelters import service
from msc.shelters.forms import PlacementForm, ShelterForm
from msc.shelters.models import Placement, Shelter
from msc.shelters.vocab import SLOT_LABELS

bp = Blueprint("shelters", __name__)


def _shelter(shelter_id: int) -> Shelter:
    shelter = get_or_404(Shelter, shelter_id)
    check_scope(current_user, shelter.centre_id)
    return shelter


@bp.get("/")
@requires(Permission.SHELTER_VIEW)
def index():
    """Occupancy of the shelters of my centres."""
    shelters = service.visible_shelters(current_user)
    return render_template(
        "shelters/index.html",
        rows=[(s, service.occupancy(s)) for s in shelters],
        may_manage=can(current_user, Permission.SHELTER_MANAGE),
    )


@bp.get("/<int:shelter_id>")
@requires(Permission.SHELTER_VIEW)
def detail(shelter_id: int):
    """Who is staying at a shelter now."""
    shelter = _shelter(shelter_id)
    return render_template(
        "shelters/detail.html",
        shelter=shelter,
        occ=service.occupancy(shelter),
        residents=service.residents(shelter),
        today=clock.today_at(shelter.centre),
        may_place=can(current_user, Permission.SHELTER_PLACE),
        may_manage=can(current_user, Permission.SHELTER_MANAGE),
    )


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:shelter_id>/edit", methods=["GET", "POST"])
@requires(Permission.SHELTER_MANAGE)
def edit(shelter_id: int | None = None):
    """Create or edit a shelter and its capacity."""
    shelter = _shelter(shelter_id) if shelter_id else None
    form = ShelterForm(obj=shelter, centres=active_centres_of(current_user))
    if form.validate_on_submit():
        with rule_on_form(form):
            shelter = service.save_shelter(
                current_user,
                shelter,
                name=form.name.data,
                centre_id=form.centre_id.data,
                mode=form.mode.data,
                beds_female=form.beds_female.data,
                beds_male=form.beds_male.data,
                family_units=form.family_units.data,
                active=form.active.data,
            )
            flash(_("Shelter saved."), "success")
            return redirect(url_for("shelters.detail", shelter_id=shelter.id))
    return render_template("shelters/form.html", form=form, shelter=shelter), form_status(form)


@bp.route("/place/<uid>", methods=["GET", "POST"])
@requires(Permission.SHELTER_PLACE)
def place(uid: str):
    """Place a person at a shelter (from an accepted shelter referral, if there is one)."""
    person = load_beneficiary(uid)
    shelters = service.visible_shelters(current_user)
    form = PlacementForm(shelters=shelters, referrals=service.shelter_referrals(person))
    if request.method == "GET":
        form.check_in_on.data = clock.today_at(person.centre)
    if form.validate_on_submit():
        shelter = next((s for s in shelters if s.id == form.shelter_id.data), None)
        with rule_on_form(form):
            if shelter is None:
                raise service.ShelterError(_("Choose one of your centres' shelters."), field="shelter_id")
            service.place(
                current_user,
                person,
                shelter,
                check_in_on=form.check_in_on.data,
                planned_days=form.planned_days.data,
                referral_id=form.referral_id.data or None,
                override_reason=form.override_reason.data,
            )
            flash(_("Placed at %(shelter)s.", shelter=shelter.name), "success")
            return redirect(url_for("shelters.detail", shelter_id=shelter.id))
    return render_template(
        "shelters/place.html",
        form=form,
        person=person,
        occupancy={s.id: service.occupancy(s) for s in shelters},
        shelters=shelters,
    ), form_status(form)


@bp.post("/placements/<placement_uid>/check-out")
@requires(Permission.SHELTER_PLACE)
def check_out(placement_uid: str):
    """The person leaves the shelter today."""
    placement = get_by_uid_or_404(Placement, placement_uid)
    check_scope(current_user, placement.shelter.centre_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.check_out(current_user, placement)
    except service.ShelterError as err:
        flash(err.message, "error")
    else:
        flash(_("Checked out."), "success")
    return redirect(url_for("shelters.detail", shelter_id=placement.shelter_id))


def profile_probe(user, person: Beneficiary) -> dict:
    """What the profile's shelter line looks for, for those who may see shelters."""
    return {"placed": service.is_placed(person)} if can(user, Permission.SHELTER_VIEW) else {}


def profile_section(user, person: Beneficiary, found: Mapping[str, bool]) -> dict:
    """On a person's profile: where they are staying now, for those who may see shelters."""
    return {"stay": service.current_placement(person) if found["placed"] else None}


@bp.app_context_processor
def _helpers() -> dict:
    return {"SLOT_LABELS": SLOT_LABELS}


def home_sections(user, today: dt.date) -> list[Section]:
    """On a centre manager's landing page: how full each shelter of their centres is tonight."""
    if not role_allows(user, Permission.SHELTER_MANAGE):
        return []
    rows = []
    for shelter in service.visible_shelters(user):
        held = service.occupancy(shelter)
        places = held.total_capacity
        taken = ngettext(
            "%(taken)d of %(num)d place taken", "%(taken)d of %(num)d places taken", places, taken=held.total_taken
        )
        rows.append(
            Row(
                shelter.name,
                url_for("shelters.detail", shelter_id=shelter.id),
                taken,
                _("full") if held.total_taken >= places else "",
            )
        )
    return [
        Section(
            "occupancy",
            _("Occupancy"),
            rows,
            empty=_("No shelter at your centre."),
            link=url_for("shelters.index"),
            link_text=_("All shelters"),
            order=40,
        )
    ]
