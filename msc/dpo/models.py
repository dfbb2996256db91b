"""The DPO's records: audit-chain checks, retention policies, erasures, personal-data exports."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
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


class PersonalExport(EncryptedRow, Base):
    """A download of personal data: who, why (a coded purpose, and words of its own kept encrypted), how
    many rows; the archive is encrypted with a passphrase that is shown once and never stored, and is
    deleted once downloaded or once it expires."""

    __tablename__ = "personal_exports"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    #: subject_access, authority_order, partner_transfer, internal_audit, other (msc.dpo.vocab)
    purpose_code: so.Mapped[str] = so.mapped_column(sa.String(20))
    #: the purpose in the exporter's words (exports made before revision 0019 have none: theirs is in
    #: their audit record)
    purpose_note_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    purpose_note = EncryptedField("purpose_note_ct")
    #: the export's own key (exports made before revision 0019 have none)
    data_key_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("data_keys.id"))
    rows: so.Mapped[int]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: when the archive is deleted if nobody downloaded it (EXPORT_TTL_HOURS after it was made)
    expires_at: so.Mapped[dt.datetime] = so.mapped_column(index=True)
    archive: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    downloaded_at: so.Mapped[dt.datetime | None]
    #: when the archive was deleted unread, having expired
    expired_at: so.Mapped[dt.datetime | None]

    data_key: so.Mapped[DataKey | None] = so.relationship()

    def crypto_key(self) -> DataKey:
        if self.data_key is None:
            self.data_key = DataKey.generate()
        return self.data_key
