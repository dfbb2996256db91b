"""Break-the-glass grants and their review."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.beneficiaries.models import Beneficiary
from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow
from msc.security.models import User


class BreakGlass(EncryptedRow, Base):
    """A user opened a record outside their scope, saying why; the access ends by itself."""

    __tablename__ = "break_glass"
    __table_args__ = (sa.Index("ix_break_glass_user_person", "user_id", "beneficiary_id", "expires_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"))
    #: the record's centre when the glass was broken (for the review)
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"))
    #: medical_emergency, child_at_risk, transfer, other
    reason: so.Mapped[str] = so.mapped_column(sa.String(20))
    explanation_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    started_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[dt.datetime]
    #: set when the user ended it early
    ended_at: so.Mapped[dt.datetime | None]
    #: justified, not_justified (the DPO's review)
    outcome: so.Mapped[str | None] = so.mapped_column(sa.String(16), index=True)
    review_note_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    reviewed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: so.Mapped[dt.datetime | None]

    beneficiary: so.Mapped[Beneficiary] = so.relationship(lazy="joined")
    user: so.Mapped[User] = so.relationship("User", foreign_keys=[user_id], lazy="joined")
    reviewed_by: so.Mapped[User | None] = so.relationship("User", foreign_keys=[reviewed_by_id])

    explanation = EncryptedField("explanation_ct")
    review_note = EncryptedField("review_note_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key

    def open_at(self, now: dt.datetime) -> bool:
        """Whether the access is still running."""
        return self.ended_at is None and now < self.expires_at


class AuditCheck(Base):
    """One walk of the audit chain: when, by whom (or the command line), and what it found."""

    __tablename__ = "audit_checks"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    ok: so.Mapped[bool]
    checked: so.Mapped[int]
    broken_seq: so.Mapped[int | None]
    reason: so.Mapped[str | None] = so.mapped_column(sa.String(200))


class RetentionPolicy(Base):
    """How long a country keeps a person's data after their last case closed."""

    __tablename__ = "retention_policies"

    country: so.Mapped[str] = so.mapped_column(sa.String(3), primary_key=True)
    years: so.Mapped[int]
    updated_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class RetentionRun(Base):
    """One retention run: who started it, when, and how many people it anonymised."""

    __tablename__ = "retention_runs"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    erased: so.Mapped[int] = so.mapped_column(default=0)


class Erasure(Base):
    """A person's data erased for good (crypto-shredding): when, by whom, why. Nothing of the person."""

    __tablename__ = "erasures"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    beneficiary_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), unique=True
    )
    #: subject_request, retention, unlawful, duplicate
    reason: so.Mapped[str] = so.mapped_column(sa.String(20))
    run_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("retention_runs.id"))
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class CorrectionRequest(EncryptedRow, Base):
    """A person says some of their data is wrong: what they asked, and whether it was corrected."""

    __tablename__ = "correction_requests"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    #: comma-separated names of the fields said to be wrong
    fields: so.Mapped[str] = so.mapped_column(sa.String(200))
    details_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: pending, applied, refused
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="pending")
    requested_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    recorded_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_at: so.Mapped[dt.datetime | None]
    refusal_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)

    beneficiary: so.Mapped[Beneficiary] = so.relationship(lazy="joined")

    details = EncryptedField("details_ct")
    refusal = EncryptedField("refusal_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key

    @property
    def field_names(self) -> list[str]:
        return [f for f in self.fields.split(",") if f]


class PersonalExport(Base):
    """A download of personal data: who, why, how many rows; the archive is encrypted with a passphrase
    that is shown once and never stored, and is deleted once downloaded."""

    __tablename__ = "personal_exports"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    purpose: so.Mapped[str] = so.mapped_column(sa.String(300))
    rows: so.Mapped[int]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    archive: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    downloaded_at: so.Mapped[dt.datetime | None]
