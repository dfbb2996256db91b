"""Users, their server-side sessions, and the audit log."""

from __future__ import annotations

import datetime as dt
from typing import cast

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.centres.models import Centre
from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow

#: the partner organisations' table, named here without importing the partners package (a higher layer)
_organisations = sa.table("partner_organisations", sa.column("id"), sa.column("country"))

user_centres = sa.Table(
    "user_centres",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("centre_id", sa.ForeignKey("centres.id", ondelete="CASCADE"), primary_key=True),
)


class User(EncryptedRow, Base):
    """A member of staff (or of a partner organisation) who logs in."""

    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    username: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    #: staff name shown in histories and audit views (staff data, not beneficiary data)
    display_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    #: one of msc.security.policy.ROLES
    role: so.Mapped[str] = so.mapped_column(sa.String(32))
    #: centre, country or region: how far the user's access reaches
    scope: so.Mapped[str] = so.mapped_column(sa.String(16), default="centre")
    #: ISO alpha-3, for country scope
    country: so.Mapped[str | None] = so.mapped_column(sa.String(3))
    locale: so.Mapped[str] = so.mapped_column(sa.String(8), default="es")
    active: so.Mapped[bool] = so.mapped_column(default=True)
    data_key_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("data_keys.id"))
    #: for partner users: the organisation whose referrals they answer
    organisation_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("partner_organisations.id"))
    #: a protection officer designated to receive sensitive complaints (sexual exploitation and abuse,
    #: fraud, staff misconduct, data breaches)
    psea_focal_point: so.Mapped[bool] = so.mapped_column(default=False)
    #: a service account: another system's, reached only through the API with a token (msc/api), never
    #: through the login page
    service_account: so.Mapped[bool] = so.mapped_column(default=False)
    mfa_secret_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    mfa_pending_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: the last TOTP time step accepted: a code works once
    mfa_last_step: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    password_changed_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    #: read only for the second factor's secret: loaded when first used, not joined to every request's user.
    #: Joined, PostgreSQL planned the users of every request as a merge join over `data_keys`' whole primary
    #: key when the users table's statistics predated the user's data key (every new account): 20 ms a
    #: request at 100,000 people, growing with the people registered.
    data_key: so.Mapped[DataKey] = so.relationship(lazy="select")
    centres: so.Mapped[list[Centre]] = so.relationship(secondary=user_centres, lazy="selectin", order_by=Centre.code)
    #: a partner user's organisation's country: the clock the portal shows (loaded when first read)
    organisation_country: so.Mapped[str | None] = so.column_property(
        sa.select(_organisations.c.country).where(_organisations.c.id == organisation_id).scalar_subquery(),
        deferred=True,
    )

    mfa_secret = EncryptedField("mfa_secret_ct")
    mfa_pending_secret = EncryptedField("mfa_pending_ct")

    # Flask-Login protocol; the session token travels in the id so sessions can be revoked.
    _session_token = cast("str | None", None)  # not a column: no annotation for the ORM to map
    #: a service account's request through the API: the uid of the token it came with (msc/api)
    _api_token = cast("str | None", None)
    is_anonymous = False

    def crypto_key(self) -> DataKey:
        if self.data_key is None:
            self.data_key = DataKey.generate()
        return self.data_key

    @property
    def is_authenticated(self) -> bool:
        return self._session_token is not None or self._api_token is not None

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self._session_token}"

    @property
    def mfa_enabled(self) -> bool:
        """Whether a second factor is set up."""
        return self.mfa_secret_ct is not None

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class UserSession(Base):
    """A server-side login session: revocable, with idle and absolute limits."""

    __tablename__ = "user_sessions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: SHA-256 of the token held in the signed cookie
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    last_seen_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    revoked_at: so.Mapped[dt.datetime | None]
    #: why it ended: logout, password, deactivated, mfa_reset, idle, expired
    revoked_reason: so.Mapped[str | None] = so.mapped_column(sa.String(20))

    user: so.Mapped[User] = so.relationship()


class LoginChallenge(Base):
    """A login half done: the password was right, the second factor is still to come. The cookie holds
    only a random token; this row says whose login it is and what comes next, so a cookie signed with a
    leaked secret key reaches nothing. Works once and for a few minutes."""

    __tablename__ = "login_challenges"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: SHA-256 of the token held in the signed cookie
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: verify (a code from the enrolled app) or enrol (no second factor yet)
    stage: so.Mapped[str] = so.mapped_column(sa.String(8))
    #: where to go after the login (a path of this site, already checked)
    next_url: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[dt.datetime] = so.mapped_column(index=True)
    consumed_at: so.Mapped[dt.datetime | None]

    user: so.Mapped[User] = so.relationship()


class LoginThrottle(Base):
    """Failed logins (wrong password, wrong code, unknown username) counted under a keyed hash of an
    account name or of a client address: the wait they impose, and an account's hard lock."""

    __tablename__ = "login_throttles"

    #: HMAC of "account" + the lower-cased username (whether or not the account exists), or of
    #: "source" + the client address, under a key derived from the audit key
    key_hash: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    #: account or source
    kind: so.Mapped[str] = so.mapped_column(sa.String(8))
    #: failures in a row (an account's since its last login; forgotten after a quiet spell)
    failures: so.Mapped[int] = so.mapped_column(default=0)
    last_failure_at: so.Mapped[dt.datetime] = so.mapped_column(index=True)
    #: no attempt is checked before this
    blocked_until: so.Mapped[dt.datetime | None]
    #: an account's hard lock after too many failures in a row; an administrator lifts it
    locked_at: so.Mapped[dt.datetime | None]


class AuditEvent(Base):
    """One append-only, HMAC-chained audit record. Never holds personal data, only ids and field names."""

    __tablename__ = "audit_events"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: position in the chain; unique so two writers cannot both extend the same link
    seq: so.Mapped[int] = so.mapped_column(sa.BigInteger, unique=True)
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, index=True)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    #: what happened, e.g. login, login.failed, beneficiary.view, access.denied
    action: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    object_type: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    object_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    #: field names or an endpoint name, never values
    detail: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    prev_mac: so.Mapped[str] = so.mapped_column(sa.String(64))
    mac: so.Mapped[str] = so.mapped_column(sa.String(64))
