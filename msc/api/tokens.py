"""Service accounts' tokens: issued by an administrator (the secret shown once, only its SHA-256 kept),
checked on every call to /api/v1, revoked at once, expired on their date."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from msc.api.models import ApiToken
from msc.db import session, utcnow
from msc.errors import DomainError, checked_text
from msc.security import audit
from msc.security.actor import Actor
from msc.security.models import User

#: what every secret starts with: a token pasted into the wrong place is recognisable (and scanners find it)
SECRET_PREFIX = "msc_"
#: how long a token lasts unless the administrator says otherwise, and the longest it may
DEFAULT_DAYS, MAX_DAYS = 90, 365
#: a token's "last used" is written at most this often (every call would write a row otherwise)
LAST_USED_EVERY = dt.timedelta(minutes=1)
#: longer than any secret this module makes: what is longer is refused without a look-up
_MAX_SECRET = 100


class TokenError(DomainError):
    """A token rule said no (issuing or revoking)."""


class Unauthorized(DomainError):
    """A call's token is missing, unknown, expired or revoked, or its account cannot use the API.
    `reason` is for the audit log; the caller gets only the message."""

    def __init__(self, message, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Issued:
    token: ApiToken
    #: the bearer secret: shown to the administrator once, never stored
    secret: str


def digest(secret: str) -> str:
    """What is kept of a secret (a random 256-bit value needs no slow hash: nothing to guess)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(admin: Actor, account: User, *, label: str | None, days: int | None) -> Issued:
    """A new token for a service account, valid `days` days (1 to 365)."""
    if not account.service_account:
        raise TokenError(_l("Tokens are only for service accounts."))
    if not account.active:
        raise TokenError(_l("This service account is deactivated: activate it before issuing a token."))
    text = checked_text(
        label, field="label", error=TokenError, limit=80, missing=_l("Name the token (which system will use it).")
    )
    if days is None or not 1 <= days <= MAX_DAYS:
        raise TokenError(_l("A token lasts from 1 to %(n)d days.", n=MAX_DAYS), field="days")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        account_id=account.id,
        label=text,
        prefix=secret[:10],
        token_hash=digest(secret),
        created_by_id=admin.id,
        expires_at=utcnow() + dt.timedelta(days=days),
    )
    session.add(token)
    session.flush()
    audit.record("api_token.issue", object_type="api_token", object_id=token.uid, detail=f"account:{account.id}")
    return Issued(token, secret)


def revoke(admin: Actor, token: ApiToken) -> None:
    """Stop a token at once (its next call is refused)."""
    if token.revoked_at is not None:
        raise TokenError(_l("This token was already revoked."))
    token.revoked_at, token.revoked_by_id = utcnow(), admin.id
    audit.record("api_token.revoke", object_type="api_token", object_id=token.uid)


def revoke_all(admin: Actor, account: User) -> int:
    """Revoke every token of a service account that still works (when it is deactivated: reactivating it
    later brings none back)."""
    now = utcnow()
    working = [t for t in tokens_of(account) if t.state(now) == "active"]
    for token in working:
        revoke(admin, token)
    return len(working)


def tokens_of(account: User) -> list[ApiToken]:
    """A service account's tokens, newest first."""
    return list(
        session.scalars(sa.select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.id.desc()))
    )


def presented_secret(header: str | None) -> str | None:
    """The secret of an `Authorization: Bearer …` header, however the scheme is spelt; None without one."""
    scheme, _, secret = (header or "").strip().partition(" ")
    return (secret.strip() or None) if scheme.lower() == "bearer" else None


def authenticate(header: str | None) -> tuple[User, ApiToken]:
    """The service account and token behind an `Authorization: Bearer …` header, or Unauthorized."""
    secret = presented_secret(header)
    if not secret:
        raise Unauthorized(_l("Send a token: Authorization: Bearer <token>."), "missing")
    if not secret.startswith(SECRET_PREFIX) or len(secret) > _MAX_SECRET:
        raise Unauthorized(_l("This token is not valid."), "unknown")
    token = (
        session.execute(
            sa.select(ApiToken)
            .where(ApiToken.token_hash == digest(secret))
            .options(so.joinedload(ApiToken.account, innerjoin=True).joinedload(User.centres))
        )
        .unique()
        .scalar_one_or_none()
    )
    if token is None:
        raise Unauthorized(_l("This token is not valid."), "unknown")
    now = utcnow()
    state = token.state(now)
    if state == "revoked":
        raise Unauthorized(_l("This token was revoked."), "revoked")
    if state == "expired":
        raise Unauthorized(_l("This token has expired: ask your administrator for a new one."), "expired")
    account = token.account
    if not account.active or not account.service_account:
        raise Unauthorized(_l("This token's account is deactivated."), "inactive")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        token.last_used_at = now
    return account, token
