"""Partner organisations and their services. No personal data of beneficiaries lives here."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.centres.models import Centre
from msc.db import Base, utcnow

service_centres = sa.Table(
    "partner_service_centres",
    Base.metadata,
    sa.Column("service_id", sa.ForeignKey("partner_services.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("centre_id", sa.ForeignKey("centres.id", ondelete="CASCADE"), primary_key=True),
)


class Organisation(Base):
    """A service provider: government office, NGO, UN agency or private company."""

    __tablename__ = "partner_organisations"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(160), unique=True)
    #: government, ngo, un_agency, private_sector
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    #: ISO alpha-3 of the country it works in
    country: so.Mapped[str] = so.mapped_column(sa.String(3), index=True)
    #: the organisation's own contact point (an office, not a beneficiary)
    contact: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    #: the data-sharing agreement holds until this day (inclusive); none when NULL
    agreement_until: so.Mapped[dt.date | None]
    #: comma-separated data categories the agreement covers
    agreement_categories: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[dt.datetime | None]

    services: so.Mapped[list[PartnerService]] = so.relationship(
        back_populates="organisation", order_by="PartnerService.name", cascade="all, delete-orphan"
    )

    def agreement_status(self, today: dt.date) -> str:
        """none, active or expired, on a given day."""
        if self.agreement_until is None:
            return "none"
        return "active" if self.agreement_until >= today else "expired"

    @property
    def category_codes(self) -> list[str]:
        """The data categories the agreement covers."""
        return [c for c in self.agreement_categories.split(",") if c]


class PartnerService(Base):
    """One service an organisation offers, in a sector, for some centres or municipalities."""

    __tablename__ = "partner_services"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("partner_organisations.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(160))
    #: health, mhpss, shelter, livelihoods, education, legal, protection
    sector: so.Mapped[str] = so.mapped_column(sa.String(20), index=True)
    #: municipalities served beyond the linked centres, as written by staff
    municipalities: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    #: who may use it (e.g. "women and girls", "children under 5")
    eligibility: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    #: comma-separated language codes
    languages: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    opening_hours: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    contact: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[dt.datetime | None]

    organisation: so.Mapped[Organisation] = so.relationship(back_populates="services")
    centres: so.Mapped[list[Centre]] = so.relationship(secondary=service_centres, lazy="selectin", order_by=Centre.code)

    @property
    def language_codes(self) -> list[str]:
        """The languages the service is offered in."""
        return [c for c in self.languages.split(",") if c]
