"""Referrals, their transitions, and disclosures (every partner view of a person's data)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.beneficiaries.models import Beneficiary
from msc.cases.models import Case
from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow
from msc.partners.models import Organisation, PartnerService
from msc.security.models import User


class ReferralStatus(StrEnum):
    """Where a referral stands: a draft, sent to the partner, then accepted (and completed or a no-show)
    or declined by them, or cancelled by the caseworker."""

    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class Referral(EncryptedRow, Base):
    """A referral of a person to a partner's service, sharing only the chosen data categories."""

    __tablename__ = "referrals"
    __table_args__ = (
        sa.Index("ix_referrals_organisation_status", "organisation_id", "status"),
        sa.Index("ix_referrals_case_status", "case_id", "status"),
        sa.Index("ix_referrals_organisation_sent", "organisation_id", "sent_at", "id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    service_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("partner_services.id"), index=True)
    organisation_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("partner_organisations.id"), index=True)
    #: emergency, urgent, routine
    urgency: so.Mapped[str] = so.mapped_column(sa.String(10))
    #: draft, sent, accepted, completed, declined, cancelled, no_show
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=ReferralStatus.DRAFT, index=True)
    #: comma-separated data categories shared with the partner
    shared: so.Mapped[str] = so.mapped_column(sa.String(200))
    reason_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    answer_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: a protection officer's written override of a missing or insufficient data-sharing agreement
    override_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    override_reason_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    sent_at: so.Mapped[dt.datetime | None]
    deadline_at: so.Mapped[dt.datetime | None] = so.mapped_column(index=True)
    answered_at: so.Mapped[dt.datetime | None]

    case: so.Mapped[Case] = so.relationship()
    beneficiary: so.Mapped[Beneficiary] = so.relationship(lazy="joined")
    service: so.Mapped[PartnerService] = so.relationship(lazy="joined")
    organisation: so.Mapped[Organisation] = so.relationship(lazy="joined")

    reason = EncryptedField("reason_ct")
    answer = EncryptedField("answer_ct")
    override_reason = EncryptedField("override_reason_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key

    @property
    def categories(self) -> list[str]:
        """The data categories shared."""
        return [c for c in self.shared.split(",") if c]

    def overdue(self, now: dt.datetime) -> bool:
        """Sent, unanswered, and past its deadline."""
        return self.status == ReferralStatus.SENT and self.deadline_at is not None and now > self.deadline_at


class ReferralEvent(Base):
    """One transition of a referral: who moved it, from which status to which, when."""

    __tablename__ = "referral_events"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    referral_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    from_status: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    to_status: so.Mapped[str] = so.mapped_column(sa.String(10))

    user: so.Mapped[User | None] = so.relationship()


class Disclosure(Base):
    """A partner saw a person's data: which organisation, which categories, when, under which referral."""

    __tablename__ = "disclosures"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    referral_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    organisation_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("partner_organisations.id"))
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    categories: so.Mapped[str] = so.mapped_column(sa.String(200))

    organisation: so.Mapped[Organisation] = so.relationship(lazy="joined")
    referral: so.Mapped[Referral] = so.relationship()


class ReferralReminder(Base):
    """A reminder that a sent referral is past its deadline without an answer, made by the daily run; it is
    addressed to the partner organisation (it shows on their list until they answer) and to the staff
    following the case (its recipients, who dismiss it). It holds no personal data: it points to the referral."""

    __tablename__ = "referral_reminders"
    __table_args__ = (sa.UniqueConstraint("referral_id", "round"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    referral_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    #: 1 for the referral's first reminder, then 2, 3… (one a round: two runs never make the same one)
    round: so.Mapped[int]
    made_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    referral: so.Mapped[Referral] = so.relationship()
    recipients: so.Mapped[list[ReminderRecipient]] = so.relationship(
        back_populates="reminder", cascade="all, delete-orphan"
    )


class ReminderRecipient(Base):
    """A member of staff a reminder is addressed to, and when they dismissed it."""

    __tablename__ = "referral_reminder_recipients"

    reminder_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("referral_reminders.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    dismissed_at: so.Mapped[dt.datetime | None]

    reminder: so.Mapped[ReferralReminder] = so.relationship(back_populates="recipients")
