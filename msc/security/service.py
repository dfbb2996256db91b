"""Account rules: authentication with lockout, server-side sessions, TOTP, password changes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from msc.crypto import DataKey
from msc.db import rows_changed, session, utcnow
from msc.errors import DomainError
from msc.security import audit, passwords
from msc.security.models import User, UserSession
from msc.security.policy import MFA_REQUIRED

_DUMMY_HASH = None
LAST_SEEN_GRANULARITY = dt.timedelta(seconds=60)


class AccountError(DomainError):
    """An account rule said no."""


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = passwords.hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def find_user(username: str) -> User | None:
    """The user with this username (case-insensitive), or None."""
    return session.scalar(sa.select(User).where(sa.func.lower(User.username) == username.strip().lower()))


def authenticate(username: str, password: str) -> User:
    """Check a username and password, counting failures and locking the account after too many."""
    bad = AccountError(_l("Wrong username or password."))
    user = find_user(username)
    if user is None:
        passwords.verify_password(_dummy_hash(), password)  # same time as a real check
        audit.record("login.failed", detail="unknown user")
        raise bad
    now = utcnow()
    if user.locked_until and user.locked_until > now:
        audit.record("login.locked", object_type="user", object_id=user.id, user_id=user.id)
        raise AccountError(
            _l("This account is locked after too many failed attempts. Try again later or ask an administrator.")
        )
    if not passwords.verify_password(user.password_hash, password) or not user.active:
        user.failed_logins += 1
        detail = "inactive" if user.active is False else None
        if user.failed_logins >= current_app.config["LOCKOUT_THRESHOLD"]:
            user.locked_until = now + dt.timedelta(minutes=current_app.config["LOCKOUT_MINUTES"])
            user.failed_logins = 0
            audit.record("login.lockout", object_type="user", object_id=user.id, user_id=user.id)
        audit.record("login.failed", object_type="user", object_id=user.id, user_id=user.id, detail=detail)
        raise bad
    user.failed_logins = 0
    user.locked_until = None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def mfa_required(user: User) -> bool:
    """Whether the user's role must use a second factor."""
    return user.role in MFA_REQUIRED


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> str:
    """Open a server-side session and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(token_hash=_token_hash(token), user_id=user.id))
    user._session_token = token
    audit.record("login", object_type="user", object_id=user.id, user_id=user.id)
    return token


def load_session(user_id: int, token: str) -> User | None:
    """The user behind a live session token; ends sessions past the idle or absolute limit."""
    row = session.scalar(sa.select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        return None
    now = utcnow()
    cfg = current_app.config
    if now - row.last_seen_at > dt.timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        _end(row, "idle", now)
        return None
    if now - row.created_at > dt.timedelta(minutes=cfg["SESSION_ABSOLUTE_MINUTES"]):
        _end(row, "expired", now)
        return None
    user = row.user
    if not user.active:
        _end(row, "deactivated", now)
        return None
    if now - row.last_seen_at > LAST_SEEN_GRANULARITY:
        row.last_seen_at = now
    user._session_token = token
    return user


def _end(row: UserSession, reason: str, now: dt.datetime) -> None:
    row.revoked_at = now
    row.revoked_reason = reason
    session.flush()


def end_session(user: User) -> None:
    """Log out: the current session stops working at once."""
    if user._session_token:
        row = session.scalar(sa.select(UserSession).where(UserSession.token_hash == _token_hash(user._session_token)))
        if row is not None and row.revoked_at is None:
            _end(row, "logout", utcnow())
    audit.record("logout", object_type="user", object_id=user.id, user_id=user.id)
    user._session_token = None


def revoke_all_sessions(user: User, reason: str) -> int:
    """End every open session of the user (deactivation, password change, MFA reset)."""
    return rows_changed(
        sa.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


# ---- TOTP --------------------------------------------------------------------------------

ISSUER = "MSC Case"


def begin_mfa_enrolment(user: User) -> tuple[str, str]:
    """The pending TOTP secret (made once, encrypted on the user row) and its QR code as inline SVG."""
    secret = user.mfa_pending_secret
    if not secret:
        secret = pyotp.random_base32()
        user.mfa_pending_secret = secret
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff")
    return secret, svg


def _accept_code(user: User, secret: str, code: str) -> bool:
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    now = utcnow()
    for offset in (0, -1, 1):
        at = now + dt.timedelta(seconds=30 * offset)
        step = totp.timecode(at)
        if secrets.compare_digest(totp.at(at), code):
            if user.mfa_last_step is not None and step <= user.mfa_last_step:
                return False  # a code works once
            user.mfa_last_step = step
            return True
    return False


def confirm_mfa_enrolment(user: User, code: str) -> None:
    """Turn the pending secret into the user's second factor once a code from it is shown."""
    secret = user.mfa_pending_secret
    if not secret or not _accept_code(user, secret, code):
        raise AccountError(_l("That code is not right. Check the time on your phone and try a new code."), field="code")
    user.mfa_secret = secret
    user.mfa_pending_secret = None
    audit.record("mfa.enrolled", object_type="user", object_id=user.id, user_id=user.id)


def verify_mfa(user: User, code: str) -> None:
    """Check a login code; each code is accepted once."""
    secret = user.mfa_secret
    if not secret or not _accept_code(user, secret, code):
        audit.record("login.mfa_failed", object_type="user", object_id=user.id, user_id=user.id)
        raise AccountError(_l("That code is not right, or it was already used. Wait for the next code."), field="code")


def reset_mfa(user: User) -> None:
    """Remove the user's second factor (they enrol again at next login) and end their sessions."""
    user.mfa_secret = None
    user.mfa_pending_secret = None
    user.mfa_last_step = None
    revoke_all_sessions(user, "mfa_reset")
    audit.record("user.mfa_reset", object_type="user", object_id=user.id)


# ---- passwords and profile ---------------------------------------------------------------


def change_password(user: User, current: str, new: str) -> None:
    """Change one's own password; every other session ends."""
    if not passwords.verify_password(user.password_hash, current):
        raise AccountError(_l("Your current password is not right."), field="current_password")
    set_password(user, new)
    token = user._session_token
    revoke_all_sessions(user, "password")
    if token:
        start_session(user)  # this device stays logged in with a fresh session


def set_password(user: User, new: str) -> None:
    """Set a password after checking the password rules."""
    problem = passwords.password_problem(new, username=user.username)
    if problem:
        raise AccountError(problem, field="new_password")
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = utcnow()
    audit.record("user.password_changed", object_type="user", object_id=user.id)


def new_user(**fields: object) -> User:
    """A user with its own data key (for its encrypted MFA secret)."""
    user = User(data_key=DataKey.generate(), **fields)
    session.add(user)
    return user
