"""The subject-access report: everything held about one person, and everyone it was shared with.

Producing it is audited. Case notes marked sensitive are withheld (counted, not shown): their release
is a decision for the caseworker and the protection officer, not for a report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from msc.beneficiaries.corrections import of as corrections_of
from msc.beneficiaries.models import Beneficiary, BeneficiaryChange, Consent
from msc.beneficiaries.service import TRACKED_FIELDS
from msc.cases.models import Case, CaseNote, Task
from msc.centres import stays
from msc.db import session, utcnow
from msc.feedback.models import Feedback
from msc.fund.models import Application, Decision, subject_tag
from msc.nfi.models import Distribution, NfiItem
from msc.referrals.models import Disclosure, Referral
from msc.security import audit
from msc.security.actor import Actor
from msc.security.models import AuditEvent, User
from msc.shelters.models import Placement


@dataclass
class Report:
    """Everything held about the person, as held (codes, dates); msc.dpo.subject_words puts it in their words."""

    case_number: str
    produced_at: dt.datetime
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
    tasks: list[dict[str, Any]] = field(default_factory=list)
    shelter: list[dict[str, Any]] = field(default_factory=list)
    #: the centres that held the record along the route, first to last
    route: list[dict[str, Any]] = field(default_factory=list)
    #: the country of the person's centre: dates are shown on its clock
    country: str | None = None


def build(user: Actor, person: Beneficiary) -> Report:
    """Gather the report (and audit that it was produced)."""
    record = {name: getattr(person, name) for name in TRACKED_FIELDS}
    record.update(registered_at=person.registered_at, centre=person.centre.name, card_token=person.card_token)
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
            "best_interests": c.best_interests_note,
            "recorded_at": c.recorded_at,
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
            notes.append({"at": note.created_at, "text": note.body})
    referrals = [
        {
            "service": r.service.name,
            "organisation": r.organisation.name,
            "status": r.status,
            "sent_at": r.sent_at,
            "shared": r.categories,
        }
        for r in session.scalars(sa.select(Referral).where(Referral.beneficiary_id == person.id).order_by(Referral.id))
    ]
    disclosures = [
        {"organisation": d.organisation.name, "categories": d.categories.split(","), "at": d.at}
        for d in session.scalars(
            sa.select(Disclosure).where(Disclosure.beneficiary_id == person.id).order_by(Disclosure.id)
        )
    ]
    hand_overs = [
        {
            "day": d.day,
            "centre": d.centre.code,
            "voided": d.voided_at is not None,
            "centre_name": d.centre.name,
            "items": [
                {"item": line.item.code, "names": _item_names(line.item), "quantity": line.quantity} for line in d.lines
            ],
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
        decided[d.application_id].append(
            {
                "outcome": d.outcome,
                "on": d.decided_on,
                "period_ends_on": d.period_ends_on,
                "lines": {x.line_id: {"approved": x.approved, "paid": x.disbursed} for x in d.lines},
            }
        )
    fund = [
        {
            "submitted_on": a.submitted_on,
            "case_type": a.case_type,
            "recommendation": a.recommendation,
            "decisions": decided[a.id],
            "lines": [
                {
                    "category": line.category,
                    "requested": line.amount,
                    "currency": line.currency,
                    # the decision in force (the latest) says what was approved and paid
                    **(decided[a.id][-1]["lines"].get(line.id, {}) if decided[a.id] else {}),
                }
                for line in a.lines
            ],
        }
        for a in applications
    ]
    feedback = [
        {"kind": f.kind, "status": f.status, "received_on": f.received_on, "text": f.text, "response": f.response}
        for f in session.scalars(sa.select(Feedback).where(Feedback.beneficiary_id == person.id))
    ]
    events = session.execute(
        sa.select(AuditEvent, User.username, User.role)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(AuditEvent.object_type == "beneficiary", AuditEvent.object_id == str(person.id))
        .order_by(AuditEvent.seq)
    ).all()
    trail = [{"at": e.at, "user": name or "", "role": role or "", "action": e.action} for e, name, role in events]
    changes = [
        {"at": c.at, "action": c.action, "fields": c.fields}
        for c in session.scalars(
            sa.select(BeneficiaryChange)
            .where(BeneficiaryChange.beneficiary_id == person.id)
            .order_by(BeneficiaryChange.at)
        )
    ]

    corrections = [
        {
            "requested_at": r.requested_at,
            "fields": r.field_names,
            "asked": r.details,
            "status": r.status,
            "decided_at": r.decided_at,
            "refusal": r.refusal,
        }
        for r in corrections_of(person)
    ]
    tasks = [
        {"title": t.title, "due_on": t.due_on, "done_at": t.done_at}
        for t in session.scalars(
            sa.select(Task).where(Task.case_id.in_([c.id for c in cases] or [-1])).order_by(Task.due_on, Task.id)
        )
    ]
    shelter = [
        {
            "shelter": p.shelter.name,
            "centre": p.shelter.centre.name,
            "slot": p.slot,
            "check_in_on": p.check_in_on,
            "planned_days": p.planned_days,
            "check_out_on": p.check_out_on,
        }
        for p in session.scalars(
            sa.select(Placement).where(Placement.beneficiary_id == person.id).order_by(Placement.check_in_on)
        )
    ]
    route = [
        {
            "centre": s.centre.name,
            "country": s.centre.country,
            "how": s.how,
            "arrived_on": s.arrived_on,
            "left_on": s.left_on,
        }
        for s in stays.route_of(person.id)
    ]
    audit.record("dpo.subject_access", object_type="beneficiary", object_id=person.id, user_id=user.id)
    return Report(
        person.case_number,
        utcnow(),
        record,
        needs,
        household,
        consents,
        [
            {
                "opened_at": c.opened_at,
                "status": c.status,
                "risk_level": c.risk_level,
                "priority": c.priority_override or c.priority,
                "closed_at": c.closed_at,
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
        tasks,
        shelter,
        route,
        person.centre.country,
    )


def _item_names(item: NfiItem) -> dict[str, str]:
    """An item's name in each language (the report is put in the person's, not the officer's)."""
    return {"es": item.name_es, "pt_BR": item.name_pt, "en": item.name_en}
