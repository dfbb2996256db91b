"""Shelter rules: capacity by sex or family unit, occupancy, full-shelter override, placements."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.beneficiaries.models import Beneficiary
from msc.db import session
from msc.errors import DomainError
from msc.partners.models import PartnerService
from msc.referrals.models import Referral, ReferralStatus
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import Permission, centre_ids_in_scope, in_scope, role_allows
from msc.shelters.models import Placement, Shelter

MODES = ("beds", "family_units")
MAX_STAY_DAYS = 365


class ShelterError(DomainError):
    """A shelter rule said no."""


@dataclass
class Occupancy:
    """Places taken and offered, per slot."""

    taken: dict[str, int]
    capacity: dict[str, int]

    def free(self, slot: str) -> int:
        return self.capacity.get(slot, 0) - self.taken.get(slot, 0)

    @property
    def total_taken(self) -> int:
        return sum(self.taken.values())

    @property
    def total_capacity(self) -> int:
        return sum(self.capacity.values())


def capacity_of(shelter: Shelter) -> dict[str, int]:
    """Beds by sex, or family units."""
    if shelter.mode == "family_units":
        return {"family": shelter.family_units}
    return {"female": shelter.beds_female, "male": shelter.beds_male}


def occupancy(shelter: Shelter) -> Occupancy:
    """Current placements (checked in, not out) per slot."""
    rows = session.execute(
        sa.select(Placement.slot, sa.func.count())
        .where(Placement.shelter_id == shelter.id, Placement.check_out_on.is_(None))
        .group_by(Placement.slot)
    )
    return Occupancy(dict(rows.all()), capacity_of(shelter))


def visible_shelters(user: Actor) -> list[Shelter]:
    """Active shelters of the user's centres."""
    stmt = sa.select(Shelter).where(Shelter.active.is_(True)).order_by(Shelter.name)
    ids = centre_ids_in_scope(user)
    if ids is not None:
        stmt = stmt.where(Shelter.centre_id.in_(ids or [-1]))
    return list(session.scalars(stmt))


def save_shelter(
    user: Actor,
    shelter: Shelter | None,
    *,
    name: str,
    centre_id: int,
    mode: str,
    beds_female: int,
    beds_male: int,
    family_units: int,
    active: bool,
) -> Shelter:
    """Create or update a shelter of one of the user's centres."""
    if mode not in MODES:
        raise ShelterError(_l("Choose how the shelter counts its places."), field="mode")
    if not in_scope(user, centre_id):
        raise ShelterError(_l("You can only add shelters for your centres."), field="centre_id")
    numbers = (beds_female, beds_male) if mode == "beds" else (family_units,)
    if any(n is None or n < 0 for n in numbers) or sum(numbers) == 0:
        raise ShelterError(
            _l("Give the number of places (at least one)."), field="beds_female" if mode == "beds" else "family_units"
        )
    if shelter is None:
        shelter = Shelter()
        session.add(shelter)
    shelter.name, shelter.centre_id, shelter.mode, shelter.active = name, centre_id, mode, active
    shelter.beds_female, shelter.beds_male = (beds_female or 0, beds_male or 0) if mode == "beds" else (0, 0)
    shelter.family_units = (family_units or 0) if mode == "family_units" else 0
    session.flush()
    audit.record("shelter.save", object_type="shelter", object_id=shelter.id)
    return shelter


def _staying(person: Beneficiary) -> sa.ColumnElement[bool]:
    return sa.and_(Placement.beneficiary_id == person.id, Placement.check_out_on.is_(None))


def current_placement(person: Beneficiary) -> Placement | None:
    """Where the person stays now, if anywhere."""
    return session.scalar(
        sa.select(Placement)
        .where(_staying(person))
        .options(so.lazyload(Placement.beneficiary))  # the person, from the session
    )


def is_placed(person: Beneficiary) -> sa.Exists:
    """Whether the person stays at a shelter now (as a condition: msc/sections.py asks it with others)."""
    return sa.exists().where(_staying(person))


def shelter_referrals(person: Beneficiary) -> list[Referral]:
    """The person's accepted referrals to shelter services (a placement can come from one)."""

    return list(
        session.scalars(
            sa.select(Referral)
            .join(PartnerService, PartnerService.id == Referral.service_id)
            .where(
                Referral.beneficiary_id == person.id,
                Referral.status == ReferralStatus.ACCEPTED,
                PartnerService.sector == "shelter",
            )
        )
    )


def place(
    user: Actor,
    person: Beneficiary,
    shelter: Shelter,
    *,
    check_in_on: dt.date | None,
    planned_days: int | None,
    referral_id: int | None = None,
    override_reason: str | None = None,
) -> Placement:
    """Place a person; a full shelter takes them only with an override and a written reason."""
    if not shelter.active or not in_scope(user, shelter.centre_id):
        raise ShelterError(_l("Choose one of your centres' shelters."), field="shelter_id")
    today = clock.today_at(shelter.centre)
    if check_in_on is None or check_in_on > today + dt.timedelta(days=1) or check_in_on < today - dt.timedelta(days=30):
        raise ShelterError(_l("Give the check-in date (today, or a recent day)."), field="check_in_on")
    if not planned_days or not 1 <= planned_days <= MAX_STAY_DAYS:
        raise ShelterError(_l("Give the planned stay in nights (1 to %(n)d).", n=MAX_STAY_DAYS), field="planned_days")
    if current_placement(person) is not None:
        raise ShelterError(_l("This person is already staying at a shelter: check them out first."))
    if referral_id is not None and referral_id not in {r.id for r in shelter_referrals(person)}:
        raise ShelterError(_l("Choose one of the person's accepted shelter referrals."), field="referral_id")
    slot = "family" if shelter.mode == "family_units" else ("female" if person.sex == "female" else "male")
    full = occupancy(shelter).free(slot) <= 0
    if full:
        if not role_allows(user, Permission.SHELTER_OVERRIDE):
            raise ShelterError(
                _l("This shelter is full. A centre manager can place the person anyway with a written reason."),
                field="shelter_id",
            )
        if not (override_reason or "").strip():
            raise ShelterError(
                _l("This shelter is full: write why the person must stay here anyway."), field="override_reason"
            )
    placement = Placement(
        shelter=shelter,
        shelter_id=shelter.id,
        beneficiary=person,
        beneficiary_id=person.id,
        slot=slot,
        referral_id=referral_id,
        check_in_on=check_in_on,
        planned_days=planned_days,
        created_by_id=user.id,
    )
    if full:
        placement.override_reason = (override_reason or "").strip()
    session.add(placement)
    session.flush()
    audit.record(
        "shelter.place" + (".override" if placement.override_reason_ct else ""),
        object_type="placement",
        object_id=placement.id,
    )
    return placement


def check_out(user: Actor, placement: Placement, on: dt.date | None = None) -> None:
    """The person leaves; the place is free again."""
    if placement.check_out_on is not None:
        raise ShelterError(_l("This person has already checked out."))
    on = on or clock.today_at(placement.shelter.centre)
    if on < placement.check_in_on:
        raise ShelterError(_l("The check-out cannot be before the check-in."))
    placement.check_out_on = on
    audit.record("shelter.check_out", object_type="placement", object_id=placement.id)


def residents(shelter: Shelter) -> list[Placement]:
    """Who is staying now, longest first."""
    return list(
        session.scalars(
            sa.select(Placement)
            .where(Placement.shelter_id == shelter.id, Placement.check_out_on.is_(None))
            .order_by(Placement.check_in_on, Placement.id)
        )
    )
