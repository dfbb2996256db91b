"""Key-encryption-key rotation: re-wrap every data key under the active KEK; check they all open."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa

from msc.crypto.envelope import DecryptionError
from msc.crypto.fields import DataKey
from msc.crypto.keys import KEY_BYTES, KeyError_, keyring, new_kek_id
from msc.db import session

BATCH = 500


def add_new_kek() -> str:
    """Generate a new KEK, make it active, and store it with the key provider (file provider only)."""
    ring = keyring()
    if ring.source is None or not ring.source.can_write():
        raise KeyError_("keys come from the environment: add the new KEK to MSC_KEKS, set MSC_ACTIVE_KEK, "
                        "then run `keys rotate` without --new")
    kid = new_kek_id()
    ring.keks[kid] = secrets.token_bytes(KEY_BYTES)
    ring.active_kek = kid
    ring.source.save(ring)
    return kid


def rotate() -> int:
    """Re-wrap every live data key not yet under the active KEK, in committed batches (resumable)."""
    active = keyring().active_kek
    done = 0
    while True:
        batch = list(session.scalars(sa.select(DataKey).where(
            DataKey.kek_id != active, DataKey.wrapped.is_not(None)).order_by(DataKey.id).limit(BATCH)))
        if not batch:
            return done
        for key in batch:
            key.rewrap(active)
        session.commit()
        done += len(batch)


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


def retire(kek_id: str) -> None:
    """Remove an old KEK from the key file once no data key uses it."""
    ring = keyring()
    if kek_id == ring.active_kek:
        raise KeyError_("the active KEK cannot be retired")
    in_use = session.scalar(sa.select(sa.func.count()).select_from(DataKey).where(
        DataKey.kek_id == kek_id, DataKey.wrapped.is_not(None)))
    if in_use:
        raise KeyError_(f"{in_use} data keys are still wrapped by {kek_id}: run `keys rotate` first")
    if ring.source is None or not ring.source.can_write():
        raise KeyError_("keys come from the environment: remove the KEK from MSC_KEKS yourself")
    ring.keks.pop(kek_id, None)
    ring.source.save(ring)
