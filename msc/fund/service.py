"""Fund rules: versioned criteria (drafts, publication, immutability), applications with an explained
recommendation, four-eyes decisions, and disbursements that never exceed the line nor the allocation."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.beneficiaries.vocab import age_band
from msc.cases.models import Case
from msc.db import rows_changed, session, utcnow
from msc.errors import DomainError
from msc.fund import criteria as crit
from msc.fund.evaluator import CriteriaInvalid, Facts
from msc.fund.models import (
    Application,
    ApplicationLine,
    CategoryCap,
    CriteriaSet,
    Decision,
    DecisionLine,
    Disbursement,
    FundAllocation,
)
from msc.i18n import local_today
from msc.security import audit
from msc.security.policy import (
    BREAK_GLASS_FUND,
    FUND_APPLY,
    FUND_CRITERIA_DRAFT,
    FUND_CRITERIA_PUBLISH,
    FUND_DECIDE,
    FUND_DISBURSE,
    FUND_VIEW,
    in_scope,
    role_allows,
)

CATEGORIES = ("medical", "mhpss", "shelter", "legal", "education", "livelihood", "return_integration", "basic_needs")
#: the currency the fund pays in, per country
COUNTRY_CURRENCY = {"COL": "COP", "PER": "PEN", "ECU": "USD", "BRA": "BRL", "CHL": "CLP"}
OUTCOMES = ("approve", "reject", "return")
MAX_TEXT = 4000


class FundError(DomainError):
    """A fund rule said no."""


def currency_of(country: str) -> str:
    return COUNTRY_CURRENCY.get(country, "USD")


# ---- set-up ----------------------------------------------------------------------------------


def _fund_administrator(user) -> None:
    if not role_allows(user, FUND_CRITERIA_DRAFT) or getattr(user, "scope", None) != "region":
        raise FundError(_l("Only the fund's administrators at regional level set allocations and caps."))


def save_allocation(
    user,
    allocation: FundAllocation | None,
    *,
    country: str,
    currency: str,
    amount: int,
    starts_on: dt.date | None,
    ends_on: dt.date | None,
) -> FundAllocation:
    """A country's allocation for a period; it can never be set below what was already paid from it."""
    _fund_administrator(user)
    if not (isinstance(country, str) and len(country) == 3 and country.isalpha() and country.isupper()):
        raise FundError(_l("Choose the country."), field="country")
    if currency != currency_of(country):
        raise FundError(
            _l("The fund pays in %(currency)s in this country.", currency=currency_of(country)), field="currency"
        )
    if amount is None or amount <= 0:
        raise FundError(_l("The amount must be more than zero."), field="amount")
    if starts_on is None or ends_on is None or ends_on < starts_on:
        raise FundError(_l("Give a period whose end is not before its start."), field="ends_on")
    if allocation is not None and amount < allocation.disbursed:
        raise FundError(
            _l(
                "%(paid)s is already paid from this allocation: it cannot be less.",
                paid=money(allocation.disbursed, currency),
            ),
            field="amount",
        )
    if allocation is None:
        allocation = FundAllocation(disbursed=0)
        session.add(allocation)
    allocation.country, allocation.currency, allocation.amount = country, currency, amount
    allocation.starts_on, allocation.ends_on = starts_on, ends_on
    session.flush()
    audit.record("fund.allocation", object_type="fund_allocation", object_id=allocation.id)
    return allocation


def set_cap(user, category: str, currency: str, amount: int) -> CategoryCap:
    """The most one case may receive in a category, in a currency."""
    _fund_administrator(user)
    if category not in CATEGORIES:
        raise FundError(_l("Choose an assistance category."), field="category")
    if currency not in set(COUNTRY_CURRENCY.values()) | {"USD"}:
        raise FundError(_l("Choose one of the fund's currencies."), field="currency")
    if amount is None or amount <= 0:
        raise FundError(_l("The amount must be more than zero."), field="amount")
    cap = session.get(CategoryCap, (category, currency))
    if cap is None:
        cap = CategoryCap(category=category, currency=currency)
        session.add(cap)
    cap.amount = amount
    session.flush()
    audit.record("fund.cap", detail=f"{category}:{currency}")
    return cap


# ---- criteria sets ---------------------------------------------------------------------------


def definition_of(criteria_set: CriteriaSet) -> dict:
    return json.loads(criteria_set.definition)


def published_for(day: dt.date) -> CriteriaSet | None:
    """The criteria in force on a day: the newest published version effective by then."""
    return session.scalar(
        sa.select(CriteriaSet)
        .where(CriteriaSet.status == "published", CriteriaSet.effective_on <= day)
        .order_by(CriteriaSet.version.desc())
        .limit(1)
    )


def _checked(definition) -> dict:
    try:
        crit.check_definition(definition)
    except CriteriaInvalid as err:
        raise FundError(_l("These criteria cannot be used: %(why)s.", why=str(err)), field="definition") from None
    return definition


def save_draft(user, criteria_set: CriteriaSet | None, definition: dict, effective_on: dt.date | None) -> CriteriaSet:
    """Create or change a draft; published and retired versions are never changed."""
    if not role_allows(user, FUND_CRITERIA_DRAFT):
        raise FundError(_l("You cannot draft criteria."))
    if criteria_set is not None and criteria_set.status != "draft":
        raise FundError(
            _l(
                "Version %(v)d is %(status)s and cannot be changed: draft a new version.",
                v=criteria_set.version,
                status=criteria_set.status,
            )
        )
    if effective_on is None:
        raise FundError(_l("Give the day the criteria take effect."), field="effective_on")
    definition = _checked(definition)
    if criteria_set is None:
        last = session.scalar(sa.select(sa.func.max(CriteriaSet.version))) or 0
        criteria_set = CriteriaSet(version=last + 1, created_by_id=getattr(user, "id", None))
        session.add(criteria_set)
    criteria_set.effective_on = effective_on
    criteria_set.definition = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    criteria_set.digest = crit.digest(definition)
    session.flush()
    audit.record("fund.criteria.draft", object_type="fund_criteria", object_id=criteria_set.id)
    return criteria_set


def _regional_publisher(user) -> None:
    if not role_allows(user, FUND_CRITERIA_PUBLISH) or getattr(user, "scope", None) != "region":
        raise FundError(_l("Only a protection officer at regional level can publish or retire criteria."))


def publish(user, criteria_set: CriteriaSet) -> None:
    """A draft becomes the criteria in force from its effective day; from then on it never changes."""
    _regional_publisher(user)
    if criteria_set.status != "draft":
        raise FundError(_l("Only a draft can be published."))
    _checked(definition_of(criteria_set))
    criteria_set.status, criteria_set.published_by_id, criteria_set.published_at = "published", user.id, utcnow()
    audit.record(
        "fund.criteria.publish", object_type="fund_criteria", object_id=criteria_set.id, detail=criteria_set.digest
    )


def retire(user, criteria_set: CriteriaSet) -> None:
    _regional_publisher(user)
    if criteria_set.status != "published":
        raise FundError(_l("Only a published version can be retired."))
    criteria_set.status = "retired"
    audit.record("fund.criteria.retire", object_type="fund_criteria", object_id=criteria_set.id)


@sa.event.listens_for(CriteriaSet, "before_update")
def _published_versions_never_change(_mapper, _connection, target: CriteriaSet) -> None:
    """The database's last word on immutability: a published version's content cannot be written."""
    state = sa.inspect(target)
    was = state.attrs.status.history.deleted
    previous = was[0] if was else target.status
    if previous in ("published", "retired"):
        for name in ("definition", "digest", "version", "effective_on"):
            if state.attrs[name].history.has_changes():
                raise FundError(
                    _l(
                        "Version %(v)d is %(status)s and cannot be changed: draft a new version.",
                        v=target.version,
                        status=previous,
                    )
                )


@sa.event.listens_for(Decision, "before_update")
def _decisions_never_change(_mapper, _connection, target: Decision) -> None:
    """A decision, once written, is never rewritten: a change of mind is a new decision."""
    if sa.inspect(target).modified:
        raise FundError(_l("A decision is never changed: record a new decision that replaces it."))


# ---- applications ----------------------------------------------------------------------------


@dataclass
class LineData:
    category: str
    amount: int
    currency: str
    provider: str | None = None


def facts_for(case: Case, answers: dict, on: dt.date) -> Facts:
    person = case.beneficiary
    return Facts(answers=answers, age=person.age_on(on), age_estimated=bool(person.dob_estimated))


def _check_answers(definition: dict, case_type: str, answers: dict) -> dict:
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


def household_answers(case: Case, on: dt.date) -> dict:
    """What the household data says of a child's care, for the caseworker to confirm: parents present
    (not separated), another adult relative present (separated), no adult at all (unaccompanied)."""
    from msc.beneficiaries.models import Beneficiary

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


def approved_so_far(case: Case, category: str) -> int:
    """What the case's current decisions approve in a category (for the per-case cap)."""
    return (
        session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(DecisionLine.approved), 0))
            .join(Decision, Decision.id == DecisionLine.decision_id)
            .join(ApplicationLine, ApplicationLine.id == DecisionLine.line_id)
            .join(Application, Application.id == Decision.application_id)
            .where(
                Application.case_id == case.id,
                ApplicationLine.category == category,
                Decision.outcome == "approve",
                in_force(),
            )
        )
        or 0
    )


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
        left = cap.amount - approved_so_far(case, category)
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


def money(amount: int, currency: str) -> str:
    """Minor units as a plain amount with its currency: 150000 COP -> "1,500.00 COP"."""
    return f"{amount / 100:,.2f} {currency}"


def submit(user, case: Case, case_type: str, answers: dict, evidence: str | None, lines: list[LineData]) -> Application:
    """A caseworker applies from a case; the recommendation is computed and kept with what it used."""
    if not role_allows(user, FUND_APPLY) or not in_scope(user, case.centre_id):
        raise FundError(_l("Only the case's caseworkers can apply to the fund."))
    if case.status == "closed":
        raise FundError(_l("The case is closed: reopen it to apply."))
    if case_type not in crit.CASE_TYPES:
        raise FundError(_l("Choose the case type."), field="case_type")
    country = case.beneficiary.centre.country
    today = local_today(country)
    criteria_set = published_for(today)
    if criteria_set is None:
        raise FundError(_l("No published criteria are in force: the fund cannot take applications."))
    definition = definition_of(criteria_set)
    answers = _check_answers(definition, case_type, answers)
    evidence = (evidence or "").strip()
    if len(evidence) > MAX_TEXT:
        raise FundError(_l("The evidence notes are too long (at most %(n)d characters).", n=MAX_TEXT), field="evidence")
    currency = currency_of(country)
    _check_lines(case, currency, lines)
    facts = facts_for(case, answers, today)
    outcome, result = crit.recommend(definition, case_type, facts)
    application = Application(
        case_id=case.id,
        case=case,
        beneficiary_id=case.beneficiary_id,
        beneficiary=case.beneficiary,
        centre_id=case.centre_id,
        country=country,
        case_type=case_type,
        criteria_set_id=criteria_set.id,
        criteria_digest=criteria_set.digest,
        recommendation=outcome,
        uasc_kind=crit.uasc_kind(answers) if case_type == "uasc" and outcome == "eligible" else None,
        explanation=json.dumps([[r.label, r.value] for r in result.labelled()]),
        age_band=age_band(facts.age),
        submitted_by_id=getattr(user, "id", None),
        submitted_at=utcnow(),
        submitted_on=today,
    )
    application.answers = answers
    if evidence:
        application.evidence = evidence
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
        "fund.apply", object_type="fund_application", object_id=application.id, detail=f"{case_type}:{outcome}"
    )
    return application


# ---- decisions -------------------------------------------------------------------------------


def in_force():
    """The condition for decisions no other decision replaces."""
    return Decision.id.not_in(sa.select(Decision.replaces_id).where(Decision.replaces_id.is_not(None)))


def current_decision(application: Application) -> Decision | None:
    """The decision in force: the newest one no other decision replaces."""
    return session.scalar(
        sa.select(Decision)
        .where(Decision.application_id == application.id, in_force())
        .order_by(Decision.id.desc())
        .limit(1)
    )


def allocation_for(country: str, currency: str, day: dt.date) -> FundAllocation | None:
    return session.scalar(
        sa.select(FundAllocation)
        .where(
            FundAllocation.country == country,
            FundAllocation.currency == currency,
            FundAllocation.starts_on <= day,
            FundAllocation.ends_on >= day,
        )
        .order_by(FundAllocation.id.desc())
        .limit(1)
    )


def decide(
    user,
    application: Application,
    outcome: str,
    approved: dict[int, int] | None = None,
    justification: str | None = None,
    period_ends_on: dt.date | None = None,
) -> Decision:
    """Four eyes: a protection officer other than the one who submitted decides. A change of mind is a
    new decision that replaces the one in force."""
    if not role_allows(user, FUND_DECIDE) or not in_scope(user, application.centre_id):
        raise FundError(_l("Only a protection officer can decide on fund applications."))
    if getattr(user, "id", None) == application.submitted_by_id:
        raise FundError(_l("You submitted this application: another protection officer must decide on it."))
    if outcome not in OUTCOMES:
        raise FundError(_l("Choose approve, reject or return for information."), field="outcome")
    justification = (justification or "").strip()
    if len(justification) > MAX_TEXT:
        raise FundError(
            _l("The justification is too long (at most %(n)d characters).", n=MAX_TEXT), field="justification"
        )
    against = (outcome == "approve" and application.recommendation != "eligible") or (
        outcome == "reject" and application.recommendation == "eligible"
    )
    if against and not justification:
        raise FundError(_l("This decision goes against the recommendation: write why."), field="justification")
    previous = current_decision(application)
    today = local_today(application.country)
    amounts: dict[int, int] = {}
    allocation = None
    if outcome == "approve":
        approved = approved or {}
        requested = {line.id: line for line in application.lines}
        if set(approved) - set(requested):
            raise FundError(_l("Approve amounts only for the lines requested."), field="approved")
        for line_id, amount in approved.items():
            if amount is None or amount < 0:
                raise FundError(_l("An approved amount cannot be negative."), field="approved")
            if amount > requested[line_id].amount:
                raise FundError(
                    _l("An approved amount can be lowered, never raised above what was requested."), field="approved"
                )
        amounts = {line_id: approved.get(line_id, 0) for line_id in requested}
        if not any(amounts.values()):
            raise FundError(_l("Approve an amount for at least one line, or reject the application."), field="approved")
        if period_ends_on is None or period_ends_on <= today:
            raise FundError(_l("Give the day the approved assistance ends (after today)."), field="period_ends_on")
        allocation = allocation_for(application.country, currency_of(application.country), today)
        if allocation is None:
            raise FundError(
                _l(
                    "No fund allocation for %(country)s covers today: the fund's administrator must record one.",
                    country=application.country,
                )
            )
    if previous is not None:
        paid = {dl.line_id: dl.disbursed for dl in previous.lines}
        if any(amounts.get(line_id, 0) < done for line_id, done in paid.items() if done):
            raise FundError(
                _l(
                    "Part of this assistance is already paid: a new decision cannot approve less "
                    "than what was paid. Void the payments first."
                ),
                field="approved",
            )
    decision = Decision(
        application_id=application.id,
        application=application,
        outcome=outcome,
        against_recommendation=against,
        replaces_id=previous.id if previous else None,
        period_ends_on=period_ends_on if outcome == "approve" else None,
        decided_by_id=user.id,
        decided_at=utcnow(),
        decided_on=today,
    )
    if justification:
        decision.justification = justification
    session.add(decision)
    try:
        with session.begin_nested():
            session.flush()
    except sa.exc.IntegrityError:
        raise FundError(_l("Someone else decided on this application at the same moment: reload it.")) from None
    for line_id, amount in amounts.items():
        assert allocation is not None  # an approval has found its allocation above; a rejection has no lines
        carried = {dl.line_id: dl.disbursed for dl in previous.lines} if previous else {}
        session.add(
            DecisionLine(
                decision_id=decision.id,
                line_id=line_id,
                allocation_id=allocation.id,
                approved=amount,
                disbursed=carried.get(line_id, 0),
            )
        )
    if previous is not None:  # payments already made now count against the new decision's lines
        _carry_disbursements(previous, decision)
    session.flush()
    audit.record(
        "fund.decide",
        object_type="fund_application",
        object_id=application.id,
        detail=f"{outcome}{':against' if against else ''}:{decision.id}",
    )
    return decision


def _carry_disbursements(previous: Decision, decision: Decision) -> None:
    session.flush()
    new_lines = {
        dl.line_id: dl.id
        for dl in session.scalars(sa.select(DecisionLine).where(DecisionLine.decision_id == decision.id))
    }
    for old in previous.lines:
        if old.disbursed and old.line_id in new_lines:
            session.execute(
                sa.update(Disbursement)
                .where(Disbursement.decision_line_id == old.id)
                .values(decision_line_id=new_lines[old.line_id])
            )


# ---- disbursements ---------------------------------------------------------------------------


def disburse(
    user,
    decision_line: DecisionLine,
    *,
    amount: int,
    paid_on: dt.date | None,
    payee: str | None,
    reference: str | None,
    kind: str = "payment",
) -> Disbursement:
    """Pay against an approved line: never more than is left on the line, nor on the allocation, even when
    two requests arrive at once (each limit is a conditional UPDATE)."""
    decision = decision_line.decision
    application = decision.application
    if not role_allows(user, FUND_DISBURSE) or not in_scope(user, application.centre_id):
        raise FundError(_l("You cannot record disbursements."))
    in_force = current_decision(application)
    if decision.outcome != "approve" or in_force is None or in_force.id != decision.id:
        raise FundError(_l("This line is not approved by the decision in force."))
    if kind not in ("payment", "in_kind"):
        raise FundError(_l("Say whether it is a payment or an in-kind purchase."), field="kind")
    if amount is None or amount <= 0:
        raise FundError(_l("The amount must be more than zero."), field="amount")
    today = local_today(application.country)
    if paid_on is None or paid_on > today or paid_on < today - dt.timedelta(days=90):
        raise FundError(_l("Give the day it was paid (today or in the last 90 days)."), field="paid_on")
    if not (payee or "").strip():
        raise FundError(_l("Give the payee or provider."), field="payee")
    reference = " ".join((reference or "").split())
    if not reference or len(reference) > 60:
        raise FundError(_l("Give the payment or invoice reference (at most 60 characters)."), field="reference")
    currency = decision_line.line.currency
    with session.begin_nested():
        on_line = rows_changed(
            sa.update(DecisionLine)
            .where(DecisionLine.id == decision_line.id, DecisionLine.disbursed + amount <= DecisionLine.approved)
            .values(disbursed=DecisionLine.disbursed + amount)
            .execution_options(synchronize_session=False)
        )
        if on_line != 1:
            left = session.scalar(
                sa.select(DecisionLine.approved - DecisionLine.disbursed).where(DecisionLine.id == decision_line.id)
            )
            raise FundError(
                _l("That is more than is left on this approved line: %(left)s.", left=money(left or 0, currency)),
                field="amount",
            )
        on_allocation = rows_changed(
            sa.update(FundAllocation)
            .where(
                FundAllocation.id == decision_line.allocation_id,
                FundAllocation.disbursed + amount <= FundAllocation.amount,
            )
            .values(disbursed=FundAllocation.disbursed + amount)
            .execution_options(synchronize_session=False)
        )
        if on_allocation != 1:
            left = session.scalar(
                sa.select(FundAllocation.amount - FundAllocation.disbursed).where(
                    FundAllocation.id == decision_line.allocation_id
                )
            )
            raise FundError(
                _l("The country's allocation has only %(left)s left.", left=money(left or 0, currency)), field="amount"
            )
        payment = Disbursement(
            decision_line_id=decision_line.id,
            decision_line=decision_line,
            allocation_id=decision_line.allocation_id,
            kind=kind,
            amount=amount,
            paid_on=paid_on,
            reference=reference,
            created_by_id=getattr(user, "id", None),
            created_at=utcnow(),
        )
        payment.payee = (payee or "").strip()
        session.add(payment)
        session.flush()
    session.expire(decision_line)
    audit.record("fund.disburse", object_type="fund_disbursement", object_id=payment.id)
    return payment


def void_disbursement(user, payment: Disbursement, reason: str | None) -> None:
    """A mistaken payment is voided with its reason; the line and the allocation get the amount back."""
    if not role_allows(user, FUND_DISBURSE) or not in_scope(user, payment.decision_line.decision.application.centre_id):
        raise FundError(_l("You cannot record disbursements."))
    if payment.voided_at is not None:
        raise FundError(_l("This disbursement was already voided."))
    reason = (reason or "").strip()
    if not reason:
        raise FundError(_l("Write why the disbursement is voided."), field="reason")
    claimed = rows_changed(
        sa.update(Disbursement)
        .where(Disbursement.id == payment.id, Disbursement.voided_at.is_(None))
        .values(voided_at=utcnow(), voided_by_id=getattr(user, "id", None))
        .execution_options(synchronize_session=False)
    )
    if claimed != 1:
        raise FundError(_l("This disbursement was already voided."))
    session.execute(
        sa.update(DecisionLine)
        .where(DecisionLine.id == payment.decision_line_id)
        .values(disbursed=DecisionLine.disbursed - payment.amount)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(FundAllocation)
        .where(FundAllocation.id == payment.allocation_id)
        .values(disbursed=FundAllocation.disbursed - payment.amount)
        .execution_options(synchronize_session=False)
    )
    session.refresh(payment)
    payment.void_reason = reason
    session.expire(payment.decision_line)
    audit.record("fund.disbursement.void", object_type="fund_disbursement", object_id=payment.id)


@dataclass
class Balance:
    allocated: int
    committed: int
    disbursed: int

    @property
    def remaining(self) -> int:
        return self.allocated - self.committed - self.disbursed


def balance(allocation: FundAllocation) -> Balance:
    """Allocated, committed (approved by decisions in force, not yet paid), disbursed, remaining."""
    committed = (
        session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(DecisionLine.approved - DecisionLine.disbursed), 0))
            .join(Decision, Decision.id == DecisionLine.decision_id)
            .where(DecisionLine.allocation_id == allocation.id, Decision.outcome == "approve", in_force())
        )
        or 0
    )
    session.refresh(allocation)
    return Balance(allocation.amount, int(committed), allocation.disbursed)


# ---- reading ---------------------------------------------------------------------------------


def parse_money(text: str | None, field: str = "amount") -> int:
    """What was typed ("1500", "1.500,50", "1500.5") as minor units, or a translated reason."""
    raw = (text or "").strip().replace(" ", "")
    if not raw:
        raise FundError(_l("Give the amount."), field=field)
    if raw.startswith("-"):
        raise FundError(_l("The amount cannot be negative."), field=field)
    decimal = max(raw.rfind("."), raw.rfind(","))
    whole, cents = (raw, "") if decimal < 0 or len(raw) - decimal - 1 == 3 else (raw[:decimal], raw[decimal + 1 :])
    whole = whole.replace(".", "").replace(",", "")
    if not whole.isdigit() or (cents and not (cents.isdigit() and len(cents) <= 2)) or len(whole) > 12:
        raise FundError(_l("Give the amount as a number, for example 1500 or 1500.50."), field=field)
    return int(whole) * 100 + int((cents or "0").ljust(2, "0"))


#: files break-the-glass does not open unless the role allows it
GLASS_PROTECTED = ("trafficking", "uasc")


def may_read(user, application: Application) -> bool:
    """The caseworker who applied or is assigned to the case; protection officers in scope; the DPO."""
    # Break-the-glass reaches a trafficking or UASC file only for roles allowed to open those.
    glass_reaches = application.case_type not in GLASS_PROTECTED or role_allows(user, BREAK_GLASS_FUND)
    if not role_allows(user, FUND_VIEW) or not in_scope(
        user, application.centre_id, application.beneficiary_id if glass_reaches else None
    ):
        return False
    if getattr(user, "role", None) == "caseworker":
        return application.submitted_by_id == user.id or user in application.case.caseworkers
    return True


def sees_content(user) -> bool:
    """Answers, evidence, providers and payees: not for the DPO, who sees the metadata."""
    return getattr(user, "role", None) != "dpo"


def read(user, application: Application) -> None:
    """Every read of an application is audited."""
    audit.record("fund.application.view", object_type="fund_application", object_id=application.id)


def awaiting_decision(user, limit: int = 100) -> list[Application]:
    """Applications in the user's scope with no decision yet, oldest first."""
    from msc.security.policy import centre_ids_in_scope

    stmt = sa.select(Application).where(~sa.exists().where(Decision.application_id == Application.id))
    ids = centre_ids_in_scope(user)
    if ids is not None:
        stmt = stmt.where(Application.centre_id.in_(ids or [-1]))
    return list(session.scalars(stmt.order_by(Application.submitted_at).limit(limit)))


def submitted_by(user, limit: int = 20) -> list[tuple[Application, Decision | None]]:
    """A caseworker's applications with the decision in force, newest first (for their home page)."""
    apps = list(
        session.scalars(
            sa.select(Application)
            .where(Application.submitted_by_id == user.id)
            .order_by(Application.submitted_at.desc())
            .limit(limit)
        )
    )
    return [(a, current_decision(a)) for a in apps]


def allocations_in_scope(user) -> list[FundAllocation]:
    from msc.centres.models import Centre
    from msc.security.policy import centre_ids_in_scope

    stmt = sa.select(FundAllocation).order_by(FundAllocation.country, FundAllocation.starts_on.desc())
    ids = centre_ids_in_scope(user)
    if ids is not None:
        countries = set(session.scalars(sa.select(Centre.country).where(Centre.id.in_(ids or [-1]))))
        stmt = stmt.where(FundAllocation.country.in_(countries or {""}))
    return list(session.scalars(stmt))
