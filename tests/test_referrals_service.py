"""Referral rules, called without HTTP."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc import clock
from msc.beneficiaries import service as reception
from msc.beneficiaries.models import Beneficiary
from msc.cases import service as cases
from msc.db import session, utcnow
from msc.referrals import service
from msc.referrals.models import ReferralEvent
from msc.security.models import User

TODAY = clock.today("COL")


def _consents(referral="given"):
    return [
        reception.ConsentData(purpose="registration", status="given"),
        reception.ConsentData(purpose="referral", status=referral),
    ]


@pytest.fixture
def world(ctx, make):
    cw = session.get(User, make.user("cw", "caseworker"))
    org_id, svc_id = make.partner(categories=("identity", "contact", "demographics"))
    no_dsa_org, no_dsa_svc = make.partner(name="Sin Acuerdo", until=False)
    person = session.scalar(
        sa.select(Beneficiary).where(
            Beneficiary.uid
            == make.person(given_names="Ana", family_names="Rojas", phone="3001234567", consents=_consents())
        )
    )
    case = cases.open_case(cw, person)
    partner = session.get(User, make.user("socio", "partner", centres=()))
    partner.organisation_id = org_id
    session.commit()
    return {"cw": cw, "case": case, "svc": svc_id, "no_dsa_svc": no_dsa_svc, "partner": partner, "person": person}


def _draft(w, svc=None, categories=("identity", "contact"), urgency="urgent"):
    return service.create(w["cw"], w["case"], svc or w["svc"], urgency, "Control prenatal", list(categories))


def test_lifecycle_with_every_transition_kept(world):
    r = _draft(world)
    assert r.status == "draft" and r.categories == ["identity", "contact"] and b"prenatal" not in r.reason_ct
    service.send(world["cw"], r)
    assert r.status == "sent" and r.deadline_at - r.sent_at == dt.timedelta(hours=72)
    service.answer(world["partner"], r, "accepted")
    service.answer(world["partner"], r, "completed", "Atendida; próxima cita en 4 semanas.")
    assert r.status == "completed" and r.answer.startswith("Atendida")
    moves = [
        (e.from_status, e.to_status)
        for e in session.scalars(
            sa.select(ReferralEvent).where(ReferralEvent.referral_id == r.id).order_by(ReferralEvent.id)
        )
    ]
    assert moves == [(None, "draft"), ("draft", "sent"), ("sent", "accepted"), ("accepted", "completed")]


@pytest.mark.parametrize("path,illegal", [([], "accepted"), (["accepted"], "declined"), (["declined"], "completed")])
def test_illegal_transitions_are_refused(world, path, illegal):
    r = _draft(world)
    service.send(world["cw"], r)
    for step in path:
        service.answer(world["partner"], r, step, "motivo")
    if not path:
        r.status = "draft"
    with pytest.raises(service.ReferralError):
        service.answer(world["partner"], r, illegal, "motivo")


def test_decline_needs_a_reason_and_only_the_addressee_answers(world, make):
    r = _draft(world)
    service.send(world["cw"], r)
    with pytest.raises(service.ReferralError) as err:
        service.answer(world["partner"], r, "declined", "  ")
    assert err.value.field == "answer"
    other = session.get(User, make.user("otro_socio", "partner", centres=()))
    with pytest.raises(service.ReferralError):
        service.answer(other, r, "accepted")


def test_no_referral_without_consent_to_referral(world, make):
    person = session.scalar(
        sa.select(Beneficiary).where(
            Beneficiary.uid
            == make.person(
                given_names="Luis",
                family_names="Mora",
                date_of_birth=dt.date(1970, 1, 1),
                consents=_consents("refused"),
            )
        )
    )
    case = cases.open_case(world["cw"], person)
    with pytest.raises(service.ReferralError) as err:
        service.create(world["cw"], case, world["svc"], "routine", "Apoyo", ["identity"])
    assert "consent" in err.value.message


def test_no_agreement_needs_a_protection_officers_written_override(world, make):
    r = _draft(world, svc=world["no_dsa_svc"])
    with pytest.raises(service.ReferralError) as err:
        service.send(world["cw"], r)
    assert "no active data-sharing agreement" in err.value.message
    with pytest.raises(service.ReferralError):
        service.override_agreement(world["cw"], r, "Urgencia vital")
    officer = session.get(User, make.user("po", "protection_officer", scope="region"))
    with pytest.raises(service.ReferralError):
        service.override_agreement(officer, r, " ")
    service.override_agreement(officer, r, "Emergencia médica; la organización es la única en la zona.")
    service.send(world["cw"], r)
    assert r.status == "sent" and r.override_by_id == officer.id


def test_sharing_beyond_the_agreement_needs_an_override(world):
    r = _draft(world, categories=("identity", "contact", "document"))
    with pytest.raises(service.ReferralError):
        service.send(world["cw"], r)


def test_closed_case_and_bad_choices_are_refused(world):
    with pytest.raises(service.ReferralError) as err:
        service.create(world["cw"], world["case"], None, "urgent", "x", ["identity"])
    assert err.value.field == "service_id"
    with pytest.raises(service.ReferralError) as err:
        service.create(world["cw"], world["case"], world["svc"], "someday", "x", ["identity"])
    assert err.value.field == "urgency"
    with pytest.raises(service.ReferralError) as err:
        service.create(world["cw"], world["case"], world["svc"], "urgent", "x", ["contact"])
    assert err.value.field == "categories"
    cases.change_status(world["cw"], world["case"], "closed", "needs_met")
    with pytest.raises(service.ReferralError) as err:
        _draft(world)
    assert "closed" in err.value.message


def test_withdrawing_consent_cancels_pending_referrals_and_the_partner_loses_access(world):
    r = _draft(world)
    service.send(world["cw"], r)
    assert service.partner_referral(world["partner"], r.uid) is r
    reception.record_consent(
        world["cw"], world["person"], reception.ConsentData(purpose="referral", status="withdrawn")
    )
    assert r.status == "cancelled"
    assert service.partner_referral(world["partner"], r.uid) is None and service.for_partner(world["partner"])[0] == []


def test_partner_sees_only_shared_categories_and_every_view_is_a_disclosure(world):
    r = _draft(world, categories=("identity",))
    service.send(world["cw"], r)
    view = service.shared_view(r, TODAY)
    assert view["name"] == "Ana Rojas" and "phone" not in view and "age" not in view
    service.disclose(world["partner"], r)
    service.disclose(world["partner"], r)
    rows = service.disclosures_of(world["person"])
    assert len(rows) == 2 and rows[0].categories == "identity"


def test_drafts_are_invisible_to_partners_and_overdue_is_shown(world):
    r = _draft(world, urgency="emergency")
    assert service.for_partner(world["partner"])[0] == []
    service.send(world["cw"], r)
    waiting, overdue = service.waiting_and_overdue(world["cw"], utcnow())
    assert waiting.items == [r] and waiting.total == 1 and overdue.total == 0
    waiting, overdue = service.waiting_and_overdue(world["cw"], utcnow() + dt.timedelta(hours=25))
    assert overdue.items == [r] and r.overdue(utcnow() + dt.timedelta(hours=25))


def test_caseworker_cancels_but_not_after_an_answer(world):
    r = _draft(world)
    service.send(world["cw"], r)
    service.answer(world["partner"], r, "declined", "Sin cupos")
    with pytest.raises(service.ReferralError):
        service.cancel(world["cw"], r)


def test_partner_list_pages_pending_by_deadline_and_answered_newest_first(world, make):
    from msc.referrals import service as referrals_service

    made = []
    for i in range(3):
        r = _draft(world, urgency=["routine", "emergency", "urgent"][i])
        service.send(world["cw"], r)
        made.append(r)
    pending, more = service.for_partner(world["partner"])
    assert [r.urgency for r in pending] == ["emergency", "urgent", "routine"] and not more
    service.answer(world["partner"], made[0], "declined", "Sin cupos")
    answered, _ = service.for_partner(world["partner"], "answered")
    assert answered == [made[0]] and len(service.for_partner(world["partner"])[0]) == 2
    old_page = referrals_service.PORTAL_PAGE
    referrals_service.PORTAL_PAGE = 1
    try:
        first, more = service.for_partner(world["partner"], "pending", 1)
        second, more2 = service.for_partner(world["partner"], "pending", 2)
        assert more and not more2 and first != second
    finally:
        referrals_service.PORTAL_PAGE = old_page
