"""The imports' jobs: the preview of a batch, and its import (resumed where it stopped when run again)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.db import session
from msc.imports import service
from msc.imports.models import BatchState, ImportBatch
from msc.jobs.registry import Context, JobFailed, Outcome, task


def _batch(ctx: Context, *states: str) -> ImportBatch:
    batch = session.scalar(sa.select(ImportBatch).where(ImportBatch.uid == ctx.argument))
    if batch is None or batch.state not in states:
        raise JobFailed("gone")
    return batch


@task(
    service.CHECK,
    _l("Import preview"),
    outcomes={
        "checked": _l("Rows checked: %(num)d."),
        "gone": _l("The import was not waiting for a preview."),
    },
)
def check(ctx: Context) -> Outcome:
    """Check every row of an uploaded list and find its duplicates; nothing is registered."""
    batch = _batch(ctx, BatchState.CHECKING)
    ctx.progress(0, batch.total_rows)
    service.check(ctx.user, batch, ctx.progress)
    ctx.progress(batch.total_rows, batch.total_rows)
    return Outcome("checked", batch.total_rows)


@task(
    service.RUN,
    _l("Import of a list"),
    outcomes={
        "imported": _l("People imported: %(num)d."),
        "gone": _l("The import was not waiting to run."),
    },
)
def run(ctx: Context) -> Outcome:
    """Import the rows of a checked list, from where it stopped."""
    batch = _batch(ctx, BatchState.RUNNING)
    ctx.progress(batch.done_rows, batch.total_rows)
    service.run(ctx.user, batch, ctx.progress)
    ctx.progress(batch.total_rows, batch.total_rows)
    return Outcome("imported", batch.imported)
