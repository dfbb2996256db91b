"""The Centre model and the entry points of each country."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.db import Base, utcnow


class CentreKind(enum.StrEnum):
    """Where an MSC sits on the migration route."""

    border_entry = "border_entry"
    receiving = "receiving"
    transit = "transit"


class Centre(Base):
    """A Migrant Support Centre."""

    __tablename__ = "centres"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: short code, unique, used in case numbers: COL-CUC
    code: so.Mapped[str] = so.mapped_column(sa.String(16), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    #: ISO 3166-1 alpha-3 country code
    country: so.Mapped[str] = so.mapped_column(sa.String(3), index=True)
    municipality: so.Mapped[str] = so.mapped_column(sa.String(120))
    kind: so.Mapped[str] = so.mapped_column(sa.String(20), default=CentreKind.receiving.value)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Centre {self.code}>"


class EntryPointKind(enum.StrEnum):
    """What kind of place a person entered the country through."""

    border_crossing = "border_crossing"
    airport = "airport"
    bus_terminal = "bus_terminal"
    port = "port"
    other = "other"


class EntryPoint(Base):
    """A border crossing, airport, terminal or port of one country, kept by administrators. A person's
    record points at one (or says "other"): never free text, which could hold anything."""

    __tablename__ = "entry_points"
    __table_args__ = (sa.UniqueConstraint("country", "name", name="uq_entry_points_country_name"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: ISO 3166-1 alpha-3 country code
    country: so.Mapped[str] = so.mapped_column(sa.String(3), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    kind: so.Mapped[str] = so.mapped_column(sa.String(20), default=EntryPointKind.border_crossing.value)
    #: an inactive one is no longer offered; records that name it keep it
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<EntryPoint {self.country} {self.id}>"
