"""Versions of the fund's criteria: drafts, publication and retirement; a published version never changes."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from msc.db import session, utcnow
from msc.fund import criteria as crit
from msc.fund.common import FundError
from msc.fund.evaluator import CriteriaInvalid
from msc.fund.models import CriteriaSet, CriteriaStatus
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import Permission, role_allows


def definition_of(criteria_set: CriteriaSet) -> dict[str, Any]:
    """A version's criteria as data (questions and rule per case type)."""
    definition: dict[str, Any] = json.loads(criteria_set.definition)
    return definition


def published_for(day: dt.date) -> CriteriaSet | None:
    """The criteria in force on a day: the newest published version effective by then."""
    return session.scalar(
        sa.select(CriteriaSet)
        .where(CriteriaSet.status == CriteriaStatus.PUBLISHED, CriteriaSet.effective_on <= day)
        .order_by(CriteriaSet.version.desc())
        .limit(1)
    )


def checked(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition, if the evaluator would run it; else a FundError saying why."""
    try:
        crit.check_definition(definition)
    except CriteriaInvalid as err:
        raise FundError(_l("These criteria cannot be used: %(why)s.", why=str(err)), field="definition") from None
    return definition


def save_draft(
    user: Actor, criteria_set: CriteriaSet | None, definition: dict[str, Any], effective_on: dt.date | None
) -> CriteriaSet:
    """Create or change a draft; published and retired versions are never changed."""
    if not role_allows(user, Permission.FUND_CRITERIA_DRAFT):
        raise FundError(_l("You cannot draft criteria."))
    if criteria_set is not None and criteria_set.status != CriteriaStatus.DRAFT:
        raise FundError(
            _l(
                "Version %(v)d is %(status)s and cannot be changed: draft a new version.",
                v=criteria_set.version,
                status=criteria_set.status,
            )
        )
    if effective_on is None:
        raise FundError(_l("Give the day the criteria take effect."), field="effective_on")
    definition = checked(definition)
    if criteria_set is None:
        last = session.scalar(sa.select(sa.func.max(CriteriaSet.version))) or 0
        criteria_set = CriteriaSet(version=last + 1, created_by_id=user.id)
        session.add(criteria_set)
    criteria_set.effective_on = effective_on
    criteria_set.definition = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    criteria_set.digest = crit.digest(definition)
    session.flush()
    audit.record("fund.criteria.draft", object_type="fund_criteria", object_id=criteria_set.id)
    return criteria_set


def may_publish(user: Actor) -> bool:
    """Who publishes and retires criteria: those allowed to, at regional level."""
    return role_allows(user, Permission.FUND_CRITERIA_PUBLISH) and user.scope == "region"


def _regional_publisher(user: Actor) -> None:
    if not may_publish(user):
        raise FundError(_l("Only a protection officer at regional level can publish or retire criteria."))


def publish(user: Actor, criteria_set: CriteriaSet) -> None:
    """A draft becomes the criteria in force from its effective day; from then on it never changes."""
    _regional_publisher(user)
    if criteria_set.status != CriteriaStatus.DRAFT:
        raise FundError(_l("Only a draft can be published."))
    checked(definition_of(criteria_set))
    criteria_set.status = CriteriaStatus.PUBLISHED
    criteria_set.published_by_id, criteria_set.published_at = user.id, utcnow()
    audit.record(
        "fund.criteria.publish", object_type="fund_criteria", object_id=criteria_set.id, detail=criteria_set.digest
    )


def retire(user: Actor, criteria_set: CriteriaSet) -> None:
    """A published version stops being in force; it stays, unchanged, for the applications that used it."""
    _regional_publisher(user)
    if criteria_set.status != CriteriaStatus.PUBLISHED:
        raise FundError(_l("Only a published version can be retired."))
    criteria_set.status = CriteriaStatus.RETIRED
    audit.record("fund.criteria.retire", object_type="fund_criteria", object_id=criteria_set.id)


@sa.event.listens_for(CriteriaSet, "before_update")
def _published_versions_never_change(
    _mapper: so.Mapper[CriteriaSet], _connection: sa.Connection, target: CriteriaSet
) -> None:
    """The database's last word on immutability: a published version's content cannot be written."""
    state = sa.inspect(target)
    was = state.attrs.status.history.deleted
    previous = was[0] if was else target.status
    if previous in (CriteriaStatus.PUBLISHED, CriteriaStatus.RETIRED):
        for name in ("definition", "digest", "version", "effective_on"):
            if state.attrs[name].history.has_changes():
                raise FundError(
                    _l(
                        "Version %(v)d is %(status)s and cannot be changed: draft a new version.",
                        v=target.version,
                        status=previous,
                    )
                )
