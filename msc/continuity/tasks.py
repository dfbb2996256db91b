"""The continuity jobs: requests for a record unanswered for 48 hours go to the protection officers; onward
movements whose arrival was not confirmed in time are flagged."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from msc.continuity import onward, service
from msc.db import session, utcnow
from msc.jobs.registry import Context, Outcome, task


@task(
    "continuity.escalate",
    _l("Requests for records unanswered for 48 hours"),
    outcomes={"escalated": _l("Requests passed to a protection officer: %(num)d.")},
    run_now=True,
)
def escalate(ctx: Context) -> Outcome:
    """Pass each request unanswered for 48 hours to the protection officers of the holding centre's country."""
    made = service.escalate_due(utcnow())
    session.commit()
    return Outcome("escalated", made)


@task(
    "continuity.onward_overdue",
    _l("Onward movements that did not arrive"),
    outcomes={"flagged": _l("Onward movements flagged as not arrived: %(num)d.")},
    run_now=True,
)
def onward_overdue(ctx: Context) -> Outcome:
    """Flag each onward movement to a centre not confirmed ONWARD_OVERDUE_DAYS after its planned date."""
    found = onward.flag_overdue(utcnow())
    session.commit()
    return Outcome("flagged", found.flagged)
