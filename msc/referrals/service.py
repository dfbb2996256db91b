"""Referral rules: consent, data-sharing agreements, the lifecycle, disclosures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.beneficiaries.models import Beneficiary
from msc.beneficiaries.service import has_consent
from msc.cases.models import Case, CaseStatus, assigned_case_ids
from msc.cases.service import may_access, withheld_before
from msc.db import Listing, listing, rows_changed, session, utcnow
from msc.errors import DomainError, checked_text
from msc.partners.models import PartnerService
from msc.partners.service import agreement_covers
from msc.partners.vocab import DATA_CATEGORIES
from msc.referrals.models import Disclosure, Referral, ReferralEvent, ReferralStatus
from msc.referrals.vocab import URGENCIES
from msc.security import audit
from msc.security.actor import SYSTEM, Actor
from msc.security.policy import Permission, in_scope, role_allows, scope_filter
from msc.signals import referral_status_moved

#: who may move a referral from one status to another
CASEWORKER_MOVES = {
    (ReferralStatus.DRAFT, ReferralStatus.SENT),
    (ReferralStatus.DRAFT, ReferralStatus.CANCELLED),
    (ReferralStatus.SENT, ReferralStatus.CANCELLED),
    (ReferralStatus.ACCEPTED, ReferralStatus.CANCELLED),
}
PARTNER_MOVES = {
    (ReferralStatus.SENT, ReferralStatus.ACCEPTED),
    (ReferralStatus.SENT, ReferralStatus.DECLINED),
    (ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED),
    (ReferralStatus.ACCEPTED, ReferralStatus.NO_SHOW),
}
PENDING = (ReferralStatus.DRAFT, ReferralStatus.SENT, ReferralStatus.ACCEPTED)
VISIBLE_TO_PARTNER = (
    ReferralStatus.SENT,
    ReferralStatus.ACCEPTED,
    ReferralStatus.COMPLETED,
    ReferralStatus.DECLINED,
    ReferralStatus.NO_SHOW,
)
MAX_TEXT = 2000


class ReferralError(DomainError):
    """A referral rule said no."""


def _move(user: Actor, referral: Referral, to: str) -> None:
    """Compare-and-set the status: of two people moving the same referral at once, one wins and the
    other is told, with nothing of theirs saved. Called before any other field changes."""
    referral_from = referral.status
    moved = rows_changed(
        sa.update(Referral)
        .where(Referral.id == referral.id, Referral.status == referral_from)
        .values(status=to)
        .execution_options(synchronize_session=False)
    )
    if moved != 1:
        raise ReferralError(
            _l("Someone else changed this referral a moment ago. Reload the page to see where it stands.")
        )
    so.attributes.set_committed_value(referral, "status", to)
    referral_status_moved.send(referral, session=session, from_status=referral_from, to_status=to)
    session.add(ReferralEvent(referral_id=referral.id, user_id=user.id, from_status=referral_from, to_status=to))
    audit.record(f"referral.{to}", object_type="referral", object_id=referral.id, detail=f"{referral_from}>{to}")


def _check_consent(person: Beneficiary) -> None:
    if not has_consent(person, "referral"):
        raise ReferralError(
            _l(
                "This person has not given consent to be referred. Record their consent "
                "(a child's through a guardian or a best-interests decision) first."
            )
        )


def needs_override(referral: Referral, today: dt.date) -> bool:
    """No active agreement covers what this referral shares, and no protection officer has allowed it."""
    return referral.override_by_id is None and not agreement_covers(
        referral.organisation, set(referral.categories), today
    )


def create(
    user: Actor, case: Case, service_id: int | None, urgency: str, reason: str, categories: list[str]
) -> Referral:
    """A draft referral; the rules on consent and agreements apply already."""
    if case.status == CaseStatus.CLOSED:
        raise ReferralError(_l("This case is closed: reopen it to refer the person."))
    service = session.get(PartnerService, service_id) if service_id else None
    if service is None or not service.active or not service.organisation.active:
        raise ReferralError(_l("Choose a service from the directory."), field="service_id")
    if urgency not in URGENCIES:
        raise ReferralError(_l("Choose the urgency."), field="urgency")
    chosen = set(categories)
    if "identity" not in chosen or not chosen <= set(DATA_CATEGORIES):
        raise ReferralError(
            _l("A referral shares at least the person's name, and only data from the list."), field="categories"
        )
    reason_text = checked_text(reason, field="reason", error=ReferralError, limit=MAX_TEXT)
    person = case.beneficiary
    _check_consent(person)
    referral = Referral(
        case_id=case.id,
        case=case,
        beneficiary=person,
        beneficiary_id=person.id,
        centre_id=case.centre_id,
        service=service,
        service_id=service.id,
        organisation_id=service.organisation_id,
        urgency=urgency,
        created_by_id=user.id,
        shared=",".join(c for c in DATA_CATEGORIES if c in chosen),
    )
    referral.reason = reason_text
    session.add(referral)
    session.flush()
    session.add(ReferralEvent(referral_id=referral.id, user_id=user.id, to_status=ReferralStatus.DRAFT))
    audit.record("referral.create", object_type="referral", object_id=referral.id, detail=referral.shared)
    return referral


def override_agreement(user: Actor, referral: Referral, reason: str) -> None:
    """A protection officer allows a referral that no active agreement covers, with a written reason."""
    if not role_allows(user, Permission.REFERRAL_OVERRIDE) or not in_scope(user, referral.centre_id):
        raise ReferralError(_l("Only a protection officer working for this centre can allow this."))
    if referral.status != ReferralStatus.DRAFT:
        raise ReferralError(_l("Only a draft referral can be allowed this way."))
    referral.override_reason = checked_text(reason, field="reason", error=ReferralError, limit=MAX_TEXT)
    referral.override_by_id = user.id
    audit.record("referral.agreement_override", object_type="referral", object_id=referral.id)


def send(user: Actor, referral: Referral) -> None:
    """Send a draft: consent and the agreement (or an override) are checked again, the deadline set."""
    if (referral.status, ReferralStatus.SENT) not in CASEWORKER_MOVES:
        raise ReferralError(_l("Only a draft referral can be sent."))
    now = utcnow()
    _check_consent(referral.beneficiary)
    if needs_override(referral, clock.today_at(referral.beneficiary.centre)):
        raise ReferralError(
            _l(
                "%(org)s has no active data-sharing agreement covering this data. A protection "
                "officer can allow it with a written reason.",
                org=referral.organisation.name,
            )
        )
    hours = current_app.config["REFERRAL_DEADLINE_HOURS"][referral.urgency]
    _move(user, referral, ReferralStatus.SENT)
    referral.sent_at, referral.deadline_at = now, now + dt.timedelta(hours=hours)


def cancel(user: Actor, referral: Referral) -> None:
    """The caseworker cancels a pending referral; the partner loses access."""
    if (referral.status, ReferralStatus.CANCELLED) not in CASEWORKER_MOVES:
        raise ReferralError(_l("This referral can no longer be cancelled."))
    _move(user, referral, ReferralStatus.CANCELLED)


def answer(user: Actor, referral: Referral, to: str, text: str | None = None) -> None:
    """The partner accepts, declines (with a reason), records a no-show, or completes (with an outcome)."""
    if user.organisation_id != referral.organisation_id:
        raise ReferralError(_l("This referral is not addressed to your organisation."))
    if (referral.status, to) not in PARTNER_MOVES:
        raise ReferralError(_l("This referral cannot go from its current status to that one."))
    answer_text = (
        checked_text(text, field="answer", error=ReferralError, limit=MAX_TEXT)
        if to in (ReferralStatus.DECLINED, ReferralStatus.COMPLETED)
        else None
    )
    _move(user, referral, to)
    if answer_text:
        referral.answer = answer_text
    referral.answered_at = referral.answered_at or utcnow()


def cancel_on_withdrawal(person: Beneficiary, user: Actor = SYSTEM, purpose: str = "", **_kw: object) -> None:
    """Withdrawing consent to referral cancels the person's pending referrals at once (it follows the
    consent_withdrawn signal, connected by create_app)."""
    if purpose != "referral":
        return
    for referral in session.scalars(
        sa.select(Referral).where(Referral.beneficiary_id == person.id, Referral.status.in_(PENDING))
    ):
        _move(user, referral, ReferralStatus.CANCELLED)


# ---- the partner's view -------------------------------------------------------------------

#: lists show the person's case number and the organisation: skip needs and service centres
LEAN = (
    so.joinedload(Referral.beneficiary).lazyload(Beneficiary.needs),
    so.joinedload(Referral.service).lazyload(PartnerService.centres),
)
PENDING_FOR_PARTNER = (ReferralStatus.SENT, ReferralStatus.ACCEPTED)
ANSWERED_BY_PARTNER = (ReferralStatus.COMPLETED, ReferralStatus.DECLINED, ReferralStatus.NO_SHOW)
PORTAL_PAGE = 50


def for_partner(user: Actor, view: str = "pending", page: int = 1) -> tuple[list[Referral], bool]:
    """A page of the referrals addressed to the partner user's organisation: those waiting for them
    (soonest deadline first) or those already answered (newest first); never drafts or cancelled."""
    if not user.organisation_id:
        return [], False
    statuses = ANSWERED_BY_PARTNER if view == "answered" else PENDING_FOR_PARTNER
    order = (Referral.sent_at.desc(), Referral.id.desc()) if view == "answered" else (Referral.deadline_at, Referral.id)
    page = max(1, page)
    rows = list(
        session.scalars(
            sa.select(Referral)
            .where(Referral.organisation_id == user.organisation_id, Referral.status.in_(statuses))
            .order_by(*order)
            .offset((page - 1) * PORTAL_PAGE)
            .limit(PORTAL_PAGE + 1)
            .options(*LEAN)
        )
    )
    return rows[:PORTAL_PAGE], len(rows) > PORTAL_PAGE


def partner_referral(user: Actor, uid: str) -> Referral | None:
    """One referral the partner may open, or None."""
    referral = session.scalar(sa.select(Referral).where(Referral.uid == uid))
    if (
        referral is None
        or referral.organisation_id != user.organisation_id
        or referral.status not in VISIBLE_TO_PARTNER
    ):
        return None
    return referral


def reachable(user: Actor, referral: Referral, *, read: bool = False) -> bool:
    """A referral is within reach through its case (msc.cases.service.may_access), except one made before the
    person's record moved to the case's centre without its referrals; for a read, the centre that made it
    keeps reaching it after the record moved on (msc/continuity)."""
    if read and in_scope(user, referral.centre_id):
        return True
    if not may_access(user, referral.case):
        return False
    cutoff = withheld_before(referral.case, "referrals")
    return cutoff is None or referral.created_at >= cutoff


def disclose(user: Actor, referral: Referral) -> None:
    """Record that the partner saw the shared data (every view counts)."""
    session.add(
        Disclosure(
            referral_id=referral.id,
            beneficiary_id=referral.beneficiary_id,
            organisation_id=referral.organisation_id,
            user_id=user.id,
            categories=referral.shared,
        )
    )
    audit.record("referral.disclosure", object_type="referral", object_id=referral.id, detail=referral.shared)


def shared_view(referral: Referral, today: dt.date) -> dict[str, Any]:
    """Only the shared categories of the person, as a partner (or the slip) shows them."""
    p = referral.beneficiary
    out: dict[str, Any] = {"case_number": p.case_number}
    cats = set(referral.categories)
    if "identity" in cats:
        out["name"] = p.full_name
    if "contact" in cats:
        out["phone"] = p.phone
    if "demographics" in cats:
        out.update(sex=p.sex, age=p.age_on(today), nationality=p.nationality)
    if "date_of_birth" in cats:
        out["date_of_birth"] = p.date_of_birth
    if "document" in cats:
        out["document"] = (p.document_type, p.document_number)
    if "specific_needs" in cats:
        out["needs"] = p.need_codes  # never the sensitive ones
    if "household" in cats and p.household is not None:
        out["household"] = [(m.relationship_to_head, m.age_on(today)) for m in p.household.members if m.id != p.id]
    return out


# ---- lists ----------------------------------------------------------------------------------


def of_case(case: Case) -> list[Referral]:
    """A case's referrals, newest first (of those its centre received, when the person's record moved). The
    person comes from the session (the case's), and the services without the centres they serve."""
    stmt = (
        sa.select(Referral)
        .where(Referral.case_id == case.id)
        .options(so.lazyload(Referral.beneficiary), so.joinedload(Referral.service).lazyload(PartnerService.centres))
    )
    cutoff = withheld_before(case, "referrals")
    if cutoff is not None:
        stmt = stmt.where(Referral.created_at >= cutoff)
    return list(session.scalars(stmt.order_by(Referral.created_at.desc(), Referral.id.desc())))


def _disclosed(person: Beneficiary) -> sa.ColumnElement[bool]:
    return Disclosure.beneficiary_id == person.id


def disclosures_of(person: Beneficiary) -> list[Disclosure]:
    """Every time a partner saw this person's data."""
    return list(session.scalars(sa.select(Disclosure).where(_disclosed(person)).order_by(Disclosure.at.desc())))


def was_disclosed(person: Beneficiary) -> sa.Exists:
    """Whether a partner ever saw this person's data (as a condition: msc/sections.py asks it with others)."""
    return sa.exists().where(_disclosed(person))


HOME_LIST = 20


def waiting_and_overdue(user: Actor, now: dt.datetime, limit: int = HOME_LIST) -> tuple[Listing, Listing]:
    """Sent referrals of my cases still within their deadline, and those past it (soonest first)."""

    my_cases = assigned_case_ids(user.id)
    # driven from my cases (index on case_id, status), not from every sent referral of the region
    mine = sa.select(Referral).where(Referral.case_id.in_(my_cases), Referral.status == ReferralStatus.SENT)
    soonest = mine.order_by(Referral.deadline_at)
    return (
        listing(soonest.where(Referral.deadline_at >= now), limit, *LEAN),
        listing(soonest.where(Referral.deadline_at < now), limit, *LEAN),
    )


def waiting_for_partner(user: Actor, limit: int = HOME_LIST) -> Listing:
    """The referrals waiting for the partner user's organisation (sent or accepted), soonest deadline first."""
    if not user.organisation_id:
        return Listing([], 0)
    stmt = (
        sa.select(Referral)
        .where(Referral.organisation_id == user.organisation_id, Referral.status.in_(PENDING_FOR_PARTNER))
        .order_by(Referral.deadline_at, Referral.id)
    )
    return listing(stmt, limit, *LEAN)


def overdue_in_scope(user: Actor, now: dt.datetime) -> int:
    """How many referrals sent from the user's centres are past their deadline without an answer."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Referral)
            .where(
                scope_filter(user, Referral.centre_id),
                Referral.status == ReferralStatus.SENT,
                Referral.deadline_at < now,
            )
        )
        or 0
    )
