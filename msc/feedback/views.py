"""Feedback pages: the public page of a centre (no login) and its QR poster, the status page for a
reference code, the desk form, and the queues where managers and focal points answer."""

from __future__ import annotations

import datetime as dt
import time

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer

from msc import clock
from msc.beneficiaries.service import by_case_number
from msc.centres.models import Centre
from msc.db import get_by_uid_or_404, get_or_404, session
from msc.exports import suppress
from msc.extensions import limiter
from msc.feedback import kiosk, service, vocab
from msc.feedback import reports as agg
from msc.feedback.forms import DeskForm, PublicForm, StatusForm, SurveyForm, UpdateForm
from msc.feedback.models import Feedback
from msc.forms import form_status, rule_on_form
from msc.qr import qr_svg
from msc.sections import Row, Section
from msc.security.models import User
from msc.security.policy import (
    Permission,
    active_centres_of,
    can,
    check_scope,
    in_scope,
    public,
    requires,
    role_allows,
    roles_with,
)
from msc.security.service import end_session
from msc.urls import external_url

bp = Blueprint("feedback", __name__)


def _public_limits(view):
    """The public pages' sending limits (msc/feedback/kiosk.py): per device; per address for senders without
    a device id, counting only messages that were sent (a sender refused for its own flood takes nothing
    from its neighbours); per kiosk."""
    view = limiter.limit(kiosk.kiosk_limit, key_func=kiosk.kiosk_key, methods=["POST"], exempt_when=kiosk.not_on_kiosk)(
        view
    )
    view = limiter.limit(
        kiosk.address_limit,
        key_func=kiosk.address_key,
        methods=["POST"],
        exempt_when=kiosk.kiosk_or_device,
        deduct_when=lambda response: response.status_code < 400,
    )(view)
    return limiter.limit(kiosk.device_limit, key_func=kiosk.device_key, methods=["POST"], exempt_when=kiosk.on_kiosk)(
        view
    )


def _clock() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="feedback-started")


def _public_centre(code: str) -> Centre:
    centre = session.scalar(sa.select(Centre).where(Centre.code == code.upper(), Centre.active.is_(True)))
    if centre is None:
        abort(404)
    return centre


@bp.route("/f/<code>", methods=["GET", "POST"])
@public
@_public_limits
def public_page(code: str):
    """Tell the centre something, anonymously; a contact only if an answer is wanted."""
    centre = _public_centre(code)
    form = PublicForm()

    def send():
        sent = service.submit(
            centre, channel="self_service", kind=form.kind.data, text=form.text.data, contact=form.contact.data
        )
        return render_template("feedback/sent.html", centre=centre, code=sent.shown_code)

    page = _public_form(form, send) or (
        render_template("feedback/public.html", form=form, centre=centre, vocab=vocab, on_kiosk=kiosk.on_kiosk()),
        form_status(form),
    )
    return kiosk.give_device_id(make_response(page))


def _public_form(form, send):
    """The public forms: start the writing clock, check for robots, send; None to show the form again."""
    if request.method == "GET":
        form.started.data = _clock().dumps(time.time())
    if form.validate_on_submit():
        with rule_on_form(form):
            _not_a_robot(form)
            return send()
    if request.method == "POST":
        form.started.data = _clock().dumps(time.time())
    return None


def _not_a_robot(form) -> None:
    """A hidden field people never fill, and a person needs a few seconds to write."""
    try:
        started = float(_clock().loads(form.started.data or ""))
    except (BadSignature, ValueError, TypeError):
        started = None
    too_fast = started is None or time.time() - started < current_app.config["FEEDBACK_MIN_SECONDS"]
    if (form.website.data or "").strip() or too_fast:
        raise service.FeedbackError(_("Please take a moment to write your message, then send it again."))


@bp.route("/f/<code>/survey", methods=["GET", "POST"])
@public
@_public_limits
def survey(code: str):
    """Rate a service just received (a hand-over, a referral's outcome): 1 to 5, a comment if wished."""
    centre = _public_centre(code)
    form = SurveyForm()
    if request.method == "GET" and request.args.get("service") in service.SERVICES:
        form.service.data = request.args["service"]

    def send():
        service.submit(
            centre,
            channel="survey",
            kind="survey",
            text=form.text.data,
            rating=int(form.rating.data),
            service=form.service.data,
        )
        return render_template("feedback/thanks.html", centre=centre)

    page = _public_form(form, send) or (
        render_template("feedback/survey.html", form=form, centre=centre),
        form_status(form),
    )
    return kiosk.give_device_id(make_response(page))


@bp.route("/f/status", methods=["GET", "POST"])
@public
@_public_limits
def status():
    """What a reference code says: the status, and the answer once there is one. Nothing else."""
    form = StatusForm()
    found, looked = None, False
    if form.validate_on_submit():
        looked = True
        found = service.lookup(form.code.data)
    return render_template(
        "feedback/status.html", form=form, found=found, looked=looked, vocab=vocab
    ), 404 if looked and found is None else 200


@bp.get("/feedback/poster/<int:centre_id>")
@requires(Permission.FEEDBACK_MANAGE)
def poster(centre_id: int):
    """A printable poster with the QR code of the centre's public page."""
    centre = get_or_404(Centre, centre_id)
    check_scope(current_user, centre.id)
    link = external_url("feedback.public_page", code=centre.code)
    return render_template("feedback/poster.html", centre=centre, link=link, qr_svg=qr_svg(link))


@bp.post("/feedback/kiosk/<int:centre_id>")
@requires(Permission.FEEDBACK_MANAGE)
def make_kiosk(centre_id: int):
    """Make this device the centre's feedback kiosk: it leaves the staff session (a kiosk is used by
    anyone) and opens the centre's public page, which it may send to more often than one person's phone."""
    centre = get_or_404(Centre, centre_id)
    check_scope(current_user, centre.id)
    service.kiosk_made(current_user, centre)
    end_session(current_user._get_current_object())
    logout_user()
    flash(
        _("This device is now the feedback kiosk of %(centre)s. Nobody is logged in on it.", centre=centre.code), "info"
    )
    return kiosk.make_kiosk(redirect(url_for("feedback.public_page", code=centre.code)), centre.code)


@bp.route("/feedback/desk", methods=["GET", "POST"])
@requires(Permission.FEEDBACK_RECORD)
def desk():
    """Record what someone says at the desk (linked to their record if they wish)."""
    centres = active_centres_of(current_user)
    form = DeskForm(centres=centres)
    if request.method == "POST" and not request.form.get("centre_id") and centres:
        form.centre_id.data = centres[0].id  # one centre: the page sends none to choose from
    if form.validate_on_submit():
        centre = next((c for c in centres if c.id == form.centre_id.data), None)
        with rule_on_form(form):
            person_id = None
            if form.case_number.data:
                person = by_case_number(form.case_number.data)
                # one answer for a number that does not exist and one outside the user's reach
                if person is None or person.is_erased or not in_scope(current_user, person.centre_id):
                    raise service.FeedbackError(_("No one has this case number."), field="case_number")
                person_id = person.id
            if centre is None:
                raise service.FeedbackError(_("Choose one of your centres."), field="centre_id")
            sent = service.submit(
                centre,
                channel="desk",
                kind=form.kind.data,
                text=form.text.data,
                contact=form.contact.data,
                user=current_user,
                beneficiary_id=person_id,
            )
            return render_template("feedback/sent.html", centre=centre, code=sent.shown_code, desk=True)
    return render_template("feedback/desk.html", form=form, vocab=vocab), form_status(form)


@bp.get("/feedback/")
@requires(Permission.FEEDBACK_QUEUE)
def queue():
    """The messages I must answer: focal points the sensitive ones, centre managers the others."""
    return render_template(
        "feedback/queue.html",
        items=service.queue(current_user, request.args.get("status")),
        vocab=vocab,
        today=None,
        focal=service.is_focal_point(current_user),
        posters=active_centres_of(current_user) if can(current_user, Permission.FEEDBACK_MANAGE) else [],
    )


def _item(feedback_uid: str) -> Feedback:
    item = get_by_uid_or_404(Feedback, feedback_uid)
    if not service.may_see(current_user, item):
        abort(404)
    return item


@bp.route("/feedback/items/<feedback_uid>", methods=["GET", "POST"])
@requires(Permission.FEEDBACK_QUEUE)
def item(feedback_uid: str):
    """Read a message, assign it, answer it, close it."""
    entry = _item(feedback_uid)
    service.read(current_user, entry)
    people = [
        u
        for u in session.scalars(
            sa.select(User).where(User.active.is_(True), User.role.in_(roles_with(Permission.FEEDBACK_QUEUE)))
        )
        if service.may_see(u, entry)
    ]
    form = UpdateForm(status=entry.status, assignee_id=entry.assignee_id or 0)
    form.assignee_id.choices = [(0, "—")] + [(u.id, u.display_name) for u in people]
    if form.validate_on_submit():
        with rule_on_form(form):
            service.update(
                current_user,
                entry,
                status=form.status.data,
                assignee_id=form.assignee_id.data or None,
                response=form.response.data,
            )
            flash(_("Saved."), "success")
            return redirect(url_for("feedback.item", feedback_uid=entry.uid))
    return render_template("feedback/item.html", item=entry, form=form, vocab=vocab), form_status(form)


@bp.get("/feedback/reports")
@requires(Permission.FEEDBACK_QUEUE)
def reports():
    """Satisfaction, messages by kind and status, and answers within the deadline (aggregates)."""

    today = clock.viewer_today(current_user)
    try:
        start = (
            dt.date.fromisoformat(request.args.get("start", ""))
            if request.args.get("start")
            else today.replace(day=1) - dt.timedelta(days=365)
        )
        end = dt.date.fromisoformat(request.args.get("end", "")) if request.args.get("end") else today
    except ValueError:
        flash(_("Give the dates as year-month-day."), "error")
        start, end = today.replace(day=1) - dt.timedelta(days=365), today

    return render_template(
        "feedback/reports.html",
        vocab=vocab,
        start=start,
        end=end,
        suppress=suppress,
        satisfaction=agg.satisfaction(current_user, start, end),
        kinds=agg.by_kind_and_status(current_user, start, end),
        timeliness=agg.answered_in_time(current_user, start, end, today),
    )


#: rows a section of the landing page shows before its link to the full page
HOME_ROWS = 5


def home_sections(user, today: dt.date) -> list[Section]:
    """On the landing page: a centre manager's feedback to answer and how much of it is late; a PSEA focal
    point's sensitive complaints. Each sees only the items the queue shows them."""
    focal = service.is_focal_point(user)
    if not (focal or role_allows(user, Permission.FEEDBACK_MANAGE)):
        return []
    waiting = service.waiting(user, HOME_ROWS)
    rows = [
        Row(
            str(vocab.KINDS.get(i.kind, _("Survey"))),
            url_for("feedback.item", feedback_uid=i.uid),
            f"{i.centre.code} · " + (_("answer by %(date)s", date=format_date(i.due_on)) if i.due_on else ""),
            _("overdue") if i.due_on is not None and i.due_on < today else "",
        )
        for i in waiting.items
    ]
    found = [
        Section(
            "psea" if focal else "feedback",
            _("Sensitive complaints (PSEA)") if focal else _("Feedback to answer"),
            rows,
            ngettext("%(num)d waiting for an answer", "%(num)d waiting for an answer", waiting.total),
            _("Nothing waiting."),
            url_for("feedback.queue"),
            _("All feedback"),
            order=30,
        )
    ]
    if not focal:
        late = service.overdue_count(user, today)
        text = ngettext("%(num)d message past its answer deadline", "%(num)d messages past their answer deadline", late)
        late_rows = [Row(text, url_for("feedback.queue"))] if late else []
        found.append(Section("late", _("What is late"), late_rows, empty=_("Nothing late."), order=60))
    return found
