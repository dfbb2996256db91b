"""Correction requests: the person says some of their data is wrong; the desk records what they asked,
then corrects the record (the change history says it was a correction) or refuses, saying why."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.beneficiaries.models import Beneficiary, BeneficiaryChange, CorrectionRequest, CorrectionStatus
from msc.beneficiaries.service import TRACKED_FIELDS
from msc.db import session, utcnow
from msc.errors import DomainError, checked_text
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import Permission, in_scope, role_allows

MAX_TEXT = 1000
CORRECTABLE = (*TRACKED_FIELDS, "needs")


class CorrectionError(DomainError):
    """A correction request that cannot be taken, said in words."""


def _check(user: Actor, person: Beneficiary) -> None:
    if not role_allows(user, Permission.EDIT) or not in_scope(user, person.centre_id):
        raise CorrectionError(_l("Only staff who may edit this record handle its corrections."))


def record(user: Actor, person: Beneficiary, fields: list[str], details: str | None) -> CorrectionRequest:
    """Record what the person says is wrong and what it should say."""
    _check(user, person)
    chosen = [f for f in CORRECTABLE if f in set(fields or [])]
    if not chosen or set(fields) - set(CORRECTABLE):
        raise CorrectionError(_l("Choose the data the person says is wrong."), field="fields")
    text = checked_text(
        details,
        field="details",
        error=CorrectionError,
        limit=MAX_TEXT,
        missing=_l("Write what the person says the data should be."),
    )
    request = CorrectionRequest(
        beneficiary=person, beneficiary_id=person.id, fields=",".join(chosen), recorded_by_id=user.id
    )
    request.details = text
    session.add(request)
    session.flush()
    audit.record(
        "beneficiary.correction_requested",
        object_type="beneficiary",
        object_id=person.id,
        detail=request.fields,
        user_id=user.id,
    )
    return request


def of(person: Beneficiary) -> list[CorrectionRequest]:
    return list(
        session.scalars(
            sa.select(CorrectionRequest)
            .where(CorrectionRequest.beneficiary_id == person.id)
            .order_by(CorrectionRequest.id.desc())
        )
    )


def pending(person: Beneficiary) -> list[CorrectionRequest]:
    return [r for r in of(person) if r.status == CorrectionStatus.PENDING]


def _decide(user: Actor, request: CorrectionRequest, status: str) -> None:
    _check(user, request.beneficiary)
    if request.status != CorrectionStatus.PENDING:
        raise CorrectionError(_l("This correction request was already handled."))
    request.status, request.decided_by_id, request.decided_at = status, user.id, utcnow()


def applied(user: Actor, request: CorrectionRequest, changed: list[str]) -> None:
    """The record was corrected through the edit form: the history says it was this request."""
    _decide(user, request, CorrectionStatus.APPLIED)
    session.add(
        BeneficiaryChange(
            beneficiary_id=request.beneficiary_id,
            user_id=user.id,
            action="correction",
            fields=",".join(changed),
        )
    )
    audit.record(
        "beneficiary.correction_applied",
        object_type="beneficiary",
        object_id=request.beneficiary_id,
        detail=",".join(changed),
        user_id=user.id,
    )


def refuse(user: Actor, request: CorrectionRequest, reason: str | None) -> None:
    """The data was right (or cannot be changed): say why, for the person."""
    text = checked_text(
        reason,
        field="reason",
        error=CorrectionError,
        limit=MAX_TEXT,
        missing=_l("Write why the data is not corrected."),
    )
    _decide(user, request, CorrectionStatus.REFUSED)
    request.refusal = text
    audit.record(
        "beneficiary.correction_refused",
        object_type="beneficiary",
        object_id=request.beneficiary_id,
        user_id=user.id,
    )
