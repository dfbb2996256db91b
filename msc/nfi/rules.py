"""Entitlement: the one function that decides what a person or household may receive today, and
says why in words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import format_date, ngettext
from flask_babel import gettext as _

from msc.beneficiaries.models import Beneficiary
from msc.db import session
from msc.nfi.models import DistributionLine, NfiItem


@dataclass(frozen=True)
class Received:
    """An earlier hand-over of an item, as the rules see it."""

    item_id: int
    beneficiary_id: int
    household_id: int | None
    day: dt.date
    quantity: int


@dataclass
class Verdict:
    """What one person (individual item) or household (household item) may receive of an item today."""

    item: NfiItem
    #: the member an individual item is for; for a household item, the person served
    person: Beneficiary
    household: bool
    #: units that may be handed over today within the rules (0: not entitled today)
    allowed: int
    #: why, in words
    reasons: list[str] = field(default_factory=list)
    #: the first day more may be handed over, when not entitled today
    next_on: dt.date | None = None
    #: False when the person is outside the item's target group
    in_group: bool = True

    @property
    def key(self) -> str:
        """The row's name on the desk form."""
        return f"household:{self.item.code}" if self.household else f"{self.person.uid}:{self.item.code}"

    @property
    def entitled(self) -> bool:
        return self.allowed > 0


def describe_group(item: NfiItem) -> str:
    """Who the item is for, in words: "women and girls aged 12 to 49", "children under 2 years old"."""
    sexes = set(item.sex_list)
    adult = item.age_min is not None and item.age_min >= 18
    child = item.age_max is not None and item.age_max < 18
    who: str  # flask_babel has no type hints: its words are str
    if sexes == {"female"}:
        who = _("women") if adult else _("girls") if child else _("women and girls")
    elif sexes == {"male"}:
        who = _("men") if adult else _("boys") if child else _("men and boys")
    else:
        who = _("adults") if adult else _("children") if child else _("people")
    low = item.age_min or None  # "from 0" says nothing
    if low is not None and item.age_max is not None:
        aged = _("aged %(low)d to %(high)d", low=item.age_min, high=item.age_max)
    elif low is not None:
        aged = _("aged %(low)d or over", low=item.age_min)
    elif item.age_max is not None:
        aged = ngettext("under %(num)d year old", "under %(num)d years old", item.age_max + 1)
    else:
        return who
    described: str = _("%(who)s %(aged)s", who=who, aged=aged)
    return described


def has_target(item: NfiItem) -> bool:
    return bool(item.sex_list) or item.age_min is not None or item.age_max is not None


def in_target(item: NfiItem, person: Beneficiary, today: dt.date) -> bool | None:
    """Whether a person is in the item's target group (None: their age is not recorded)."""
    if item.sex_list and person.sex not in item.sex_list:
        return False
    if item.age_min is None and item.age_max is None:
        return True
    age = person.age_on(today)
    if age is None:
        return None
    return (item.age_min is None or age >= item.age_min) and (item.age_max is None or age <= item.age_max)


def history(person_ids: list[int], household_id: int | None, items: list[NfiItem], since: dt.date) -> list[Received]:
    """Hand-overs (not voided) of these items since a day, to these people or this household."""
    who: sa.ColumnElement[bool] = DistributionLine.beneficiary_id.in_(list(person_ids))
    if household_id is not None:
        who = sa.or_(who, DistributionLine.household_id == household_id)
    rows = session.execute(
        sa.select(
            DistributionLine.item_id,
            DistributionLine.beneficiary_id,
            DistributionLine.household_id,
            DistributionLine.day,
            DistributionLine.quantity,
        ).where(
            who,
            DistributionLine.item_id.in_([i.id for i in items]),
            DistributionLine.day >= since,
            DistributionLine.voided.is_(False),
        )
    )
    return [Received(*r) for r in rows]


def window(items: list[NfiItem]) -> int:
    """How many days back the rules of these items look."""
    return max([max(i.period_days, i.min_interval_days) for i in items] or [1])


def evaluate(
    item: NfiItem,
    person: Beneficiary,
    members: list[Beneficiary],
    received: list[Received],
    today: dt.date,
    *,
    household_id: int | None = None,
) -> Verdict:
    """The one rule evaluation: target group, quantity per period, interval, daily maximum, explained.

    For an individual item `person` is the member it is for; for a household item `person` is the one
    served and `members` the household (the person alone when they belong to none)."""
    name = item.name
    household = item.level == "household"
    verdict = Verdict(item=item, person=person, household=household, allowed=0)
    # Target group.
    if household:
        group = members or [person]
        answers = [in_target(item, m, today) for m in group]
        if has_target(item) and not any(answers):
            verdict.in_group = False
            verdict.reasons.append(
                _("Only for households with %(who)s; nobody in this household is.", who=describe_group(item))
                if None not in answers
                else _(
                    "Only for households with %(who)s; record the dates of birth to check.", who=describe_group(item)
                )
            )
            return verdict
    else:
        answer = in_target(item, person, today)
        if answer is None:
            verdict.in_group = False
            verdict.reasons.append(_("Only for %(who)s; the date of birth is not recorded.", who=describe_group(item)))
            return verdict
        if not answer:
            verdict.in_group = False
            verdict.reasons.append(_("Only for %(who)s.", who=describe_group(item)))
            return verdict
    # What this person or household already received.
    if household:
        mine = [
            r
            for r in received
            if r.item_id == item.id
            and (
                r.household_id == household_id
                if household_id is not None
                else (r.beneficiary_id == person.id and r.household_id is None)
            )
        ]
    else:
        mine = [r for r in received if r.item_id == item.id and r.beneficiary_id == person.id]
    start = today - dt.timedelta(days=item.period_days - 1)
    in_period = sorted((r for r in mine if start <= r.day <= today), key=lambda r: r.day)
    used = sum(r.quantity for r in in_period)
    used_today = sum(r.quantity for r in mine if r.day == today)
    last = max((r.day for r in mine), default=None)
    blocks: list[tuple[dt.date, str]] = []
    if item.min_interval_days and last is not None and (today - last).days < item.min_interval_days:
        next_on = last + dt.timedelta(days=item.min_interval_days)
        ago = (today - last).days
        text = (
            _("%(item)s already received today; next from %(date)s.", item=name, date=format_date(next_on))
            if ago == 0
            else ngettext(
                "%(item)s received %(num)d day ago; next from %(date)s.",
                "%(item)s received %(num)d days ago; next from %(date)s.",
                ago,
                item=name,
                date=format_date(next_on),
            )
        )
        blocks.append((next_on, text))
    if used >= item.quantity:
        # The first day enough of the period's hand-overs have dropped out of it.
        running, next_on = used, today + dt.timedelta(days=1)
        for r in in_period:
            running -= r.quantity
            next_on = r.day + dt.timedelta(days=item.period_days)
            if running < item.quantity:
                break
        blocks.append(
            (
                next_on,
                ngettext(
                    "Already received %(used)d in the last %(num)d day (at most %(max)d); next from %(date)s.",
                    "Already received %(used)d in the last %(num)d days (at most %(max)d); next from %(date)s.",
                    item.period_days,
                    used=used,
                    max=item.quantity,
                    date=format_date(next_on),
                ),
            )
        )
    if used_today >= item.max_per_day:
        next_on = today + dt.timedelta(days=1)
        blocks.append(
            (
                next_on,
                _(
                    "Already received %(used)d today (at most %(max)d a day); next from %(date)s.",
                    used=used_today,
                    max=item.max_per_day,
                    date=format_date(next_on),
                ),
            )
        )
    if blocks:
        # The rule that holds longest is the one the person needs to hear.
        verdict.next_on = max(day for day, _text in blocks)
        verdict.reasons = [next(text for day, text in blocks if day == verdict.next_on)]
        return verdict
    verdict.allowed = min(item.quantity - used, item.max_per_day - used_today)
    verdict.reasons.append(ngettext("May receive %(num)d today.", "May receive up to %(num)d today.", verdict.allowed))
    if last is not None:
        verdict.reasons.append(_("Last received on %(date)s.", date=format_date(last)))
    return verdict


@dataclass
class DeskView:
    """Everything the desk screen shows for one person: their rows, the household's, the members'."""

    person: Beneficiary
    members: list[Beneficiary]
    own: list[Verdict]
    household: list[Verdict]
    others: list[tuple[Beneficiary, list[Verdict]]]

    def all(self) -> list[Verdict]:
        return self.own + self.household + [v for _m, vs in self.others for v in vs]


def household_members(person: Beneficiary) -> list[Beneficiary]:
    """The person's household, the person first (just the person when they belong to none)."""
    if person.household_id is None:
        return [person]
    others = session.scalars(
        sa.select(Beneficiary)
        .where(Beneficiary.household_id == person.household_id, Beneficiary.id != person.id)
        .order_by(Beneficiary.id)
    )
    return [person] + [m for m in others if not m.is_erased]


def desk_view(person: Beneficiary, items: list[NfiItem], today: dt.date) -> DeskView:
    """Evaluate every active item for the person, their household, and each other member."""
    members = household_members(person)
    received = history([m.id for m in members], person.household_id, items, today - dt.timedelta(days=window(items)))
    own, household, others = [], [], []
    for item in items:
        if item.level == "household":
            household.append(evaluate(item, person, members, received, today, household_id=person.household_id))
        else:
            own.append(evaluate(item, person, members, received, today))
    for member in members[1:]:
        rows = [evaluate(item, member, members, received, today) for item in items if item.level == "individual"]
        others.append((member, [v for v in rows if v.in_group]))
    return DeskView(person, members, own, household, others)
