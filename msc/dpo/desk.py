"""The DPO's desk: the dashboard, the audit log search, the chain check and the review of
emergency accesses."""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from msc import clock
from msc.db import get_by_uid_or_404, utcnow
from msc.dpo import erasure, glass, keys, oversight
from msc.dpo.blueprint import bp
from msc.dpo.forms import AuditSearchForm, ReviewForm
from msc.dpo.models import AuditCheck
from msc.dpo.vocab import GLASS_REASONS
from msc.forms import ConfirmForm, form_status, rule_on_form
from msc.sections import Row, Section
from msc.security.emergency import BreakGlass
from msc.security.policy import Permission, requires, role_allows


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


# ---- the DPO's landing page ----------------------------------------------------------------

#: rows a section of the landing page shows before its link to the full page
HOME_ROWS = 5
#: how far back the landing page counts downloads and exports
EXPORT_DAYS = 30
#: what each export's audit action downloaded
EXPORT_KINDS = {
    "data.export": _l("Personal data"),
    "fund.export": _l("Protection fund"),
    "nfi.export": _l("NFI reports"),
    "reports.export": _l("Dashboard"),
}


def _alert_row(a: glass.Alert) -> Row:
    when = format_datetime(a.at)
    if a.user is None:
        text = ngettext(
            "%(num)d request or attempt that did not match across the region in a few minutes.",
            "%(num)d requests or attempts that did not match across the region in a few minutes.",
            a.count,
        )
        return Row(when, url_for("dpo.audit_log", action="access.break_glass"), text)
    text = ngettext(
        "%(who)s made %(num)d request or attempt that did not match in a few minutes.",
        "%(who)s made %(num)d requests or attempts that did not match in a few minutes.",
        a.count,
        who=f"{a.user.display_name} ({a.user.username})",
    )
    return Row(when, url_for("dpo.audit_log", user=a.user.username, action="access."), text)


def _chain_row(check: AuditCheck | None) -> list[Row]:
    if check is None:
        return []
    when = format_datetime(check.at)
    if check.ok:
        text = ngettext(
            "Intact on %(when)s: %(num)d record checked.",
            "Intact on %(when)s: %(num)d records checked.",
            check.checked,
            when=when,
        )
    elif check.broken_seq is None:
        text = _("The witness does not match on %(when)s: %(reason)s", when=when, reason=check.reason)
    else:
        text = _(
            "Broken at record %(seq)s on %(when)s: %(reason)s", seq=check.broken_seq, when=when, reason=check.reason
        )
    return [Row(text, flag="" if check.ok else _("broken"))]


def home_sections(user, today: dt.date) -> list[Section]:
    """On the DPO's landing page: any burst of emergency accesses, the accesses waiting for review, the last
    check of the audit chain, who is due for anonymisation, and the latest downloads and exports."""
    if not role_allows(user, Permission.DPO_REVIEW):
        return []
    found = []
    alerts = glass.alerts()
    if alerts:
        found.append(
            Section(
                "alerts",
                _("Alert: a burst of emergency accesses"),
                [_alert_row(a) for a in alerts[:HOME_ROWS]],
                link=url_for("dpo.dashboard"),
                link_text=_("Open the dashboard"),
                order=0,
                alert=True,
            )
        )
    waiting = glass.awaiting_review(HOME_ROWS)
    due = erasure.due(today)
    exports = oversight.recent_exports(EXPORT_DAYS, HOME_ROWS)
    users = oversight.users_by_id(exports.items)
    found += [
        Section(
            "reviews",
            _("Emergency accesses to review"),
            [
                Row(
                    format_datetime(g.requested_at),
                    url_for("dpo.glass_review", grant_uid=g.uid),
                    f"{g.user.username} · {GLASS_REASONS[g.reason]}",
                )
                for g in waiting.items
            ],
            ngettext("%(num)d waiting for review", "%(num)d waiting for review", waiting.total),
            _("Nothing waiting."),
            url_for("dpo.glass_queue"),
            _("All emergency accesses"),
            order=10,
        ),
        Section(
            "chain",
            _("Audit chain"),
            _chain_row(oversight.last_check()),
            empty=_("Never checked yet."),
            link=url_for("dpo.dashboard"),
            link_text=_("Check the chain now"),
            order=20,
        ),
        Section(
            "retention",
            _("Retention"),
            [
                Row(
                    ngettext("%(num)d person due for anonymisation", "%(num)d people due for anonymisation", len(due)),
                    url_for("dpo.retention"),
                )
            ]
            if due
            else [],
            empty=_("Nobody is due for anonymisation."),
            link=url_for("dpo.retention"),
            link_text=_("Retention"),
            order=30,
        ),
        Section(
            "exports",
            _("Downloads and exports"),
            [
                Row(
                    format_datetime(e.at),
                    url_for("dpo.audit_log", action=e.action),
                    " · ".join(
                        x
                        for x in (
                            str(EXPORT_KINDS.get(e.action, e.action)),
                            users[e.user_id].username if e.user_id in users else "",
                        )
                        if x
                    ),
                )
                for e in exports.items
            ],
            ngettext(
                "%(num)d in the last %(days)d days",
                "%(num)d in the last %(days)d days",
                exports.total,
                days=EXPORT_DAYS,
            ),
            ngettext("None in the last %(num)d day.", "None in the last %(num)d days.", EXPORT_DAYS),
            url_for("dpo.audit_log"),
            _("Search the audit log"),
            order=40,
        ),
    ]
    return found
