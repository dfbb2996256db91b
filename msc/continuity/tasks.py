"""The continuity job: requests for a record unanswered for 48 hours go to the protection officers."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from msc.continuity import service
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
