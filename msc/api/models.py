"""API tokens: what a service account shows on each call to /api/v1."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow
from msc.security.models import User


class ApiToken(Base):
    """A bearer token of a service account. Only its SHA-256 is kept: the secret is shown once, when it is
    issued. It stops working when it expires, when it is revoked, or when its account is deactivated."""

    __tablename__ = "api_tokens"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: what the administrator called it ("KoBo server", "shelter app in Pacaraima"): never personal data
    label: so.Mapped[str] = so.mapped_column(sa.String(80))
    #: the secret's first characters, to tell tokens apart in the list (not enough to guess the rest)
    prefix: so.Mapped[str] = so.mapped_column(sa.String(12))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[dt.datetime]
    revoked_at: so.Mapped[dt.datetime | None]
    revoked_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    #: when a call last came with it (written at most once a minute)
    last_used_at: so.Mapped[dt.datetime | None]

    account: so.Mapped[User] = so.relationship(foreign_keys=[account_id])

    def state(self, now: dt.datetime) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


class WebhookSubscription(EncryptedRow, Base):
    """A partner organisation's address for its referrals' events. Each delivery is signed with the
    subscription's secret (HMAC-SHA256), kept encrypted: the server must read it to sign."""

    __tablename__ = "webhook_subscriptions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partner_organisations.id", ondelete="CASCADE"), index=True
    )
    url: so.Mapped[str] = so.mapped_column(sa.String(500))
    #: the events it receives, comma-separated (referral.sent, referral.cancelled…)
    events: so.Mapped[str] = so.mapped_column(sa.String(300))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    data_key_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("data_keys.id"))
    secret_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    deactivated_at: so.Mapped[dt.datetime | None]

    data_key: so.Mapped[DataKey] = so.relationship(lazy="joined")

    secret = EncryptedField("secret_ct")

    def crypto_key(self) -> DataKey:
        return self.data_key

    @property
    def event_list(self) -> list[str]:
        return [e for e in self.events.split(",") if e]


class WebhookDelivery(Base):
    """One event sent (or to be sent) to one subscription, with its attempts: the admin's delivery log.
    The body names the referral and its status only, never a person: the partner reads the rest through
    the API, where each read is a recorded disclosure."""

    __tablename__ = "webhook_deliveries"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    subscription_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True
    )
    event: so.Mapped[str] = so.mapped_column(sa.String(40))
    #: the JSON sent, exactly (signed as is)
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    #: pending, delivered or failed (no more attempts)
    state: so.Mapped[str] = so.mapped_column(sa.String(12), default="pending")
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[dt.datetime | None] = so.mapped_column(index=True)
    last_attempt_at: so.Mapped[dt.datetime | None]
    #: the HTTP status of the last answer, or None when none came
    last_status: so.Mapped[int | None]
    #: why the last attempt failed, in a word (timeout, refused_address, http_500…): never the answer's body
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    delivered_at: so.Mapped[dt.datetime | None]

    subscription: so.Mapped[WebhookSubscription] = so.relationship()
