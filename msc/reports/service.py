"""The dashboards: every table as people may see it (counts 1 to 4 hidden, and any count a total would
give away hidden too), for the centres in the user's scope. Figures come from the running counts and
from small non-identifying tables; nothing is decrypted."""

from __future__ import annotations

from collections.abc import Callable

from msc.reports.activity import feedback, fund, items, referral_deadlines, referrals_by_status, shelters
from msc.reports.people import (
    age_and_sex,
    along_the_route,
    households,
    needs,
    people,
    registrations,
    vulnerability,
)
from msc.reports.scope import Scope
from msc.reports.tables import Table
from msc.security.actor import Actor

#: the dashboard's tables, in the order of the monthly report
_DASHBOARD: dict[str, Callable[[Actor, Scope], Table]] = {
    "registrations": lambda user, s: registrations(s),
    "age_sex": lambda user, s: age_and_sex(s),
    "people": lambda user, s: people(s),
    "needs": lambda user, s: needs(s),
    "households": lambda user, s: households(s),
    "route": lambda user, s: along_the_route(s),
    "referrals": lambda user, s: referrals_by_status(s),
    "deadlines": lambda user, s: referral_deadlines(s),
    "shelters": lambda user, s: shelters(s),
    "items": lambda user, s: items(s),
    "fund": lambda user, s: fund(s),
    "feedback": feedback,
}
#: every table that can be downloaded: the dashboard's and the vulnerability profile
_TABLES: dict[str, Callable[[Actor, Scope], Table]] = {
    **_DASHBOARD,
    "vulnerability": lambda user, s: vulnerability(s),
}
TABLES = tuple(_TABLES)


def dashboard(user: Actor, s: Scope) -> list[Table]:
    """Every dashboard table, in the order of the monthly report."""
    return [build(user, s) for build in _DASHBOARD.values()]


def table(user: Actor, s: Scope, slug: str) -> Table:
    """One table by its name (for downloads)."""
    return _TABLES[slug](user, s)
