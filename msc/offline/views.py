"""Offline desk pages: enrolling a tablet, the offline window and the sync (JSON, called by the desk's
script), the registrations waiting for the clerk, and for managers the devices and what was flagged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from msc.beneficiaries.forms import RegistrationForm
from msc.beneficiaries.models import Beneficiary
from msc.beneficiaries.service import entry_point_choices
from msc.db import session
from msc.errors import DomainError, show_on_form
from msc.forms import ConfirmForm, form_status
from msc.nfi import vocab as nfi_vocab
from msc.nfi.forms import HandOverForm
from msc.nfi.models import Distribution
from msc.nfi.rules import describe_group, has_target
from msc.nfi.stock import active_items
from msc.offline import service
from msc.offline.forms import EnrolForm
from msc.offline.models import RecordState
from msc.sections import Row, Section
from msc.security.policy import Permission, active_centres_of, can, public, requires, role_allows
from msc.urls import parse_id

bp = Blueprint("offline", __name__)


def _desk(form: EnrolForm, enrolled=None):
    page = render_template(
        "offline/desk.html",
        form=form,
        enrolled=enrolled,
        waiting=service.waiting_for(current_user),
        may_manage=can(current_user, Permission.OFFLINE_DEVICES),
        window_hours=service.window().total_seconds() / 3600,
    )
    return page, form_status(form)


@bp.get("/")
@requires(Permission.OFFLINE_DESK)
def desk():
    """The offline desk: enrol this device, and the registrations from offline desks waiting for a decision."""
    return _desk(EnrolForm(centres=active_centres_of(current_user)))


@bp.get("/desk")
@requires(Permission.OFFLINE_DESK)
def shell():
    """The page the tablet keeps to work offline: the registration and hand-over forms, the catalogue and
    the words, and the queue of what waits to be sent (drawn by the script). It holds no one's data."""
    centres = active_centres_of(current_user)
    form = RegistrationForm(meta={"csrf": False})
    countries = sorted({c.country for c in centres})
    form.set_entry_points(entry_point_choices(countries), several_countries=len(countries) > 1)
    return render_template(
        "offline/shell.html",
        form=form,
        give=HandOverForm(meta={"csrf": False}, prefix="give", centres=centres),
        items=active_items(),
        levels=nfi_vocab.LEVELS,
        describe_group=describe_group,
        has_target=has_target,
    )


@bp.get("/status")
@requires(Permission.OFFLINE_DESK)
def status():
    """What the desk's script needs before it sends: a fresh CSRF token (the page it runs in may be an old
    copy from the cache). Its answer tells the script that the session is still open."""
    return jsonify({"csrf": generate_csrf()})


@bp.get("/sw.js")
@public
def service_worker():
    """The offline desk's service worker: it keeps the desk's page and its assets, nothing else."""
    assets = [url_for("static", filename=f) for f in SHELL_ASSETS]
    body = render_template("offline/sw.js", shell=url_for("offline.shell"), assets=assets, version=_version())
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = url_for("offline.desk")
    return response


@bp.get("/manifest.webmanifest")
@public
def manifest():
    """The offline desk as an installable app (its name in the visitor's language; no one's data)."""
    body = {
        "name": _("MSC Case offline desk"),
        "short_name": _("Offline desk"),
        "start_url": url_for("offline.shell"),
        "scope": url_for("offline.desk"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0033a0",
        "icons": [{"src": url_for("static", filename="favicon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    return current_app.response_class(json.dumps(body), mimetype="application/manifest+json")


#: the static files the offline desk's page needs, kept by its service worker
SHELL_ASSETS = ("css/app.css", "js/offline.js", "js/signature.js", "js/scan.js", "favicon.svg")


def _version() -> str:
    """A digest of the desk's assets, worked out once per process: a new release changes it, and the service
    worker takes the new copies (the page itself is asked of the server first whenever there is a connection)."""
    version = current_app.extensions.get("msc.offline_version")
    if version is None:
        digest = hashlib.sha256()
        folder = Path(current_app.static_folder or "")
        for name in SHELL_ASSETS:
            digest.update((folder / name).read_bytes())
        version = current_app.extensions["msc.offline_version"] = digest.hexdigest()[:12]
    return version


@bp.post("/enrol")
@requires(Permission.OFFLINE_DESK)
def enrol():
    """Enrol the tablet in use for one of the user's centres."""
    centres = active_centres_of(current_user)
    form = EnrolForm(centres=centres)
    if form.validate_on_submit():
        centre = next(c for c in centres if c.id == form.centre_id.data)  # the form offers only these
        try:
            device = service.enrol(current_user, centre, form.label.data)
        except DomainError as err:
            show_on_form(form, err)
        else:
            flash(_("This device is enrolled as an offline desk of %(centre)s.", centre=centre.name), "success")
            return _desk(EnrolForm(centres=centres), enrolled=device)
    return _desk(form)


def _body() -> object:
    """The JSON the desk's script sent; None for anything else, nested past what the parser recurses too."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def _json_error(err: DomainError, status: int = 422):
    return jsonify({"error": str(err.message), "field": err.field}), status


@bp.post("/grant")
@requires(Permission.OFFLINE_DESK)
def grant():
    """Open an offline window on an enrolled device (called by the desk's script at each online visit)."""
    body = _body()
    try:
        device = service.device_by_uid(current_user, body.get("device") if isinstance(body, dict) else None)
        return jsonify(service.grant(current_user, device))
    except DomainError as err:
        return _json_error(err)


@bp.post("/sync")
@requires(Permission.OFFLINE_DESK)
def sync():
    """Replay what a device recorded offline; the answer says what became of each record."""
    body = _body()
    if not isinstance(body, dict):
        return jsonify({"error": _("The request could not be read.")}), 400
    try:
        device = service.device_by_uid(current_user, body.get("device"))
        outcomes = service.sync(current_user, device, body.get("records"))
    except DomainError as err:
        return _json_error(err)
    return jsonify({"records": [o.as_json() for o in outcomes]})


@bp.route("/records/<record_uid>", methods=["GET", "POST"])
@requires(Permission.OFFLINE_DESK)
def record(record_uid: str):
    """A registration from an offline desk that waits for the clerk (possible duplicates), or was refused:
    what was typed, why, and the decision."""
    try:
        found = service.record_by_uid(current_user, record_uid)
    except DomainError:
        abort(404)
    form = ConfirmForm()
    error = None
    if request.method == "POST" and form.validate_on_submit():
        same_as = request.form.get("same_as")
        try:
            if request.form.get("action") == "dismiss":
                service.dismiss(current_user, found)
            elif request.form.get("action") == "reviewed":
                service.reviewed(current_user, found)
            elif same_as is not None:
                service.decide(current_user, found, parse_id(same_as) or -1)
            else:
                service.decide(current_user, found, None)
        except DomainError as err:
            error = err.message
        else:
            if found.state == RecordState.WAITING:  # (its household's first person is still undecided)
                flash(_("It still waits for the first person of its household."), "info")
            else:
                flash(_("Decided."), "success")
            return redirect(url_for("offline.record", record_uid=found.uid))
    typed, candidates = service.waiting_person(current_user, found) if found.payload_ct is not None else (None, [])
    page = render_template(
        "offline/record.html",
        record=found,
        typed=typed,
        candidates=candidates,
        form=form,
        error=error,
        states=_states(),
        may_review=can(current_user, Permission.OFFLINE_DEVICES),
        person=session.get(Beneficiary, found.beneficiary_id) if found.beneficiary_id else None,
        handover=session.get(Distribution, found.distribution_id) if found.distribution_id else None,
    )
    return page, 422 if error else 200


@bp.get("/devices")
@requires(Permission.OFFLINE_DEVICES)
def devices():
    """The devices of the user's centres, and what their offline desks recorded that was flagged or refused."""
    return render_template(
        "offline/devices.html",
        devices=service.devices_for(current_user),
        reported=service.reported_for(current_user),
        form=ConfirmForm(),
        centres={c.id: c.name for c in active_centres_of(current_user)},
        states=_states(),
    )


@bp.post("/devices/<device_uid>/revoke")
@requires(Permission.OFFLINE_DEVICES)
def revoke(device_uid: str):
    """Revoke a device: no new offline window, and its unsynced records are refused."""
    form = ConfirmForm()
    try:
        device = service.device_by_uid(current_user, device_uid)
    except DomainError:
        abort(404)
    if form.validate_on_submit():
        try:
            service.revoke(current_user, device)
        except DomainError as err:
            flash(str(err.message), "error")
        else:
            flash(_("The device %(label)s is revoked.", label=device.label), "success")
    return redirect(url_for("offline.devices"))


def _states() -> dict[str, str]:
    return {
        RecordState.APPLIED: _("Recorded"),
        RecordState.WAITING: _("Waits for a decision"),
        RecordState.FLAGGED: _("Recorded, outside the rules"),
        RecordState.REFUSED: _("Refused"),
        RecordState.DISCARDED: _("Already registered"),
    }


#: rows a section of the landing page shows before its link to the full page
HOME_ROWS = 5


def home_sections(user, today) -> list[Section]:
    """On the landing page: registrations from offline desks waiting for the desk's decision; for a manager,
    the offline hand-overs recorded outside the rules and the records refused."""
    found = []
    if role_allows(user, Permission.REGISTER):
        waiting = service.waiting_for(user)
        if waiting:
            rows = [
                Row(str(r.reason or ""), url_for("offline.record", record_uid=r.uid), r.device.label)
                for r in waiting[:HOME_ROWS]
            ]
            found.append(
                Section(
                    "offline-waiting",
                    _("Offline registrations to decide"),
                    rows,
                    ngettext("%(num)d registration waits", "%(num)d registrations wait", len(waiting)),
                    link=url_for("offline.desk"),
                    link_text=_("Offline desk"),
                    order=15,
                )
            )
    if role_allows(user, Permission.OFFLINE_DEVICES):
        reported = service.reported_for(user, open_only=True)
        if reported:
            states = _states()
            rows = [
                Row(
                    str(r.reason or ""),
                    url_for("offline.record", record_uid=r.uid),
                    r.device.label,
                    states.get(r.state, r.state),
                )
                for r in reported[:HOME_ROWS]
            ]
            found.append(
                Section(
                    "offline-reported",
                    _("Flagged and refused offline records"),
                    rows,
                    ngettext("%(num)d record to look at", "%(num)d records to look at", len(reported)),
                    link=url_for("offline.devices"),
                    link_text=_("Tablets for offline work"),
                    order=16,
                )
            )
    return found
