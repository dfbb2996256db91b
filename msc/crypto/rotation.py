"""Key rotation: re-wrap every data key under a new KEK; move the blind index to a new index key.

Both run in committed batches and keep their progress in a `key_rotations` row, so an interrupted
rotation carries on where it stopped, from the DPO's page or from the command line alike.

Blind-index generations. Every index entry and vocabulary pair carries the generation of the
index key that made it. Exactly one generation is *active*: searches read it, writes keep it up to
date. During a rotation a second one is *building*: writes keep it up to date too, while batches
compute it for everybody else. When every person is in it, it becomes active in one transaction
(searches switch at once, and they were correct all along), and the old generation is *retiring*:
its rows are deleted in batches, then it is *retired* and its key can leave the key file.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import cast

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.crypto import blind
from msc.crypto.envelope import DecryptionError
from msc.crypto.fields import DataKey
from msc.crypto.keys import (
    FIRST_INDEX_KEY,
    KEY_BYTES,
    RELOAD_CHECK_SECONDS,
    KeyError_,
    KeyRing,
    keyring,
    new_index_key_id,
    new_kek_id,
)
from msc.db import Base, once_per_transaction, session, utcnow

BATCH = 500
#: a KEK is retired only this long after a rotation started: every process re-reads a changed key
#: file within RELOAD_CHECK_SECONDS, so none still wraps new data keys under the old KEK
RETIRE_AFTER_SECONDS = 10 * RELOAD_CHECK_SECONDS
KEK, INDEX = "kek", "index"


class KekRotationState(StrEnum):
    """Where a KEK rotation stands: re-wrapping the data keys, then done."""

    RUNNING = "running"
    DONE = "done"


class GenerationState(StrEnum):
    """Where a blind-index generation stands: building, active, retiring, retired (see above)."""

    BUILDING = "building"
    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


class KeyRotation(Base):
    """One KEK rotation, or one blind-index generation (its key, and how far its rotation got)."""

    __tablename__ = "key_rotations"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(8))
    #: the new key (a KEK id or an index-key id); never the key itself
    key_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    #: the key it replaces
    previous_key_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    #: index generations only: the number every index row of this key carries
    generation: so.Mapped[int | None] = so.mapped_column(sa.SmallInteger, unique=True)
    #: a KekRotationState, or for an index generation a GenerationState
    state: so.Mapped[str] = so.mapped_column(sa.String(16))
    #: work to do and done: data keys (KEK), people (index)
    total: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    done: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    #: the last row id a batch finished (index building and clean-up)
    cursor: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    started_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    started_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[dt.datetime | None]
    switched_at: so.Mapped[dt.datetime | None]
    finished_at: so.Mapped[dt.datetime | None]
    #: when the replaced key left the key ring
    retired_at: so.Mapped[dt.datetime | None]
    #: index generations only: which entries its rows hold (blind.LAYOUT when they were all computed by
    #: this version; an older layout until `flask index rebuild` recomputes them)
    layout: so.Mapped[int] = so.mapped_column(sa.SmallInteger, default=blind.LAYOUT, server_default="1")

    @property
    def percent(self) -> int:
        if self.state == KekRotationState.DONE or (self.kind == INDEX and self.state != GenerationState.BUILDING):
            return 100
        return min(100, int(100 * self.done / self.total)) if self.total else 0


class RotationError(KeyError_):
    """A rotation cannot start or go on. The message is for the command line; `code` and `params`
    let a page say the same in the reader's language."""

    def __init__(self, code: str, message: str, **params: object):
        super().__init__(message)
        self.code, self.params = code, params


# ---- blind-index generations -----------------------------------------------------------------


@dataclass(frozen=True)
class IndexGeneration:
    generation: int
    key_id: str
    #: the entries its rows hold (blind.LAYOUT); a search asks only for what they hold
    layout: int = field(default=blind.LAYOUT, compare=False)


@dataclass(frozen=True)
class IndexState:
    search: IndexGeneration  # the active generation: what searches read
    writes: tuple[IndexGeneration, ...]  # active and building: what every change keeps up to date


@lru_cache(maxsize=1)
def _index_state_query() -> sa.Select[int | None, str, str, int]:
    """Built once: it runs at every search and registration, and building it cost more than running it."""
    return (
        sa.select(KeyRotation.generation, KeyRotation.key_id, KeyRotation.state, KeyRotation.layout)
        .where(KeyRotation.kind == INDEX, KeyRotation.state.in_((GenerationState.ACTIVE, GenerationState.BUILDING)))
        .order_by(KeyRotation.generation)
    )


def index_state() -> IndexState:
    """Which generation searches read and which ones writes keep up to date (read per call: another
    process may switch generations at any moment)."""
    rows = session.execute(_index_state_query()).all()
    # index rows have a generation
    generations = [(IndexGeneration(cast(int, g), k, layout), s) for g, k, s, layout in rows]
    active = [gen for gen, s in generations if s == GenerationState.ACTIVE]
    search = active[0] if active else IndexGeneration(1, FIRST_INDEX_KEY)
    return IndexState(search, tuple(gen for gen, _ in generations) or (search,))


_SEARCHED = "msc.searched_generation"


def searched_generation() -> IndexGeneration:
    """The generation searches read, once per transaction (or savepoint): the searches of one request (a registration
    runs up to five) read one generation, and the next transaction reads it again (a switch commits; the
    generation it replaces stays searchable until its entries are dropped, in later transactions). What
    writes keep up to date is never taken from here: index.reindex reads it under the generations lock."""
    return cast(IndexGeneration, once_per_transaction(_SEARCHED, None, lambda: index_state().search))


def mark_rebuilt(generations: tuple[IndexGeneration, ...]) -> None:
    """Every person's entries of these generations were just recomputed: they hold this version's layout."""
    session.execute(
        sa.update(KeyRotation)
        .where(KeyRotation.kind == INDEX, KeyRotation.generation.in_([gen.generation for gen in generations]))
        .values(layout=blind.LAYOUT)
    )


def start_on_key_file() -> str | None:
    """On a new database (nothing indexed yet) whose active index generation names a key the key file
    no longer holds (the first key, idx-0, retired before this database existed), searches and writes
    start on the key file's newest index key instead. Returns that key's id, or None when nothing was
    to change. A database that already holds index rows is never re-pointed: its rows were made with
    the missing key and only a restored key file (or a rebuild) can make them searchable again."""
    ring = keyring()
    generations = list(
        session.scalars(sa.select(KeyRotation).where(KeyRotation.kind == INDEX).order_by(KeyRotation.generation))
    )
    active = [g for g in generations if g.state == GenerationState.ACTIVE]
    if active and active[0].key_id in ring.index_keys:
        return None
    if not generations and FIRST_INDEX_KEY in ring.index_keys:
        return None
    if len(generations) > 1 or _anything_indexed():
        return None
    newest = list(ring.index_keys)[-1]  # the key file keeps its keys in the order they were added
    if active:
        active[0].key_id = newest
        active[0].updated_at = utcnow()
    else:
        session.add(
            KeyRotation(
                kind=INDEX,
                key_id=newest,
                generation=1,
                state=GenerationState.ACTIVE,
                total=0,
                done=0,
                cursor=0,
                started_at=utcnow(),
            )
        )
    session.flush()
    return newest


def _anything_indexed() -> bool:
    """Whether any blind-index row exists (the tables are named, not imported: they belong to a higher layer)."""
    for table in ("blind_index_entries", "name_vocabulary"):
        if session.execute(sa.select(sa.literal(1)).select_from(sa.table(table)).limit(1)).first() is not None:
            return True
    return False


def running(kind: str) -> KeyRotation | None:
    """The rotation of this kind still under way: a KEK rotation re-wrapping, or an index generation
    building or retiring its predecessor."""
    if kind == KEK:
        where = KeyRotation.state == KekRotationState.RUNNING
    else:
        where = sa.or_(
            KeyRotation.state == GenerationState.BUILDING,
            sa.and_(
                KeyRotation.state == GenerationState.ACTIVE,
                KeyRotation.switched_at.is_not(None),
                KeyRotation.finished_at.is_(None),
            ),
        )
    return session.scalar(
        sa.select(KeyRotation).where(KeyRotation.kind == kind, where).order_by(KeyRotation.id.desc()).limit(1)
    )


def start_index_rotation(user_id: int | None) -> KeyRotation:
    """A new index key (generated into the key file, or the one configured and never used) and its
    generation, building. Refused while another index rotation is under way."""
    if running(INDEX) is not None:
        raise RotationError("running", "an index-key rotation is already under way: continue it")
    ring = _fresh_ring()
    used = set(session.scalars(sa.select(KeyRotation.key_id).where(KeyRotation.kind == INDEX)))
    unused = sorted(set(ring.index_keys) - used)
    if unused:
        key_id = unused[0]
    elif ring.source is not None and ring.source.can_write():
        key_id = new_index_key_id()
        ring.index_keys[key_id] = secrets.token_bytes(KEY_BYTES)
        ring.source.save(ring)
    else:
        raise RotationError(
            "env_index",
            "keys come from the environment: add a new index key to MSC_INDEX_KEYS in every "
            "process, restart them, then start the rotation",
        )
    current = index_state().search
    last = session.scalar(sa.select(sa.func.max(KeyRotation.generation))) or 0
    job = KeyRotation(
        kind=INDEX,
        key_id=key_id,
        previous_key_id=current.key_id,
        generation=last + 1,
        state=GenerationState.BUILDING,
        started_by_id=user_id,
        updated_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def switch_generation(job: KeyRotation) -> None:
    """Make a fully built generation the one searches read; its predecessor starts retiring."""
    old = session.scalar(
        sa.select(KeyRotation).where(KeyRotation.kind == INDEX, KeyRotation.state == GenerationState.ACTIVE)
    )
    if old is not None:
        old.state = GenerationState.RETIRING
        old.updated_at = utcnow()
    job.state = GenerationState.ACTIVE
    job.switched_at = job.updated_at = utcnow()
    job.cursor = 0


def generation_retired(job: KeyRotation) -> None:
    """The old generation's rows are gone: the rotation is over."""
    for old in session.scalars(
        sa.select(KeyRotation).where(KeyRotation.kind == INDEX, KeyRotation.state == GenerationState.RETIRING)
    ):
        old.state = GenerationState.RETIRED
        old.finished_at = utcnow()
    job.finished_at = job.updated_at = utcnow()


def retirable_index_keys() -> list[str]:
    """Index keys still in the key ring that no generation in use needs any more."""
    in_use = set(
        session.scalars(
            sa.select(KeyRotation.key_id).where(
                KeyRotation.kind == INDEX,
                KeyRotation.state.in_((GenerationState.ACTIVE, GenerationState.BUILDING, GenerationState.RETIRING)),
            )
        )
    )
    ever = set(session.scalars(sa.select(KeyRotation.key_id).where(KeyRotation.kind == INDEX)))
    return sorted((set(keyring().index_keys) & ever) - in_use)


def retire_index_key(key_id: str) -> None:
    """Remove an index key that no generation in use needs from the key file."""
    ring = _fresh_ring()
    if key_id not in retirable_index_keys():
        raise RotationError("in_use", f"the index key {key_id} is still in use, or unknown", key=key_id)
    if ring.source is None or not ring.source.can_write():
        raise RotationError(
            "env_remove", "keys come from the environment: remove the index key from MSC_INDEX_KEYS yourself"
        )
    ring.index_keys.pop(key_id)
    ring.source.save(ring)
    for row in session.scalars(sa.select(KeyRotation).where(KeyRotation.kind == INDEX, KeyRotation.key_id == key_id)):
        row.retired_at = utcnow()


# ---- KEK rotation -----------------------------------------------------------------------------


def _fresh_ring() -> KeyRing:
    """The key ring as the key file has it now (another process may have changed it a moment ago).
    Callers change the file under the audit chain's lock, so two changes never overwrite each other."""
    ring = keyring()
    ring.reload()
    return ring


def add_new_kek() -> str:
    """Generate a new KEK, make it active, and store it with the key provider (file provider only)."""
    ring = _fresh_ring()
    if ring.source is None or not ring.source.can_write():
        raise RotationError(
            "env_kek",
            "keys come from the environment: add the new KEK to MSC_KEKS, set MSC_ACTIVE_KEK, "
            "restart every process, then rotate",
        )
    kid = new_kek_id()
    ring.keks[kid] = secrets.token_bytes(KEY_BYTES)
    ring.active_kek = kid
    ring.source.save(ring)
    return kid


def _outside_active() -> sa.ColumnElement[bool]:
    return sa.and_(DataKey.kek_id != keyring().active_kek, DataKey.wrapped.is_not(None))


def outside_active() -> int:
    """Live data keys not wrapped by the active KEK: what a KEK rotation has to re-wrap."""
    return session.scalar(sa.select(sa.func.count()).select_from(DataKey).where(_outside_active())) or 0


def destroyed_keys() -> int:
    """Data keys destroyed by erasure (crypto-shredding)."""
    return session.scalar(sa.select(sa.func.count()).select_from(DataKey).where(DataKey.wrapped.is_(None))) or 0


def start_kek_rotation(user_id: int | None, *, new_kek: bool) -> KeyRotation:
    """Start re-wrapping every data key under the active KEK (a new one first, if asked and the key
    file can take it). Refused while a KEK rotation is under way, or when there is nothing to do."""
    if running(KEK) is not None:
        raise RotationError("running", "a KEK rotation is already under way: continue it")
    previous = keyring().active_kek
    if new_kek:
        add_new_kek()
    total = outside_active()
    if not new_kek and total == 0:
        raise RotationError("nothing", "every data key is already under the active KEK: there is nothing to re-wrap")
    job = KeyRotation(
        kind=KEK,
        key_id=keyring().active_kek,
        previous_key_id=previous if new_kek else None,
        state=KekRotationState.RUNNING,
        total=total,
        started_by_id=user_id,
        updated_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def rewrap_batch(job: KeyRotation, limit: int | None = None) -> int:
    """Re-wrap the next batch of data keys not under the job's KEK; finish the job when none is left.
    The caller commits (one batch, one transaction)."""
    if job.key_id != keyring().active_kek:
        keyring().reload()  # this process may not have seen the key file change yet
    if job.key_id != keyring().active_kek:
        raise RotationError(
            "kek_changed", f"the active KEK is now {keyring().active_kek}, not {job.key_id}: start a new rotation"
        )
    # locked: an erasure destroying one of these keys waits for the batch, or the batch for it (and
    # then no longer selects the destroyed key), so a re-wrap never brings a destroyed key back
    batch = list(
        session.scalars(
            sa.select(DataKey).where(_outside_active()).order_by(DataKey.id).limit(limit or BATCH).with_for_update()
        )
    )
    for key in batch:
        key.rewrap(job.key_id)
    job.done += len(batch)
    job.total = max(job.total, job.done)
    job.updated_at = utcnow()
    if not batch:
        job.state = KekRotationState.DONE
        job.finished_at = utcnow()
    return len(batch)


@dataclass
class CheckResult:
    checked: int = 0
    destroyed: int = 0
    failed: list[int] = field(default_factory=list)
    by_kek: dict[str, int] = field(default_factory=dict)


def check() -> CheckResult:
    """Try to unwrap every data key; report those that do not open."""
    result = CheckResult()
    with session.execute(sa.select(DataKey).order_by(DataKey.id).execution_options(yield_per=BATCH)) as rows:
        for key in rows.scalars():
            _check_one(key, result)
    return result


def _check_one(key: DataKey, result: CheckResult) -> None:
    if key.wrapped is None:
        result.destroyed += 1
        return
    result.checked += 1
    result.by_kek[key.kek_id] = result.by_kek.get(key.kek_id, 0) + 1
    try:
        key._plain = None
        key.plaintext()
    except (DecryptionError, KeyError_):
        result.failed.append(key.id)


def keys_by_kek() -> dict[str, int]:
    """Live data keys per KEK."""
    return dict(
        session.execute(
            sa.select(DataKey.kek_id, sa.func.count()).where(DataKey.wrapped.is_not(None)).group_by(DataKey.kek_id)
        ).all()
    )


def retirable_keks() -> list[str]:
    """KEKs in the key ring that no live data key uses and that are not active."""
    used = set(keys_by_kek())
    ring = keyring()
    return sorted(k for k in ring.keks if k != ring.active_kek and k not in used)


def retire(kek_id: str) -> None:
    """Remove an old KEK from the key file once no data key uses it, and once every process has had
    time to see that another KEK is active (so none wraps a new data key under this one)."""
    ring = _fresh_ring()
    if kek_id == ring.active_kek:
        raise RotationError("active", "the active KEK cannot be retired", key=kek_id)
    if kek_id not in ring.keks:
        raise RotationError("unknown", f"the KEK {kek_id} is not in the key ring", key=kek_id)
    in_use = session.scalar(
        sa.select(sa.func.count()).select_from(DataKey).where(DataKey.kek_id == kek_id, DataKey.wrapped.is_not(None))
    )
    if in_use:
        raise RotationError(
            "wrapped",
            f"{in_use} data keys are still wrapped by {kek_id}: run `keys rotate` first",
            key=kek_id,
            n=in_use,
        )
    recent = session.scalar(sa.select(sa.func.max(KeyRotation.started_at)).where(KeyRotation.kind == KEK))
    if recent is not None and utcnow() - recent < dt.timedelta(seconds=RETIRE_AFTER_SECONDS):
        raise RotationError(
            "too_soon",
            f"a KEK rotation started less than {RETIRE_AFTER_SECONDS} s ago: wait until every process has seen it",
            n=RETIRE_AFTER_SECONDS,
        )
    if ring.source is None or not ring.source.can_write():
        raise RotationError("env_remove", "keys come from the environment: remove the KEK from MSC_KEKS yourself")
    ring.keks.pop(kek_id, None)
    ring.source.save(ring)
    for row in session.scalars(
        sa.select(KeyRotation).where(KeyRotation.kind == KEK, KeyRotation.previous_key_id == kek_id)
    ):
        row.retired_at = utcnow()
