"""Disbursements: pay against an approved line, never past the line nor the allocation; void with a reason."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.db import rows_changed, session, utcnow
from msc.fund.common import FundError
from msc.fund.decisions import current_decision
from msc.fund.models import Application, DecisionLine, DecisionOutcome, Disbursement, FundAllocation
from msc.numbers import money
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import Permission, in_scope, role_allows


def may_disburse(user: Actor, application: Application) -> bool:
    """Who records and voids disbursements on an application: those allowed to, in its scope."""
    return role_allows(user, Permission.FUND_DISBURSE) and in_scope(user, application.centre_id)


def disburse(
    user: Actor,
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
    if not may_disburse(user, application):
        raise FundError(_l("You cannot record disbursements."))
    in_force = current_decision(application)
    if decision.outcome != DecisionOutcome.APPROVE or in_force is None or in_force.id != decision.id:
        raise FundError(_l("This line is not approved by the decision in force."))
    if kind not in ("payment", "in_kind"):
        raise FundError(_l("Say whether it is a payment or an in-kind purchase."), field="kind")
    if amount is None or amount <= 0:
        raise FundError(_l("The amount must be more than zero."), field="amount")
    today = clock.today(application.country)
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
            created_by_id=user.id,
            created_at=utcnow(),
        )
        payment.payee = (payee or "").strip()
        session.add(payment)
        session.flush()
    session.expire(decision_line)
    audit.record("fund.disburse", object_type="fund_disbursement", object_id=payment.id)
    return payment


def void_disbursement(user: Actor, payment: Disbursement, reason: str | None) -> None:
    """A mistaken payment is voided with its reason; the line and the allocation get the amount back."""
    if not may_disburse(user, payment.decision_line.decision.application):
        raise FundError(_l("You cannot record disbursements."))
    if payment.voided_at is not None:
        raise FundError(_l("This disbursement was already voided."))
    reason = (reason or "").strip()
    if not reason:
        raise FundError(_l("Write why the disbursement is voided."), field="reason")
    claimed = rows_changed(
        sa.update(Disbursement)
        .where(Disbursement.id == payment.id, Disbursement.voided_at.is_(None))
        .values(voided_at=utcnow(), voided_by_id=user.id)
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
