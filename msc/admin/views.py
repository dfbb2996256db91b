"""Admin pages: centres, entry points and users."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from msc.admin import service
from msc.admin.forms import (
    ENTRY_KIND_LABELS,
    KIND_LABELS,
    ROLE_LABELS,
    SCOPE_LABELS,
    CentreForm,
    EntryPointForm,
    UserForm,
    account_fields,
    account_form,
)
from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre, EntryPoint
from msc.db import get_or_404, session
from msc.errors import RuleError
from msc.forms import ConfirmForm, form_status, rule_on_form
from msc.security import service as accounts
from msc.security.models import User
from msc.security.policy import Permission, requires

bp = Blueprint("admin", __name__)


@bp.get("/")
@requires(Permission.ADMIN_USERS)
def index():
    """The administrator's start page."""
    return render_template("admin/index.html")


@bp.get("/centres")
@requires(Permission.ADMIN_CENTRES)
def centres():
    """Every centre, by country."""
    rows = session.scalars(sa.select(Centre).order_by(Centre.country, Centre.code))
    return render_template("admin/centres.html", centres=rows, kinds=KIND_LABELS)


@bp.route("/centres/new", methods=["GET", "POST"])
@bp.route("/centres/<int:centre_id>", methods=["GET", "POST"])
@requires(Permission.ADMIN_CENTRES)
def centre_edit(centre_id: int | None = None):
    """Create or edit a centre."""
    centre = get_or_404(Centre, centre_id)
    form = CentreForm(obj=centre)
    if form.validate_on_submit():
        with rule_on_form(form):
            service.save_centre(
                centre,
                code=form.code.data,
                name=form.name.data,
                country=form.country.data,
                municipality=form.municipality.data,
                kind=form.kind.data,
                active=form.active.data,
            )
            flash(_("Centre saved."), "success")
            return redirect(url_for("admin.centres"))
    return render_template("admin/centre_form.html", form=form, centre=centre), form_status(form)


@bp.get("/entry-points")
@requires(Permission.ADMIN_CENTRES)
def entry_points():
    """The entry points of every country (or of one), with how many records name each."""
    country = request.args.get("country", "")[:3].upper()
    stmt = sa.select(EntryPoint).order_by(EntryPoint.country, EntryPoint.active.desc(), EntryPoint.name)
    if country:
        stmt = stmt.where(EntryPoint.country == country)
    used = dict(
        session.execute(
            sa.select(Beneficiary.entry_point_id, sa.func.count())
            .where(Beneficiary.entry_point_id.is_not(None))
            .group_by(Beneficiary.entry_point_id)
        ).all()
    )
    countries = sorted(
        set(session.scalars(sa.select(Centre.country))) | set(session.scalars(sa.select(EntryPoint.country)))
    )
    return render_template(
        "admin/entry_points.html",
        places=session.scalars(stmt),
        used=used,
        kinds=ENTRY_KIND_LABELS,
        countries=countries,
        country=country,
    )


@bp.route("/entry-points/new", methods=["GET", "POST"])
@bp.route("/entry-points/<int:entry_point_id>", methods=["GET", "POST"])
@requires(Permission.ADMIN_CENTRES)
def entry_point_edit(entry_point_id: int | None = None):
    """Add an entry point, or rename, reclassify, deactivate or reactivate one."""
    place = get_or_404(EntryPoint, entry_point_id)
    form = EntryPointForm(obj=place)
    if place is None and not form.is_submitted() and request.args.get("country"):
        form.country.data = request.args["country"][:3].upper()
    if form.validate_on_submit():
        with rule_on_form(form):
            place = service.save_entry_point(
                place, country=form.country.data, name=form.name.data, kind=form.kind.data, active=form.active.data
            )
            flash(_("Entry point saved."), "success")
            return redirect(url_for("admin.entry_points", country=place.country))
    in_use = service.people_through(place) if place is not None else 0
    return render_template("admin/entry_point_form.html", form=form, place=place, in_use=in_use), form_status(form)


@bp.post("/entry-points/<int:entry_point_id>/delete")
@requires(Permission.ADMIN_CENTRES)
def entry_point_delete(entry_point_id: int):
    """Delete an entry point that no record names (one in use can only be deactivated)."""
    place = get_or_404(EntryPoint, entry_point_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    country = place.country
    try:
        service.delete_entry_point(place)
    except RuleError as err:
        flash(err.message, "error")
        return redirect(url_for("admin.entry_point_edit", entry_point_id=place.id))
    flash(_("Entry point deleted."), "success")
    return redirect(url_for("admin.entry_points", country=country))


@bp.get("/users")
@requires(Permission.ADMIN_USERS)
def users():
    """Every person's account, with role, reach and status (service accounts have their own page)."""
    rows = list(session.scalars(sa.select(User).where(User.service_account.is_(False)).order_by(User.username)))
    return render_template(
        "admin/users.html",
        users=rows,
        locked=accounts.locked_usernames(rows),
        roles=ROLE_LABELS,
        scopes=SCOPE_LABELS,
        confirm=ConfirmForm(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires(Permission.ADMIN_USERS)
def user_edit(user_id: int | None = None):
    """Create or edit an account."""
    user = get_or_404(User, user_id)
    if user is not None and user.service_account:
        return redirect(url_for("api_admin.account_edit", user_id=user.id))
    form = account_form(UserForm, user, *service.reach_choices())
    if user is not None and not form.is_submitted():
        form.psea_focal_point.data = user.psea_focal_point
    if form.validate_on_submit():
        with rule_on_form(form):
            service.save_user(
                current_user,
                user,
                **account_fields(form),
                password=form.password.data or None,
                psea_focal_point=bool(form.psea_focal_point.data),
            )
            flash(_("User saved."), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user, confirm=ConfirmForm()), form_status(form)


def _user_action(user_id: int, action) -> object:
    user = get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        action(user)
    except accounts.AccountError as err:
        flash(err.message, "error")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/deactivate")
@requires(Permission.ADMIN_USERS)
def user_deactivate(user_id: int):
    """Deactivate an account; its sessions end at once."""

    def act(user):
        service.set_active(current_user, user, False)
        flash(_("Account deactivated; its sessions have ended."), "success")

    return _user_action(user_id, act)


@bp.post("/users/<int:user_id>/activate")
@requires(Permission.ADMIN_USERS)
def user_activate(user_id: int):
    """Reactivate an account."""

    def act(user):
        service.set_active(current_user, user, True)
        flash(_("Account activated."), "success")

    return _user_action(user_id, act)


@bp.post("/users/<int:user_id>/reset-mfa")
@requires(Permission.ADMIN_USERS)
def user_reset_mfa(user_id: int):
    """Remove an account's second factor (lost phone)."""

    def act(user):
        accounts.reset_mfa(user)
        flash(_("Second factor removed: the user sets it up again at next login."), "success")

    return _user_action(user_id, act)


@bp.post("/users/<int:user_id>/unlock")
@requires(Permission.ADMIN_USERS)
def user_unlock(user_id: int):
    """Lift a lockout after failed logins."""

    def act(user):
        service.unlock(user)
        flash(_("Account unlocked."), "success")

    return _user_action(user_id, act)
