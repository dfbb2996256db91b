"""API tokens: what a service account shows on each call to /api/v1."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.crypto import new_uid
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
