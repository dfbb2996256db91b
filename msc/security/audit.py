"""The append-only audit log, chained with HMAC under a key kept outside the database.

Each record's MAC covers its own fields and the previous record's MAC, so editing, deleting or
reordering a record breaks the chain from that point on; `flask audit verify` finds the break.
Deleting the newest records leaves a shorter chain that still holds together: the head is also
written to a witness outside the database (msc/security/witness.py), and the check compares the chain
with what the witness saw. Records never contain personal data: ids, actions and field names only.

A record joins the chain at the end of its transaction. `record` keeps it waiting in the session; when
the transaction commits (or first reads the log back) the waiting records are appended in one short
step: take the chain's writer lock, read the head, link and insert them — and the COMMIT follows at
once. The lock is held from the append to the COMMIT only, never while a page renders or a search
runs, so requests on many workers and servers extend the chain one after the other without queueing
behind each other's work. The records are written in the business change's own transaction: they
exist exactly when it commits (a rolled-back transaction or savepoint takes its records with it). A
record's `at` is when it was recorded, so two records close in time may sit in the chain in the order
their transactions committed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import has_request_context
from flask_login import current_user

from msc import timing
from msc.crypto import keyring
from msc.db import number_new, session, utcnow, write_lock
from msc.security import witness
from msc.security.models import AuditEvent

GENESIS = "0" * 64
_PG_LOCK = 727_401  # advisory lock id: one writer extends the chain at a time
#: session.info keys: the records waiting to join the chain, each with the transaction (or savepoint) it
#: was made in; and "appending now" (the append reads the head itself)
_PENDING = "msc.audit_pending"
_APPENDING = "msc.audit_appending"


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
    """Wait for the chain's writer lock, held to the end of the transaction: on PostgreSQL an advisory
    lock; on SQLite the database's write lock (a read-mostly transaction takes it now). Other shared
    counters written at commit (the report counts) take it first too, so that two transactions never
    hold one lock each and wait for the other's."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    else:
        write_lock(conn)


def record(
    action: str,
    *,
    object_type: str | None = None,
    object_id: object = None,
    detail: str | None = None,
    user_id: int | None = None,
) -> AuditEvent:
    """Add one record to the transaction: it joins the chain when the transaction commits (its `seq` and
    MACs are set then), and is gone if the transaction rolls back."""
    if user_id is None and has_request_context() and current_user and current_user.is_authenticated:
        user_id = current_user.id
    ev = AuditEvent(
        at=utcnow(),
        user_id=user_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail[:500] if detail else None,
    )
    session.connection()  # inside a transaction, so a rollback finds what it takes back
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((transaction, ev))
    witness.due()
    return ev


def append_pending(db_session: so.Session) -> list[AuditEvent]:
    """Append the records waiting in the session to the chain, in one short step under the writer lock
    (which the transaction then keeps until it ends: call it last). Says what it appended."""
    pending = db_session.info.pop(_PENDING, None)
    if not pending:
        return []
    events = [ev for _transaction, ev in pending]
    db_session.info[_APPENDING] = True
    try:
        db_session.flush()  # the business rows first: they need no lock
        conn = db_session.connection()
        take_chain_lock(conn)
        head = sa.select(AuditEvent.seq, AuditEvent.mac).order_by(AuditEvent.seq.desc()).limit(1)
        last = conn.execute(head).first()
        seq, prev = (last.seq, last.mac) if last else (0, GENESIS)
        key = keyring().audit_key
        for ev in events:
            seq += 1
            ev.seq, ev.prev_mac = seq, prev
            ev.mac = prev = _mac(key, ev)
        number_new(db_session, events)
        db_session.add_all(events)
        db_session.flush()
    finally:
        db_session.info.pop(_APPENDING, None)
    return events


def _before_commit(db_session: so.Session) -> None:
    with timing.segment("audit"):
        append_pending(db_session)


#: whether a statement of a given shape reads the log, by its SQLAlchemy cache key (which the compile step
#: reuses): walking every statement of a request that recorded something cost 1-2 % of a worker's time
_READS: dict[object, bool] = {}
_READS_MAX = 4096


def _reads_the_log(state: so.ORMExecuteState) -> bool:
    stmt = state.statement
    if not isinstance(stmt, sa.sql.visitors.ExternallyTraversible):  # pragma: no cover - ORM statements are
        return False
    cache_key = stmt._generate_cache_key() if isinstance(stmt, sa.sql.traversals.HasCacheKey) else None
    if cache_key is not None and (known := _READS.get(cache_key.key)) is not None:
        return known
    name = AuditEvent.__tablename__  # (ORM statements hold annotated copies of the table)
    reads = any(isinstance(el, sa.Table) and el.name == name for el in sa.sql.visitors.iterate(stmt))
    if cache_key is not None:
        if len(_READS) >= _READS_MAX:
            _READS.clear()
        _READS[cache_key.key] = reads
    return reads


def _before_execute(state: so.ORMExecuteState) -> None:
    # Like autoflush: a query of the log in the transaction that recorded something sees it.
    info = state.session.info
    if info.get(_PENDING) and not info.get(_APPENDING) and _reads_the_log(state):
        append_pending(state.session)


def _within(transaction: so.SessionTransaction | None, ancestor: so.SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _after_soft_rollback(db_session: so.Session, previous_transaction: so.SessionTransaction) -> None:
    pending = db_session.info.get(_PENDING)
    if pending:
        db_session.info[_PENDING] = [(t, ev) for t, ev in pending if not _within(t, previous_transaction)]


def _after_transaction_end(db_session: so.Session, transaction: so.SessionTransaction) -> None:
    if transaction.parent is None:  # committed (appended already), rolled back or closed: nothing waits
        db_session.info.pop(_PENDING, None)


def register_listeners() -> None:
    """Append the waiting records when a transaction commits, or first reads the log; drop them with a
    rollback. Session-class events are process-wide: this registers once per process, after the report
    counts' (create_app asks for every app), so the chain is the last thing a commit writes."""
    if sa.event.contains(so.Session, "before_commit", _before_commit):
        return
    sa.event.listen(so.Session, "do_orm_execute", _before_execute)
    sa.event.listen(so.Session, "after_soft_rollback", _after_soft_rollback)
    sa.event.listen(so.Session, "after_transaction_end", _after_transaction_end)
    sa.event.listen(so.Session, "before_commit", _before_commit)


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
