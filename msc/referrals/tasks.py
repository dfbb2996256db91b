"""The referrals' daily job: remind of the referrals past their deadline (msc/referrals/reminders.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from msc.db import session, utcnow
from msc.jobs.registry import Context, Outcome, task
from msc.referrals import reminders


@task(
    "referrals.remind",
    _l("Reminders of overdue referrals"),
    outcomes={"made": _l("Referral reminders made: %(num)d.")},
    run_now=True,
)
def remind(ctx: Context) -> Outcome:
    """Remind the staff following each late case and its partner (once a day at most per referral)."""
    made = reminders.send_due(utcnow())
    session.commit()
    return Outcome("made", made)
