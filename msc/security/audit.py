"""The append-only audit log, chained with HMAC under a key kept outside the database.

Each record's MAC covers its own fields and the previous record's MAC, so editing, deleting or
reordering a record breaks the chain from that point on; `flask audit verify` finds the break.
Deleting the newest records leaves a shorter chain that still holds together: the head is also
written to a witness outside the database (msc/security/witness.py), and the check compares the chain
with what the witness saw. Records never contain personal data: ids, actions and field names only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import has_request_context
from flask_login import current_user

from msc.crypto import keyring
from msc.db import session, utcnow
from msc.security import witness
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
    witness.due()
    return ev


@dataclass
class VerifyResult:
    """The outcome of walking the chain and comparing it with its witness."""

    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str | None = None
    #: every problem found (the first is broken_seq and reason): (record, what is wrong)
    problems: list[tuple[int | None, str]] = field(default_factory=list)
    #: the newest record a witness saw, and when
    witnessed: witness.Seen | None = None
    #: said alongside the result (no witness to compare with)
    note: str | None = None


def verify(extra_witnesses: Iterable[Path] = ()) -> VerifyResult:
    """Walk the chain in order, report the first broken link, and compare the chain with its witness
    file (and any copies of witness lines taken from a log collector)."""
    path = witness.witness_file()
    seen = witness.read([path] if path else [])
    extra = list(extra_witnesses)
    if extra:
        more = witness.read(extra, strict=False)
        for seq, s in more.seen.items():
            if seq in seen.seen and seen.seen[seq].mac != s.mac:
                seen.problems.append(f"the witnesses saw two different records {seq}")
            seen.seen.setdefault(seq, s)
        seen.problems += more.problems
    stmt = sa.select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)
    with session.execute(stmt) as rows:  # closes the server-side cursor even when we stop early
        result = _walk(rows.scalars(), keyring().audit_key, seen.seen)
    last = session.scalar(sa.select(sa.func.max(AuditEvent.seq))) or 0
    note = None
    if not path and not extra:
        note = (
            "no witness file to compare with (AUDIT_WITNESS_FILE): deleting the newest records is found only "
            "against witness lines given with --witness (e.g. taken from the syslog collector)"
        )
    elif not seen.seen and last:
        note = f"the witness {path} holds no head yet: deleting the newest records is not found before it does"
    return _compare(result, last, seen, note)


def _compare(result: VerifyResult, last: int, seen: witness.Witness, note: str | None) -> VerifyResult:
    problems = list(result.problems)
    top = seen.highest
    if top is not None and top.seq > last:
        gap = f"records {last + 1}–{top.seq} are missing" if top.seq > last + 1 else f"record {top.seq} is missing"
        if last == 0:
            gap = f"all records are missing ({gap})"
        problems.append((last + 1, f"{gap}: the witness saw record {top.seq} on {top.at}"))
    problems += [(None, p) for p in seen.problems]
    first_seq, first = problems[0] if problems else (None, None)
    return VerifyResult(not problems, result.checked, first_seq, first, problems, top, note)


def _walk(events: Iterable[AuditEvent], key: bytes, seen: Mapping[int, witness.Seen] | None = None) -> VerifyResult:
    seen = seen or {}
    prev, expected_seq, checked = GENESIS, 1, 0
    for ev in events:
        if ev.seq != expected_seq:
            return _broken(
                checked,
                ev.seq,
                f"expected record {expected_seq}, found {ev.seq}: a record was deleted or reordered",
            )
        if ev.prev_mac != prev:
            return _broken(checked, ev.seq, "does not follow the record before it")
        if not hmac.compare_digest(ev.mac, _mac(key, ev)):
            return _broken(checked, ev.seq, "its content was changed")
        saw = seen.get(ev.seq)
        if saw is not None and not hmac.compare_digest(saw.mac, ev.mac):
            return _broken(
                checked,
                ev.seq,
                f"it is not the record the witness saw on {saw.at}: records were deleted and the chain "
                "written again from there",
            )
        prev = ev.mac
        expected_seq += 1
        checked += 1
    return VerifyResult(True, checked)


def _broken(checked: int, seq: int, reason: str) -> VerifyResult:
    return VerifyResult(False, checked, seq, reason, [(seq, reason)])
