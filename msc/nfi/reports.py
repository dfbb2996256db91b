"""NFI reports: hand-overs by item × sex × age band × nationality × month, and stock movements per
period. Aggregates only, from plaintext non-identifying columns: nothing is decrypted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.centres.models import Centre
from msc.db import session
from msc.exports import suppress
from msc.nfi.models import DistributionLine as L
from msc.nfi.models import NfiItem, StockLevel
from msc.nfi.models import StockMovement as M
from msc.nfi.stock import Level, NfiError
from msc.security.actor import Actor
from msc.security.policy import active_centres_of, centres_in_scope

MAX_DAYS = 3 * 366


@dataclass
class Period:
    """The report's days (inclusive) and centres."""

    start: dt.date
    end: dt.date
    centres: list[Centre]

    @property
    def centre_ids(self) -> list[int]:
        return [c.id for c in self.centres]


def period(
    user: Actor, start: dt.date | None, end: dt.date | None, centre_id: int | None = None, country: str | None = None
) -> Period:
    if start is None or end is None:
        raise NfiError(_l("Give the first and last day of the period."), field="start")
    if end < start:
        raise NfiError(_l("The period ends before it starts."), field="end")
    if (end - start).days > MAX_DAYS:
        raise NfiError(_l("Choose a period of at most three years."), field="end")
    centres = centres_in_scope(user, centre_id, country)
    if not centres:
        raise NfiError(_l("Choose one of your centres or countries."), field="centre_id")
    return Period(start, end, centres)


@dataclass
class DistributionRow:
    country: str
    centre: str
    month: str
    item: str
    sex: str
    age_band: str
    nationality: str
    people: int
    units: int

    def shown(self) -> tuple[str | int, ...]:
        """The row as people may see it: small counts suppressed."""
        return (
            self.country,
            self.centre,
            self.month,
            self.item,
            self.sex,
            self.age_band,
            self.nationality,
            suppress(self.people),
            suppress(self.units),
        )


def distributions(p: Period) -> list[DistributionRow]:
    """Units handed over and people who received them (voids excluded)."""
    stmt = (
        sa.select(
            Centre.country,
            Centre.code,
            L.month,
            NfiItem.code,
            L.sex,
            L.age_band,
            L.nationality,
            sa.func.count(sa.distinct(L.beneficiary_id)),
            sa.func.sum(L.quantity),
        )
        .join(Centre, Centre.id == L.centre_id)
        .join(NfiItem, NfiItem.id == L.item_id)
        .where(L.centre_id.in_(p.centre_ids), L.voided.is_(False), L.day >= p.start, L.day <= p.end)
        .group_by(Centre.country, Centre.code, L.month, NfiItem.code, L.sex, L.age_band, L.nationality)
        .order_by(Centre.country, Centre.code, L.month, NfiItem.code, L.sex, L.age_band, L.nationality)
    )
    return [DistributionRow(*row[:7], int(row[7]), int(row[8])) for row in session.execute(stmt)]


@dataclass
class StockRow:
    country: str
    centre: str
    item: str
    opening: int
    received: int
    transferred_in: int
    transferred_out: int
    distributed: int
    adjusted: int
    closing: int
    level: Level

    def shown(self) -> tuple[str | int, ...]:
        return (
            self.country,
            self.centre,
            self.item,
            self.opening,
            self.received,
            self.transferred_in,
            self.transferred_out,
            self.distributed,
            self.adjusted,
            self.closing,
            self.level.on_hand,
            self.level.low_threshold,
            self.level.status,
        )


def stock(p: Period) -> list[StockRow]:
    """Per centre and item: opening, received, transfers, handed over (net of voids), adjusted, closing."""

    def total(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, M.delta), else_=0)), 0)

    inside = sa.and_(M.day >= p.start, M.day <= p.end)
    sums = (
        sa.select(
            M.centre_id,
            M.item_id,
            total(M.day < p.start).label("opening"),
            total(sa.and_(inside, M.kind == "receipt")).label("received"),
            total(sa.and_(inside, M.kind == "transfer_in")).label("tin"),
            total(sa.and_(inside, M.kind == "transfer_out")).label("tout"),
            total(sa.and_(inside, M.kind.in_(("distribution", "void")))).label("given"),
            total(sa.and_(inside, M.kind == "adjustment")).label("adjusted"),
        )
        .where(M.centre_id.in_(p.centre_ids), M.day <= p.end)
        .group_by(M.centre_id, M.item_id)
        .subquery()
    )
    stmt = (
        sa.select(Centre.country, Centre.code, NfiItem, sums, StockLevel.on_hand, StockLevel.low_threshold)
        .join(Centre, Centre.id == sums.c.centre_id)
        .join(NfiItem, NfiItem.id == sums.c.item_id)
        .outerjoin(StockLevel, sa.and_(StockLevel.centre_id == sums.c.centre_id, StockLevel.item_id == sums.c.item_id))
        .order_by(Centre.country, Centre.code, NfiItem.code)
    )
    rows = []
    for r in session.execute(stmt):
        opening, received, tin, tout, given, adjusted = (
            int(r.opening),
            int(r.received),
            int(r.tin),
            int(r.tout),
            int(r.given),
            int(r.adjusted),
        )
        rows.append(
            StockRow(
                r.country,
                r.code,
                r.NfiItem.code,
                opening,
                received,
                tin,
                -tout,
                -given,
                adjusted,
                opening + received + tin + tout + given + adjusted,
                Level(r.NfiItem, r.on_hand or 0, r.low_threshold or 0),
            )
        )
    return rows


def low_stock(centre_ids: list[int]) -> list[tuple[Centre, Level]]:
    """Items out of stock, at or close to their threshold, in these centres."""
    stmt = (
        sa.select(Centre, NfiItem, StockLevel.on_hand, StockLevel.low_threshold)
        .join(StockLevel, StockLevel.centre_id == Centre.id)
        .join(NfiItem, NfiItem.id == StockLevel.item_id)
        .where(
            Centre.id.in_(centre_ids or [-1]),
            NfiItem.active.is_(True),
            StockLevel.on_hand <= StockLevel.low_threshold * 3 / 2,
        )
        .order_by(Centre.code, NfiItem.code)
    )
    found = [(c, Level(i, held, low)) for c, i, held, low in session.execute(stmt)]
    return [(c, lv) for c, lv in found if lv.status != "ok"]


def low_stock_in_scope(user: Actor) -> list[tuple[Centre, Level]]:
    """Items out of stock or running low in the active centres the user reaches."""
    return low_stock([c.id for c in active_centres_of(user)])
