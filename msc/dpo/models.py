"""The DPO's records: audit-chain checks, retention policies, erasures, personal-data exports."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.crypto import new_uid
from msc.db import Base, utcnow


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
