"""Fund pages: apply from a case, read an application, decide, disburse, and the protection officers'
audit (register, consistency, samples and findings)."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from msc import clock, numbers
from msc.cases.models import Case
from msc.centres.models import Centre
from msc.db import get_by_uid_or_404, get_or_404, session
from msc.exports import csv_response, xlsx_response
from msc.forms import form_status, rule_on_form
from msc.fund import allocations, applications, criteria_sets, decisions, disbursements, oversight, vocab
from msc.fund import criteria as crit
from msc.fund.common import FundError, currency_of, parse_money
from msc.fund.evaluator import Facts
from msc.fund.forms import (
    LINES,
    AllocationForm,
    ApplicationForm,
    CapForm,
    CriteriaForm,
    DecisionForm,
    DisbursementForm,
    FindingForm,
    RegisterForm,
    SampleForm,
    VoidForm,
)
from msc.fund.models import (
    Application,
    AuditFinding,
    AuditSample,
    CategoryCap,
    CriteriaSet,
    Decision,
    DecisionLine,
    DecisionOutcome,
    Disbursement,
    FundAllocation,
)
from msc.sections import Row, Section
from msc.security import audit
from msc.security.models import User
from msc.security.policy import Permission, can, check_scope, requires, role_allows

bp = Blueprint("fund", __name__)


def _application(application_uid: str) -> Application:
    application = get_by_uid_or_404(Application, application_uid)
    check_scope(current_user, application.centre_id)
    if application.beneficiary.is_erased or not applications.may_read(current_user, application):
        abort(404)
    return application


def _balances() -> list[tuple[FundAllocation, allocations.Balance]]:
    """The allocations in the user's scope, each with its balance."""
    return [(a, allocations.balance(a)) for a in allocations.allocations_in_scope(current_user)]


@bp.get("/")
@requires(Permission.FUND_VIEW)
def index():
    """Protection officers: what awaits a decision, re-assessments, balances. Caseworkers: my applications."""
    today = clock.viewer_today(current_user)
    officer = can(current_user, Permission.FUND_DECIDE)
    return render_template(
        "fund/index.html",
        vocab=vocab,
        officer=officer,
        awaiting=applications.awaiting_decision(current_user) if not can(current_user, Permission.FUND_APPLY) else [],
        queue=oversight.reassessment_queue(current_user, today) if officer else [],
        balances=_balances() if officer else [],
        mine=applications.submitted_by(current_user) if can(current_user, Permission.FUND_APPLY) else [],
    )


def _lines(form: ApplicationForm, currency: str) -> list[applications.LineData]:
    lines = []
    for n in range(1, LINES + 1):
        category = getattr(form, f"line{n}_category").data
        amount = getattr(form, f"line{n}_amount").data
        if not category and not (amount or "").strip():
            continue
        lines.append(
            applications.LineData(
                category or "",
                parse_money(amount, f"line{n}_amount"),
                currency,
                getattr(form, f"line{n}_provider").data or None,
            )
        )
    return lines


@bp.route("/apply/<case_uid>", methods=["GET", "POST"])
@requires(Permission.FUND_APPLY)
def apply(case_uid: str):
    """Apply to the fund from a case in two steps: choose the case type, then answer its questions, the
    evidence and the assistance lines. With JavaScript both steps are one page; without it the first send
    brings back the chosen type's questions, with nothing checked yet and nothing typed lost."""
    case = get_by_uid_or_404(Case, case_uid)
    check_scope(current_user, case.centre_id)
    country = case.beneficiary.centre.country
    currency = currency_of(country)
    questions = applications.questions_by_type(clock.today(country))
    form = ApplicationForm()
    if request.method == "GET":  # what the household data says, for the caseworker to confirm
        for name, value in applications.household_answers(case, clock.today(case.beneficiary.centre.country)).items():
            getattr(form, name).data = value
    chosen = form.case_type.data if form.case_type.data in questions else None
    if request.method == "POST" and chosen and form.asked.data != chosen:
        form.asked.data = chosen  # the chosen type's questions were not on the page yet: ask them now
        return _apply_page(form, case, currency, questions, chosen)
    if form.validate_on_submit():
        with rule_on_form(form):
            application = applications.submit(
                current_user, case, form.case_type.data, form.answers(), form.evidence.data, _lines(form, currency)
            )
            flash(
                _("Application sent: %(outcome)s.", outcome=vocab.RECOMMENDATIONS[application.recommendation]),
                "success",
            )
            return redirect(url_for("fund.application", application_uid=application.uid))
    return _apply_page(form, case, currency, questions, form.asked.data if form.asked.data in questions else None)


def _apply_page(form: ApplicationForm, case: Case, currency: str, questions: dict[str, list[str]], asked: str | None):
    """The application page: each case type's own questions in its fieldset, the questions several types
    share after them, marked with the types that ask them (the script shows those of the type chosen)."""
    counts: dict[str, int] = {}
    for names in questions.values():
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    own = {t: [form[n] for n in names if n in form and counts[n] == 1] for t, names in questions.items()}
    shared = [
        (form[n], [t for t, names in questions.items() if n in names]) for n, c in counts.items() if c > 1 and n in form
    ]
    return render_template(
        "fund/apply.html",
        form=form,
        case=case,
        currency=currency,
        vocab=vocab,
        lines=range(1, LINES + 1),
        own=own,
        shared=shared,
        asked=asked,
    ), form_status(form)


def _application_page(application: Application, decision_form=None, pay_forms=None, status=200):
    decision = decisions.current_decision(application)
    history = list(
        session.scalars(sa.select(Decision).where(Decision.application_id == application.id).order_by(Decision.id))
    )
    payments = list(
        session.scalars(
            sa.select(Disbursement)
            .join(DecisionLine)
            .where(DecisionLine.decision_id.in_([d.id for d in history] or [-1]))
            .order_by(Disbursement.id)
        )
    )
    applications.read(current_user, application)
    return render_template(
        "fund/application.html",
        a=application,
        decision=decision,
        history=history,
        payments=payments,
        vocab=vocab,
        explanation=application.explanation,
        content=applications.sees_content(current_user),
        may_decide=decisions.may_decide(current_user, application),
        involved=can(current_user, Permission.FUND_DECIDE) and decisions.involvement(current_user, application),
        may_pay=disbursements.may_disburse(current_user, application),
        earlier=applications.earlier_applications(current_user, application),
        decision_form=decision_form or DecisionForm(),
        pay_forms=pay_forms or {},
        void_form=VoidForm(prefix="void"),
        today=clock.today(application.country),
        pay_form=lambda dl: DisbursementForm(
            prefix=f"pay{dl.id}", formdata=None, paid_on=clock.today(application.country)
        ),
    ), status


@bp.get("/applications/<application_uid>")
@requires(Permission.FUND_VIEW)
def application(application_uid: str):
    """An application: the recommendation and its reasons, the lines, decisions and disbursements."""
    return _application_page(_application(application_uid))


def _approved_amounts(application: Application) -> dict[int, int]:
    amounts = {}
    for line in application.lines:
        raw = request.form.get(f"approve-{line.id}", "")
        amounts[line.id] = parse_money(raw, "outcome") if raw.strip() else 0
    return amounts


@bp.post("/applications/<application_uid>/decide")
@requires(Permission.FUND_DECIDE)
def decide(application_uid: str):
    """Approve (all or part), reject, or return for information."""
    application = _application(application_uid)
    form = DecisionForm()
    if form.validate_on_submit():
        with rule_on_form(form):
            amounts = _approved_amounts(application) if form.outcome.data == DecisionOutcome.APPROVE else None
            decisions.decide(
                current_user, application, form.outcome.data, amounts, form.justification.data, form.period_ends_on.data
            )
            flash(_("Decision recorded."), "success")
            return redirect(url_for("fund.application", application_uid=application.uid))
    return _application_page(application, decision_form=form, status=form_status(form))


@bp.post("/lines/<int:line_id>/disburse")
@requires(Permission.FUND_DISBURSE)
def disburse(line_id: int):
    """Record a payment or in-kind purchase against an approved line."""
    line = get_or_404(DecisionLine, line_id)
    application = _application(line.decision.application.uid)
    form = DisbursementForm(prefix=f"pay{line.id}")
    if form.validate_on_submit():
        with rule_on_form(form):
            disbursements.disburse(
                current_user,
                line,
                amount=parse_money(form.amount.data),
                paid_on=form.paid_on.data,
                payee=form.payee.data,
                reference=form.reference.data,
                kind=form.kind.data,
            )
            flash(_("Disbursement recorded."), "success")
            return redirect(url_for("fund.application", application_uid=application.uid))
    return _application_page(application, pay_forms={line.id: form}, status=form_status(form))


@bp.post("/disbursements/<disbursement_uid>/void")
@requires(Permission.FUND_DISBURSE)
def void(disbursement_uid: str):
    """Void a mistaken disbursement with its reason."""
    payment = get_by_uid_or_404(Disbursement, disbursement_uid)
    application = _application(payment.decision_line.decision.application.uid)
    form = VoidForm(prefix="void")
    try:
        if not form.validate_on_submit():
            raise FundError(_("This form expired. Please send it again."))
        disbursements.void_disbursement(current_user, payment, form.reason.data)
    except FundError as err:
        flash(err.message, "error")
    else:
        flash(_("Disbursement voided."), "success")
    return redirect(url_for("fund.application", application_uid=application.uid))


# ---- audit -----------------------------------------------------------------------------------


@bp.get("/register")
@requires(Permission.FUND_DECIDE)
def register():
    """Every decision, filterable; metadata only."""
    form = RegisterForm(request.args)
    rows = []
    if form.validate():
        against = {"yes": True, "no": False}.get(form.against.data or "")
        centre_id = decider_id = None
        if form.centre.data:
            centre_id = (
                session.scalar(sa.select(Centre.id).where(Centre.code == form.centre.data.strip().upper())) or -1
            )
        if form.decider.data:
            decider_id = session.scalar(sa.select(User.id).where(User.username == form.decider.data.strip())) or -1
        rows = oversight.register(
            current_user,
            oversight.RegisterFilter(
                centre_id=centre_id,
                decided_by_id=decider_id,
                country=(form.country.data or "").upper() or None,
                case_type=form.case_type.data or None,
                outcome=form.outcome.data or None,
                criteria_version=form.criteria_version.data,
                against_recommendation=against,
                start=form.start.data,
                end=form.end.data,
            ),
        )
    return render_template("fund/register.html", form=form, rows=rows, vocab=vocab)


@bp.get("/consistency")
@requires(Permission.FUND_DECIDE)
def consistency():
    """How each centre and country applies the criteria."""
    return render_template(
        "fund/consistency.html",
        centres=oversight.consistency(current_user, "centre"),
        countries=oversight.consistency(current_user, "country"),
    )


@bp.get("/consistency.<any(csv, xlsx):fmt>")
@requires(Permission.FUND_DECIDE)
def consistency_export(fmt: str):
    """The consistency tables as a download (aggregates, small counts suppressed)."""
    rows = [("centre", *map(numbers.machine, r.shown())) for r in oversight.consistency(current_user, "centre")] + [
        ("country", *map(numbers.machine, r.shown())) for r in oversight.consistency(current_user, "country")
    ]
    header = [
        _("Level"),
        _("Centre or country"),
        _("Applications"),
        _("Decided"),
        _("Approved"),
        _("Approval rate"),
        _("Against the recommendation"),
        _("Median days to decision"),
    ]
    audit.record("fund.export", detail=f"consistency.{fmt}:{len(rows)}")
    if fmt == "csv":
        return csv_response("fund-consistency", header, rows)
    return xlsx_response("fund-consistency", "consistency", header, rows)


@bp.route("/samples", methods=["GET", "POST"])
@requires(Permission.FUND_DECIDE)
def samples():
    """Draw a reproducible sample of decisions to audit."""
    form = SampleForm()
    if form.validate_on_submit():
        with rule_on_form(form):
            sample = oversight.draw_sample(
                current_user, form.start.data, form.end.data, form.percent.data, form.seed.data
            )
            flash(
                ngettext("Sample drawn: %(num)d decision.", "Sample drawn: %(num)d decisions.", len(sample.items)),
                "success",
            )
            return redirect(url_for("fund.sample", sample_id=sample.id))
    drawn = list(session.scalars(sa.select(AuditSample).order_by(AuditSample.id.desc()).limit(20)))
    return render_template("fund/samples.html", form=form, drawn=drawn), form_status(form)


@bp.get("/samples/<int:sample_id>")
@requires(Permission.FUND_DECIDE)
def sample(sample_id: int):
    """The sampled decisions, their findings, and the findings per centre."""
    drawn = get_or_404(AuditSample, sample_id)
    items = [i for i in drawn.items if applications.may_read(current_user, i.decision.application)]
    return render_template(
        "fund/sample.html",
        sample=drawn,
        items=items,
        vocab=vocab,
        by_centre=oversight.findings_by_centre(drawn),
        form=FindingForm(),
    )


@bp.post("/findings/<finding_uid>")
@requires(Permission.FUND_DECIDE)
def finding(finding_uid: str):
    """Record the auditor's finding on a sampled decision."""
    item = get_by_uid_or_404(AuditFinding, finding_uid)
    check_scope(current_user, item.decision.application.centre_id)
    form = FindingForm()
    try:
        if not form.validate_on_submit():
            raise FundError(_("Choose agrees, disagrees or needs follow-up."))
        oversight.record_finding(current_user, item, form.finding.data, form.note.data)
    except FundError as err:
        flash(err.message, "error")
    else:
        flash(_("Finding recorded."), "success")
    return redirect(url_for("fund.sample", sample_id=item.sample_id))


# ---- set-up: allocations, caps, criteria ------------------------------------------------------


def _setup_page(allocation_form=None, cap_form=None, status=200):
    return render_template(
        "fund/setup.html",
        vocab=vocab,
        allocation_form=allocation_form or AllocationForm(),
        cap_form=cap_form or CapForm(),
        balances=_balances(),
        caps=list(session.scalars(sa.select(CategoryCap).order_by(CategoryCap.category, CategoryCap.currency))),
        versions=list(session.scalars(sa.select(CriteriaSet).order_by(CriteriaSet.version.desc()))),
        may_publish=criteria_sets.may_publish(current_user),
    ), status


@bp.get("/setup")
@requires(Permission.FUND_CRITERIA_DRAFT)
def setup():
    """Allocations and their balances, the caps per case, the criteria versions."""
    return _setup_page()


@bp.post("/allocations")
@requires(Permission.FUND_CRITERIA_DRAFT)
def allocation_new():
    """Record a country's allocation."""
    form = AllocationForm()
    if form.validate_on_submit():
        with rule_on_form(form):
            allocations.save_allocation(
                current_user,
                None,
                country=(form.country.data or "").upper(),
                currency=(form.currency.data or "").upper(),
                amount=parse_money(form.amount.data),
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
            )
            flash(_("Allocation saved."), "success")
            return redirect(url_for("fund.setup"))
    return _setup_page(allocation_form=form, status=form_status(form))


@bp.post("/caps")
@requires(Permission.FUND_CRITERIA_DRAFT)
def cap():
    """Set the most one case may receive in a category."""
    form = CapForm()
    if form.validate_on_submit():
        with rule_on_form(form):
            allocations.set_cap(
                current_user,
                form.category.data,
                (form.currency.data or "").upper(),
                parse_money(form.amount.data),
            )
            flash(_("Cap saved."), "success")
            return redirect(url_for("fund.setup"))
    return _setup_page(cap_form=form, status=form_status(form))


@bp.route("/criteria/new", methods=["GET", "POST"])
@requires(Permission.FUND_CRITERIA_DRAFT)
def criteria_draft():
    """Draft a new version of the criteria, previewing it on sample answers before saving."""
    form = CriteriaForm()
    current = criteria_sets.published_for(clock.viewer_today(current_user)) or session.scalar(
        sa.select(CriteriaSet).order_by(CriteriaSet.version.desc()).limit(1)
    )
    if request.method == "GET" and current is not None:
        form.definition.data = json.dumps(criteria_sets.definition_of(current), indent=2, ensure_ascii=False)
    preview = None
    if form.validate_on_submit():
        with rule_on_form(form):
            try:
                definition = json.loads(form.definition.data or "")
            except ValueError:
                raise FundError(_("The criteria are not valid JSON."), field="definition") from None
            if request.form.get("action") == "preview":
                preview = _preview(form, definition)
            else:
                draft = criteria_sets.save_draft(current_user, None, definition, form.effective_on.data)
                flash(_("Draft version %(v)d saved.", v=draft.version), "success")
                return redirect(url_for("fund.setup"))
    return render_template("fund/criteria.html", form=form, preview=preview, vocab=vocab), form_status(form)


def _preview(form: CriteriaForm, definition: dict) -> tuple[str, list[tuple[str | None, bool | None]]]:
    criteria_sets.checked(definition)
    try:
        answers = json.loads(form.preview_answers.data or "{}")
    except ValueError:
        raise FundError(_("The sample answers are not valid JSON."), field="preview_answers") from None
    if not isinstance(answers, dict):
        raise FundError(_("The sample answers are not valid JSON."), field="preview_answers")
    outcome, result = crit.recommend(
        definition,
        form.preview_case_type.data,
        Facts(answers, form.preview_age.data, bool(form.preview_estimated.data)),
    )
    return outcome, [(r.label, r.value) for r in result.labelled()]


@bp.post("/criteria/<int:version>/<any(publish, retire):action>")
@requires(Permission.FUND_CRITERIA_PUBLISH)
def criteria_status(version: int, action: str):
    """Publish a draft, or retire a published version (protection officers at regional level)."""
    criteria_set = session.scalar(sa.select(CriteriaSet).where(CriteriaSet.version == version))
    if criteria_set is None:
        abort(404)
    try:
        if not VoidForm().validate_on_submit():
            raise FundError(_("This form expired. Please send it again."))
        (criteria_sets.publish if action == "publish" else criteria_sets.retire)(current_user, criteria_set)
    except FundError as err:
        flash(err.message, "error")
    else:
        flash(
            _("Version %(v)d published.", v=version) if action == "publish" else _("Version %(v)d retired.", v=version),
            "success",
        )
    return redirect(url_for("fund.setup"))


def home_section(user) -> dict:
    """On the caseworker's home: their latest fund applications with the decision in force."""
    return {"fund_applications": applications.submitted_by(user, limit=10) if can(user, Permission.FUND_APPLY) else []}


#: rows a section of the landing page shows before its link to the full page
HOME_ROWS = 5


def home_sections(user, today: dt.date) -> list[Section]:
    """On a protection officer's landing page: applications awaiting their decision, audit samples with
    findings to record, and approvals to re-assess in the next 30 days, all in their scope."""
    if not role_allows(user, Permission.FUND_DECIDE):
        return []
    awaiting = applications.awaiting_decision(user, HOME_ROWS)
    total = applications.awaiting_count(user)
    samples = oversight.open_samples(user, HOME_ROWS)
    queue = oversight.reassessment_queue(user, today)
    why = {"period_ends": _("The approved period ends"), "turns_18": _("The child turns 18")}
    return [
        Section(
            "decisions",
            _("Decisions waiting"),
            [
                Row(
                    _("Sent on %(date)s", date=format_date(a.submitted_at)),
                    url_for("fund.application", application_uid=a.uid),
                    a.centre.code,
                )
                for a in awaiting
            ],
            ngettext("%(num)d application awaits a decision", "%(num)d applications await a decision", total),
            _("Nothing awaits a decision."),
            url_for("fund.index"),
            _("Protection fund"),
            order=10,
        ),
        Section(
            "samples",
            _("Audit samples"),
            [
                Row(
                    _(
                        "Decisions from %(start)s to %(end)s",
                        start=format_date(s.starts_on),
                        end=format_date(s.ends_on),
                    ),
                    url_for("fund.sample", sample_id=s.id),
                    ngettext("%(num)d finding to record", "%(num)d findings to record", n),
                )
                for s, n in samples
            ],
            empty=_("No finding to record."),
            link=url_for("fund.samples"),
            link_text=_("All audit samples"),
            order=20,
        ),
        Section(
            "reassessments",
            _("Re-assessments"),
            [
                Row(
                    format_date(r.due_on),
                    url_for("fund.application", application_uid=r.decision.application.uid),
                    f"{why[r.reason]} · {r.decision.application.centre.code}",
                    _("due") if r.due_on <= today else "",
                )
                for r in queue[:HOME_ROWS]
            ],
            ngettext("%(num)d due in the next 30 days", "%(num)d due in the next 30 days", len(queue)),
            _("Nothing to re-assess in the next 30 days."),
            url_for("fund.index"),
            _("Protection fund"),
            order=40,
        ),
    ]


@bp.app_context_processor
def _helpers() -> dict:
    return {"fund_vocab": vocab}
