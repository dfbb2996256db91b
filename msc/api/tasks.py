"""The webhooks' job: send the deliveries that are due (msc/api/webhooks.py), each minute and after each
transaction that wrote some."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from msc.api import webhooks
from msc.jobs.registry import Context, Outcome, task


@task(
    webhooks.TASK,
    _l("Webhook deliveries"),
    outcomes={"sent": _l("Webhook deliveries made: %(num)d.")},
    routine=True,
)
def deliver(ctx: Context) -> Outcome:
    """Attempt every due delivery once (a failed one waits for its next attempt)."""
    delivered, _failed = webhooks.send_due()
    return Outcome("sent", delivered)
