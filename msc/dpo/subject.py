"""The subject-access report: everything held about one person, and everyone it was shared with.

Producing it is audited. Case notes marked sensitive are withheld (counted, not shown): their release
is a decision for the caseworker and the protection officer, not for a report."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from msc import clock
from msc.beneficiaries.corrections import of as corrections_of
from msc.beneficiaries.models import Beneficiary, BeneficiaryChange, Consent
from msc.beneficiaries.service import TRACKED_FIELDS
from msc.cases.models import Case, CaseNote
from msc.db import session, utcnow
from msc.feedback.models import Feedback
from msc.fund.models import Application, Decision, subject_tag
from msc.nfi.models import Distribution
from msc.referrals.models import Disclosure, Referral
from msc.security import audit
from msc.security.actor import Actor
from msc.security.models import AuditEvent, User


@dataclass
class Report:
    """What the person is told, in plain values (dates as ISO text for the JSON copy)."""

    case_number: str
    produced_at: str
    record: dict[str, Any]
    needs: list[str]
    household: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    cases: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    notes_withheld: int
    referrals: list[dict[str, Any]]
    disclosures: list[dict[str, Any]]
    hand_overs: list[dict[str, Any]]
    fund: list[dict[str, Any]]
    feedback: list[dict[str, Any]]
    trail: list[dict[str, Any]]
    changes: list[dict[str, Any]] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _iso(value: object, zone: dt.tzinfo) -> Any:
    """Dates as they are; moments at the person's centre's clock, with the offset (unambiguous, and the
    time the person lived it)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def build(user: Actor, person: Beneficiary) -> Report:
    """Gather the report (and audit that it was produced)."""
    zone = clock.zone(person.centre.country)

    def iso(value: object) -> Any:
        return _iso(value, zone)

    record = {name: iso(getattr(person, name)) for name in TRACKED_FIELDS}
    record.update(registered_at=iso(person.registered_at), centre=person.centre.code, card_token=person.card_token)
    needs = sorted(set(person.need_codes) | set(person.sensitive_needs or []))
    household = []
    if person.household is not None:
        household = [
            {"case_number": m.case_number, "relationship": m.relationship_to_head}
            for m in person.household.members
            if m.id != person.id
        ]
    consents = [
        {
            "purpose": c.purpose,
            "status": c.status,
            "legal_basis": c.legal_basis,
            "method": c.method,
            "given_by": c.given_by,
            "guardian": c.guardian_name,
            "recorded_at": iso(c.recorded_at),
        }
        for c in session.scalars(sa.select(Consent).where(Consent.beneficiary_id == person.id).order_by(Consent.id))
    ]
    cases = list(session.scalars(sa.select(Case).where(Case.beneficiary_id == person.id).order_by(Case.id)))
    notes, withheld = [], 0
    for note in session.scalars(
        sa.select(CaseNote).where(CaseNote.case_id.in_([c.id for c in cases] or [-1])).order_by(CaseNote.created_at)
    ):
        if note.sensitive:
            withheld += 1
        else:
            notes.append({"at": iso(note.created_at), "text": note.body})
    referrals = [
        {
            "service": r.service.name,
            "organisation": r.organisation.name,
            "status": r.status,
            "sent_at": iso(r.sent_at),
            "shared": r.categories,
        }
        for r in session.scalars(sa.select(Referral).where(Referral.beneficiary_id == person.id).order_by(Referral.id))
    ]
    disclosures = [
        {"organisation": d.organisation.name, "categories": d.categories.split(","), "at": iso(d.at)}
        for d in session.scalars(
            sa.select(Disclosure).where(Disclosure.beneficiary_id == person.id).order_by(Disclosure.id)
        )
    ]
    hand_overs = [
        {
            "day": iso(d.day),
            "centre": d.centre.code,
            "voided": d.voided_at is not None,
            "items": [{"item": line.item.code, "quantity": line.quantity} for line in d.lines],
        }
        for d in session.scalars(
            sa.select(Distribution).where(Distribution.beneficiary_id == person.id).order_by(Distribution.id)
        )
    ]
    applications = list(
        session.scalars(
            sa.select(Application).where(Application.subject_tag == subject_tag(person)).order_by(Application.id)
        )
    )
    decided: dict[int, list[dict[str, Any]]] = {a.id: [] for a in applications}
    for d in session.scalars(
        sa.select(Decision).where(Decision.application_id.in_(list(decided) or [-1])).order_by(Decision.id)
    ):
        decided[d.application_id].append({"outcome": d.outcome, "on": iso(d.decided_on)})
    fund = [
        {
            "submitted_on": iso(a.submitted_on),
            "case_type": a.case_type,
            "recommendation": a.recommendation,
            "decisions": decided[a.id],
        }
        for a in applications
    ]
    feedback = [
        {"kind": f.kind, "status": f.status, "received_on": iso(f.received_on)}
        for f in session.scalars(sa.select(Feedback).where(Feedback.beneficiary_id == person.id))
    ]
    events = session.execute(
        sa.select(AuditEvent, User.username, User.role)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(AuditEvent.object_type == "beneficiary", AuditEvent.object_id == str(person.id))
        .order_by(AuditEvent.seq)
    ).all()
    trail = [{"at": iso(e.at), "user": name or "", "role": role or "", "action": e.action} for e, name, role in events]
    changes = [
        {"at": iso(c.at), "action": c.action, "fields": c.fields}
        for c in session.scalars(
            sa.select(BeneficiaryChange)
            .where(BeneficiaryChange.beneficiary_id == person.id)
            .order_by(BeneficiaryChange.at)
        )
    ]

    corrections = [
        {
            "requested_at": iso(r.requested_at),
            "fields": r.field_names,
            "asked": r.details,
            "status": r.status,
            "decided_at": iso(r.decided_at),
            "refusal": r.refusal,
        }
        for r in corrections_of(person)
    ]
    audit.record("dpo.subject_access", object_type="beneficiary", object_id=person.id, user_id=user.id)
    return Report(
        person.case_number,
        iso(utcnow()),
        record,
        needs,
        household,
        consents,
        [
            {
                "opened_at": iso(c.opened_at),
                "status": c.status,
                "closed_at": iso(c.closed_at),
                "close_reason": c.close_reason,
            }
            for c in cases
        ],
        notes,
        withheld,
        referrals,
        disclosures,
        hand_overs,
        fund,
        feedback,
        trail,
        changes,
        corrections,
    )
