"""Decisions on applications: four eyes, approvals within the lines asked, and a change of mind as a new decision."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.cases.models import Case, CaseEvent, assigned_case_ids
from msc.db import session, utcnow
from msc.errors import checked_text
from msc.fund.common import MAX_TEXT, FundError, currency_of
from msc.fund.models import (
    Application,
    ApplicationLine,
    Decision,
    DecisionLine,
    DecisionOutcome,
    Disbursement,
    FundAllocation,
    subject_tag,
)
from msc.security import audit
from msc.security.actor import Actor
from msc.security.models import User
from msc.security.policy import Permission, in_scope, role_allows

OUTCOMES = tuple(DecisionOutcome)


def in_force() -> sa.ColumnElement[bool]:
    """The condition for decisions no other decision replaces."""
    return Decision.id.not_in(sa.select(Decision.replaces_id).where(Decision.replaces_id.is_not(None)))


def current_decision(application: Application) -> Decision | None:
    """The decision in force: the newest one no other decision replaces."""
    return current_decisions([application]).get(application.id)


def current_decisions(applications: list[Application]) -> dict[int, Decision]:
    """The decision in force of each of many applications that has one (the newest no other decision
    replaces), in one query."""
    if not applications:
        return {}
    found = session.scalars(
        sa.select(Decision)
        .where(Decision.application_id.in_([a.id for a in applications]), in_force())
        .options(so.joinedload(Decision.decided_by).lazyload(User.centres))  # who decided, not their centres
        .order_by(Decision.id)
    )
    return {decision.application_id: decision for decision in found}  # oldest first: the newest stays


def approved_so_far(case: Case, category: str, currency: str) -> int:
    """What the case's current decisions approve in a category and currency (for the per-case cap, which is
    per currency: what a person had in another country's currency is told apart, as assistance elsewhere)."""
    return (
        session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(DecisionLine.approved), 0))
            .join(Decision, Decision.id == DecisionLine.decision_id)
            .join(ApplicationLine, ApplicationLine.id == DecisionLine.line_id)
            .join(Application, Application.id == Decision.application_id)
            .where(
                Application.subject_tag == subject_tag(case.beneficiary),  # one case per person
                ApplicationLine.category == category,
                ApplicationLine.currency == currency,
                Decision.outcome == DecisionOutcome.APPROVE,
                in_force(),
            )
        )
        or 0
    )


def allocation_for(country: str, currency: str, day: dt.date) -> FundAllocation | None:
    """The allocation an approval draws on: the newest one for the country and currency covering the day."""
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


def _decides_in_scope(user: Actor, application: Application) -> bool:
    return role_allows(user, Permission.FUND_DECIDE) and in_scope(user, application.centre_id)


def _cases_worked_on(user_id: int) -> sa.CompoundSelect[tuple[int]]:
    """The cases a user works or worked on: assigned now, assigned before (the case's history keeps it),
    or opened by them."""
    return sa.union(
        assigned_case_ids(user_id),
        sa.select(CaseEvent.case_id).where(CaseEvent.action == "assigned", CaseEvent.detail == str(user_id)),
        sa.select(Case.id).where(Case.opened_by_id == user_id),
    )


def involvement(user: Actor, application: Application) -> str | None:
    """How the user is involved in the application's case, if at all: "submitted" (this application),
    "assigned" (works or worked on the case) or "earlier" (submitted another application for the person)."""
    if user.id is None:
        return None
    if user.id == application.submitted_by_id:
        return "submitted"
    worked_on = _cases_worked_on(user.id).subquery()
    if session.scalar(sa.select(worked_on).where(worked_on.c[0] == application.case.id).limit(1)) is not None:
        return "assigned"
    earlier = session.scalar(
        sa.select(Application.id)
        .where(
            Application.subject_tag == application.subject_tag,
            Application.submitted_by_id == user.id,
            Application.id != application.id,
        )
        .limit(1)
    )
    return "earlier" if earlier is not None else None


def involved_in(user: Actor) -> sa.ColumnElement[bool]:
    """The condition for applications the user is involved in (for a queue that leaves them out): those of a
    person for whom the user submitted an application, or whose case the user works or worked on."""
    if user.id is None:  # the system submits nothing and works on no case
        return sa.false()
    submitted = sa.select(Application.subject_tag).where(Application.submitted_by_id == user.id).scalar_subquery()
    cases = session.scalars(sa.select(Case).where(Case.id.in_(_cases_worked_on(user.id)))).all()
    tags = [subject_tag(case.beneficiary) for case in cases]
    return sa.or_(Application.subject_tag.in_(submitted), Application.subject_tag.in_(tags or ["-"]))


def may_decide(user: Actor, application: Application) -> bool:
    """Four eyes: whoever decides in the application's scope, unless they are involved in the case."""
    return _decides_in_scope(user, application) and involvement(user, application) is None


def decide(
    user: Actor,
    application: Application,
    outcome: str,
    approved: dict[int, int] | None = None,
    justification: str | None = None,
    period_ends_on: dt.date | None = None,
) -> Decision:
    """Four eyes: a protection officer not involved in the case (neither its submitter, nor assigned to the
    case, nor the submitter of an earlier application for the person) decides. A change of mind is a
    new decision that replaces the one in force."""
    if not may_decide(user, application):
        if not _decides_in_scope(user, application):
            raise FundError(_l("Only a protection officer can decide on fund applications."))
        involved = involvement(user, application)
        if involved == "assigned":
            raise FundError(
                _l(
                    "You work or worked on this case (assigned to it, or you opened it): a protection officer "
                    "not involved in it must decide on it."
                )
            )
        if involved == "earlier":
            raise FundError(
                _l(
                    "You submitted an earlier application for this person: a protection officer not involved "
                    "in the case must decide on it."
                )
            )
        raise FundError(_l("You submitted this application: another protection officer must decide on it."))
    if outcome not in OUTCOMES:
        raise FundError(_l("Choose approve, reject or return for information."), field="outcome")
    justification = checked_text(
        justification,
        field="justification",
        error=FundError,
        required=False,
        limit=MAX_TEXT,
        too_long=_l("The justification is too long (at most %(n)d characters).", n=MAX_TEXT),
    )
    against = (outcome == DecisionOutcome.APPROVE and application.recommendation != "eligible") or (
        outcome == DecisionOutcome.REJECT and application.recommendation == "eligible"
    )
    if against and not justification:
        raise FundError(_l("This decision goes against the recommendation: write why."), field="justification")
    previous = current_decision(application)
    today = clock.today(application.country)
    amounts: dict[int, int] = {}
    allocation = None
    if outcome == DecisionOutcome.APPROVE:
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
        period_ends_on=period_ends_on if outcome == DecisionOutcome.APPROVE else None,
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


@sa.event.listens_for(Decision, "before_update")
def _decisions_never_change(_mapper: so.Mapper[Decision], _connection: sa.Connection, target: Decision) -> None:
    """A decision, once written, is never rewritten: a change of mind is a new decision."""
    if sa.inspect(target).modified:
        raise FundError(_l("A decision is never changed: record a new decision that replaces it."))
