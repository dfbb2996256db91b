"""Directory rules: who sees which services, who may change them, what an agreement covers."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.centres.models import Centre
from msc.db import session, utcnow
from msc.errors import DomainError
from msc.partners.models import Organisation, PartnerService, service_centres
from msc.partners.vocab import DATA_CATEGORIES, ORGANISATION_KINDS, SECTORS
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import centre_ids_in_scope


class DirectoryError(DomainError):
    """A directory rule said no."""


def _user_countries(user: Actor) -> set[str] | None:
    ids = centre_ids_in_scope(user)
    if ids is None:
        return None
    countries = set(session.scalars(sa.select(Centre.country).where(Centre.id.in_(ids or [-1]))))
    if user.scope == "country" and user.country:
        countries.add(user.country)
    return countries


def visible_services(user: Actor, sector: str | None = None, centre_id: int | None = None) -> list[PartnerService]:
    """Active services serving the user's centres, or their countries when no centre is named."""
    stmt = (
        sa.select(PartnerService)
        .join(Organisation)
        .where(PartnerService.active.is_(True), Organisation.active.is_(True))
        .order_by(PartnerService.sector, Organisation.name, PartnerService.name)
    )
    ids = centre_ids_in_scope(user)
    if ids is not None:
        serves_mine = sa.exists().where(
            service_centres.c.service_id == PartnerService.id, service_centres.c.centre_id.in_(ids or [-1])
        )
        no_centre = ~sa.exists().where(service_centres.c.service_id == PartnerService.id)
        stmt = stmt.where(
            sa.or_(serves_mine, sa.and_(no_centre, Organisation.country.in_(_user_countries(user) or ["---"])))
        )
    if sector:
        stmt = stmt.where(PartnerService.sector == sector)
    if centre_id:
        stmt = stmt.where(
            sa.exists().where(
                service_centres.c.service_id == PartnerService.id, service_centres.c.centre_id == centre_id
            )
        )
    return list(session.scalars(stmt))


def may_edit_service(user: Actor, service: PartnerService) -> bool:
    """Regional users edit any service; others only services whose centres are all theirs."""
    ids = centre_ids_in_scope(user)
    if ids is None:
        return True
    return bool(service.centres) and all(c.id in ids for c in service.centres)


def save_organisation(
    user: Actor,
    org: Organisation | None,
    *,
    name: str,
    kind: str,
    country: str,
    contact: str | None,
    agreement_until: dt.date | None,
    categories: list[str],
    active: bool,
) -> Organisation:
    """Create or update an organisation and its data-sharing agreement."""
    if kind not in ORGANISATION_KINDS:
        raise DirectoryError(_l("Choose the kind of organisation."), field="kind")
    unknown = set(categories) - set(DATA_CATEGORIES)
    if unknown:
        raise DirectoryError(_l("Choose data categories from the list."), field="categories")
    if agreement_until is not None and not categories:
        raise DirectoryError(_l("Say which data categories the agreement covers."), field="categories")
    if agreement_until is None and categories:
        raise DirectoryError(
            _l("Give the date until which the agreement holds, or clear the categories."), field="agreement_until"
        )
    clash = session.scalar(sa.select(Organisation).where(sa.func.lower(Organisation.name) == name.lower()))
    if clash is not None and clash is not org:
        raise DirectoryError(_l("Another organisation already has this name."), field="name")
    if org is None:
        org = Organisation(name=name)
        session.add(org)
    else:
        org.updated_at = utcnow()
    before = (org.agreement_until, org.agreement_categories)
    org.name, org.kind, org.country, org.contact, org.active = name, kind, country, contact or None, active
    org.agreement_until = agreement_until
    org.agreement_categories = ",".join(c for c in DATA_CATEGORIES if c in categories)
    session.flush()
    changed = "agreement" if before != (org.agreement_until, org.agreement_categories) else None
    audit.record("partner.organisation.save", object_type="organisation", object_id=org.id, detail=changed)
    return org


def save_service(
    user: Actor,
    org: Organisation,
    service: PartnerService | None,
    *,
    name: str,
    sector: str,
    centre_ids: list[int],
    municipalities: str | None,
    eligibility: str | None,
    languages: list[str],
    opening_hours: str | None,
    contact: str | None,
    active: bool,
) -> PartnerService:
    """Create or update a service; a centre manager only links centres within their reach."""
    if sector not in SECTORS:
        raise DirectoryError(_l("Choose the sector."), field="sector")
    if not centre_ids and not municipalities:
        raise DirectoryError(_l("Choose the centres served, or write the municipalities."), field="centre_ids")
    ids = centre_ids_in_scope(user)
    if ids is not None and not set(centre_ids) <= ids:
        raise DirectoryError(_l("You can only link the centres you work for."), field="centre_ids")
    if ids is not None and not centre_ids:
        raise DirectoryError(_l("Choose at least one of your centres."), field="centre_ids")
    if service is not None and not may_edit_service(user, service):
        raise DirectoryError(_l("This service also serves centres you do not work for: ask an administrator."))
    if service is None:
        service = PartnerService(organisation=org)
        session.add(service)
    else:
        service.updated_at = utcnow()
    service.name, service.sector, service.municipalities = name, sector, municipalities or None
    service.eligibility, service.opening_hours, service.contact = (
        eligibility or None,
        opening_hours or None,
        contact or None,
    )
    service.languages = ",".join(sorted(set(languages)))
    service.active = active
    service.centres = list(session.scalars(sa.select(Centre).where(Centre.id.in_(centre_ids or [-1]))))
    session.flush()
    audit.record("partner.service.save", object_type="partner_service", object_id=service.id)
    return service


def agreement_covers(org: Organisation, categories: set[str], today: dt.date) -> bool:
    """Whether an active agreement covers every category (referrals share nothing else)."""
    return org.agreement_status(today) == "active" and categories <= set(org.category_codes)
