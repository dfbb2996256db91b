"""Referral pages and the partner portal over HTTP."""

import pytest
import sqlalchemy as sa

from msc.db import session
from msc.referrals.models import Disclosure, Referral
from msc.security.models import User
from tests.conftest import csrf
from tests.test_access import login_as


@pytest.fixture
def desk(app, make, client):
    cw = make.user("cw", "caseworker")
    org_id, svc_id = make.partner(categories=("identity", "contact", "demographics"))
    partner = make.user("socio", "partner", centres=())
    with app.app_context():
        session.get(User, partner).organisation_id = org_id
        session.commit()
    login_as(app, client, cw)
    return {"cw": cw, "svc": svc_id, "partner": partner, "org": org_id}


def _case_url(client, make, **person):
    from msc.beneficiaries import service as reception

    uid = make.person(
        consents=[
            reception.ConsentData(purpose="registration", status="given"),
            reception.ConsentData(purpose="referral", status="given"),
        ],
        **person,
    )
    res = client.post(f"/cases/open/{uid}", data={"confirm-csrf_token": csrf(client, f"/b/{uid}")})
    return uid, res.headers["Location"]


def test_caseworker_refers_and_the_partner_answers(app, make, client, desk):
    uid, case_url = _case_url(
        client, make, given_names="Ana", family_names="Rojas", phone="3001234567", languages=["pt"]
    )
    new_url = case_url + "/referrals/new"
    form = client.get(new_url).get_data(as_text=True)
    # name and contact are shared by default, nothing else
    assert 'checked id="categories-0"' in form and 'checked id="categories-1"' in form
    assert 'checked id="categories-2"' not in form
    res = client.post(
        new_url,
        data={
            "csrf_token": csrf(client, new_url),
            "service_id": desk["svc"],
            "urgency": "urgent",
            "reason": "Control prenatal",
            "categories": ["identity", "contact"],
        },
    )
    assert res.status_code == 302, res.get_data(as_text=True)[:500]
    detail = res.headers["Location"]
    page = client.get(detail).get_data(as_text=True)
    assert "Draft" in page and "Ana Rojas" in page and "3001234567" in page
    client.post(detail + "/send", data={"csrf_token": csrf(client, detail)})
    with app.app_context():
        r = session.scalar(sa.select(Referral))
        assert r.status == "sent"
    slip = client.get(detail + "/slip").get_data(as_text=True)
    assert 'lang="pt-BR"' in slip and "Guia de encaminhamento" in slip  # the person speaks Portuguese
    partner = app.test_client()
    login_as(app, partner, desk["partner"])
    assert r.uid in partner.get("/portal/").get_data(as_text=True)
    view = partner.get(f"/portal/{r.uid}").get_data(as_text=True)
    assert "Ana Rojas" in view and "3001234567" in view and "Nationality" not in view
    res = partner.post(
        f"/portal/{r.uid}/declined",
        data={"csrf_token": csrf(partner, f"/portal/{r.uid}"), "text": ""},
        follow_redirects=True,
    )
    assert "This needs a few words." in res.get_data(as_text=True)
    partner.post(f"/portal/{r.uid}/accepted", data={"csrf_token": csrf(partner, f"/portal/{r.uid}"), "text": ""})
    partner.post(
        f"/portal/{r.uid}/completed", data={"csrf_token": csrf(partner, f"/portal/{r.uid}"), "text": "Atendida"}
    )
    with app.app_context():
        assert session.scalar(sa.select(Referral.status)) == "completed"
        assert session.scalar(sa.select(sa.func.count()).select_from(Disclosure)) >= 3
    profile = client.get(f"/b/{uid}").get_data(as_text=True)
    assert "Data shared with" in profile and "Cruz Roja Colombiana" in profile and "Name, Contact (phone)" in profile


def test_no_consent_is_refused_with_a_message(app, make, client, desk):
    uid = make.person(given_names="Luis", family_names="Mora")
    res = client.post(f"/cases/open/{uid}", data={"confirm-csrf_token": csrf(client, f"/b/{uid}")})
    new_url = res.headers["Location"] + "/referrals/new"
    res = client.post(
        new_url,
        data={
            "csrf_token": csrf(client, new_url),
            "service_id": desk["svc"],
            "urgency": "urgent",
            "reason": "x",
            "categories": ["identity"],
        },
    )
    assert res.status_code == 422 and "has not given consent to be referred" in res.get_data(as_text=True)


def test_protection_officer_overrides_a_missing_agreement(app, make, client, desk):
    _, svc = make.partner(name="Sin Acuerdo", until=False)
    uid, case_url = _case_url(client, make, given_names="Eva", family_names="Luna")
    new_url = case_url + "/referrals/new"
    detail = client.post(
        new_url,
        data={
            "csrf_token": csrf(client, new_url),
            "service_id": svc,
            "urgency": "emergency",
            "reason": "Herida",
            "categories": ["identity"],
        },
    ).headers["Location"]
    res = client.post(detail + "/send", data={"csrf_token": csrf(client, detail)}, follow_redirects=True)
    assert "no active data-sharing agreement" in res.get_data(as_text=True)
    officer = app.test_client()
    login_as(app, officer, make.user("po", "protection_officer", scope="region"))
    officer.post(detail + "/override", data={"csrf_token": csrf(officer, detail), "text": "Riesgo vital"})
    client.post(detail + "/send", data={"csrf_token": csrf(client, detail)})
    with app.app_context():
        assert session.scalar(sa.select(Referral.status)) == "sent"


def test_partner_never_sees_other_organisations_or_cancelled_referrals(app, make, client, desk):
    ref_uid = make.referral(desk["cw"], desk["svc"], given_names="Rosa", family_names="Peña")
    other = make.user("otro", "partner", centres=())
    partner = app.test_client()
    login_as(app, partner, other)
    assert partner.get(f"/portal/{ref_uid}").status_code == 404
    home = partner.get("/").get_data(as_text=True)  # nothing of another organisation waits on their home
    assert "Referrals waiting for your answer" in home and "Nothing waiting." in home and "/portal/" in home
    assert partner.get("/cases/").status_code == 403 and partner.post("/search").status_code in (400, 403)
    detail = f"/referrals/{ref_uid}"
    client.post(detail + "/cancel", data={"csrf_token": csrf(client, detail)})
    mine = app.test_client()
    login_as(app, mine, desk["partner"])
    assert mine.get(f"/portal/{ref_uid}").status_code == 404
