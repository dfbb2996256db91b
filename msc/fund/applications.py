"""Applications to the fund: what a caseworker sends from a case, its explained recommendation, who reads it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.beneficiaries.models import Beneficiary
from msc.beneficiaries.vocab import age_band
from msc.cases.models import Case, CaseStatus
from msc.db import session, utcnow
from msc.errors import checked_text
from msc.fund import criteria as crit
from msc.fund.common import CATEGORIES, MAX_TEXT, FundError, currency_of
from msc.fund.criteria_sets import definition_of, published_for
from msc.fund.decisions import approved_so_far, current_decisions, in_force, involved_in
from msc.fund.evaluator import Facts
from msc.fund.models import (
    Application,
    ApplicationLine,
    CategoryCap,
    Decision,
    DecisionLine,
    DecisionOutcome,
    preload_people,
    subject_tag,
)
from msc.numbers import money
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import Permission, centre_ids_in_scope, in_scope, role_allows

#: files break-the-glass does not open unless the role allows it
GLASS_PROTECTED = ("trafficking", "uasc")


@dataclass
class LineData:
    """One assistance line asked for: a category, an amount in minor units, its currency, the provider."""

    category: str
    amount: int
    currency: str
    provider: str | None = None


@dataclass
class Elsewhere:
    """Assistance the fund gave the person at another centre (in this country or another) in one category."""

    category: str
    country: str
    decided_on: dt.date
    period_ends_on: dt.date | None


def assisted_elsewhere(person: Beneficiary, centre_id: int, categories: set[str], on: dt.date) -> list[Elsewhere]:
    """Approvals in force for the person at other centres in these categories, whose period has not ended or
    ended at most FUND_ASSISTED_ELSEWHERE_DAYS before `on`, newest first: the same criteria everywhere means
    one person is not assisted twice for the same need along the route."""
    if not categories:
        return []
    since = on - dt.timedelta(days=current_app.config["FUND_ASSISTED_ELSEWHERE_DAYS"])
    rows = session.execute(
        sa.select(ApplicationLine.category, Application.country, Decision.decided_on, Decision.period_ends_on)
        .join(DecisionLine, DecisionLine.line_id == ApplicationLine.id)
        .join(Decision, Decision.id == DecisionLine.decision_id)
        .join(Application, Application.id == ApplicationLine.application_id)
        .where(
            Application.subject_tag == subject_tag(person),
            Application.centre_id != centre_id,
            ApplicationLine.category.in_(sorted(categories)),
            DecisionLine.approved > 0,
            Decision.outcome == DecisionOutcome.APPROVE,
            in_force(),
            sa.or_(Decision.period_ends_on.is_(None), Decision.period_ends_on >= since),
        )
        .order_by(Decision.decided_on.desc(), ApplicationLine.category)
    )
    return [Elsewhere(*row) for row in rows]


def facts_for(case: Case, answers: dict[str, Any], on: dt.date) -> Facts:
    """What the evaluator is given: the answers, and the person's age on the day."""
    person = case.beneficiary
    return Facts(answers=answers, age=person.age_on(on), age_estimated=bool(person.dob_estimated))


def _check_answers(definition: dict[str, Any], case_type: str, answers: dict[str, Any]) -> dict[str, object]:
    asked = definition[case_type]["questions"]
    clean: dict[str, object] = {}
    for question in asked:
        if question not in answers or answers[question] in (None, "", []):
            continue
        kind, options = crit.QUESTIONS[question]
        value = answers[question]
        if question == "age_in_doubt":
            clean[question] = value in (True, "yes")
            continue
        values = value if isinstance(value, list) else [value]
        if any(v not in options for v in values) or (kind == "single" and len(values) != 1):
            raise FundError(_l("Choose the answers from the options given."), field=question)
        clean[question] = values if kind == "multi" else values[0]
    return clean


def questions_by_type(on: dt.date) -> dict[str, list[str]]:
    """The questions each case type asks under the criteria in force on a day (the first version's when none
    is published yet: the page still shows them, and sending says the fund cannot take applications)."""
    criteria_set = published_for(on)
    definition = definition_of(criteria_set) if criteria_set is not None else crit.VERSION_1
    return {case_type: list(definition[case_type]["questions"]) for case_type in crit.CASE_TYPES}


def household_answers(case: Case, on: dt.date) -> dict[str, str]:
    """What the household data says of a child's care, for the caseworker to confirm: parents present
    (not separated), another adult relative present (separated), no adult at all (unaccompanied)."""
    person = case.beneficiary
    if person.household_id is None:
        return {"separated_from_parents": "yes", "adult_relative_caring": "no"}
    members = [
        m
        for m in session.scalars(
            sa.select(Beneficiary).where(Beneficiary.household_id == person.household_id, Beneficiary.id != person.id)
        )
        if (m.age_on(on) or 0) >= 18
    ]
    mine = person.relationship_to_head
    parents = {"head", "spouse"} if mine == "child" else set()
    if mine == "head":
        parents = {"parent"}
    relatives = {"head", "spouse", "parent", "sibling", "grandparent", "other_relative", "grandchild", "child"}
    if any(m.relationship_to_head in parents for m in members):
        return {"separated_from_parents": "no", "adult_relative_caring": "no"}
    if any(m.relationship_to_head in relatives for m in members):
        return {"separated_from_parents": "yes", "adult_relative_caring": "yes"}
    return {"separated_from_parents": "yes", "adult_relative_caring": "no"}


def _check_lines(case: Case, currency: str, lines: list[LineData]) -> None:
    if not lines:
        raise FundError(_l("Request at least one assistance line."), field="lines")
    per_category: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        if line.category not in CATEGORIES:
            raise FundError(_l("Line %(n)d: choose an assistance category.", n=n), field="lines")
        if line.amount is None or line.amount <= 0:
            raise FundError(_l("Line %(n)d: the amount must be more than zero.", n=n), field="lines")
        if line.currency != currency:
            raise FundError(
                _l("Line %(n)d: the fund pays in %(currency)s in this country.", n=n, currency=currency), field="lines"
            )
        if line.provider and len(line.provider) > 200:
            raise FundError(_l("Line %(n)d: the provider's name is too long.", n=n), field="lines")
        per_category[line.category] = per_category.get(line.category, 0) + line.amount
    for category, amount in per_category.items():
        cap = session.get(CategoryCap, (category, currency))
        if cap is None:
            raise FundError(
                _l(
                    "No cap is set for %(category)s in %(currency)s: ask the fund's administrator.",
                    category=category,
                    currency=currency,
                ),
                field="lines",
            )
        left = cap.amount - approved_so_far(case, category, currency)
        if amount > left:
            raise FundError(
                _l(
                    "%(category)s: %(amount)s asked, but the cap per case leaves %(left)s.",
                    category=category,
                    amount=money(amount, currency),
                    left=money(left, currency),
                ),
                field="lines",
            )


def submit(
    user: Actor, case: Case, case_type: str, answers: dict[str, Any], evidence: str | None, lines: list[LineData]
) -> Application:
    """A caseworker applies from a case; the recommendation is computed and kept with what it used."""
    if not role_allows(user, Permission.FUND_APPLY) or not in_scope(user, case.centre_id):
        raise FundError(_l("Only the case's caseworkers can apply to the fund."))
    if case.status == CaseStatus.CLOSED:
        raise FundError(_l("The case is closed: reopen it to apply."))
    if case_type not in crit.CASE_TYPES:
        raise FundError(_l("Choose the case type."), field="case_type")
    country = case.beneficiary.centre.country
    today = clock.today(country)
    criteria_set = published_for(today)
    if criteria_set is None:
        raise FundError(_l("No published criteria are in force: the fund cannot take applications."))
    definition = definition_of(criteria_set)
    answers = _check_answers(definition, case_type, answers)
    notes = checked_text(
        evidence,
        field="evidence",
        error=FundError,
        required=False,
        limit=MAX_TEXT,
        too_long=_l("The evidence notes are too long (at most %(n)d characters).", n=MAX_TEXT),
    )
    currency = currency_of(country)
    _check_lines(case, currency, lines)
    facts = facts_for(case, answers, today)
    outcome, result = crit.recommend(definition, case_type, facts)
    application = Application(
        centre_id=case.centre_id,
        country=country,
        criteria_set_id=criteria_set.id,
        criteria_digest=criteria_set.digest,
        recommendation=outcome,
        age_band=age_band(facts.age),
        submitted_by_id=user.id,
        submitted_at=utcnow(),
        submitted_on=today,
    )
    application.link_to(case)
    application.record_facts(
        case_type,
        crit.uasc_kind(answers) if case_type == "uasc" and outcome == "eligible" else None,
        [[r.label, r.value] for r in result.labelled()],
        elsewhere=assisted_elsewhere(case.beneficiary, case.centre_id, {line.category for line in lines}, today),
    )
    application.answers = answers
    if notes:
        application.evidence = notes
    session.add(application)
    session.flush()
    for line in lines:
        row = ApplicationLine(
            application_id=application.id,
            application=application,
            category=line.category,
            amount=line.amount,
            currency=line.currency,
        )
        if line.provider:
            row.provider = line.provider.strip()
        session.add(row)
    session.flush()
    audit.record(
        "fund.apply", object_type="fund_application", object_id=application.id, detail=outcome
    )  # never the case type: the audit log is read without the person's key
    return application


def may_read(user: Actor, application: Application) -> bool:
    """The caseworker who applied or is assigned to the case; protection officers in scope; the DPO."""
    # Break-the-glass reaches a trafficking or UASC file only for roles allowed to open those.
    glass_reaches = application.case_type not in GLASS_PROTECTED or role_allows(user, Permission.BREAK_GLASS_FUND)
    if not role_allows(user, Permission.FUND_VIEW) or not in_scope(
        user, application.centre_id, application.beneficiary_id if glass_reaches else None, emergency_read=True
    ):
        return False
    if role_allows(user, Permission.FUND_APPLY):  # those who apply (caseworkers) read their own and their cases' only
        return application.submitted_by_id == user.id or user in application.case.caseworkers
    return True


def sees_content(user: Actor) -> bool:
    """Answers, evidence, providers and payees: for those who see sensitive data (the DPO sees metadata)."""
    return role_allows(user, Permission.VIEW_SENSITIVE)


def read(user: Actor, application: Application) -> None:
    """Every read of an application is audited."""
    audit.record("fund.application.view", object_type="fund_application", object_id=application.id)


def _awaiting(user: Actor) -> sa.Select[Application]:
    stmt = sa.select(Application).where(
        ~sa.exists().where(Decision.application_id == Application.id), sa.not_(involved_in(user))
    )
    ids = centre_ids_in_scope(user)
    if ids is not None:
        stmt = stmt.where(Application.centre_id.in_(ids or [-1]))
    return stmt.order_by(Application.submitted_at, Application.id)


def awaiting_decision(user: Actor, limit: int = 100) -> list[Application]:
    """Applications in the user's scope with no decision yet, oldest first; not those of a case the user is
    involved in (four eyes: another protection officer decides them)."""
    rows = list(session.scalars(_awaiting(user).limit(limit)))
    preload_people(rows)
    return rows


def awaiting_count(user: Actor) -> int:
    """How many applications awaiting_decision would list without a limit."""
    return session.scalar(sa.select(sa.func.count()).select_from(_awaiting(user).order_by(None).subquery())) or 0


def submitted_by(user: Actor, limit: int = 20) -> list[tuple[Application, Decision | None]]:
    """A caseworker's applications with the decision in force, newest first (for their home page)."""
    apps = list(
        session.scalars(
            sa.select(Application)
            .where(Application.submitted_by_id == user.id)
            .options(so.lazyload(Application.lines))  # the home shows the decision, not the lines asked for
            .order_by(Application.submitted_at.desc())
            .limit(limit)
        )
    )
    preload_people(apps)
    in_force_now = current_decisions(apps)
    return [(a, in_force_now.get(a.id)) for a in apps]


@dataclass
class Earlier:
    """One of the person's other applications, as a protection officer sees it beside this one."""

    application: Application
    decision: Decision | None
    #: whether the reader may open it (in their scope); otherwise only this summary is shown
    may_open: bool


def earlier_applications(user: Actor, application: Application) -> list[Earlier]:
    """The person's other applications in every country, newest first, with the decision in force: for
    those who decide (protection officers), so that the same criteria are applied along the route."""
    if not role_allows(user, Permission.FUND_DECIDE):
        return []
    others = list(
        session.scalars(
            sa.select(Application)
            .where(Application.subject_tag == application.subject_tag, Application.id != application.id)
            .order_by(Application.submitted_at.desc(), Application.id.desc())
        )
    )
    in_force_now = current_decisions(others)
    return [Earlier(other, in_force_now.get(other.id), may_read(user, other)) for other in others]
