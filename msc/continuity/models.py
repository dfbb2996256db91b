"""A centre's request for a person's record held by another centre, and what became of it."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre
from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow
from msc.security.models import User


class TransferStatus(StrEnum):
    """Where a request stands."""

    #: waiting for the holding centre's caseworkers or manager
    PENDING = "pending"
    #: unanswered for 48 hours: the country's protection officers answer it too
    ESCALATED = "escalated"
    #: accepted: the record moved
    ACCEPTED = "accepted"
    #: refused, with a coded reason
    REFUSED = "refused"
    #: moved at once at the desk, on the person's proof and consent
    MOVED = "moved"
    #: the record moved to another centre before this request was answered
    SUPERSEDED = "superseded"


#: still waiting for an answer
OPEN = (TransferStatus.PENDING.value, TransferStatus.ESCALATED.value)


class Transfer(EncryptedRow, Base):
    """A centre asked for a person's record: at the desk on the person's proof (moved at once), or as a
    request the holding centre accepts (choosing what comes along) or refuses (saying why)."""

    __tablename__ = "transfers"
    __table_args__ = (
        # one open request per person and asking centre (a second click, or two desks, make no second one)
        sa.Index(
            "uq_transfers_open_per_centre",
            "beneficiary_id",
            "to_centre_id",
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'escalated')"),
            postgresql_where=sa.text("status IN ('pending', 'escalated')"),
        ),
        sa.Index("ix_transfers_from_status", "from_centre_id", "status"),
        sa.Index("ix_transfers_status_requested", "status", "requested_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    #: the centre that held the record when it was asked for
    from_centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"))
    #: the asking centre, where the record goes
    to_centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    requested_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    requested_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: desk (proof of presence), request (the holding centre answers)
    how: so.Mapped[str] = so.mapped_column(sa.String(8))
    #: pending, escalated, accepted, refused, moved, superseded
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default=TransferStatus.PENDING)
    escalated_at: so.Mapped[dt.datetime | None]
    decided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_at: so.Mapped[dt.datetime | None]
    #: what came along beyond identity and household (assessment, notes, referrals, fund), comma-separated
    sections: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    #: the coded reason of a refusal (REFUSAL_REASONS), and the holding centre's note (encrypted)
    refusal_reason: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    refusal_note_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)

    beneficiary: so.Mapped[Beneficiary] = so.relationship(lazy="joined")
    from_centre: so.Mapped[Centre] = so.relationship(foreign_keys=[from_centre_id], lazy="joined")
    to_centre: so.Mapped[Centre] = so.relationship(foreign_keys=[to_centre_id], lazy="joined")
    requested_by: so.Mapped[User | None] = so.relationship(foreign_keys=[requested_by_id])
    decided_by: so.Mapped[User | None] = so.relationship(foreign_keys=[decided_by_id])

    refusal_note = EncryptedField("refusal_note_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key

    @property
    def is_open(self) -> bool:
        """Still waiting for an answer."""
        return self.status in OPEN

    @property
    def shared_sections(self) -> list[str]:
        """What came along beyond identity and household."""
        return [s for s in self.sections.split(",") if s]
