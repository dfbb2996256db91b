"""Case pages: the caseworker's home, a case and its forms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from msc import clock, sections
from msc.beneficiaries.access import load_beneficiary
from msc.beneficiaries.models import Beneficiary, Household
from msc.beneficiaries.vocab import NEEDS, RELATIONSHIPS
from msc.cases import service, vocab
from msc.cases.access import load_case
from msc.cases.forms import (
    AssignForm,
    NoteForm,
    PriorityForm,
    RiskForm,
    StatusForm,
    TaskForm,
    assessment_form,
)
from msc.cases.models import Case, CaseEvent, Task
from msc.db import session
from msc.forms import ConfirmForm, form_status, options, rule_on_form
from msc.sections import Row, Section
from msc.security import audit
from msc.security.models import User
from msc.security.policy import Permission, can, centre_ids_in_scope, requires, role_allows

bp = Blueprint("cases", __name__)


def _forms(case: Case) -> dict:
    people = service.assignable_caseworkers(case)
    assign = AssignForm(prefix="assign", people=people)
    task = TaskForm(prefix="task", people=people)
    if request.method == "GET":
        assign.caseworkers.data = [u.id for u in case.caseworkers]
        task.assignee.data = current_user.id
    status = StatusForm(prefix="status")
    status.status.choices = options(
        [(s, vocab.STATUSES[s]) for s in vocab.STATUSES if s in service.TRANSITIONS[case.status]]
    )
    return {
        "status_form": status,
        "risk_form": RiskForm(prefix="risk", risk_level=case.risk_level),
        "assign_form": assign,
        "priority_form": PriorityForm(prefix="priority"),
        "note_form": NoteForm(prefix="note"),
        "task_form": task,
        "confirm": ConfirmForm(prefix="confirm"),
    }


def _page(case: Case, forms: dict | None = None, status: int = 200):
    forms = forms or _forms(case)
    notes, withheld = service.visible_notes(current_user, case)
    events = list(
        session.scalars(
            sa.select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
            .limit(100)
        )
    )
    return render_template(
        "cases/case.html",
        case=case,
        vocab=vocab,
        notes=notes,
        withheld=withheld,
        tasks=service.open_tasks(case),
        events=events,
        assessment=service.latest_assessment(case),
        today=clock.today_at(case.beneficiary.centre),
        may_manage=can(current_user, Permission.CASE_MANAGE),
        **sections.context(sections.CASE, current_user, case),
        **forms,
    ), status


@bp.get("/")
@requires(Permission.CASE_VIEW)
def home():
    """My cases by risk, my tasks due today and overdue, children flagged at reception."""
    return render_template(
        "cases/home.html",
        home=service.home(current_user, clock.viewer_today(current_user)),
        vocab=vocab,
        **sections.context(sections.CASEWORKER_HOME, current_user),
    )


@bp.get("/mine/<any(low, medium, high, critical):risk>")
@requires(Permission.CASE_VIEW)
def mine(risk: str):
    """All my open and active cases at one risk level."""
    cases = list(session.scalars(service.my_cases(current_user, risk).options(*service.LEAN_CASE)))
    return render_template("cases/mine.html", cases=cases, risk=risk, vocab=vocab)


@bp.post("/open/<uid>")
@requires(Permission.CASE_MANAGE)
def open_case(uid: str):
    """Open (or reopen) the case of a registered person."""
    person = load_beneficiary(uid)
    if not ConfirmForm(prefix="confirm").validate_on_submit():
        abort(400)
    try:
        case = service.open_case(current_user, person)
    except service.CaseError as err:
        flash(err.message, "error")
        return redirect(url_for("beneficiaries.profile", uid=uid))
    return redirect(url_for("cases.case", case_uid=case.uid))


#: what the case's page reads of the person, loaded with the case: their household's other members (without
#: their needs or centres), and not the person's needs (the page shows the assessment's, not the registration's)
CASE_LOADS = (
    so.joinedload(Case.beneficiary).options(
        so.lazyload(Beneficiary.needs),
        so.joinedload(Beneficiary.household)
        .selectinload(Household.members)
        .options(so.lazyload(Beneficiary.needs), so.lazyload(Beneficiary.centre)),
    ),
    so.selectinload(Case.caseworkers).lazyload(User.centres),
)


@bp.get("/<case_uid>")
@requires(Permission.CASE_VIEW)
def case(case_uid: str):
    """One case: status, risk, priority, caseworkers, assessment, notes, tasks, history."""
    found = load_case(case_uid, CASE_LOADS)
    audit.record("case.view", object_type="case", object_id=found.id)
    return _page(found)


def _post(case_uid: str, form_key: str, action):
    """Validate one of the case page's forms, run the rule, and come back to the page."""
    found = load_case(case_uid)
    forms = _forms(found)
    form = forms[form_key]
    if form.validate_on_submit():
        with rule_on_form(form):
            action(found, form)
            flash(_("Saved."), "success")
            return redirect(url_for("cases.case", case_uid=found.uid))
    return _page(found, forms, form_status(form))


@bp.post("/<case_uid>/status")
@requires(Permission.CASE_MANAGE)
def status(case_uid: str):
    """Change the status of a case."""
    return _post(
        case_uid,
        "status_form",
        lambda c, f: service.change_status(current_user, c, f.status.data, f.reason.data or None),
    )


@bp.post("/<case_uid>/risk")
@requires(Permission.CASE_MANAGE)
def risk(case_uid: str):
    """Set the risk level."""
    return _post(case_uid, "risk_form", lambda c, f: service.set_risk(current_user, c, f.risk_level.data))


@bp.post("/<case_uid>/assign")
@requires(Permission.CASE_MANAGE)
def assign(case_uid: str):
    """Set the caseworkers of a case."""
    return _post(case_uid, "assign_form", lambda c, f: service.assign(current_user, c, f.caseworkers.data or []))


@bp.post("/<case_uid>/priority")
@requires(Permission.CASE_MANAGE)
def priority(case_uid: str):
    """Override the derived priority with a reason, or go back to it."""
    return _post(
        case_uid,
        "priority_form",
        lambda c, f: service.override_priority(current_user, c, f.priority.data or None, f.reason.data),
    )


@bp.post("/<case_uid>/notes")
@requires(Permission.CASE_MANAGE)
def note(case_uid: str):
    """Add a case note."""
    return _post(
        case_uid, "note_form", lambda c, f: service.add_note(current_user, c, f.body.data, bool(f.sensitive.data))
    )


@bp.post("/<case_uid>/tasks")
@requires(Permission.CASE_MANAGE)
def task(case_uid: str):
    """Add a follow-up task."""
    return _post(
        case_uid,
        "task_form",
        lambda c, f: service.add_task(current_user, c, f.title.data, f.due_on.data, f.assignee.data),
    )


@bp.post("/tasks/<task_uid>/done")
@requires(Permission.CASE_MANAGE)
def task_done(task_uid: str):
    """Mark a task done."""
    found = session.scalar(sa.select(Task).where(Task.uid == task_uid))
    if found is None:
        abort(404)
    case = load_case(found.case.uid)
    if not ConfirmForm(prefix="confirm").validate_on_submit():
        abort(400)
    try:
        service.complete_task(current_user, found)
    except service.CaseError as err:
        flash(err.message, "error")
    if request.form.get("back") == "home":
        return redirect(url_for("cases.home"))
    return redirect(url_for("cases.case", case_uid=case.uid))


@bp.route("/<case_uid>/assessment", methods=["GET", "POST"])
@requires(Permission.CASE_MANAGE)
def assessment(case_uid: str):
    """A structured needs assessment; the case takes the priority it gives."""
    found = load_case(case_uid)
    latest = service.latest_assessment(found)
    data = None
    if request.method == "GET":
        if latest:
            sectors, specific = latest.answers["sector"], latest.answers["specific"]
        else:
            sectors = {}
            specific = found.beneficiary.need_codes + list(found.beneficiary.sensitive_needs or [])
        data = {f"sector_{k}": v for k, v in sectors.items()} | {"specific": specific}
    form = assessment_form(formdata=request.form if request.method == "POST" else None, data=data)
    if request.method == "POST" and form.validate():
        sector = {k: form[f"sector_{k}"].data for k in vocab.SECTOR_NEEDS}
        with rule_on_form(form):
            service.assess(current_user, found, sector, form.specific.data or [])
            flash(_("Assessment saved."), "success")
            return redirect(url_for("cases.case", case_uid=found.uid))
    return render_template("cases/assessment.html", case=found, form=form, vocab=vocab), form_status(form)


def profile_probe(user, person: Beneficiary) -> dict:
    """What the profile's case section looks for, for those who may see cases."""
    return {"case": service.has_case(person)} if can(user, Permission.CASE_VIEW) else {}


def profile_section(user, person: Beneficiary, found: Mapping[str, bool]) -> dict:
    """On a person's profile: their case, for those who may see cases."""
    return {"profile_case": service.case_of(person) if found["case"] else None}


def former_section(user, person: Beneficiary) -> dict:
    """On the read-only profile of a centre the person's record moved on from: the case notes written while
    that centre held it."""
    case = service.case_of(person) if can(user, Permission.CASE_VIEW) else None
    if case is None:
        return {"former_notes": None}
    return {"former_notes": service.written_while_held(user, case, centre_ids_in_scope(user) or [])}


#: rows a section of the landing page shows before its link to the full page
HOME_ROWS = 5


def home_sections(user, today: dt.date) -> list[Section]:
    """On a caseworker's landing page: tasks due and late, their cases by risk, possible children alone."""
    if not role_allows(user, Permission.CASE_MANAGE):
        return []
    overdue, due_today = service.tasks_due(user, today, HOME_ROWS)
    summary = [
        ngettext("%(num)d task overdue", "%(num)d tasks overdue", overdue.total) if overdue.total else "",
        ngettext("%(num)d task due today", "%(num)d tasks due today", due_today.total),
    ]
    tasks = [
        Row(
            t.case.beneficiary.case_number,
            url_for("cases.case", case_uid=t.case.uid),
            _("%(title)s, due %(date)s", title=t.title, date=format_date(t.due_on)) if late else t.title,
            _("overdue") if late else "",
        )
        for listing, late in ((overdue, True), (due_today, False))
        for t in listing.items
    ]
    counts = service.cases_by_risk(user)
    by_risk = [
        Row(
            str(vocab.RISK_LEVELS[level]),
            url_for("cases.mine", risk=level),
            ngettext("%(num)d case", "%(num)d cases", counts[level]),
        )
        for level in vocab.RISK_ORDER
        if counts.get(level)
    ]
    children = service.uasc_waiting(user, today, HOME_ROWS + 1)
    return [
        Section(
            "tasks",
            _("Tasks due"),
            tasks,
            " · ".join(s for s in summary if s),
            _("Nothing due today."),
            url_for("cases.home"),
            _("All my tasks"),
            order=10,
        ),
        Section(
            "cases",
            _("My cases"),
            by_risk,
            ngettext("%(num)d open case", "%(num)d open cases", sum(counts.values())),
            _("You have no open cases."),
            url_for("cases.home"),
            _("All my cases"),
            order=30,
        ),
        Section(
            "uasc",
            _("Possible unaccompanied or separated children to assess"),
            [
                Row(b.case_number, url_for("beneficiaries.profile", uid=b.uid), b.centre.name)
                for b in children[:HOME_ROWS]
            ],
            _("More are waiting: see them all on My cases.") if len(children) > HOME_ROWS else "",
            _("Nothing waiting."),
            url_for("cases.home"),
            _("All children to assess"),
            order=40,
        ),
    ]


@bp.app_context_processor
def _helpers() -> dict:
    return {
        "NEED_LABELS": NEEDS,
        "RELATIONSHIP_LABELS": RELATIONSHIPS,
        "CASE_EVENT_LABELS": vocab.EVENT_LABELS,
        "CASE_STATUSES": vocab.STATUSES,
        "case_event_detail": vocab.event_detail,
    }
