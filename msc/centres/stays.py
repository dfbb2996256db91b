"""A person's stays at centres along the route: where they were registered, where their record moved to,
and when. It sits beside the centres, below the access policy, because the policy asks it one thing: did
a centre serve this person before (its staff keep a read-only view of the profile)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.centres.models import Centre
from msc.db import Base, forget, number_new, once_per_transaction, session, utcnow

#: how a stay began
REGISTERED = "registered"
MOVED = "moved"


class Stay(Base):
    """One person at one centre, from the day they were registered or their record arrived, to the day it
    moved on (None while they are served there)."""

    __tablename__ = "stays"
    __table_args__ = (sa.Index("ix_stays_person_left", "beneficiary_id", "left_on"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"))
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    #: the centre's day of arrival, and of departure
    arrived_on: so.Mapped[dt.date]
    left_on: so.Mapped[dt.date | None]
    #: the moment the stay began (what the record held before it was written at another centre)
    arrived_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: registered, moved
    how: so.Mapped[str] = so.mapped_column(sa.String(12))
    #: what came along with a moved record beyond identity and household (comma-separated section codes)
    shared: so.Mapped[str] = so.mapped_column(sa.String(200), default="", server_default="")

    centre: so.Mapped[Centre] = so.relationship(lazy="joined")

    @property
    def shared_sections(self) -> set[str]:
        """The sections that came along (empty for a registration: nothing came from elsewhere)."""
        return {s for s in self.shared.split(",") if s}


def arrive(beneficiary_id: int, centre_id: int, on: dt.date, how: str, shared: Collection[str] = ()) -> Stay:
    """Open a stay: the person is served at this centre from today (the previous stay, if any, ends)."""
    now = utcnow()
    # through the session, not a bulk UPDATE: the dashboards count the departure from the row's change
    for open_stay in session.scalars(
        sa.select(Stay).where(Stay.beneficiary_id == beneficiary_id, Stay.left_on.is_(None))
    ):
        open_stay.left_on = on
    stay = Stay(
        beneficiary_id=beneficiary_id,
        centre_id=centre_id,
        arrived_on=on,
        arrived_at=now,
        how=how,
        shared=",".join(sorted(shared)),
    )
    session.add(stay)
    session.flush()
    forget(_ROUTES)
    return stay


def first_arrivals(beneficiary_ids: list[int], centre_id: int, on: dt.date, how: str) -> None:
    """Open the first stay of people just registered (they have no stay to end), in one flush."""
    now = utcnow()
    opened = [
        Stay(beneficiary_id=pid, centre_id=centre_id, arrived_on=on, arrived_at=now, how=how, shared="")
        for pid in beneficiary_ids
    ]
    number_new(session, opened)
    session.add_all(opened)
    session.flush()
    forget(_ROUTES)


#: the routes read in the current transaction (or savepoint), by person (msc.db.once_per_transaction)
_ROUTES = "msc.routes"


def route_of(beneficiary_id: int) -> list[Stay]:
    """A person's stays, first to last. Read once per transaction (a case page asks four times: what the
    notes, the history, the referrals and the moves may show); a stay that begins (`arrive`) reads it again,
    and so does a savepoint, or the transaction after it."""

    def read() -> list[Stay]:
        stmt = sa.select(Stay).where(Stay.beneficiary_id == beneficiary_id).order_by(Stay.arrived_at, Stay.id)
        return list(session.scalars(stmt))

    return list(once_per_transaction(_ROUTES, beneficiary_id, read))


def served_by(centre_ids: Collection[int], beneficiary_id: int) -> bool:
    """Whether one of these centres served the person before (a stay there that has ended)."""
    if not centre_ids:
        return False
    found = session.scalar(
        sa.select(Stay.id)
        .where(
            Stay.beneficiary_id == beneficiary_id,
            Stay.centre_id.in_(list(centre_ids)),
            Stay.left_on.is_not(None),
        )
        .limit(1)
    )
    return found is not None
