"""Shelters and placements."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre
from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow


class Shelter(Base):
    """A shelter near a centre, counting beds by sex or rooms for families."""

    __tablename__ = "shelters"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(160))
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    #: beds (counted by sex) or family_units (one unit per household)
    mode: so.Mapped[str] = so.mapped_column(sa.String(16), default="beds")
    beds_female: so.Mapped[int] = so.mapped_column(default=0)
    beds_male: so.Mapped[int] = so.mapped_column(default=0)
    family_units: so.Mapped[int] = so.mapped_column(default=0)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    centre: so.Mapped[Centre] = so.relationship(lazy="joined")


class Placement(EncryptedRow, Base):
    """A person staying at a shelter: check-in, planned stay, check-out."""

    __tablename__ = "placements"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    shelter_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("shelters.id"), index=True)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    #: the bed or unit counted: female, male, or family
    slot: so.Mapped[str] = so.mapped_column(sa.String(8))
    #: the accepted shelter referral it came from, if any
    referral_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("referrals.id", ondelete="SET NULL"))
    check_in_on: so.Mapped[dt.date]
    planned_days: so.Mapped[int]
    check_out_on: so.Mapped[dt.date | None] = so.mapped_column(index=True)
    #: why a full shelter took the person anyway (encrypted)
    override_reason_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    shelter: so.Mapped[Shelter] = so.relationship(lazy="joined")
    beneficiary: so.Mapped[Beneficiary] = so.relationship(lazy="joined")

    override_reason = EncryptedField("override_reason_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key

    @property
    def planned_until(self) -> dt.date:
        """The planned last night."""
        return self.check_in_on + dt.timedelta(days=self.planned_days)
