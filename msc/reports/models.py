"""Report counts: the dashboards' figures, kept up to date by every write (see msc.reports.cube)."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.db import Base

#: the columns that identify one count
KEY = ("topic", "centre_id", "month", "sex", "age_band", "nationality", "k1", "k2", "k3")


class _Count:
    """How many (and, for items, how many units) of one topic fall in one centre, month and set of
    non-identifying dimensions. Never a row per person: a count per combination."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: people, need, household, referral, nfi, served, arrival, departure
    topic: so.Mapped[str] = so.mapped_column(sa.String(12))
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"))
    #: YYYY-MM in the centre's own calendar
    month: so.Mapped[str] = so.mapped_column(sa.String(7))
    sex: so.Mapped[str] = so.mapped_column(sa.String(8), default="")
    age_band: so.Mapped[str] = so.mapped_column(sa.String(8), default="")
    nationality: so.Mapped[str] = so.mapped_column(sa.String(3), default="")
    #: people and needs: entry point; referrals: sector; items: item id; arrivals: registered or moved
    k1: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    #: people: "uasc" for a possible unaccompanied or separated child; needs: the need; referrals: status
    k2: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    #: referrals: in_time or late once answered
    k3: so.Mapped[str] = so.mapped_column(sa.String(8), default="")
    n: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    #: units handed over (items)
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)


class ReportCount(_Count, Base):
    """The running counts the dashboards read."""

    __tablename__ = "report_counts"
    __table_args__ = (
        sa.UniqueConstraint(*KEY, name="uq_report_counts_key"),
        sa.Index("ix_report_counts_topic_centre_month", "topic", "centre_id", "month"),
    )


class CarriedCount(_Count, Base):
    """Counts the records can no longer show — the sensitive needs of people whose data was erased (their
    key destroyed) — so that a recount from the records still equals the running counts."""

    __tablename__ = "report_carried"
    __table_args__ = (sa.UniqueConstraint(*KEY, name="uq_report_carried_key"),)


class ServedMonth(Base):
    """A centre served a person in a month: registered them, received their record, handed them items, placed
    them in a shelter or referred them. One row per person, centre and month — what lets "people served" count
    each person once a month at every centre along their route; the dashboards read the running count."""

    __tablename__ = "served_months"

    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), primary_key=True)
    #: YYYY-MM in the centre's own calendar
    month: so.Mapped[str] = so.mapped_column(sa.String(7), primary_key=True)
    beneficiary_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), primary_key=True, index=True
    )
