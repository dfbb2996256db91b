"""Directory pages: browse, organisation, and the forms to maintain them."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from msc import clock
from msc.db import get_or_404
from msc.forms import form_status, rule_on_form
from msc.partners import service, vocab
from msc.partners.forms import DirectoryFilterForm, OrganisationForm, ServiceForm
from msc.partners.models import Organisation, PartnerService
from msc.security.policy import Permission, active_centres_of, can, requires
from msc.urls import parse_id

bp = Blueprint("partners", __name__)


@bp.get("/")
@requires(Permission.PARTNERS_VIEW)
def directory():
    """Services that serve my centres, by sector, with each organisation's agreement status."""
    centres = active_centres_of(current_user)
    form = DirectoryFilterForm(request.args, centres=centres)
    sector = form.sector.data if form.sector.data in vocab.SECTORS else None
    centre_id = parse_id(form.centre.data)
    services = service.visible_services(current_user, sector=sector, centre_id=centre_id)
    return render_template(
        "partners/directory.html",
        form=form,
        services=services,
        vocab=vocab,
        today=clock.viewer_today(current_user),
        may_manage=can(current_user, Permission.PARTNERS_MANAGE),
    )


@bp.get("/organisations/<int:org_id>")
@requires(Permission.PARTNERS_VIEW)
def organisation(org_id: int):
    """One organisation: agreement, categories covered, and the services I can see."""
    org = get_or_404(Organisation, org_id)
    visible = {s.id for s in service.visible_services(current_user)}
    services = [s for s in org.services if s.id in visible]
    may_manage = can(current_user, Permission.PARTNERS_MANAGE)
    return render_template(
        "partners/organisation.html",
        org=org,
        services=services,
        vocab=vocab,
        today=clock.viewer_today(current_user),
        may_manage=may_manage,
        editable={s.id for s in services if may_manage and service.may_edit_service(current_user, s)},
    )


@bp.route("/organisations/new", methods=["GET", "POST"])
@bp.route("/organisations/<int:org_id>/edit", methods=["GET", "POST"])
@requires(Permission.PARTNERS_MANAGE)
def organisation_edit(org_id: int | None = None):
    """Create or edit an organisation and its data-sharing agreement."""
    org = get_or_404(Organisation, org_id)
    form = OrganisationForm(obj=org)
    if org is not None and not form.is_submitted():
        form.categories.data = org.category_codes
    if form.validate_on_submit():
        with rule_on_form(form):
            org = service.save_organisation(
                current_user,
                org,
                name=form.name.data,
                kind=form.kind.data,
                country=form.country.data,
                contact=form.contact.data,
                agreement_until=form.agreement_until.data,
                categories=form.categories.data or [],
                active=form.active.data,
            )
            flash(_("Organisation saved."), "success")
            return redirect(url_for("partners.organisation", org_id=org.id))
    return render_template("partners/organisation_form.html", form=form, org=org), form_status(form)


@bp.route("/organisations/<int:org_id>/services/new", methods=["GET", "POST"])
@bp.route("/services/<int:service_id>/edit", methods=["GET", "POST"])
@requires(Permission.PARTNERS_MANAGE)
def service_edit(org_id: int | None = None, service_id: int | None = None):
    """Create or edit a service of an organisation."""
    svc = get_or_404(PartnerService, service_id)
    org = svc.organisation if svc else get_or_404(Organisation, org_id)
    if svc is not None and not service.may_edit_service(current_user, svc):
        abort(403)
    form = ServiceForm(obj=svc, centres=active_centres_of(current_user))
    if svc is not None and not form.is_submitted():
        form.centre_ids.data = [c.id for c in svc.centres]
        form.languages.data = svc.language_codes
    if form.validate_on_submit():
        with rule_on_form(form):
            service.save_service(
                current_user,
                org,
                svc,
                name=form.name.data,
                sector=form.sector.data,
                centre_ids=form.centre_ids.data or [],
                municipalities=form.municipalities.data,
                eligibility=form.eligibility.data,
                languages=form.languages.data or [],
                opening_hours=form.opening_hours.data,
                contact=form.contact.data,
                active=form.active.data,
            )
            flash(_("Service saved."), "success")
            return redirect(url_for("partners.organisation", org_id=org.id))
    return render_template("partners/service_form.html", form=form, org=org, svc=svc), form_status(form)
