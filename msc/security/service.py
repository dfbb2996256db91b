"""Account rules: authentication with back-off, login challenges, server-side sessions, TOTP, password changes."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets

import pyotp
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from msc.crypto import DataKey
from msc.db import rows_changed, session, utcnow
from msc.errors import DomainError
from msc.qr import qr_svg
from msc.security import audit, passwords, throttle
from msc.security.models import LoginChallenge, User, UserSession
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


class Throttled(AccountError):
    """Too many failed attempts: this one was refused without being checked."""

    def __init__(self, message: object, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _wait_message(seconds: int) -> str:
    """The wait in words: seconds up to a minute and a half, whole minutes (rounded up) after that."""
    if seconds <= 90:
        text = ngettext(
            "Too many attempts: try again in %(num)d second.",
            "Too many attempts: try again in %(num)d seconds.",
            seconds,
        )
    else:
        text = ngettext(
            "Too many attempts: try again in %(num)d minute.",
            "Too many attempts: try again in %(num)d minutes.",
            math.ceil(seconds / 60),
        )
    return str(text)


def _refuse_if_throttled(keys: throttle.Keys, user_id: int | None, *, field: str | None = None) -> None:
    """Refuse an attempt inside its wait (or under a lock) with the same words whoever it names."""
    verdict = throttle.check(keys)
    if not verdict.refused:
        return
    audit.record(
        "login.throttled",
        object_type="user" if user_id else None,
        object_id=user_id,
        user_id=user_id,
        detail="locked" if verdict.locked else f"wait {verdict.wait_seconds}s",
    )
    if verdict.locked:
        err = Throttled(_l("Too many failed attempts: this account is locked. Ask an administrator to unlock it."), 0)
    else:
        err = Throttled(_wait_message(verdict.wait_seconds), verdict.wait_seconds)
    err.field = field
    raise err


def _failed(keys: throttle.Keys, action: str, user: User | None, detail: str | None = None) -> None:
    """Count a failed attempt (an unknown name counts like a known one) and audit it."""
    user_id = user.id if user is not None else None
    if throttle.fail(keys):
        audit.record(
            "login.lockout",
            object_type="user" if user_id else None,
            object_id=user_id,
            user_id=user_id,
            detail=None if user_id else "unknown user",
        )
    audit.record(action, object_type="user" if user_id else None, object_id=user_id, user_id=user_id, detail=detail)


def authenticate(username: str, password: str, source: str, known: bool = False) -> User:
    """Check a username and password from a client address. Failures slow down later attempts under
    the name and the address (msc.security.throttle); an unknown name is treated exactly like a known
    one: same checks, same time (a password hash is verified either way), same words. `known`: the
    browser completed a login to this name before (msc.security.devices): the address does not wait."""
    keys = throttle.keys_for(username, source, known)
    user = find_user(username)
    _refuse_if_throttled(keys, user.id if user is not None else None, field="password")
    bad = AccountError(_l("Wrong username or password."), field="password")
    if user is None:
        passwords.verify_password(_dummy_hash(), password)  # same time as a real check
        _failed(keys, "login.failed", None, "unknown user")
        raise bad
    if user.service_account:  # no password: refused after the same work as an unknown name
        passwords.verify_password(_dummy_hash(), password)
        _failed(keys, "login.failed", user, "service account")
        raise bad
    if not passwords.verify_password(user.password_hash, password) or not user.active:
        _failed(keys, "login.failed", user, "inactive" if user.active is False else None)
        raise bad
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    if not needs_second_step(user):
        throttle.succeed(keys)
    return user


def needs_second_step(user: User) -> bool:
    """Whether the login goes on to a code: the user has a second factor, or their role needs one."""
    return user.mfa_enabled or mfa_required(user)


def unlock(user: User) -> None:
    """Lift the lock (and any wait) that failed logins put on the user's name."""
    throttle.unlock(user.username)


def locked_usernames(users: list[User]) -> set[str]:
    """The usernames among these users that are locked after too many failures in a row."""
    return throttle.locked_names([u.username for u in users])


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
    # the user and their centres in the same statement (every request asks): two round trips fewer
    row = (
        session.execute(
            sa.select(UserSession)
            .where(UserSession.token_hash == _token_hash(token))
            .options(so.joinedload(UserSession.user, innerjoin=True).joinedload(User.centres))
        )
        .unique()
        .scalar_one_or_none()
    )
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


# ---- the code step of a login ------------------------------------------------------------


def start_challenge(user: User, next_url: str | None) -> str:
    """Remember on the server that the user got the password right and what comes next (a code from
    their app, or enrolling one); the returned token is all the cookie carries."""
    now = utcnow()
    session.execute(sa.delete(LoginChallenge).where(LoginChallenge.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(
        LoginChallenge(
            token_hash=_token_hash(token),
            user_id=user.id,
            stage="verify" if user.mfa_enabled else "enrol",
            next_url=next_url,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=current_app.config["LOGIN_CHALLENGE_MINUTES"]),
        )
    )
    session.flush()
    return token


def pending_login(token: object, stage: str) -> LoginChallenge | None:
    """The live, unused login challenge behind a cookie's token at this stage, or None."""
    if not isinstance(token, str) or not token:
        return None
    row = session.scalar(
        sa.select(LoginChallenge).where(
            LoginChallenge.token_hash == _token_hash(token),
            LoginChallenge.stage == stage,
            LoginChallenge.consumed_at.is_(None),
            LoginChallenge.expires_at > utcnow(),
        )
    )
    if row is None or not row.user.active:
        return None
    if stage == "enrol" and row.user.mfa_enabled:
        return None  # enrolled meanwhile: the enrolment page is closed to this login
    return row


def end_challenge(token: object) -> None:
    """Make a cookie's login challenge unusable (logout, a new login, a finished one)."""
    if isinstance(token, str) and token:
        session.execute(
            sa.update(LoginChallenge)
            .where(LoginChallenge.token_hash == _token_hash(token), LoginChallenge.consumed_at.is_(None))
            .values(consumed_at=utcnow())
        )


def complete_challenge(challenge: LoginChallenge, code: str, source: str, known: bool = False) -> User:
    """Check the code of a pending login from a client address (a code from the user's app, or the first
    one from the app being enrolled); the challenge works once. Wrong codes count with wrong passwords.
    `known` as for `authenticate`."""
    user = challenge.user
    keys = throttle.keys_for(user.username, source, known)
    _refuse_if_throttled(keys, user.id, field="code")
    if challenge.stage == "enrol":
        confirm_mfa_enrolment(user, code, keys)
    else:
        verify_mfa(user, code, keys)
    claimed = rows_changed(
        sa.update(LoginChallenge)
        .where(LoginChallenge.id == challenge.id, LoginChallenge.consumed_at.is_(None))
        .values(consumed_at=utcnow())
    )
    if not claimed:
        raise AccountError(_l("Please log in again."), field="code")
    throttle.succeed(keys)
    return user


# ---- TOTP --------------------------------------------------------------------------------

ISSUER = "MSC Case"


def _refuse_second_enrolment(user: User) -> None:
    if user.mfa_enabled:
        audit.record("mfa.enrol_refused", object_type="user", object_id=user.id, user_id=user.id)
        raise AccountError(
            _l("This account already has a second factor. To set up a new one, ask an administrator to reset it."),
            field="code",
        )


def begin_mfa_enrolment(user: User) -> tuple[str, str]:
    """The pending TOTP secret (made once, encrypted on the user row) and its QR code as inline SVG.
    Only for a user with no second factor (never enrolled, or reset by an administrator)."""
    _refuse_second_enrolment(user)
    secret = user.mfa_pending_secret
    if not secret:
        secret = pyotp.random_base32()
        user.mfa_pending_secret = secret
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return secret, qr_svg(uri)


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


def confirm_mfa_enrolment(user: User, code: str, keys: throttle.Keys) -> None:
    """Turn the pending secret into the user's second factor once a code from it is shown. Never
    replaces a second factor the user already has."""
    _refuse_second_enrolment(user)
    secret = user.mfa_pending_secret
    if not secret or not _accept_code(user, secret, code):
        _failed(keys, "login.mfa_failed", user, "enrol")
        raise AccountError(_l("That code is not right. Check the time on your phone and try a new code."), field="code")
    user.mfa_secret = secret
    user.mfa_pending_secret = None
    audit.record("mfa.enrolled", object_type="user", object_id=user.id, user_id=user.id)


def verify_mfa(user: User, code: str, keys: throttle.Keys) -> None:
    """Check a login code; each code is accepted once. A wrong code counts as a failed login."""
    secret = user.mfa_secret
    if not secret or not _accept_code(user, secret, code):
        _failed(keys, "login.mfa_failed", user)
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
