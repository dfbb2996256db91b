"""The append-only audit log, chained with HMAC under a key kept outside the database.

Each record's MAC covers its own fields and the previous record's MAC, so editing, deleting or
reordering a record breaks the chain from that point on; `flask audit verify` finds the break.
Records never contain personal data: ids, actions and field names only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import has_request_context
from flask_login import current_user

from msc.crypto import keyring
from msc.db import session, utcnow
from msc.security.models import AuditEvent

GENESIS = "0" * 64
_PG_LOCK = 727_401  # advisory lock id: one writer extends the chain at a time


def _canonical(ev: AuditEvent) -> bytes:
    parts = [
        str(ev.seq),
        ev.at.isoformat(timespec="microseconds"),
        str(ev.user_id or ""),
        ev.action,
        ev.object_type or "",
        ev.object_id or "",
        ev.detail or "",
        ev.prev_mac,
    ]
    return "\x1f".join(parts).encode()


def _mac(key: bytes, ev: AuditEvent) -> str:
    return hmac.new(key, _canonical(ev), hashlib.sha256).hexdigest()


def take_chain_lock(conn: sa.Connection) -> None:
    """On PostgreSQL, wait for the chain's writer lock (held to the end of the transaction). Other
    shared counters written in the same transactions (the report counts) take it first too, so that
    two transactions never hold one lock each and wait for the other's."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})


def record(
    action: str,
    *,
    object_type: str | None = None,
    object_id: object = None,
    detail: str | None = None,
    user_id: int | None = None,
) -> AuditEvent:
    """Append one record to the chain (flushed with the current transaction)."""
    if user_id is None and has_request_context() and current_user and current_user.is_authenticated:
        user_id = current_user.id
    take_chain_lock(session.connection())
    last = session.execute(sa.select(AuditEvent.seq, AuditEvent.mac).order_by(AuditEvent.seq.desc()).limit(1)).first()
    ev = AuditEvent(
        seq=(last.seq + 1) if last else 1,
        at=utcnow(),
        user_id=user_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail[:500] if detail else None,
        prev_mac=last.mac if last else GENESIS,
    )
    ev.mac = _mac(keyring().audit_key, ev)
    session.add(ev)
    session.flush()
    return ev


@dataclass
class VerifyResult:
    """The outcome of walking the chain."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str | None = None


def verify() -> VerifyResult:
    """Walk the chain in order and report the first broken link."""
    stmt = sa.select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)
    with session.execute(stmt) as rows:  # closes the server-side cursor even when we stop early
        return _walk(rows.scalars(), keyring().audit_key)


def _walk(events: Iterable[AuditEvent], key: bytes) -> VerifyResult:
    prev, expected_seq, checked = GENESIS, 1, 0
    for ev in events:
        if ev.seq != expected_seq:
            return VerifyResult(
                False,
                checked,
                ev.seq,
                f"expected record {expected_seq}, found {ev.seq}: a record was deleted or reordered",
            )
        if ev.prev_mac != prev:
            return VerifyResult(False, checked, ev.seq, "does not follow the record before it")
        if not hmac.compare_digest(ev.mac, _mac(key, ev)):
            return VerifyResult(False, checked, ev.seq, "its content was changed")
        prev = ev.mac
        expected_seq += 1
        checked += 1
    return VerifyResult(True, checked)
