"""The data-protection jobs: witness the audit chain, check it, expire exports, the retention run, and
key rotations (started from the keys page, run by the worker)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from msc.crypto import rotation
from msc.db import session
from msc.dpo import erasure, keys, oversight
from msc.dpo import exports as personal_exports
from msc.jobs.registry import Context, JobFailed, Outcome, task
from msc.security import witness


@task(
    "audit.anchor",
    _l("Audit chain witness"),
    outcomes={
        "witnessed": _l("Record %(num)d written to the witness."),
        "unchanged": _l("Record %(num)d was already witnessed."),
        "empty": _l("The audit log is empty: nothing to witness."),
        "off": _l("No witness is configured."),
    },
    routine=True,
)
def anchor(ctx: Context) -> Outcome:
    """Write the chain's head to its witness (file and/or syslog) unless it is there already."""
    if not witness.configured():
        return Outcome("off")
    head, where = witness.anchor(repeat=False)
    if head is None:
        return Outcome("empty")
    return Outcome("witnessed" if where else "unchanged", head.seq)


@task(
    "audit.verify",
    _l("Audit chain check"),
    outcomes={
        "intact": _l("Audit chain intact. Records verified: %(num)d."),
        "broken": _l("The audit chain is broken at record %(num)d: see the DPO's dashboard."),
        "broken_witness": _l("The audit chain does not match its witness: see the DPO's dashboard."),
    },
    run_now=True,
)
def verify(ctx: Context) -> Outcome:
    """Walk the audit chain and compare it with its witness; a broken chain fails the job (the check itself
    is kept for the DPO's dashboard either way)."""
    _check, result = oversight.check_chain(ctx.user)
    session.commit()
    if not result.ok:
        if result.broken_seq is not None:
            raise JobFailed("broken", result.broken_seq)
        raise JobFailed("broken_witness")
    return Outcome("intact", result.checked)


@task(
    "exports.purge",
    _l("Expiry of export archives"),
    outcomes={"purged": _l("Expired export archives deleted: %(num)d.")},
    routine=True,
)
def purge_exports(ctx: Context) -> Outcome:
    """Delete the personal-data export archives that expired unread."""
    n = personal_exports.purge()
    session.commit()
    return Outcome("purged", n)


@task(
    "dpo.retention",
    _l("Retention run"),
    outcomes={"anonymised": _l("People anonymised because their retention period had ended: %(num)d.")},
    enabled_by="RETENTION_AUTO",
)
def retention(ctx: Context) -> Outcome:
    """Anonymise everyone whose retention period has ended, as one recorded retention run."""
    done = erasure.run(ctx.user)
    session.commit()
    return Outcome("anonymised", done.erased)


@task(
    "keys.rotate",
    _l("Key rotation"),
    outcomes={
        "rewrapped": _l("Data keys re-wrapped under the new key-encryption key: %(num)d."),
        "reindexed": _l("People indexed under the new index key: %(num)d."),
        "refused": _l("The rotation stopped: see the keys page."),
        **keys.MESSAGES,  # why a rotation stopped, in the reader's language
    },
)
def rotate(ctx: Context) -> Outcome:
    """Carry the rotation of this kind (kek or index) on to its end, batch after batch, reporting progress."""
    kind = ctx.argument or rotation.KEK
    job = rotation.running(kind)
    while job is not None and keys.phase(job) != "done":
        try:
            job = keys.step(ctx.user, kind)
        except keys.KeysError as err:
            raise JobFailed(err.code or "refused") from None
        ctx.progress(job.done, job.total)
    return Outcome("rewrapped" if kind == rotation.KEK else "reindexed", job.done if job is not None else 0)
