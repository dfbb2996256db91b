"""Country allocations and caps per case (the fund's set-up), and what is left of each allocation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.centres.models import Centre
from msc.db import session
from msc.fund.common import CATEGORIES, COUNTRY_CURRENCY, FundError, currency_of
from msc.fund.decisions import in_force
from msc.fund.models import CategoryCap, Decision, DecisionLine, DecisionOutcome, FundAllocation
from msc.numbers import money
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import Permission, centre_ids_in_scope, role_allows


def _fund_administrator(user: Actor) -> None:
    if not role_allows(user, Permission.FUND_CRITERIA_DRAFT) or user.scope != "region":
        raise FundError(_l("Only the fund's administrators at regional level set allocations and caps."))


def save_allocation(
    user: Actor,
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


def set_cap(user: Actor, category: str, currency: str, amount: int) -> CategoryCap:
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


@dataclass
class Balance:
    """An allocation's figures, in minor units of its currency."""

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
            .where(DecisionLine.allocation_id == allocation.id, Decision.outcome == DecisionOutcome.APPROVE, in_force())
        )
        or 0
    )
    session.refresh(allocation)
    return Balance(allocation.amount, int(committed), allocation.disbursed)


def allocations_in_scope(user: Actor) -> list[FundAllocation]:
    """The allocations of the countries the user reaches, by country, newest period first."""
    stmt = sa.select(FundAllocation).order_by(FundAllocation.country, FundAllocation.starts_on.desc())
    ids = centre_ids_in_scope(user)
    if ids is not None:
        countries = set(session.scalars(sa.select(Centre.country).where(Centre.id.in_(ids or [-1]))))
        stmt = stmt.where(FundAllocation.country.in_(countries or {""}))
    return list(session.scalars(stmt))
