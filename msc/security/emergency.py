"""Emergency access (break-the-glass): the grant a user holds on one person's records outside their scope,
and the lookup the access policy consults. Opening, approving, ending and reviewing grants is the DPO's
workflow (msc/dpo/glass.py); this module sits below the policy so that the policy never reaches up into a
feature.

A grant is read-only and need-to-know: it counts only where a read asks for it (the profile page), and the
coded reason decides which parts of the record that page shows (SECTIONS)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, session, utcnow
from msc.security.models import User

if TYPE_CHECKING:
    from msc.beneficiaries.models import Beneficiary


#: the coded reasons, and their labels
REASONS = {
    "medical_emergency": _l("Medical emergency"),
    "child_at_risk": _l("Child at risk"),
    "transfer": _l("Transfer between centres"),
    "other": _l("Other (explain)"),
}

#: what an emergency access shows of the record, by reason (need to know): identity is the names, sex,
#: age, nationality and the centre to call; nothing shows the phone, and nothing can be changed
SECTIONS: dict[str, frozenset[str]] = {
    "medical_emergency": frozenset({"identity", "languages", "needs", "household"}),
    "child_at_risk": frozenset({"identity", "languages", "needs", "household", "protection"}),
    "transfer": frozenset({"identity", "languages", "household", "documents", "arrival"}),
    "other": frozenset({"identity"}),
}


class GlassStatus(StrEnum):
    """Granted at once (within the quota), awaiting a protection officer's approval, or refused by one."""

    GRANTED = "granted"
    PENDING = "pending"
    REFUSED = "refused"


#: where an access stands, for the pages that list them
STATES = {
    "running": _l("Running"),
    "ended": _l("Ended"),
    GlassStatus.PENDING.value: _l("Awaiting a protection officer"),
    GlassStatus.REFUSED.value: _l("Refused by a protection officer"),
}


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
    #: granted, pending (past the user's daily quota: a protection officer approves first), refused
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default=GlassStatus.GRANTED, index=True)
    requested_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, index=True)
    #: when the access began (at the request, or at the approval); None while pending or once refused
    started_at: so.Mapped[dt.datetime | None]
    expires_at: so.Mapped[dt.datetime | None]
    #: set when the user ended it early
    ended_at: so.Mapped[dt.datetime | None]
    #: justified, not_justified (the DPO's review)
    outcome: so.Mapped[str | None] = so.mapped_column(sa.String(16), index=True)
    review_note_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    reviewed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: so.Mapped[dt.datetime | None]
    #: the protection officer who approved or refused a request past the quota, and their note
    decided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_at: so.Mapped[dt.datetime | None]
    decision_note_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)

    beneficiary: so.Mapped[Beneficiary] = so.relationship("Beneficiary", lazy="joined")
    user: so.Mapped[User] = so.relationship("User", foreign_keys=[user_id], lazy="joined")
    reviewed_by: so.Mapped[User | None] = so.relationship("User", foreign_keys=[reviewed_by_id])
    decided_by: so.Mapped[User | None] = so.relationship("User", foreign_keys=[decided_by_id])

    explanation = EncryptedField("explanation_ct")
    review_note = EncryptedField("review_note_ct")
    decision_note = EncryptedField("decision_note_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key

    def open_at(self, now: dt.datetime) -> bool:
        """Whether the access is still running."""
        return (
            self.status == GlassStatus.GRANTED
            and self.ended_at is None
            and self.expires_at is not None
            and now < self.expires_at
        )

    @property
    def state(self) -> str:
        """running, ended, pending or refused (a key of STATES)."""
        if self.status != GlassStatus.GRANTED:
            return self.status
        return "running" if self.open_at(utcnow()) else "ended"

    @property
    def sections(self) -> frozenset[str]:
        """What the access shows of the record (its reason's need to know)."""
        return SECTIONS.get(self.reason, SECTIONS["other"])


def running(user_id: int) -> sa.Select[BreakGlass]:
    """The user's grants not ended and not run out."""
    return sa.select(BreakGlass).where(
        BreakGlass.user_id == user_id,
        BreakGlass.status == GlassStatus.GRANTED,
        BreakGlass.ended_at.is_(None),
        BreakGlass.expires_at > utcnow(),
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
