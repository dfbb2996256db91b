"""The report filters, checked against the user: the centres and the months a dashboard covers."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from msc.beneficiaries.vocab import AGE_BANDS, NATIONALITIES, SEXES, STATELESS
from msc.centres.models import Centre
from msc.errors import DomainError
from msc.security.actor import Actor
from msc.security.policy import Permission, centres_in_scope, role_allows

MAX_MONTHS = 36
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
BANDS = (*AGE_BANDS, "unknown")

#: running counts by the values of their dimensions (one value, or a tuple of them when grouped by several)
Counts = dict[Any, int]


class ReportError(DomainError):
    """A filter that cannot be used, said in words."""


@dataclass
class Filters:
    """What the user asked for: months (YYYY-MM, inclusive), a centre or country, and who."""

    start: str
    end: str
    centre_id: int | None = None
    country: str | None = None
    sex: str | None = None
    age_band: str | None = None
    nationality: str | None = None


@dataclass
class Scope:
    """Filters checked against the user: the centres covered and the days of the period."""

    filters: Filters
    centres: list[Centre]
    sensitive: bool
    #: what one page reads more than once
    cache: dict[str, Counts] = field(default_factory=dict, repr=False)

    @property
    def centre_ids(self) -> list[int]:
        return [c.id for c in self.centres]

    @property
    def first_day(self) -> dt.date:
        return dt.date.fromisoformat(self.filters.start + "-01")

    @property
    def last_day(self) -> dt.date:
        year, month = map(int, self.filters.end.split("-"))
        return dt.date(year, month, calendar.monthrange(year, month)[1])


def default_period(today: dt.date) -> tuple[str, str]:
    """The months a report covers when none are asked for: the last six, this one included (YYYY-MM)."""
    year, month = (today.year, today.month - 5) if today.month > 5 else (today.year - 1, today.month + 7)
    return f"{year:04d}-{month:02d}", today.strftime("%Y-%m")


def months_between(start: str, end: str) -> list[str]:
    year, month = map(int, start.split("-"))
    out = []
    while f"{year:04d}-{month:02d}" <= end:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def scope(user: Actor, f: Filters) -> Scope:
    """Check the filters; refuse in words what cannot be shown."""
    for name in ("start", "end"):
        if not MONTH.match(getattr(f, name) or ""):
            raise ReportError(_l("Give the month as year and month, for example 2026-03."), field=name)
    if f.end < f.start:
        raise ReportError(_l("The period ends before it starts."), field="end")
    if len(months_between(f.start, f.end)) > MAX_MONTHS:
        raise ReportError(_l("Choose a period of at most three years."), field="end")
    if f.sex and f.sex not in SEXES:
        raise ReportError(_l("Choose a sex from the list."), field="sex")
    if f.age_band and f.age_band not in BANDS:
        raise ReportError(_l("Choose an age band from the list."), field="age_band")
    if f.nationality and f.nationality not in NATIONALITIES and f.nationality != STATELESS:
        raise ReportError(_l("Choose a nationality from the list."), field="nationality")
    centres = centres_in_scope(user, f.centre_id, f.country)
    if not centres:
        raise ReportError(_l("Choose one of your centres or countries."), field="centre_id")
    return Scope(f, centres, role_allows(user, Permission.VIEW_SENSITIVE))
