"""Referral pages: create and send from a case, the printable slip, the override, the partner portal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, format_date, format_datetime, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from msc import clock
from msc.beneficiaries import vocab as bvocab
from msc.beneficiaries.models import Beneficiary
from msc.cases.access import load_case
from msc.cases.models import Case
from msc.db import session, utcnow
from msc.forms import ConfirmForm, form_status, rule_on_form
from msc.partners import service as directory
from msc.partners import vocab as pvocab
from msc.referrals import reminders, service, vocab
from msc.referrals.forms import ReferralForm, TextForm
from msc.referrals.models import Referral, ReferralEvent, ReferralReminder, ReferralStatus
from msc.sections import Row, Section
from msc.security import audit
from msc.security.policy import Permission, can, requires, role_allows
from msc.urls import parse_id

bp = Blueprint("referrals", __name__)

#: the language a slip is printed in, from the languages the person speaks
SLIP_LOCALES = {"es": "es", "pt": "pt_BR", "en": "en"}


def get_referral(uid: str, *, read: bool = False) -> Referral:
    """A referral the user may reach (service.reachable: through its case; for a read, from the centre that
    made it too), or 404."""
    referral = session.scalar(sa.select(Referral).where(Referral.uid == uid))
    if referral is None or referral.beneficiary.is_erased:
        abort(404)
    if not service.reachable(current_user, referral, read=read):
        audit.record("access.out_of_scope", detail=request.endpoint)
        abort(404)
    return referral


@bp.route("/cases/<case_uid>/referrals/new", methods=["GET", "POST"])
@requires(Permission.CASE_MANAGE)
def new(case_uid: str):
    """Refer the person to a partner's service, sharing name and contact unless more is chosen."""
    case = load_case(case_uid)
    form = ReferralForm(services=directory.visible_services(current_user))
    if form.validate_on_submit():
        with rule_on_form(form):
            referral = service.create(
                current_user,
                case,
                form.service_id.data or None,
                form.urgency.data,
                form.reason.data,
                form.categories.data or [],
            )
            flash(_("Referral saved as a draft. Check it, then send it."), "success")
            return redirect(url_for("referrals.detail", uid=referral.uid))
    return render_template("referrals/new.html", case=case, form=form, pvocab=pvocab), form_status(form)


@bp.get("/referrals/<uid>")
@requires(Permission.CASE_VIEW)
def detail(uid: str):
    """A referral as the caseworker sees it: what is shared, its history, what can be done next."""
    referral = get_referral(uid, read=True)
    events = list(
        session.scalars(
            sa.select(ReferralEvent)
            .where(ReferralEvent.referral_id == referral.id)
            .order_by(ReferralEvent.at, ReferralEvent.id)
        )
    )
    reminded = _("reminder that the referral is past its deadline, to the partner and to the staff following the case")
    history = sorted(
        [(e.at, e.user.display_name if e.user else None, vocab.STATUSES[e.to_status]) for e in events]
        + [(m.made_at, None, reminded) for m in reminders.of_referral(referral)],
        key=lambda line: line[0],
    )
    now = utcnow()
    return render_template(
        "referrals/detail.html",
        r=referral,
        history=history,
        vocab=vocab,
        pvocab=pvocab,
        bvocab=bvocab,
        shared=service.shared_view(referral, clock.today_at(referral.beneficiary.centre)),
        now=now,
        needs_override=service.needs_override(referral, clock.today_at(referral.beneficiary.centre)),
        form=TextForm(),
        may_manage=can(current_user, Permission.CASE_MANAGE),
        may_override=can(current_user, Permission.REFERRAL_OVERRIDE),
    )


def _act(uid: str, action, needs_text: bool = False):
    referral = get_referral(uid)
    form = TextForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(referral, form.text.data) if needs_text else action(referral)
    except service.ReferralError as err:
        flash(err.message, "error")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("referrals.detail", uid=referral.uid))


@bp.post("/referrals/<uid>/send")
@requires(Permission.CASE_MANAGE)
def send(uid: str):
    """Send a draft (consent and the agreement are checked again)."""
    return _act(uid, lambda r: service.send(current_user, r))


@bp.post("/referrals/<uid>/cancel")
@requires(Permission.CASE_MANAGE)
def cancel(uid: str):
    """Cancel a pending referral."""
    return _act(uid, lambda r: service.cancel(current_user, r))


@bp.post("/referrals/<uid>/override")
@requires(Permission.REFERRAL_OVERRIDE)
def override(uid: str):
    """A protection officer allows a referral no active agreement covers, with a written reason."""
    return _act(uid, lambda r, text: service.override_agreement(current_user, r, text), needs_text=True)


@bp.get("/referrals/<uid>/slip")
@requires(Permission.CASE_VIEW)
def slip(uid: str):
    """The printable referral slip: only the shared data, in the person's language."""
    referral = get_referral(uid)
    if referral.status == ReferralStatus.DRAFT:
        abort(404)
    langs = [SLIP_LOCALES[c] for c in referral.beneficiary.language_codes if c in SLIP_LOCALES]
    with force_locale(langs[0] if langs else "es"):
        return render_template(
            "referrals/slip.html",
            r=referral,
            vocab=vocab,
            pvocab=pvocab,
            bvocab=bvocab,
            shared=service.shared_view(referral, clock.today_at(referral.beneficiary.centre)),
        )


@bp.post("/referrals/reminders/<reminder_uid>/dismiss")
@requires(Permission.CASE_MANAGE)
def dismiss_reminder(reminder_uid: str):
    """Dismiss a reminder addressed to me: it leaves my home (another person's reminder is not found)."""
    found = reminders.addressed_to(current_user, reminder_uid)
    if found is None:
        abort(404)
    get_referral(found.reminder.referral.uid)  # the case still within my reach, or 404
    if not ConfirmForm().validate_on_submit():
        abort(400)
    reminders.dismiss(current_user, found, utcnow())
    flash(_("Reminder dismissed."), "success")
    return redirect(url_for("cases.home") if request.args.get("back") == "cases" else url_for("beneficiaries.home"))


# ---- the partner portal -----------------------------------------------------------------


@bp.get("/portal/")
@requires(Permission.PARTNER_PORTAL)
def portal():
    """Referrals addressed to my organisation: waiting for us, or answered (never drafts or cancelled)."""
    view = "answered" if request.args.get("view") == "answered" else "pending"
    page = min(parse_id(request.args.get("page")) or 1, 100_000)
    referrals, has_more = service.for_partner(current_user, view, page)
    return render_template(
        "referrals/portal.html",
        referrals=referrals,
        reminded=_reminded_days(current_user, referrals) if view == "pending" else {},
        has_more=has_more,
        view=view,
        page=max(1, page),
        vocab=vocab,
        pvocab=pvocab,
        now=utcnow(),
    )


def _reminded_days(user, referrals: list[Referral]) -> dict[int, dt.date]:
    """Of the partner's referrals shown, those it was reminded about: the day (the viewer's) of the newest reminder."""
    country = clock.viewer_country(user)
    return {rid: clock.day_of(at, country) for rid, at in reminders.reminded_for_partner(user, referrals).items()}


def _partner_referral(uid: str) -> Referral:
    referral = service.partner_referral(current_user, uid)
    if referral is None:
        abort(404)
    return referral


@bp.get("/portal/<uid>")
@requires(Permission.PARTNER_PORTAL)
def portal_referral(uid: str):
    """One referral with only the shared data; every view is recorded as a disclosure."""
    referral = _partner_referral(uid)
    service.disclose(current_user, referral)
    return render_template(
        "referrals/portal_referral.html",
        r=referral,
        reminded=_reminded_days(current_user, [referral]),
        vocab=vocab,
        pvocab=pvocab,
        bvocab=bvocab,
        shared=service.shared_view(referral, clock.today_at(referral.beneficiary.centre)),
        form=TextForm(),
    )


@bp.post("/portal/<uid>/<any(accepted, declined, no_show, completed):to>")
@requires(Permission.PARTNER_PORTAL)
def portal_answer(uid: str, to: str):
    """Accept, decline with a reason, record a no-show, or complete with an outcome."""
    referral = _partner_referral(uid)
    form = TextForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.answer(current_user, referral, to, form.text.data)
    except service.ReferralError as err:
        flash(err.message, "error")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("referrals.portal_referral", uid=referral.uid))


def profile_probe(user, person: Beneficiary) -> dict:
    """What the profile's disclosures look for, for those who may see cases."""
    return {"disclosed": service.was_disclosed(person)} if can(user, Permission.CASE_VIEW) else {}


def profile_section(user, person: Beneficiary, found: Mapping[str, bool]) -> dict:
    """On a person's profile: every disclosure of their data, for those who may see cases."""
    return {"disclosures": service.disclosures_of(person) if found["disclosed"] else []}


def case_section(user, case: Case) -> dict:
    """On a case's page: its referrals."""
    return {"case_referrals": service.of_case(case)}


def home_section(user) -> dict:
    """On the caseworker's home: reminders addressed to them, referrals waiting for an answer, and those past
    their deadline."""
    now = utcnow()
    return {
        "referrals_waiting": service.waiting_and_overdue(user, now),
        "referral_reminders": [_reminder_row(user, r, back="cases") for r in reminders.standing_for(user, now)],
    }


#: rows a section of the landing page shows before its link to the full page
HOME_ROWS = 5


def _by(referral: Referral) -> str:
    return _("answer expected by %(date)s", date=format_datetime(referral.deadline_at)) if referral.deadline_at else ""


def _reminder_row(user, reminder: ReferralReminder, back: str = "home") -> Row:
    """A reminder as a line of the home: what is late since when (the viewer's calendar day), the referral's
    page, and the button that dismisses it."""
    r = reminder.referral
    since = clock.day_of(r.deadline_at, clock.viewer_country(user)) if r.deadline_at else None
    return Row(
        _(
            "Reminder: referral to %(organisation)s past its deadline since %(date)s",
            organisation=r.organisation.name,
            date=format_date(since) if since else "",
        ),
        url_for("referrals.detail", uid=r.uid),
        r.beneficiary.case_number,
        _("overdue"),
        url_for("referrals.dismiss_reminder", reminder_uid=reminder.uid, back=back if back != "home" else None),
        _("Dismiss"),
    )


def home_sections(user, today: dt.date) -> list[Section]:
    """On the landing page: a caseworker's referrals waiting for an answer, a partner's referrals waiting for
    theirs, and for a centre's manager how many referrals of the centre are past their deadline."""
    now = utcnow()
    found = []
    if role_allows(user, Permission.CASE_MANAGE):
        waiting, overdue = service.waiting_and_overdue(user, now, HOME_ROWS)
        standing = reminders.standing_for(user, now, HOME_ROWS)
        reminded = {m.referral_id for m in standing}
        rows = (
            [_reminder_row(user, m) for m in standing]
            + [
                Row(
                    r.beneficiary.case_number, url_for("referrals.detail", uid=r.uid), r.organisation.name, _("overdue")
                )
                for r in overdue.items
                if r.id not in reminded
            ]
            + [
                Row(
                    r.beneficiary.case_number,
                    url_for("referrals.detail", uid=r.uid),
                    f"{r.organisation.name} · {_by(r)}",
                )
                for r in waiting.items
            ]
        )
        summary = ngettext(
            "%(num)d waiting for an answer", "%(num)d waiting for an answer", waiting.total + overdue.total
        )
        if overdue.total:
            summary += " · " + ngettext("%(num)d past its deadline", "%(num)d past their deadline", overdue.total)
        found.append(
            Section(
                "referrals",
                _("Referrals waiting for an answer"),
                rows,
                summary,
                _("Nothing waiting."),
                url_for("cases.home"),
                _("All referrals waiting"),
                order=20,
            )
        )
    if role_allows(user, Permission.PARTNER_PORTAL):
        waiting = service.waiting_for_partner(user, HOME_ROWS)
        partner_reminded = reminders.reminded_for_partner(user, waiting.items)
        found.append(
            Section(
                "referrals",
                _("Referrals waiting for your answer"),
                [
                    Row(
                        r.beneficiary.case_number,
                        url_for("referrals.portal_referral", uid=r.uid),
                        f"{r.service.name} · {_by(r)}",
                        _("reminder sent") if r.id in partner_reminded else _("overdue") if r.overdue(now) else "",
                    )
                    for r in waiting.items
                ],
                ngettext("%(num)d waiting for your answer", "%(num)d waiting for your answer", waiting.total),
                _("Nothing waiting."),
                url_for("referrals.portal"),
                _("All referrals"),
                order=10,
            )
        )
    if role_allows(user, Permission.PARTNERS_MANAGE):
        late = service.overdue_in_scope(user, now)
        text = ngettext(
            "%(num)d referral past its answer deadline", "%(num)d referrals past their answer deadline", late
        )
        rows = [Row(text)]
        found.append(Section("late", _("What is late"), rows if late else [], empty=_("Nothing late."), order=60))
    return found


@bp.app_context_processor
def _helpers() -> dict:
    return {
        "REFERRAL_STATUSES": vocab.STATUSES,
        "DATA_CATEGORY_LABELS": pvocab.DATA_CATEGORIES,
    }
