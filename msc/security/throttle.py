"""Failed logins slow the next attempt down, per account name and per client address.

Every failure (a wrong password, a wrong code, an unknown username) counts twice: under a keyed hash
of the lower-cased username, whether or not such an account exists, and under a keyed hash of the
client address. After `LOGIN_BACKOFF_FREE` failures in a row each one makes the next attempt wait
twice as long as the one before (1 s, 2 s, 4 s…), up to `LOGIN_BACKOFF_ACCOUNT_MAX_SECONDS` for an
account name (short: whoever fails against a name from elsewhere cannot keep its owner out for long)
and `LOGIN_BACKOFF_SOURCE_MAX_SECONDS` for an address (long: it is the guesser who waits). Attempts
inside the wait are refused unchecked, with the same words for every name. At
`LOGIN_HARD_LOCK_FAILURES` failures in a row (NIST SP 800-63B's limit is 100) an account name is
locked until an administrator unlocks it. Counts are forgotten after a quiet spell, except a lock;
an account's count starts again at its next login.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from msc.crypto import throttle_hash
from msc.db import insert_for, session, utcnow
from msc.extensions import network_of
from msc.security import audit
from msc.security.models import LoginThrottle

ACCOUNT = "account"
SOURCE = "source"


@dataclass(frozen=True)
class Keys:
    """The keyed hashes a login attempt is counted under."""

    account: str
    source: str
    #: the browser completed a login to this account name before (msc.security.devices): the address's
    #: wait does not hold it up, and its failures count against the account only
    known: bool = False


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt may be checked now: a hard lock, or the seconds left to wait (0: go ahead)."""

    locked: bool = False
    wait_seconds: int = 0

    @property
    def refused(self) -> bool:
        return self.locked or self.wait_seconds > 0


def account_key(username: str) -> str:
    """The hash an account name is counted under (the name as typed, trimmed and lower-cased)."""
    return throttle_hash(ACCOUNT, username.strip().lower())


def keys_for(username: str, source: str, known: bool = False) -> Keys:
    """The hashes of an attempt with this username from this client address (an IPv6 one by its /64)."""
    return Keys(account_key(username), throttle_hash(SOURCE, network_of(source)), known)


def _forget_after(kind: str) -> dt.timedelta:
    cfg = current_app.config
    if kind == ACCOUNT:
        return dt.timedelta(hours=cfg["LOGIN_BACKOFF_ACCOUNT_FORGET_HOURS"])
    return dt.timedelta(minutes=cfg["LOGIN_BACKOFF_SOURCE_FORGET_MINUTES"])


def wait_after(failures: int, kind: str) -> int:
    """Seconds the next attempt waits after this many failures in a row."""
    cfg = current_app.config
    extra = failures - cfg["LOGIN_BACKOFF_FREE"]
    if extra <= 0:
        return 0
    cap = int(cfg["LOGIN_BACKOFF_ACCOUNT_MAX_SECONDS" if kind == ACCOUNT else "LOGIN_BACKOFF_SOURCE_MAX_SECONDS"])
    return cap if extra > 30 else min(2 ** (extra - 1), cap)


def _stale(row: LoginThrottle, now: dt.datetime) -> bool:
    return row.locked_at is None and row.last_failure_at < now - _forget_after(row.kind)


def check(keys: Keys) -> Verdict:
    """Whether an attempt under these keys may be checked now."""
    now = utcnow()
    rows = session.scalars(sa.select(LoginThrottle).where(LoginThrottle.key_hash.in_([keys.account, keys.source])))
    wait = 0.0
    for row in rows:
        if _stale(row, now):
            continue
        if row.kind == ACCOUNT and row.locked_at is not None:
            return Verdict(locked=True)
        if row.kind == SOURCE and keys.known:
            continue
        if row.blocked_until is not None and row.blocked_until > now:
            wait = max(wait, (row.blocked_until - now).total_seconds())
    return Verdict(wait_seconds=math.ceil(wait))


def fail(keys: Keys) -> bool:
    """Count a failure under both keys (a known browser's under the account's only); True when it is the one
    that locks the account name."""
    now = utcnow()
    locked = False
    for key, kind in ((keys.account, ACCOUNT), (keys.source, SOURCE)):
        if kind == SOURCE and keys.known:
            continue
        failures = _count(key, kind, now)
        values: dict[str, object] = {"blocked_until": now + dt.timedelta(seconds=wait_after(failures, kind))}
        if kind == ACCOUNT and failures >= current_app.config["LOGIN_HARD_LOCK_FAILURES"]:
            locked = session.scalar(sa.select(LoginThrottle.locked_at).where(LoginThrottle.key_hash == key)) is None
            values["locked_at"] = sa.func.coalesce(LoginThrottle.locked_at, now)
        session.execute(sa.update(LoginThrottle).where(LoginThrottle.key_hash == key).values(**values))
    _purge(now)
    return locked


def _count(key: str, kind: str, now: dt.datetime) -> int:
    """Add one failure to the row of a key (made if missing, started again if forgotten): the new count."""
    session.execute(
        insert_for(session.get_bind())(LoginThrottle)
        .values(key_hash=key, kind=kind, failures=0, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=["key_hash"])
    )
    forgotten = sa.and_(LoginThrottle.locked_at.is_(None), LoginThrottle.last_failure_at < now - _forget_after(kind))
    session.execute(
        sa.update(LoginThrottle)
        .where(LoginThrottle.key_hash == key)
        .values(
            failures=sa.case((forgotten, 1), else_=LoginThrottle.failures + 1),
            last_failure_at=now,
        )
    )
    return int(session.scalar(sa.select(LoginThrottle.failures).where(LoginThrottle.key_hash == key)) or 0)


def _purge(now: dt.datetime) -> None:
    """Forget counts nobody added to for a while (never a lock)."""
    session.execute(
        sa.delete(LoginThrottle).where(
            LoginThrottle.locked_at.is_(None),
            sa.or_(
                sa.and_(LoginThrottle.kind == ACCOUNT, LoginThrottle.last_failure_at < now - _forget_after(ACCOUNT)),
                sa.and_(LoginThrottle.kind == SOURCE, LoginThrottle.last_failure_at < now - _forget_after(SOURCE)),
            ),
        )
    )


def succeed(keys: Keys) -> None:
    """A login went through: the account's failures in a row start again (the address's do not, so a
    guesser cannot clear its own wait by logging in to an account of its own)."""
    session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key_hash == keys.account))


def unlock(username: str) -> None:
    """Lift an account name's lock and wait (an administrator's unlock)."""
    session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key_hash == account_key(username)))


def locked_names(usernames: list[str]) -> set[str]:
    """Which of these usernames are locked after too many failures in a row."""
    by_key = {account_key(name): name for name in usernames}
    if not by_key:
        return set()
    rows = session.scalars(
        sa.select(LoginThrottle.key_hash).where(
            LoginThrottle.key_hash.in_(list(by_key)), LoginThrottle.locked_at.is_not(None)
        )
    )
    return {by_key[k] for k in rows}


#: seconds between two audit records of the rate limiter refusing the same endpoint to the same address
RATE_LIMITED_AUDIT_SECONDS = 60


def rate_limited(endpoint: str | None, source: str) -> bool:
    """Audit a request the rate limiter refused (the endpoint only, no personal data): one record per
    endpoint and client address a minute in each server process, so a flood of refusals does not turn
    into a flood of writes. True when a record was written."""
    seen: dict[tuple[str, str], float] = current_app.extensions.setdefault("msc.rate_limited", {})
    key = (endpoint or "unknown", throttle_hash(SOURCE, network_of(source)))
    now = time.monotonic()
    last = seen.get(key)
    if last is not None and now - last < RATE_LIMITED_AUDIT_SECONDS:
        return False
    if len(seen) > 10_000:
        seen.clear()
    seen[key] = now
    audit.record("security.rate_limited", detail=key[0])
    return True
