"""The regional protection fund: allocations and caps, versioned criteria, applications with their
recommendation, four-eyes decisions, disbursements, and the audit sample. Amounts are whole minor
units (cents) of the row's currency."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.beneficiaries.models import Beneficiary
from msc.cases.models import Case
from msc.centres.models import Centre
from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow
from msc.security.models import User


class FundAllocation(Base):
    """What the fund gives a country for a period, in its currency."""

    __tablename__ = "fund_allocations"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    country: so.Mapped[str] = so.mapped_column(sa.String(3), index=True)
    #: ISO 4217: COP, PEN, USD, BRL, CLP
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    #: paid out of it (kept by the disbursement service in the same transaction as the disbursements)
    disbursed: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    starts_on: so.Mapped[dt.date]
    ends_on: so.Mapped[dt.date]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (sa.CheckConstraint("disbursed >= 0 AND disbursed <= amount", name="within_amount"),)


class CategoryCap(Base):
    """The most one case may receive in an assistance category, per currency."""

    __tablename__ = "fund_category_caps"

    category: so.Mapped[str] = so.mapped_column(sa.String(24), primary_key=True)
    currency: so.Mapped[str] = so.mapped_column(sa.String(3), primary_key=True)
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)


class CriteriaStatus(StrEnum):
    """A version of the criteria: a draft, then published (and never changed), then retired."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class CriteriaSet(Base):
    """A version of the eligibility criteria: draft, then published (immutable), then retired."""

    __tablename__ = "fund_criteria_sets"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    version: so.Mapped[int] = so.mapped_column(unique=True)
    effective_on: so.Mapped[dt.date]
    #: draft, published, retired
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=CriteriaStatus.DRAFT)
    #: the criteria tree (msc.fund.criteria), canonical JSON
    definition: so.Mapped[str] = so.mapped_column(sa.Text)
    digest: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    published_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    published_at: so.Mapped[dt.datetime | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class Application(EncryptedRow, Base):
    """A caseworker's application from a case, with the recommendation computed when it was made."""

    __tablename__ = "fund_applications"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    country: so.Mapped[str] = so.mapped_column(sa.String(3), index=True)
    #: trafficking, uasc, vulnerable
    case_type: so.Mapped[str] = so.mapped_column(sa.String(12))
    #: unaccompanied or separated, for an eligible child
    uasc_kind: so.Mapped[str | None] = so.mapped_column(sa.String(14))
    criteria_set_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_criteria_sets.id"))
    criteria_digest: so.Mapped[str] = so.mapped_column(sa.String(64))
    #: eligible, not_eligible, needs_information
    recommendation: so.Mapped[str] = so.mapped_column(sa.String(18))
    #: each criterion's label and result, no answers: [[label, true|false|null], ...]
    explanation: so.Mapped[str] = so.mapped_column(sa.Text, default="[]")
    #: the answers as they were, and the evidence notes (encrypted)
    answers_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    evidence_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: age band at the application (plaintext, for the audit views)
    age_band: so.Mapped[str] = so.mapped_column(sa.String(8))
    submitted_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    submitted_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: the day in the country of the application (periods in reports and registers are local days)
    submitted_on: so.Mapped[dt.date] = so.mapped_column(index=True)

    case: so.Mapped[Case] = so.relationship()
    beneficiary: so.Mapped[Beneficiary] = so.relationship(lazy="joined")
    centre: so.Mapped[Centre] = so.relationship(lazy="joined")
    criteria_set: so.Mapped[CriteriaSet] = so.relationship(lazy="joined")
    lines: so.Mapped[list[ApplicationLine]] = so.relationship(
        back_populates="application", order_by="ApplicationLine.id", lazy="selectin"
    )

    answers = EncryptedField("answers_ct", codec="json")
    evidence = EncryptedField("evidence_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key


class ApplicationLine(EncryptedRow, Base):
    """One requested assistance: category, amount in a currency, provider (encrypted)."""

    __tablename__ = "fund_application_lines"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    application_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("fund_applications.id", ondelete="CASCADE"), index=True
    )
    category: so.Mapped[str] = so.mapped_column(sa.String(24))
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    provider_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)

    application: so.Mapped[Application] = so.relationship(back_populates="lines")

    provider = EncryptedField("provider_ct")

    def crypto_key(self) -> DataKey:
        return self.application.beneficiary.data_key


class DecisionOutcome(StrEnum):
    """What a protection officer decides on an application."""

    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"


class Decision(EncryptedRow, Base):
    """A protection officer's decision; never changed — a change of mind is a new decision replacing it."""

    __tablename__ = "fund_decisions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    application_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("fund_applications.id", ondelete="CASCADE"), index=True
    )
    #: approve, reject, return
    outcome: so.Mapped[str] = so.mapped_column(sa.String(8))
    against_recommendation: so.Mapped[bool] = so.mapped_column(default=False)
    justification_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    replaces_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("fund_decisions.id"), unique=True)
    #: the assistance is approved until this day (then re-assessed)
    period_ends_on: so.Mapped[dt.date | None]
    decided_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: the day in the application's country
    decided_on: so.Mapped[dt.date] = so.mapped_column(index=True)

    application: so.Mapped[Application] = so.relationship(lazy="joined")
    decided_by: so.Mapped[User] = so.relationship("User", lazy="joined")
    lines: so.Mapped[list[DecisionLine]] = so.relationship(
        back_populates="decision", order_by="DecisionLine.id", lazy="selectin"
    )

    justification = EncryptedField("justification_ct")

    def crypto_key(self) -> DataKey:
        return self.application.beneficiary.data_key


class DecisionLine(Base):
    """The amount approved for one requested line (0 when that line is not approved)."""

    __tablename__ = "fund_decision_lines"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    decision_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_decisions.id", ondelete="CASCADE"), index=True)
    line_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_application_lines.id", ondelete="CASCADE"))
    allocation_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("fund_allocations.id"), index=True)
    approved: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    #: what has been paid against it (kept by the disbursement service in the same transaction)
    disbursed: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)

    decision: so.Mapped[Decision] = so.relationship(back_populates="lines")
    line: so.Mapped[ApplicationLine] = so.relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint("disbursed >= 0 AND disbursed <= approved", name="within_approved"),)


class Disbursement(EncryptedRow, Base):
    """A payment or an in-kind purchase against an approved line. Voided, never deleted."""

    __tablename__ = "fund_disbursements"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    decision_line_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_decision_lines.id"), index=True)
    allocation_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_allocations.id"), index=True)
    #: payment or in_kind
    kind: so.Mapped[str] = so.mapped_column(sa.String(8))
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    paid_on: so.Mapped[dt.date]
    #: the payee or provider (encrypted: it may be the person or their landlord)
    payee_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    reference: so.Mapped[str] = so.mapped_column(sa.String(60))
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    voided_at: so.Mapped[dt.datetime | None]
    voided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    void_reason_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)

    decision_line: so.Mapped[DecisionLine] = so.relationship(lazy="joined")

    payee = EncryptedField("payee_ct")
    void_reason = EncryptedField("void_reason_ct")

    def crypto_key(self) -> DataKey:
        return self.decision_line.decision.application.beneficiary.data_key


class AuditSample(Base):
    """A reproducible random sample of the decisions of a period, for auditors to review."""

    __tablename__ = "fund_audit_samples"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    seed: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    percent: so.Mapped[int]
    starts_on: so.Mapped[dt.date]
    ends_on: so.Mapped[dt.date]
    drawn_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    drawn_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    items: so.Mapped[list[AuditFinding]] = so.relationship(
        back_populates="sample", order_by="AuditFinding.id", lazy="selectin"
    )


class Finding(StrEnum):
    """An auditor's finding on a sampled decision (none until recorded)."""

    AGREES = "agrees"
    DISAGREES = "disagrees"
    FOLLOW_UP = "follow_up"


class AuditFinding(EncryptedRow, Base):
    """One sampled decision and the auditor's finding on it (agrees, disagrees, follow_up)."""

    __tablename__ = "fund_audit_findings"
    __table_args__ = (sa.UniqueConstraint("sample_id", "decision_id", name="uq_fund_finding"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    sample_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_audit_samples.id", ondelete="CASCADE"))
    decision_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_decisions.id", ondelete="CASCADE"))
    finding: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    note_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    auditor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    recorded_at: so.Mapped[dt.datetime | None]

    sample: so.Mapped[AuditSample] = so.relationship(back_populates="items")
    decision: so.Mapped[Decision] = so.relationship(lazy="joined")

    note = EncryptedField("note_ct")

    def crypto_key(self) -> DataKey:
        return self.decision.application.beneficiary.data_key
