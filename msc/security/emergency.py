"""Emergency access (break-the-glass): the grant a user holds on one person's records outside their scope,
and the lookup the access policy consults. Opening, ending and reviewing grants is the DPO's workflow
(msc/dpo/glass.py); this module sits below the policy so that the policy never reaches up into a feature."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, session, utcnow
from msc.security.models import User

if TYPE_CHECKING:
    from msc.beneficiaries.models import Beneficiary


class ReviewOutcome(StrEnum):
    """The DPO's review of an emergency access (none while it awaits review)."""

    JUSTIFIED = "justified"
    NOT_JUSTIFIED = "not_justified"


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

    beneficiary: so.Mapped[Beneficiary] = so.relationship("Beneficiary", lazy="joined")
    user: so.Mapped[User] = so.relationship("User", foreign_keys=[user_id], lazy="joined")
    reviewed_by: so.Mapped[User | None] = so.relationship("User", foreign_keys=[reviewed_by_id])

    explanation = EncryptedField("explanation_ct")
    review_note = EncryptedField("review_note_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key

    def open_at(self, now: dt.datetime) -> bool:
        """Whether the access is still running."""
        return self.ended_at is None and now < self.expires_at


def running(user_id: int) -> sa.Select[BreakGlass]:
    """The user's grants not ended and not run out."""
    return sa.select(BreakGlass).where(
        BreakGlass.user_id == user_id, BreakGlass.ended_at.is_(None), BreakGlass.expires_at > utcnow()
    )


def running_grant(user_id: int | None, beneficiary_id: int) -> BreakGlass | None:
    """The user's running grant on this person's records, if any."""
    if user_id is None:
        return None
    return session.scalar(
        running(user_id)
        .where(BreakGlass.beneficiary_id == beneficiary_id)
        .order_by(BreakGlass.expires_at.desc())
        .limit(1)
    )
