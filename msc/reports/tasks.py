"""The dashboards' nightly check: do the running counts still equal the records?"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from msc.db import session
from msc.jobs.registry import Context, JobFailed, Outcome, task
from msc.reports import cube


@task(
    "reports.check",
    _l("Report counts check"),
    outcomes={
        "ok": _l("Every report count equals the records."),
        "differ": _l("Report counts that differ from the records: %(num)d. Run flask --app msc reports rebuild."),
    },
    run_now=True,
)
def check(ctx: Context) -> Outcome:
    """Compare every running count with a recount of the records; any difference fails the job."""
    wrong = cube.check(session)
    if wrong:
        raise JobFailed("differ", len(wrong))
    return Outcome("ok")
