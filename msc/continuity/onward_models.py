"""An onward movement: a person's journey from the centre that serves them to another centre or a place
that is not a centre, planned at one centre and, for a centre, confirmed at the next."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre
from msc.continuity.models import Transfer
from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow
from msc.security.models import User


class OnwardStatus(StrEnum):
    """Where an onward movement stands."""

    #: planned at the sending centre, the person not yet arrived
    PLANNED = "planned"
    #: the receiving centre confirmed the arrival: the record moved there
    ARRIVED = "arrived"
    #: cancelled by the sending centre, with a coded reason
    CANCELLED = "cancelled"
    #: the record moved to another centre before the arrival was confirmed
    SUPERSEDED = "superseded"


#: the partial index's condition: one planned movement per person
PLANNED_ONLY = sa.text("status = 'planned'")


class OnwardMovement(EncryptedRow, Base):
    """A journey planned at the centre that serves the person: where to, when, how, who escorts a child,
    what was provided for it; the receiving centre confirms the arrival or it is flagged as not arrived."""

    __tablename__ = "onward_movements"
    __table_args__ = (
        # a person has one planned journey at a time (a second click makes no second one)
        sa.Index(
            "uq_onward_planned_per_person",
            "beneficiary_id",
            unique=True,
            sqlite_where=PLANNED_ONLY,
            postgresql_where=PLANNED_ONLY,
        ),
        sa.Index("ix_onward_to_status", "to_centre_id", "status"),
        sa.Index("ix_onward_from_status", "from_centre_id", "status"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    #: the centre that served the person when the journey was planned
    from_centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"))
    #: the receiving centre, when the destination is one
    to_centre_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("centres.id"))
    #: a municipality of the centres list that has no centre of its own (the list's words, not free text)
    to_municipality: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    #: another city, typed (encrypted: it could hold anything)
    to_other_city_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    planned_on: so.Mapped[dt.date]
    #: bus, car, on_foot, plane, boat, other (ONWARD_TRANSPORT)
    transport: so.Mapped[str] = so.mapped_column(sa.String(8))
    #: who escorts a child: guardian, relative, iom_staff, partner_staff, none (ESCORTS); None for an adult
    escort: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    #: the written best-interests reason for a child travelling without escort (encrypted)
    escort_reason_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: what was provided for the journey, comma-separated codes (PROVISIONS)
    provided: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    #: planned, arrived, cancelled, superseded
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default=OnwardStatus.PLANNED)
    planned_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    planned_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: who confirmed the arrival or cancelled, and when
    decided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_at: so.Mapped[dt.datetime | None]
    #: the coded reason of a cancellation (CANCEL_REASONS)
    cancel_reason: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    #: when the daily run found the person not arrived, ONWARD_OVERDUE_DAYS after the planned date
    not_arrived_at: so.Mapped[dt.datetime | None]
    #: the move of the record that the confirmed arrival made
    transfer_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("transfers.id"))

    beneficiary: so.Mapped[Beneficiary] = so.relationship(lazy="joined")
    from_centre: so.Mapped[Centre] = so.relationship(foreign_keys=[from_centre_id], lazy="joined")
    to_centre: so.Mapped[Centre | None] = so.relationship(foreign_keys=[to_centre_id], lazy="joined")
    planned_by: so.Mapped[User | None] = so.relationship(foreign_keys=[planned_by_id])
    decided_by: so.Mapped[User | None] = so.relationship(foreign_keys=[decided_by_id])
    transfer: so.Mapped[Transfer | None] = so.relationship()

    to_other_city = EncryptedField("to_other_city_ct")
    escort_reason = EncryptedField("escort_reason_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key

    @property
    def provided_codes(self) -> list[str]:
        """What was provided for the journey."""
        return [c for c in self.provided.split(",") if c]

    @property
    def is_planned(self) -> bool:
        """Still waiting for the arrival (or its cancellation)."""
        return self.status == OnwardStatus.PLANNED
