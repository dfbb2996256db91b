"""The audit chain's witness: its head (sequence number and MAC) written outside the database.

The chain's MACs show any record edited, reordered or deleted in the middle, but deleting the newest
records leaves a shorter chain that still verifies. So the head is also written where someone with
write access to the database cannot rewrite it: a file opened in append mode only
(AUDIT_WITNESS_FILE, best on another volume and `chattr +a`) and/or the system log (AUDIT_WITNESS_SYSLOG,
which journald or rsyslog ship to a remote collector). Each line is signed with a key derived from
the audit key, so a line cannot be forged without the keys:

    msc-audit-head v1 at=2026-12-02T09:47:36+00:00 seq=5111 mac=<64 hex> sig=<64 hex>

The head is written after a commit that added audit records once the last witness of this process is
older than AUDIT_WITNESS_SECONDS, at every check of the chain, and by `flask audit anchor` (a timer
runs it each minute). `audit.verify` reads the file back (see `read`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import logging.handlers
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, has_app_context

from msc.crypto import audit_witness_key
from msc.db import READ_ONLY, session, utcnow
from msc.security.models import AuditEvent

MARK = "msc-audit-head v1"
_LINE = re.compile(r"msc-audit-head v1 at=(\S+) seq=(\d+) mac=([0-9a-f]{64}) sig=([0-9a-f]{64})")
#: session.info key: this transaction added audit records ("due": write if the last witness is old;
#: "now": write whatever its age, after a check of the chain)
PENDING = "msc.audit_witness"
log = logging.getLogger(__name__)


class WitnessError(Exception):
    """The head could not be written to a configured witness."""


@dataclass(frozen=True)
class Head:
    """The newest record of the chain: its sequence number and MAC."""

    seq: int
    mac: str


@dataclass(frozen=True)
class Seen:
    """What one witness line says: at that time, the chain ended with this record."""

    at: str
    seq: int
    mac: str


@dataclass
class Witness:
    """Every authentic line read back, by sequence number, and what was wrong with the others."""

    seen: dict[int, Seen] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    lines: int = 0

    @property
    def highest(self) -> Seen | None:
        return self.seen[max(self.seen)] if self.seen else None


def _sign(at: str, seq: int, mac: str) -> str:
    return hmac.new(audit_witness_key(), f"v1|{at}|{seq}|{mac}".encode(), hashlib.sha256).hexdigest()


def line_for(head: Head, at: str | None = None) -> str:
    """The signed witness line of a head."""
    at = at or utcnow().isoformat(timespec="seconds")
    return f"{MARK} at={at} seq={head.seq} mac={head.mac} sig={_sign(at, head.seq, head.mac)}"


def witness_file() -> Path | None:
    """The configured witness file (None when there is none)."""
    path = current_app.config.get("AUDIT_WITNESS_FILE")
    return Path(path) if path else None


def current_head(bind: sa.Engine | sa.Connection | None = None) -> Head | None:
    """The newest committed record of the chain (read on a connection of its own)."""
    stmt = sa.select(AuditEvent.seq, AuditEvent.mac).order_by(AuditEvent.seq.desc()).limit(1)
    if bind is None:
        row = session.execute(stmt).first()
    elif isinstance(bind, sa.Engine):
        with bind.connect() as conn:
            row = conn.execution_options(**{READ_ONLY: True}).execute(stmt).first()
    else:
        row = bind.execute(stmt).first()
    return Head(row.seq, row.mac) if row else None


def _last_line(path: Path) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            tail = f.read().decode(errors="replace").strip()
    except FileNotFoundError:
        return ""
    return tail.rsplit("\n", 1)[-1]


def _append(path: Path, text: str) -> None:
    """One line at the end of the file: opened in append mode only, written in one call, never rewritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (text + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _to_syslog(address: str, text: str) -> None:
    """One message to syslog (a socket opened for it and closed: the head goes at most once a minute)."""
    target: str | tuple[str, int]
    if address.startswith("/"):
        target = address
    else:
        host, _, port = address.rpartition(":") if ":" in address else (address, "", "514")
        target = (host, int(port))
    handler = logging.handlers.SysLogHandler(target, facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV)
    try:
        handler.ident = "msc-audit: "
        handler.handle(logging.makeLogRecord({"msg": text, "levelno": logging.INFO, "levelname": "INFO"}))
    finally:
        handler.close()


def write(head: Head, *, repeat: bool = True) -> list[str]:
    """Write the head to every configured witness; says where. With repeat=False, a file whose last line
    already holds this head is left as it is (the timer's minute with nothing new)."""
    text = line_for(head)
    done = []
    path = witness_file()
    if path is not None:
        last = _LINE.search(_last_line(path))
        if repeat or last is None or (int(last.group(2)), last.group(3)) != (head.seq, head.mac):
            try:
                _append(path, text)
            except OSError as err:
                raise WitnessError(f"cannot append to the witness file {path}: {err.strerror}") from None
            done.append(str(path))
    address = current_app.config.get("AUDIT_WITNESS_SYSLOG")
    if address:
        try:
            _to_syslog(address, text)
        except (OSError, ValueError) as err:
            raise WitnessError(f"cannot reach syslog at {address}: {err}") from None
        done.append(f"syslog {address}")
    current_app.extensions["msc.witness_at"] = time.monotonic()
    return done


def anchor(*, repeat: bool = True, bind: sa.Engine | sa.Connection | None = None) -> tuple[Head | None, list[str]]:
    """Write the chain's current head to its witnesses now (nothing when the log is empty)."""
    head = current_head(bind)
    if head is None:
        return None, []
    return head, write(head, repeat=repeat)


def configured() -> bool:
    """Whether the head has anywhere to go."""
    return bool(current_app.config.get("AUDIT_WITNESS_FILE") or current_app.config.get("AUDIT_WITNESS_SYSLOG"))


def due(db_session: so.Session | None = None, *, now: bool = False) -> None:
    """Mark the transaction: once it commits, write the head (now=True: whatever the last witness's age)."""
    info = (db_session or session).info
    if now:
        info[PENDING] = "now"
    else:
        info.setdefault(PENDING, "due")


def register_listeners() -> None:
    """Write the head after commits that added audit records. Session-class events are process-wide, so
    this registers once per process whichever app asks first (create_app asks for every app); importing
    this module hooks nothing."""
    if sa.event.contains(so.Session, "after_commit", _after_commit):
        return
    sa.event.listen(so.Session, "after_commit", _after_commit)
    sa.event.listen(so.Session, "after_rollback", _after_rollback)


def _after_commit(db_session: so.Session) -> None:
    pending = db_session.info.pop(PENDING, None)
    if pending is None or not has_app_context() or not configured():
        return
    last = current_app.extensions.get("msc.witness_at")
    if pending != "now" and last is not None and time.monotonic() - last < current_app.config["AUDIT_WITNESS_SECONDS"]:
        return
    try:
        bind = db_session.get_bind()
        anchor(bind=bind if isinstance(bind, sa.Engine) else bind.engine)
    except Exception:  # the commit stands; the next commit or the timer writes the head
        log.exception("could not write the audit chain's head to its witness")


def _after_rollback(db_session: so.Session) -> None:
    db_session.info.pop(PENDING, None)


def read(paths: Iterable[Path], *, strict: bool = True) -> Witness:
    """Read witness lines back: the configured file (strict: any other line is a problem) or copies taken
    from a log collector (not strict: lines without the mark are skipped)."""
    found = Witness()
    for path in paths:
        try:
            with path.open(encoding="utf-8", errors="replace") as f:
                for number, raw in enumerate(f, 1):
                    _read_line(found, path, number, raw.strip(), strict)
        except FileNotFoundError:
            if not strict:
                found.problems.append(f"witness {path} does not exist")
    return found


def _read_line(found: Witness, path: Path, number: int, raw: str, strict: bool) -> None:
    if not raw or (not strict and MARK not in raw):
        return
    m = _LINE.search(raw)
    if m is None:
        found.problems.append(f"line {number} of the witness {path} is not a witness line")
        return
    at, seq, mac, sig = m.group(1), int(m.group(2)), m.group(3), m.group(4)
    if not hmac.compare_digest(sig, _sign(at, seq, mac)):
        found.problems.append(
            f"line {number} of the witness {path} does not authenticate: it was not written with this audit key"
        )
        return
    found.lines += 1
    before = found.seen.get(seq)
    if before is None:
        found.seen[seq] = Seen(at, seq, mac)
    elif before.mac != mac:
        found.problems.append(
            f"the witness saw two different records {seq} (on {before.at} and on {at}): "
            "the chain was written again after records were deleted"
        )
