"""The stock ledger of a centre: every movement is a row, the stock on hand is their sum.

The running sum lives in StockLevel and changes only in the same transaction as the ledger rows,
through a conditional UPDATE that can never take it below zero: two desks taking the last unit at
once end with one success and one refusal on PostgreSQL (the second UPDATE re-reads the committed
row) and on SQLite (one writer at a time)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.centres.models import Centre
from msc.db import insert_for, rows_changed, session, utcnow
from msc.errors import DomainError
from msc.nfi.models import NfiItem, StockCount, StockLevel, StockMovement, StockReceipt, StockTransfer
from msc.nfi.vocab import ADJUSTMENT_REASONS, ADJUSTMENT_SIGN, RECEIPT_SOURCES
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import in_scope

MAX_QUANTITY = 1_000_000
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


class NfiError(DomainError):
    """An NFI rule said no."""


def parse_quantity(raw: object, *, field: str | None = None, allow_zero: bool = False) -> int:
    """A whole, positive number of units from what was typed, or a translated reason."""
    text = str(raw if raw is not None else "").strip()
    if text == "":
        if allow_zero:
            return 0
        raise NfiError(_l("Give the quantity."), field=field)
    if not _NUMBER.match(text):
        raise NfiError(_l("Give the quantity as a number of units, for example 2."), field=field)
    whole, _, fraction = text.replace(",", ".").partition(".")
    if fraction.strip("0"):
        raise NfiError(
            _l("Items are counted in whole units: give a whole number, not %(value)s.", value=text), field=field
        )
    value = int(whole)
    if value < 0:
        raise NfiError(_l("The quantity cannot be negative."), field=field)
    if value == 0 and not allow_zero:
        raise NfiError(_l("The quantity must be at least 1."), field=field)
    if value > MAX_QUANTITY:
        raise NfiError(_l("The quantity is too large (at most %(n)d).", n=MAX_QUANTITY), field=field)
    return value


def centre_day(centre: Centre) -> dt.date:
    """Today at the centre."""
    return clock.today(centre.country)


def active_items() -> list[NfiItem]:
    """The catalogue's active items, by code."""
    return list(session.scalars(sa.select(NfiItem).where(NfiItem.active.is_(True)).order_by(NfiItem.code)))


# ---- the running sum ----------------------------------------------------------------------


def _ensure_levels(centre_id: int, item_ids: Iterable[int]) -> None:
    rows = [{"centre_id": centre_id, "item_id": i, "on_hand": 0, "low_threshold": 0} for i in sorted(set(item_ids))]
    if not rows:
        return
    session.execute(
        insert_for(session.get_bind())(StockLevel)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["centre_id", "item_id"])
    )


def take(centre_id: int, item_id: int, quantity: int) -> bool:
    """Take units out of stock if they are there; False (and nothing changed) if not."""
    changed = rows_changed(
        sa.update(StockLevel)
        .where(StockLevel.centre_id == centre_id, StockLevel.item_id == item_id, StockLevel.on_hand >= quantity)
        .values(on_hand=StockLevel.on_hand - quantity)
        .execution_options(synchronize_session=False)
    )
    return changed == 1


def put(centre_id: int, item_id: int, quantity: int) -> None:
    """Put units into stock."""
    _ensure_levels(centre_id, [item_id])
    session.execute(
        sa.update(StockLevel)
        .where(StockLevel.centre_id == centre_id, StockLevel.item_id == item_id)
        .values(on_hand=StockLevel.on_hand + quantity)
        .execution_options(synchronize_session=False)
    )


def on_hand(centre_id: int, item_id: int) -> int:
    """Units of an item a centre holds now."""
    return (
        session.scalar(
            sa.select(StockLevel.on_hand).where(StockLevel.centre_id == centre_id, StockLevel.item_id == item_id)
        )
        or 0
    )


def take_or_refuse(centre_id: int, item: NfiItem, quantity: int, field: str | None = None) -> None:
    """Take units out of stock, or refuse in words saying how many are left."""
    if not take(centre_id, item.id, quantity):
        left = on_hand(centre_id, item.id)
        raise NfiError(
            _l(
                "Not enough %(item)s in stock: %(left)d left, %(asked)d asked for.",
                item=item.name,
                left=left,
                asked=quantity,
            ),
            field=field,
        )


def record(centre: Centre, item_id: int, kind: str, delta: int, user: Actor, **links: int | str) -> StockMovement:
    """Write one ledger row (the caller has changed the running sum in the same transaction)."""
    move = StockMovement(
        centre_id=centre.id,
        item_id=item_id,
        kind=kind,
        delta=delta,
        day=centre_day(centre),
        user_id=user.id,
        at=utcnow(),
        **links,
    )
    session.add(move)
    return move


# ---- what a centre holds --------------------------------------------------------------------


@dataclass
class Level:
    """One item's stock at a centre."""

    item: NfiItem
    on_hand: int
    low_threshold: int

    @property
    def status(self) -> str:
        """out, low (at or below the threshold), close (within half the threshold above it), ok."""
        if self.on_hand == 0:
            return "out"
        if self.low_threshold and self.on_hand <= self.low_threshold:
            return "low"
        if self.low_threshold and self.on_hand <= self.low_threshold * 3 // 2:
            return "close"
        return "ok"


def levels(centre_id: int, *, include_inactive: bool = False) -> list[Level]:
    """Every catalogue item with the centre's stock on hand and threshold, in one query."""
    stmt = (
        sa.select(NfiItem, StockLevel.on_hand, StockLevel.low_threshold)
        .outerjoin(StockLevel, sa.and_(StockLevel.item_id == NfiItem.id, StockLevel.centre_id == centre_id))
        .order_by(NfiItem.code)
    )
    if not include_inactive:
        stmt = stmt.where(sa.or_(NfiItem.active.is_(True), StockLevel.on_hand > 0))
    return [Level(item, held or 0, low or 0) for item, held, low in session.execute(stmt)]


def ledger_sums(centre_id: int) -> dict[int, int]:
    """The sum of the ledger per item: what the stock on hand must equal."""
    rows = session.execute(
        sa.select(StockMovement.item_id, sa.func.sum(StockMovement.delta))
        .where(StockMovement.centre_id == centre_id)
        .group_by(StockMovement.item_id)
    )
    return {item_id: int(total) for item_id, total in rows}


def mismatches(centre_id: int | None = None) -> list[tuple[int, int, int, int]]:
    """(centre, item, on hand, ledger sum) wherever the two differ: empty when the books add up."""
    sums = (
        sa.select(StockMovement.centre_id, StockMovement.item_id, sa.func.sum(StockMovement.delta).label("total"))
        .group_by(StockMovement.centre_id, StockMovement.item_id)
        .subquery()
    )
    stmt = (
        sa.select(StockLevel.centre_id, StockLevel.item_id, StockLevel.on_hand, sa.func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sa.and_(sums.c.centre_id == StockLevel.centre_id, sums.c.item_id == StockLevel.item_id))
        .where(StockLevel.on_hand != sa.func.coalesce(sums.c.total, 0))
    )
    if centre_id is not None:
        stmt = stmt.where(StockLevel.centre_id == centre_id)
    found = [tuple(r) for r in session.execute(stmt)]
    orphan = (
        sa.select(sums.c.centre_id, sums.c.item_id, sa.literal(0), sums.c.total)
        .outerjoin(StockLevel, sa.and_(sums.c.centre_id == StockLevel.centre_id, sums.c.item_id == StockLevel.item_id))
        .where(StockLevel.item_id.is_(None), sums.c.total != 0)
    )
    if centre_id is not None:
        orphan = orphan.where(sums.c.centre_id == centre_id)
    return found + [tuple(r) for r in session.execute(orphan)]


# ---- movements a manager records ----------------------------------------------------------


def _check_centre(user: Actor, centre: Centre) -> None:
    if not centre.active or not in_scope(user, centre.id):
        raise NfiError(_l("Choose one of your centres."))


def _check_lines(lines: dict[int, int]) -> dict[int, int]:
    lines = {i: q for i, q in lines.items() if q}
    if not lines:
        raise NfiError(_l("Give the quantity of at least one item."))
    known = set(session.scalars(sa.select(NfiItem.id).where(NfiItem.id.in_(lines))))
    if known != set(lines):
        raise NfiError(_l("Choose items from the catalogue."))
    if any(q < 0 or q > MAX_QUANTITY for q in lines.values()):
        raise NfiError(_l("Quantities must be whole numbers from 1 to %(n)d.", n=MAX_QUANTITY))
    return lines


def normalise_reference(reference: str | None) -> str:
    return " ".join((reference or "").upper().split())


def receive(
    user: Actor, centre: Centre, *, reference: str, source: str, received_on: dt.date | None, lines: dict[int, int]
) -> StockReceipt:
    """Goods arrive under a delivery reference; each item's stock goes up."""
    _check_centre(user, centre)
    reference = normalise_reference(reference)
    if not reference:
        raise NfiError(_l("Give the delivery note or waybill reference."), field="reference")
    if len(reference) > 60:
        raise NfiError(_l("The reference is too long (at most 60 characters)."), field="reference")
    if source not in RECEIPT_SOURCES:
        raise NfiError(_l("Choose where the goods come from."), field="source")
    today = centre_day(centre)
    if received_on is None or received_on > today or received_on < today - dt.timedelta(days=90):
        raise NfiError(_l("Give the day the goods arrived (today or in the last 90 days)."), field="received_on")
    lines = _check_lines(lines)
    if session.scalar(
        sa.select(StockReceipt.id).where(StockReceipt.centre_id == centre.id, StockReceipt.reference == reference)
    ):
        raise NfiError(
            _l("Reference %(ref)s was already received at this centre: check the delivery note.", ref=reference),
            field="reference",
        )
    receipt = StockReceipt(
        centre_id=centre.id,
        reference=reference,
        source=source,
        received_on=received_on,
        user_id=user.id,
    )
    try:
        with session.begin_nested():
            session.add(receipt)
            session.flush()
    except sa.exc.IntegrityError:
        raise NfiError(
            _l("Reference %(ref)s was already received at this centre: check the delivery note.", ref=reference),
            field="reference",
        ) from None
    for item_id, quantity in sorted(lines.items()):
        put(centre.id, item_id, quantity)
        record(centre, item_id, "receipt", quantity, user, receipt_id=receipt.id)
    audit.record("nfi.receive", object_type="centre", object_id=centre.id, detail=f"receipt {receipt.id}")
    return receipt


def transfer(user: Actor, from_centre: Centre, to_centre: Centre | None, lines: dict[int, int]) -> StockTransfer:
    """Send goods to another centre: out of one stock and into the other, in one operation."""
    _check_centre(user, from_centre)
    if to_centre is None or not to_centre.active:
        raise NfiError(_l("Choose the centre the goods go to."), field="to_centre_id")
    if to_centre.id == from_centre.id:
        raise NfiError(_l("A transfer goes to another centre: choose a different one."), field="to_centre_id")
    lines = _check_lines(lines)
    items = {i.id: i for i in session.scalars(sa.select(NfiItem).where(NfiItem.id.in_(lines)))}
    with session.begin_nested():
        operation = StockTransfer(from_centre_id=from_centre.id, to_centre_id=to_centre.id, user_id=user.id)
        session.add(operation)
        session.flush()
        for item_id, quantity in sorted(lines.items()):
            take_or_refuse(from_centre.id, items[item_id], quantity, field=f"qty-{item_id}")
            record(from_centre, item_id, "transfer_out", -quantity, user, transfer_id=operation.id)
            put(to_centre.id, item_id, quantity)
            record(to_centre, item_id, "transfer_in", quantity, user, transfer_id=operation.id)
    audit.record(
        "nfi.transfer",
        object_type="centre",
        object_id=from_centre.id,
        detail=f"transfer {operation.id} to centre {to_centre.id}",
    )
    return operation


def adjust(
    user: Actor, centre: Centre, item: NfiItem | None, *, reason: str, direction: str, quantity: int
) -> StockMovement:
    """Loss, damage, expiry, found goods or a correction, with its reason."""
    _check_centre(user, centre)
    if item is None:
        raise NfiError(_l("Choose an item from the catalogue."), field="item_id")
    if reason not in ADJUSTMENT_REASONS:
        raise NfiError(_l("Choose the reason for the adjustment."), field="reason")
    sign = -1 if direction == "remove" else 1 if direction == "add" else None
    if sign is None:
        raise NfiError(_l("Say whether units are removed from or added to the stock."), field="direction")
    if ADJUSTMENT_SIGN[reason] and ADJUSTMENT_SIGN[reason] != sign:
        raise NfiError(
            _l("This reason removes units from the stock.")
            if ADJUSTMENT_SIGN[reason] < 0
            else _l("This reason adds units to the stock."),
            field="direction",
        )
    if quantity < 1:
        raise NfiError(_l("The quantity must be at least 1."), field="quantity")
    with session.begin_nested():
        if sign < 0:
            _ensure_levels(centre.id, [item.id])
            take_or_refuse(centre.id, item, quantity, field="quantity")
        else:
            put(centre.id, item.id, quantity)
        move = record(centre, item.id, "adjustment", sign * quantity, user, reason=reason)
    audit.record("nfi.adjust", object_type="centre", object_id=centre.id, detail=f"{item.code} {reason}")
    return move


def count(user: Actor, centre: Centre, counted: dict[int, int]) -> StockCount:
    """A physical count: each difference from the stock on hand becomes a count adjustment."""
    _check_centre(user, centre)
    if not counted:
        raise NfiError(_l("Enter the counted quantity of at least one item."))
    if any(q < 0 or q > MAX_QUANTITY for q in counted.values()):
        raise NfiError(_l("Counted quantities must be whole numbers from 0 to %(n)d.", n=MAX_QUANTITY))
    known = set(session.scalars(sa.select(NfiItem.id).where(NfiItem.id.in_(counted))))
    if known != set(counted):
        raise NfiError(_l("Choose items from the catalogue."))
    _ensure_levels(centre.id, counted)
    sheet = StockCount(centre_id=centre.id, items_counted=len(counted), user_id=user.id)
    session.add(sheet)
    session.flush()
    for item_id, quantity in sorted(counted.items()):
        held = session.scalar(
            sa.select(StockLevel.on_hand)
            .where(StockLevel.centre_id == centre.id, StockLevel.item_id == item_id)
            .with_for_update()
        )
        delta = quantity - (held or 0)
        if delta:
            session.execute(
                sa.update(StockLevel)
                .where(StockLevel.centre_id == centre.id, StockLevel.item_id == item_id)
                .values(on_hand=StockLevel.on_hand + delta)
                .execution_options(synchronize_session=False)
            )
            record(centre, item_id, "adjustment", delta, user, reason="count", counted=quantity, count_id=sheet.id)
            sheet.differences += 1
    audit.record(
        "nfi.count",
        object_type="centre",
        object_id=centre.id,
        detail=f"count {sheet.id}: {sheet.items_counted} items, {sheet.differences} differences",
    )
    return sheet


def set_thresholds(user: Actor, centre: Centre, thresholds: dict[int, int]) -> None:
    """The manager's low-stock threshold per item."""
    _check_centre(user, centre)
    if any(q < 0 or q > MAX_QUANTITY for q in thresholds.values()):
        raise NfiError(_l("Thresholds must be whole numbers from 0 to %(n)d.", n=MAX_QUANTITY))
    _ensure_levels(centre.id, thresholds)
    for item_id, low in thresholds.items():
        session.execute(
            sa.update(StockLevel)
            .where(StockLevel.centre_id == centre.id, StockLevel.item_id == item_id)
            .values(low_threshold=low)
            .execution_options(synchronize_session=False)
        )
    audit.record("nfi.thresholds", object_type="centre", object_id=centre.id)


def last_count(centre_id: int) -> StockCount | None:
    return session.scalar(
        sa.select(StockCount).where(StockCount.centre_id == centre_id).order_by(StockCount.id.desc()).limit(1)
    )


def movements(centre_id: int, *, before_id: int | None = None, limit: int = 50) -> list[StockMovement]:
    """The centre's ledger, newest first, a page at a time."""
    stmt = sa.select(StockMovement).where(StockMovement.centre_id == centre_id)
    if before_id:
        stmt = stmt.where(StockMovement.id < before_id)
    return list(session.scalars(stmt.order_by(StockMovement.id.desc()).limit(limit)))
