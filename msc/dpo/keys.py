"""Key rotation as the DPO runs it: start a KEK or index-key rotation, which a job carries on to its end
in the worker (the page shows how far it got; closing it loses nothing; an interrupted rotation is
carried on by a new job), retire the old key when nothing needs it. The command line (`flask keys
rotate`, `flask index rotate`) drives the same steps in its own process."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from msc.beneficiaries import index
from msc.beneficiaries.models import Beneficiary
from msc.crypto import rotation
from msc.crypto.envelope import DecryptionError
from msc.crypto.keys import FIRST_INDEX_KEY, KeyError_, keyring
from msc.crypto.rotation import INDEX, KEK, GenerationState, KekRotationState, KeyRotation, RotationError
from msc.db import session, utcnow
from msc.errors import DomainError
from msc.feedback.models import Feedback
from msc.jobs import runner
from msc.jobs.models import Job, JobState
from msc.security import audit
from msc.security.actor import Actor

STEP_SECONDS = 2.0  # one step runs batches for about this long, then reports its progress
PEOPLE_BATCH = 500  # people re-indexed per committed batch (each is decrypted)
DROP_BATCH = 5000  # people whose old entries are deleted per committed batch

MESSAGES = {
    "running": _l("A rotation of this kind is already under way: continue it."),
    "nothing": _l("Every data key is already wrapped by the active key-encryption key: there is nothing to re-wrap."),
    "env_kek": _l(
        "The keys come from the environment: add a new key-encryption key to MSC_KEKS and make it "
        "MSC_ACTIVE_KEK in every server process, restart them, then start the rotation here."
    ),
    "env_index": _l(
        "The keys come from the environment: add a new index key to MSC_INDEX_KEYS in every server "
        "process, restart them, then start the rotation here."
    ),
    "env_remove": _l("The keys come from the environment: remove the old key from the server's settings yourself."),
    "kek_changed": _l("The active key-encryption key changed during the rotation: start a new rotation."),
    "active": _l("The active key-encryption key cannot be retired."),
    "unknown": _l("This key is not in the key ring."),
    "in_use": _l("This index key is still in use: finish the rotation first."),
    "not_running": _l("There is no rotation to continue."),
    "too_soon": _l(
        "The rotation started only moments ago: wait a few seconds, until every server process "
        "uses the new key, then retire the old one."
    ),
    "broken": _l(
        "A data key could not be opened with the configured keys, so the rotation stopped. Run "
        "flask --app msc keys check and restore the missing key before continuing."
    ),
}


class KeysError(DomainError):
    """A key operation said no; the message says why in the reader's language (`code`: which of MESSAGES)."""

    code: str | None = None


#: the task that carries a rotation on (msc/dpo/tasks.py)
ROTATE_TASK = "keys.rotate"


def _refusal(err: RotationError) -> KeysError:
    if err.code == "wrapped":
        return KeysError(
            ngettext(
                "%(num)d data key is still wrapped by this key: finish the rotation first.",
                "%(num)d data keys are still wrapped by this key: finish the rotation first.",
                cast(int, err.params["n"]),
            )
        )
    refused = KeysError(MESSAGES[err.code])
    refused.code = err.code
    return refused


@dataclass
class KekRow:
    key_id: str
    data_keys: int
    active: bool

    @property
    def retirable(self) -> bool:
        return not self.active and self.data_keys == 0


@dataclass
class KeyStatus:
    writable: bool  # the key file can take new keys (the environment cannot)
    keks: list[KekRow]
    destroyed: int
    kek_job: KeyRotation | None  # running, or the last one
    index_job: KeyRotation | None  # running, or the last one
    generations: list[KeyRotation]
    retirable_index_keys: list[str]
    legacy_references: int  # feedback codes still hashed under the first index key
    outside_active: int  # live data keys not under the active KEK (a rotation interrupted or raced)


def status() -> KeyStatus:
    ring = keyring()
    by_kek = rotation.keys_by_kek()
    keks = [KekRow(k, by_kek.get(k, 0), k == ring.active_kek) for k in sorted(set(ring.keks) | set(by_kek))]
    keks.sort(key=lambda r: (not r.active, r.key_id))
    generations = list(
        session.scalars(sa.select(KeyRotation).where(KeyRotation.kind == INDEX).order_by(KeyRotation.generation.desc()))
    )
    legacy = 0
    if FIRST_INDEX_KEY in ring.index_keys:
        legacy = (
            session.scalar(sa.select(sa.func.count()).select_from(Feedback).where(Feedback.reference_legacy.is_(True)))
            or 0
        )
    outside = sum(r.data_keys for r in keks if not r.active)
    return KeyStatus(
        bool(ring.source and ring.source.can_write()),
        keks,
        rotation.destroyed_keys(),
        _latest(KEK),
        _latest(INDEX),
        generations,
        rotation.retirable_index_keys(),
        legacy,
        outside,
    )


def _latest(kind: str) -> KeyRotation | None:
    job = rotation.running(kind)
    if job is not None:
        return job
    where = KeyRotation.switched_at.is_not(None) if kind == INDEX else sa.true()
    return session.scalar(
        sa.select(KeyRotation).where(KeyRotation.kind == kind, where).order_by(KeyRotation.id.desc()).limit(1)
    )


def phase(job: KeyRotation | None) -> str | None:
    """What a rotation is doing: rewrapping, building, cleaning, or done."""
    if job is None:
        return None
    if job.kind == KEK:
        return "rewrapping" if job.state == KekRotationState.RUNNING else "done"
    if job.state == GenerationState.BUILDING:
        return "building"
    return "cleaning" if job.finished_at is None else "done"


# ---- start --------------------------------------------------------------------------------------


def start(user: Actor, kind: str, new_kek: bool | None = None) -> KeyRotation:
    """Start a rotation: a new KEK (by default when the key file can take one; else the KEK the
    environment made active), or a new index key."""
    # two clicks at once start one rotation, not two; no change to a person's entries is under way
    # (index.reindex), and none starts before this one commits
    index.take_generations_lock(session.connection(), exclusive=True)
    audit.take_chain_lock(session.connection())
    try:
        if kind == KEK:
            if new_kek is None:
                source = keyring().source
                new_kek = bool(source and source.can_write())
            job = rotation.start_kek_rotation(user.id, new_kek=new_kek)
        else:
            job = rotation.start_index_rotation(user.id)
            job.total = session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) or 0
    except RotationError as err:
        raise _refusal(err) from None
    audit.record(
        "keys.rotation_started",
        object_type="key_rotation",
        object_id=job.id,
        detail=f"{kind}:{job.key_id}",
        user_id=user.id,
    )
    session.commit()
    return job


# ---- carry on -------------------------------------------------------------------------------------


def step(user: Actor, kind: str, seconds: float | None = None) -> KeyRotation:
    """Run committed batches of the rotation under way for about `seconds`; return it with its progress."""
    job = rotation.running(kind)
    if job is None:
        raise KeysError(MESSAGES["not_running"])
    user_id = user.id
    deadline = time.monotonic() + (STEP_SECONDS if seconds is None else seconds)
    try:
        while True:
            job = _locked(job)  # a second tab or the command line waits for this batch, then goes on
            if phase(job) == "done":
                break
            _batch(job, user_id)
            session.commit()
            if time.monotonic() >= deadline:
                break
    except RotationError as err:
        session.rollback()
        raise _refusal(err) from None
    except (DecryptionError, KeyError_):
        session.rollback()
        broken = KeysError(MESSAGES["broken"])
        broken.code = "broken"
        raise broken from None
    return job


def _locked(job: KeyRotation) -> KeyRotation:
    """The rotation's row, locked to the end of the transaction and read afresh."""
    return session.scalars(
        sa.select(KeyRotation)
        .where(KeyRotation.id == job.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def run_to_end(user: Actor, kind: str) -> KeyRotation | None:
    """Carry a rotation on until it is done (the command line)."""
    job = rotation.running(kind)
    while job is not None and phase(job) != "done":
        job = step(user, kind, seconds=60.0)
    return job


def _batch(job: KeyRotation, user_id: int | None) -> None:
    if job.kind == KEK:
        rotation.rewrap_batch(job)
        if job.state == KekRotationState.DONE:
            audit.record(
                "keys.rotate",
                object_type="key_rotation",
                object_id=job.id,
                detail=f"{job.done} data keys now under {job.key_id}",
                user_id=user_id,
            )
        return
    gen = rotation.IndexGeneration(cast(int, job.generation), job.key_id)
    if job.state == GenerationState.BUILDING:
        last, seen, _ = index.index_batch(gen, job.cursor, PEOPLE_BATCH)
        job.updated_at = utcnow()
        if last is not None:
            job.cursor, job.done = last, job.done + seen
            job.total = max(job.total, job.done)
            return
        # everybody is in the new generation (every change since the start wrote it too: see
        # index.reindex): searches switch to it
        rotation.switch_generation(job)
        audit.record(
            "keys.index_switched",
            object_type="key_rotation",
            object_id=job.id,
            detail=f"searches now read generation {job.generation} ({job.key_id})",
            user_id=user_id,
        )
        return
    for old in session.scalars(
        sa.select(KeyRotation).where(KeyRotation.kind == INDEX, KeyRotation.state == GenerationState.RETIRING)
    ):
        cursor = index.drop_generation_batch(cast(int, old.generation), job.cursor, DROP_BATCH)
        if cursor is not None:
            job.cursor = cursor
            return
    rotation.generation_retired(job)
    audit.record(
        "keys.index_rotate",
        object_type="key_rotation",
        object_id=job.id,
        detail=f"{job.done} people indexed under {job.key_id}; {job.previous_key_id} retired",
        user_id=user_id,
    )


# ---- in the worker --------------------------------------------------------------------------------


def carry_on(user: Actor, kind: str) -> Job:
    """The job that carries the rotation under way on in the worker: the one queued or running, else a
    new one (it starts when the caller commits)."""
    if rotation.running(kind) is None:
        raise KeysError(MESSAGES["not_running"])
    return active_job(kind) or runner.enqueue(ROTATE_TASK, user, kind)


def active_job(kind: str) -> Job | None:
    """The job queued or running for a rotation of this kind."""
    return session.scalar(_latest_job(kind).where(Job.state.in_((JobState.QUEUED, JobState.RUNNING))))


def last_job(kind: str) -> Job | None:
    """The latest job of a rotation of this kind, whatever its state."""
    return session.scalar(_latest_job(kind))


def _latest_job(kind: str) -> sa.Select[Job]:
    return sa.select(Job).where(Job.kind == ROTATE_TASK, Job.argument == kind).order_by(Job.id.desc()).limit(1)


# ---- retire ---------------------------------------------------------------------------------------


def retire(user: Actor, kind: str, key_id: str) -> None:
    """Remove an old KEK or index key from the key ring once nothing needs it."""
    audit.take_chain_lock(session.connection())  # one change to the key file at a time
    try:
        if kind == KEK:
            rotation.retire(key_id)
        else:
            rotation.retire_index_key(key_id)
    except RotationError as err:
        raise _refusal(err) from None
    audit.record("keys.retire", object_type="key", detail=f"{kind}:{key_id}", user_id=user.id)
    session.commit()
