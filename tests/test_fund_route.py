"""The fund along the route: an application shows the person's applications in every country to protection
officers, and says when the person was assisted at another centre for the same need within the period."""

import datetime as dt

import sqlalchemy as sa
from flask import g

from msc.beneficiaries.models import Beneficiary
from msc.db import session
from msc.fund import applications, decisions
from msc.fund.applications import LineData
from msc.fund.models import Decision
from msc.security.models import User
from tests.test_access import login_as
from tests.test_fund_service import TRAFFICKING, apply
from tests.test_fund_service import fund as fund  # noqa: F401 - the fixture

MEDICAL = [LineData("medical", 500_000_00, "COP", None)]
MEDICAL_BRL = [LineData("medical", 900_00, "BRL", None)]


def _approve(fund, application, officer="po1", days=90):
    decision = decisions.decide(
        fund["users"][officer],
        application,
        "approve",
        {line.id: line.amount for line in application.lines},
        period_ends_on=fund["today"] + dt.timedelta(days=days),
    )
    session.commit()
    return decision


def _period_ended(decision, day):
    """As if the decision had been taken long ago (decisions are never changed through the service)."""
    session.execute(sa.update(Decision).where(Decision.id == decision.id).values(period_ends_on=day))
    session.commit()


def _moved_to_pacaraima(fund, make, case="adult"):
    """The person's case now at Pacaraima, with a caseworker there."""
    pac = make.centre("BRA-PAC", "Centro de Apoio Pacaraima", "BRA")
    case_row = fund["cases"][case]
    person = session.get(Beneficiary, case_row.beneficiary_id)
    person.centre_id = pac
    case_row.centre_id = pac
    session.commit()
    session.expire_all()
    return session.get(User, make.user("cwb", "caseworker", centres=("BRA-PAC",))), pac


def test_assisted_at_another_centre_for_the_same_need_is_said_and_kept(fund, make):
    first = apply(fund, lines=MEDICAL)
    _approve(fund, first)
    cw_brazil, _ = _moved_to_pacaraima(fund, make)
    lines = [LineData("medical", 900_00, "BRL", None), LineData("legal", 500_00, "BRL", None)]
    second = applications.submit(cw_brazil, fund["cases"]["adult"], "trafficking", TRAFFICKING, None, lines)
    session.commit()
    said = second.assisted_elsewhere
    assert [(c, country) for c, country, _, _ in said] == [("medical", "COL")]
    assert said[0][2] == fund["today"] and said[0][3] == fund["today"] + dt.timedelta(days=90)
    # what the recommendation said is kept with it, encrypted: the rows say nothing of it
    raw = session.execute(sa.text("SELECT facts_ct FROM fund_applications WHERE id = :i"), {"i": second.id}).scalar()
    assert b"medical" not in bytes(raw) and b"COL" not in bytes(raw)


def test_the_same_centre_other_needs_and_ended_or_replaced_approvals_are_not_assistance_elsewhere(fund, make):
    first = apply(fund, lines=MEDICAL)
    decision = _approve(fund, first)
    # at the same centre the per-case caps apply instead
    again = apply(fund, lines=[LineData("medical", 100_00, "COP", None)])
    assert again.assisted_elsewhere == []
    cw_brazil, _ = _moved_to_pacaraima(fund, make)
    case = fund["cases"]["adult"]
    other_need = applications.submit(
        cw_brazil, case, "trafficking", TRAFFICKING, None, [LineData("legal", 100_00, "BRL", None)]
    )
    assert other_need.assisted_elsewhere == []
    # a period that ended more than FUND_ASSISTED_ELSEWHERE_DAYS ago no longer counts; one that ended since does
    _period_ended(decision, fund["today"] - dt.timedelta(days=91))
    medical = [LineData("medical", 100_00, "BRL", None)]
    assert applications.submit(cw_brazil, case, "trafficking", TRAFFICKING, None, medical).assisted_elsewhere == []
    _period_ended(decision, fund["today"] - dt.timedelta(days=30))
    assert len(applications.submit(cw_brazil, case, "trafficking", TRAFFICKING, None, medical).assisted_elsewhere) == 1
    # a decision replaced by a rejection is not in force
    decisions.decide(fund["users"]["po2"], first, "reject", justification="Otra fuente lo cubre.")
    session.commit()
    assert applications.submit(cw_brazil, case, "trafficking", TRAFFICKING, None, medical).assisted_elsewhere == []


def test_protection_officers_see_the_persons_applications_in_every_country(fund, make):
    first = apply(fund, lines=MEDICAL)
    _approve(fund, first)
    cw_brazil, _ = _moved_to_pacaraima(fund, make)
    second = applications.submit(cw_brazil, fund["cases"]["adult"], "trafficking", TRAFFICKING, None, MEDICAL_BRL)
    session.commit()
    brazil_officer = session.get(User, make.user("pob", "protection_officer", scope="country", country="BRA"))
    seen = applications.earlier_applications(brazil_officer, second)
    assert [e.application.id for e in seen] == [first.id]
    assert seen[0].decision.outcome == "approve" and seen[0].may_open is False  # Colombia's: a summary only
    regional = applications.earlier_applications(fund["users"]["regional"], second)
    assert regional[0].may_open is True
    # those who apply do not get the person's history across countries
    assert applications.earlier_applications(cw_brazil, second) == []
    assert applications.earlier_applications(fund["users"]["cw"], first) == []


def test_the_application_page_shows_both(app, client, fund, make):
    first = apply(fund, lines=MEDICAL)
    _approve(fund, first)
    cw_brazil, _ = _moved_to_pacaraima(fund, make)
    second = applications.submit(cw_brazil, fund["cases"]["adult"], "trafficking", TRAFFICKING, None, MEDICAL_BRL)
    session.commit()
    first_uid, second_uid, cw_id = first.uid, second.uid, cw_brazil.id
    officer = make.user("pob2", "protection_officer", scope="country", country="BRA", locale="es")
    login_as(app, client, officer)
    page = client.get(f"/fund/applications/{second_uid}").get_data(as_text=True)
    assert "en todos los países" in page and "por la misma necesidad" in page
    assert 'id="earlier"' in page and 'id="assisted-elsewhere"' in page and "Colombia" in page
    assert f"/fund/applications/{first_uid}" not in page  # Colombia's application is outside this officer's scope
    # its own caseworker sees the flag with the recommendation, not the history across countries
    g.pop("_login_user", None)  # the fixture's app context outlives requests: forget who the last one was
    login_as(app, client, cw_id)
    page = client.get(f"/fund/applications/{second_uid}").get_data(as_text=True)
    assert 'id="assisted-elsewhere"' in page and 'id="earlier"' not in page
