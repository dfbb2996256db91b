"""Hand-overs at the desk: several items at once, within the rules (or overridden with a written
justification by a user allowed to), acknowledged, taken from the centre's stock; voids put it back."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.beneficiaries.models import Beneficiary, Household
from msc.beneficiaries.vocab import age_band
from msc.centres.models import Centre
from msc.db import rows_changed, session, utcnow
from msc.errors import checked_text
from msc.nfi import rules, stock
from msc.nfi.models import Distribution, DistributionLine, NfiItem
from msc.nfi.stock import NfiError
from msc.nfi.vocab import ACK_METHODS, COLLECTED_BY, VOID_REASONS
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import Permission, active_centres_of, in_scope, role_allows
from msc.signals import hand_over_voided

MAX_SIGNATURE = 60_000
#: an SVG path of straight strokes, as the signature pad writes it
SIGNATURE_RE = re.compile(r"^[ML0-9 .,\-]+$")
MAX_TEXT = 2000


class HandOverRefused(NfiError):
    """Some rows of a hand-over break the rules or the stock: each row's reason, by row key."""

    def __init__(self, message: object, rows: dict[str, str]):
        super().__init__(message)
        self.rows = rows


@dataclass
class Acknowledgement:
    """Who collected the items and how they acknowledged them."""

    collected_by: str = "self"
    collector_name: str | None = None
    method: str = "signature"
    signature: str | None = None
    witness_name: str | None = None


def _check_acknowledgement(ack: Acknowledgement, person: Beneficiary) -> None:
    if ack.collected_by not in COLLECTED_BY:
        raise NfiError(_l("Say who collects the items."), field="collected_by")
    if ack.collected_by == "head" and person.household_id is None:
        raise NfiError(_l("This person is not registered in a household: choose who collects."), field="collected_by")
    if ack.collected_by == "collector" and not (ack.collector_name or "").strip():
        raise NfiError(_l("Write the name of the person who collects the items."), field="collector_name")
    if ack.method not in ACK_METHODS:
        raise NfiError(_l("Choose how the hand-over is acknowledged."), field="ack_method")
    if ack.method == "signature":
        sig = (ack.signature or "").strip()
        if not sig:
            raise NfiError(
                _l("Ask the person to sign on the screen, or choose another acknowledgement."), field="ack_method"
            )
        if len(sig) > MAX_SIGNATURE or not SIGNATURE_RE.match(sig):
            raise NfiError(_l("The signature could not be read: clear it and sign again."), field="ack_method")
    if ack.method == "witness" and not (ack.witness_name or "").strip():
        raise NfiError(_l("Write the witness's name."), field="witness_name")
    for text, name in ((ack.collector_name, "collector_name"), (ack.witness_name, "witness_name")):
        if text and len(text) > 200:
            raise NfiError(_l("The name is too long (at most 200 characters)."), field=name)


def desk_centres(user: Actor, person: Beneficiary) -> list[Centre]:
    """The centres the user may hand over from, the person's own first when it is one of them."""

    centres = active_centres_of(user)
    return sorted(centres, key=lambda c: (c.id != person.centre_id, c.code))


def hand_over(
    user: Actor,
    centre: Centre,
    person: Beneficiary,
    quantities: dict[str, int],
    ack: Acknowledgement,
    justification: str | None = None,
) -> Distribution:
    """Record a hand-over of several items. `quantities` maps desk rows (Verdict.key) to units.

    Refused, row by row, when a row breaks the rules (unless the user may override and writes why) or
    when the centre's stock cannot cover it; nothing is written then."""
    return _hand_over(user, centre, person, quantities, ack, justification, given=False)[0]


def record_given_offline(
    user: Actor, centre: Centre, person: Beneficiary, quantities: dict[str, int], ack: Acknowledgement
) -> tuple[Distribution, dict[str, str]]:
    """Record a hand-over an offline desk made: the items have left the desk, so it is recorded even where
    the rules or the stock would have refused it, and those reasons come back, row by row, for the centre
    manager. The stock gives what it has (never below zero): a shortfall is one of the reasons."""
    return _hand_over(user, centre, person, quantities, ack, None, given=True)


def _hand_over(
    user: Actor,
    centre: Centre,
    person: Beneficiary,
    quantities: dict[str, int],
    ack: Acknowledgement,
    justification: str | None,
    given: bool,
) -> tuple[Distribution, dict[str, str]]:
    if not centre.active or not in_scope(user, centre.id):
        raise NfiError(_l("Choose one of your centres."), field="centre_id")
    quantities = {k: q for k, q in quantities.items() if q}
    if not quantities:
        raise NfiError(_l("Give the quantity of at least one item."))
    if any(q < 0 for q in quantities.values()):
        raise NfiError(_l("The quantity cannot be negative."))
    _check_acknowledgement(ack, person)
    justification = checked_text(
        justification,
        field="justification",
        error=NfiError,
        required=False,
        limit=MAX_TEXT,
        too_long=_l("The justification is too long (at most %(n)d characters).", n=MAX_TEXT),
    )
    # One desk at a time per person and household: the rules read what the other desk wrote.
    session.execute(sa.select(Beneficiary.id).where(Beneficiary.id == person.id).with_for_update())
    if person.household_id is not None:
        session.execute(sa.select(Household.id).where(Household.id == person.household_id).with_for_update())
    today = stock.centre_day(centre)
    view = rules.desk_view(person, stock.active_items(), today)
    verdicts = {v.key: v for v in view.all()}
    unknown = [k for k in quantities if k not in verdicts]
    if unknown:
        raise NfiError(_l("Some rows are not on this person's list any more: reload the page."))
    problems: dict[str, str] = {}
    outside = []
    for key, quantity in quantities.items():
        verdict = verdicts[key]
        if quantity > verdict.allowed:
            outside.append(key)
            problems[key] = (
                " ".join(verdict.reasons)
                if not verdict.entitled
                else str(_l("At most %(n)d may be given today.", n=verdict.allowed))
            )
    overriding = False
    if outside and not given:
        if not role_allows(user, Permission.NFI_OVERRIDE):
            raise HandOverRefused(_l("Some items cannot be given today: see the reasons next to them."), problems)
        if not justification:
            raise HandOverRefused(
                _l("Some items are outside the rules: write why they must be given anyway, or remove them."), problems
            )
        overriding = True
    items = {v.item.id: v.item for v in verdicts.values()}
    per_item: dict[int, int] = {}
    for key, quantity in quantities.items():
        per_item[verdicts[key].item.id] = per_item.get(verdicts[key].item.id, 0) + quantity
    with session.begin_nested():
        taken = {}
        for item_id in sorted(per_item):
            taken[item_id] = per_item[item_id]
            if given:
                taken[item_id] = min(per_item[item_id], stock.on_hand(centre.id, item_id))
                if taken[item_id] < per_item[item_id]:
                    short = str(_l("The stock showed %(n)d: count it.", n=taken[item_id]))
                    for k in quantities:
                        if verdicts[k].item.id == item_id:
                            problems[k] = f"{problems[k]} {short}" if k in problems else short
                stock.take(centre.id, item_id, taken[item_id])
                continue
            try:
                stock.take_or_refuse(centre.id, items[item_id], per_item[item_id])
            except NfiError as err:
                problems = {k: err.message for k in quantities if verdicts[k].item.id == item_id}
                raise HandOverRefused(err.message, problems) from None
        distribution = _write(
            user, centre, person, quantities, verdicts, ack, today, justification if overriding else None
        )
        for item_id in sorted(per_item):
            if taken[item_id]:
                stock.record(centre, item_id, "distribution", -taken[item_id], user, distribution_id=distribution.id)
    audit.record(
        "nfi.hand_over.override" if overriding else "nfi.hand_over.offline" if given else "nfi.hand_over",
        object_type="nfi_distribution",
        object_id=distribution.id,
        detail=",".join(f"{items[i].code}:{q}" for i, q in sorted(per_item.items())),
    )
    return distribution, problems if given else {}


def _write(
    user: Actor,
    centre: Centre,
    person: Beneficiary,
    quantities: dict[str, int],
    verdicts: dict[str, rules.Verdict],
    ack: Acknowledgement,
    today: dt.date,
    justification: str | None,
) -> Distribution:
    distribution = Distribution(
        centre_id=centre.id,
        centre=centre,
        beneficiary_id=person.id,
        beneficiary=person,
        household_id=person.household_id,
        collected_by=ack.collected_by,
        ack_method=ack.method,
        overridden=justification is not None,
        day=today,
        user_id=user.id,
        at=utcnow(),
    )
    if ack.collected_by == "collector":
        distribution.collector_name = (ack.collector_name or "").strip()
    if ack.method == "signature":
        distribution.signature = (ack.signature or "").strip()
    if ack.method == "witness":
        distribution.witness_name = (ack.witness_name or "").strip()
    if justification:
        distribution.justification = justification
    session.add(distribution)
    session.flush()
    for key, quantity in sorted(quantities.items()):
        verdict = verdicts[key]
        member = verdict.person
        session.add(
            DistributionLine(
                distribution_id=distribution.id,
                item_id=verdict.item.id,
                quantity=quantity,
                beneficiary_id=member.id,
                household_id=person.household_id if verdict.household else None,
                centre_id=centre.id,
                day=today,
                month=today.strftime("%Y-%m"),
                sex=member.sex,
                age_band=age_band(member.age_on(today)),
                nationality=member.nationality,
            )
        )
    session.flush()
    return distribution


def may_void(user: Actor, distribution: Distribution) -> bool:
    """Centre managers void any hand-over; the clerk who recorded one may void it the same day."""
    if distribution.voided_at is not None or not in_scope(user, distribution.centre_id):
        return False
    if role_allows(user, Permission.NFI_STOCK):
        return True
    return distribution.user_id == user.id and distribution.day == stock.centre_day(distribution.centre)


def void(user: Actor, distribution: Distribution, reason: str, note: str | None = None) -> None:
    """A mistake is voided, never deleted: the reason is kept and the stock goes back."""
    if distribution.voided_at is not None:
        raise NfiError(_l("This hand-over was already voided."))
    if not may_void(user, distribution):
        raise NfiError(_l("Only a centre manager can void a hand-over recorded by someone else or on another day."))
    if reason not in VOID_REASONS:
        raise NfiError(_l("Choose why the hand-over is voided."), field="reason")
    note = checked_text(
        note,
        field="note",
        error=NfiError,
        required=reason == "other",
        limit=MAX_TEXT,
        missing=_l("Write why the hand-over is voided."),
        too_long=_l("The note is too long (at most %(n)d characters).", n=MAX_TEXT),
    )
    claimed = rows_changed(
        sa.update(Distribution)
        .where(Distribution.id == distribution.id, Distribution.voided_at.is_(None))
        .values(voided_at=utcnow(), voided_by_id=user.id, void_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if claimed != 1:
        raise NfiError(_l("This hand-over was already voided."))
    session.refresh(distribution)
    if note:
        distribution.void_note = note
    per_item: dict[int, int] = {}
    for line in distribution.lines:
        per_item[line.item_id] = per_item.get(line.item_id, 0) + line.quantity
    hand_over_voided.send(distribution, session=session)
    session.execute(
        sa.update(DistributionLine)
        .where(DistributionLine.distribution_id == distribution.id)
        .values(voided=True)
        .execution_options(synchronize_session=False)
    )
    for item_id in sorted(per_item):
        stock.put(distribution.centre_id, item_id, per_item[item_id])
        stock.record(distribution.centre, item_id, "void", per_item[item_id], user, distribution_id=distribution.id)
    session.flush()
    for line in distribution.lines:
        session.expire(line)
    audit.record("nfi.void", object_type="nfi_distribution", object_id=distribution.id, detail=reason)


def recent_for(person: Beneficiary, limit: int = 10) -> list[Distribution]:
    """The person's latest hand-overs (theirs, and their household's), newest first."""
    who = Distribution.beneficiary_id == person.id
    if person.household_id is not None:
        who = sa.or_(who, Distribution.household_id == person.household_id)
    return list(session.scalars(sa.select(Distribution).where(who).order_by(Distribution.id.desc()).limit(limit)))


def item_by_code(code: str) -> NfiItem | None:
    return session.scalar(sa.select(NfiItem).where(NfiItem.code == code))
