"""Lifecycle statuses are StrEnums: their values are the strings the database has always held (no
migration), rows store the plain string, the transition tables name only members, and every member
has its label."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import pytest
import sqlalchemy as sa

from msc.beneficiaries import corrections
from msc.beneficiaries import service as reception
from msc.beneficiaries import vocab as reception_vocab
from msc.beneficiaries.models import Beneficiary, Consent, ConsentStatus, CorrectionRequest, CorrectionStatus
from msc.cases import service as cases
from msc.cases import vocab as case_vocab
from msc.cases.models import Case, CaseStatus
from msc.centres.models import Centre
from msc.crypto import rotation
from msc.crypto.rotation import GenerationState, KekRotationState, KeyRotation
from msc.db import session
from msc.dpo import glass, oversight
from msc.dpo import vocab as dpo_vocab
from msc.feedback import service as feedback
from msc.feedback import vocab as feedback_vocab
from msc.feedback.models import Feedback, FeedbackStatus
from msc.fund import criteria_sets, decisions
from msc.fund import oversight as fund_oversight
from msc.fund import vocab as fund_vocab
from msc.fund.common import FundError
from msc.fund.models import AuditFinding, CriteriaSet, CriteriaStatus, Decision, DecisionOutcome, Finding
from msc.referrals import service as referrals
from msc.referrals import vocab as referral_vocab
from msc.referrals.models import Referral, ReferralStatus
from msc.reports import activity as report_activity
from msc.security.emergency import BreakGlass, ReviewOutcome
from msc.security.models import User
from tests.test_fund_service import apply, fund  # noqa: F401 (fund is a fixture)

#: each enum, the column it fills, its default, and the values stored before there were enums: never to change
STORED = [
    (CaseStatus, Case.__table__.c.status, CaseStatus.OPEN, ["open", "active", "closed"]),
    (
        ReferralStatus,
        Referral.__table__.c.status,
        ReferralStatus.DRAFT,
        ["draft", "sent", "accepted", "completed", "declined", "cancelled", "no_show"],
    ),
    (
        FeedbackStatus,
        Feedback.__table__.c.status,
        FeedbackStatus.RECEIVED,
        ["received", "in_progress", "answered", "closed"],
    ),
    (
        CorrectionStatus,
        CorrectionRequest.__table__.c.status,
        CorrectionStatus.PENDING,
        ["pending", "applied", "refused"],
    ),
    (ConsentStatus, Consent.__table__.c.status, None, ["given", "refused", "withdrawn"]),
    (CriteriaStatus, CriteriaSet.__table__.c.status, CriteriaStatus.DRAFT, ["draft", "published", "retired"]),
    (DecisionOutcome, Decision.__table__.c.outcome, None, ["approve", "reject", "return"]),
    (Finding, AuditFinding.__table__.c.finding, None, ["agrees", "disagrees", "follow_up"]),
    (KekRotationState, KeyRotation.__table__.c.state, None, ["running", "done"]),
    (GenerationState, KeyRotation.__table__.c.state, None, ["building", "active", "retiring", "retired"]),
    (ReviewOutcome, BreakGlass.__table__.c.outcome, None, ["justified", "not_justified"]),
]
IDS = [row[0].__name__ for row in STORED]

#: the transition tables and the lists of statuses the rules use, and the enum each names
TABLES = {
    "cases.TRANSITIONS": (
        [*cases.TRANSITIONS, *(to for targets in cases.TRANSITIONS.values() for to in targets)],
        CaseStatus,
    ),
    "referrals.CASEWORKER_MOVES": ([s for move in referrals.CASEWORKER_MOVES for s in move], ReferralStatus),
    "referrals.PARTNER_MOVES": ([s for move in referrals.PARTNER_MOVES for s in move], ReferralStatus),
    "referrals.PENDING": (referrals.PENDING, ReferralStatus),
    "referrals.VISIBLE_TO_PARTNER": (referrals.VISIBLE_TO_PARTNER, ReferralStatus),
    "referrals.PENDING_FOR_PARTNER": (referrals.PENDING_FOR_PARTNER, ReferralStatus),
    "referrals.ANSWERED_BY_PARTNER": (referrals.ANSWERED_BY_PARTNER, ReferralStatus),
    "reports.REFERRAL_STATUSES": (report_activity.REFERRAL_STATUSES, ReferralStatus),
    "feedback.STATUSES": (feedback.STATUSES, FeedbackStatus),
    "decisions.OUTCOMES": (decisions.OUTCOMES, DecisionOutcome),
    "fund.oversight.FINDINGS": (fund_oversight.FINDINGS, Finding),
}

#: the translated labels of each enum (keyed by the plain strings, as the pages look them up)
LABELS = {
    "cases": (case_vocab.STATUSES, CaseStatus),
    "referrals": (referral_vocab.STATUSES, ReferralStatus),
    "feedback": (feedback_vocab.STATUSES, FeedbackStatus),
    "consents": (reception_vocab.CONSENT_STATUSES, ConsentStatus),
    "fund outcomes": (fund_vocab.OUTCOMES, DecisionOutcome),
    "fund findings": (fund_vocab.FINDINGS, Finding),
    "break-glass reviews": (dpo_vocab.REVIEW_OUTCOMES, ReviewOutcome),
}


def _raw(table: str, row_id: int, column: str = "status"):
    """A column as the database holds it, read without the ORM."""
    session.flush()
    return session.execute(sa.text(f"SELECT {column} FROM {table} WHERE id = :id"), {"id": row_id}).scalar_one()


@pytest.mark.parametrize("enum, column, default, values", STORED, ids=IDS)
def test_values_are_the_strings_the_database_holds(enum, column, default, values):
    assert [m.value for m in enum] == values
    assert all(len(v) <= column.type.length for v in values)  # every value fits the column as it is
    assert (column.default.arg if column.default is not None else None) is default


@pytest.mark.parametrize("enum, column, default, values", STORED, ids=IDS)
def test_members_reach_the_database_as_plain_strings(ctx, enum, column, default, values):
    for member in enum:
        stored = session.scalar(sa.select(sa.cast(sa.bindparam("v", member, type_=column.type), column.type)))
        assert type(stored) is str and stored == member.value


@pytest.mark.parametrize("values, enum", TABLES.values(), ids=TABLES.keys())
def test_transition_tables_name_only_members(values, enum: type[StrEnum]):
    assert values and all(type(v) is enum for v in values)


def test_every_status_is_in_the_tables_that_must_cover_them_all():
    assert set(cases.TRANSITIONS) == set(CaseStatus)
    assert {s for move in referrals.CASEWORKER_MOVES | referrals.PARTNER_MOVES for s in move} == set(ReferralStatus)
    assert set(feedback.STATUSES) == set(FeedbackStatus)
    assert set(decisions.OUTCOMES) == set(DecisionOutcome)
    assert set(fund_oversight.FINDINGS) == set(Finding)


@pytest.mark.parametrize("labels, enum", LABELS.values(), ids=LABELS.keys())
def test_every_member_has_its_label_in_order(labels, enum):
    assert list(labels) == list(enum)


def test_a_case_stores_its_status_as_the_plain_string(ctx, make):
    cw = session.get(User, make.user("cw", "caseworker"))
    person = session.scalar(
        sa.select(Beneficiary).where(Beneficiary.uid == make.person(given_names="Ana", family_names="Rojas"))
    )
    case = cases.open_case(cw, person)
    assert _raw("cases", case.id) == "open"
    cases.assess(cw, case, {"food": "some"}, [])
    assert _raw("cases", case.id) == "active"
    cases.change_status(cw, case, "closed", "needs_met")
    assert _raw("cases", case.id) == "closed"


def test_a_referral_and_its_history_store_plain_strings(ctx, make):
    partner_id = make.user("socio", "partner", centres=())
    uid = make.referral(
        make.user("cw", "caseworker"), make.partner()[1], partner_id, given_names="Rosa", family_names="Peña"
    )
    referral = session.scalar(sa.select(Referral).where(Referral.uid == uid))
    assert _raw("referrals", referral.id) == "sent"
    referrals.answer(session.get(User, partner_id), referral, ReferralStatus.ACCEPTED)
    assert _raw("referrals", referral.id) == "accepted"
    moves = session.execute(
        sa.text("SELECT from_status, to_status FROM referral_events WHERE referral_id = :id ORDER BY id"),
        {"id": referral.id},
    ).all()
    assert [tuple(m) for m in moves] == [(None, "draft"), ("draft", "sent"), ("sent", "accepted")]
    assert all(type(s) is str for m in moves for s in m if s is not None)


def test_feedback_stores_its_status_as_the_plain_string(ctx, make):
    boss = session.get(User, make.user("boss", "centre_manager"))
    centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
    question = feedback.submit(centre, channel="self_service", kind="question", text="¿Hasta qué hora abren?").item
    thanks = feedback.submit(centre, channel="self_service", kind="thanks", text="Gracias por todo.").item
    assert _raw("feedback", question.id) == "received" and _raw("feedback", thanks.id) == "closed"
    feedback.update(boss, question, status=FeedbackStatus.IN_PROGRESS)
    assert _raw("feedback", question.id) == "in_progress"
    feedback.update(boss, question, status=FeedbackStatus.ANSWERED, response="Hasta las 5 de la tarde.")
    assert _raw("feedback", question.id) == "answered"


def test_a_correction_request_stores_its_status_as_the_plain_string(ctx, make):
    clerk = session.get(User, make.user("clerk", "reception"))
    person = session.scalar(
        sa.select(Beneficiary).where(Beneficiary.uid == make.person(given_names="Ines", family_names="Mora"))
    )
    first = corrections.record(clerk, person, ["given_names"], "Se llama Inés, con tilde.")
    second = corrections.record(clerk, person, ["family_names"], "Mora Díaz")
    assert _raw("correction_requests", first.id) == "pending"
    corrections.applied(clerk, first, ["given_names"])
    corrections.refuse(clerk, second, "El pasaporte dice Mora.")
    assert _raw("correction_requests", first.id) == "applied" and _raw("correction_requests", second.id) == "refused"


def test_consents_store_their_status_as_the_plain_string(ctx, make):
    clerk = session.get(User, make.user("clerk", "reception"))
    consents = [
        reception.ConsentData(purpose="registration", status=ConsentStatus.GIVEN),
        reception.ConsentData(purpose="referral", status=ConsentStatus.GIVEN),
        reception.ConsentData(purpose="photo", status=ConsentStatus.REFUSED),
    ]
    person = session.scalar(
        sa.select(Beneficiary).where(
            Beneficiary.uid == make.person(given_names="Ana", family_names="Rojas", consents=consents)
        )
    )
    withdrawal = reception.record_consent(
        clerk, person, reception.ConsentData(purpose="referral", status=ConsentStatus.WITHDRAWN)
    )
    assert sorted(_raw("consents", c.id) for c in person.consents) == ["given", "given", "refused", "withdrawn"]
    assert _raw("consents", withdrawal.id) == "withdrawn" and not reception.has_consent(person, "referral")


def test_criteria_versions_decisions_and_findings_store_plain_strings(fund):  # noqa: F811 (the fixture above)
    users, today = fund["users"], fund["today"]
    draft = criteria_sets.save_draft(
        users["admin"], None, criteria_sets.definition_of(criteria_sets.published_for(today)), today
    )
    assert _raw("fund_criteria_sets", draft.id) == "draft"
    criteria_sets.publish(users["regional"], draft)
    assert _raw("fund_criteria_sets", draft.id) == "published"
    criteria_sets.retire(users["regional"], draft)
    assert _raw("fund_criteria_sets", draft.id) == "retired"

    application = apply(fund)
    medical = application.lines[0]
    approval = decisions.decide(
        users["po1"],
        application,
        DecisionOutcome.APPROVE,
        {medical.id: 100},
        period_ends_on=today + dt.timedelta(days=90),
    )
    returned = decisions.decide(users["po2"], application, DecisionOutcome.RETURN, justification="Falta el informe.")
    assert _raw("fund_decisions", approval.id, "outcome") == "approve"
    assert _raw("fund_decisions", returned.id, "outcome") == "return"

    auditor = users["regional"]
    sample = fund_oversight.draw_sample(auditor, today - dt.timedelta(days=1), today + dt.timedelta(days=1), 100)
    [item] = sample.items  # the decision in force
    with pytest.raises(FundError, match="Write what you found"):
        fund_oversight.record_finding(auditor, item, Finding.FOLLOW_UP, None)
    fund_oversight.record_finding(auditor, item, Finding.FOLLOW_UP, "Pedir el informe médico.")
    assert _raw("fund_audit_findings", item.id, "finding") == "follow_up"


def test_key_rotations_store_their_state_as_the_plain_string(ctx):
    # generation 1 was written by a migration, as a plain string: the members find it
    first = session.execute(sa.text("SELECT id, state FROM key_rotations WHERE generation = 1")).one()
    assert first.state == GenerationState.ACTIVE and rotation.index_state().search.generation == 1
    assert rotation.running(rotation.INDEX) is None

    building = rotation.start_index_rotation(None)
    assert _raw("key_rotations", building.id, "state") == "building" and rotation.running(rotation.INDEX) is building
    rotation.switch_generation(building)
    assert _raw("key_rotations", building.id, "state") == "active"
    assert _raw("key_rotations", first.id, "state") == "retiring"
    rotation.generation_retired(building)
    assert _raw("key_rotations", first.id, "state") == "retired" and rotation.running(rotation.INDEX) is None

    kek = rotation.start_kek_rotation(None, new_kek=True)
    assert _raw("key_rotations", kek.id, "state") == "running" and rotation.running(rotation.KEK) is kek
    while kek.state != KekRotationState.DONE:
        rotation.rewrap_batch(kek)
    assert _raw("key_rotations", kek.id, "state") == "done" and rotation.running(rotation.KEK) is None


def test_break_glass_reviews_store_their_outcome_as_the_plain_string(ctx, make):
    cw = session.get(User, make.user("cw", "caseworker"))
    dpo = session.get(User, make.user("dpo", "dpo", scope="region"))
    far = [
        session.scalar(
            sa.select(Beneficiary).where(
                Beneficiary.uid == make.person(centre="PER-TUM", given_names=name, family_names="Huamán")
            )
        )
        for name in ("Rosa", "Luz")
    ]
    why = "Llegó herida a urgencias de Cúcuta; necesito su historia de alergias."
    grants = [glass.open_record(cw, glass.Proof(card_token=p.card_token), "medical_emergency", why) for p in far]
    glass.review(dpo, grants[0], ReviewOutcome.JUSTIFIED, None)
    glass.review(dpo, grants[1], ReviewOutcome.NOT_JUSTIFIED, "No había urgencia.")
    assert _raw("break_glass", grants[0].id, "outcome") == "justified"
    assert _raw("break_glass", grants[1].id, "outcome") == "not_justified"
    assert oversight.summary().not_justified == 1
