"""The onward movement pages over HTTP: planning from the profile (what was typed kept when a rule says
no), the receiving centre's expected arrivals and its confirmation, cancellation, the journeys that did not
arrive, the home sections, and 404 on every page for a centre that is neither sending nor receiving."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc import clock
from msc.beneficiaries import service as registry
from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre
from msc.continuity import onward
from msc.continuity.onward_models import OnwardMovement
from msc.db import session, utcnow
from tests.test_access import login_as
from tests.test_continuity_http import _consents

ADULT = dt.date(1988, 4, 12)


@pytest.fixture
def desks(app, make):
    app.config["WTF_CSRF_ENABLED"] = False
    make.centre("COL-CUC", "CAM Cúcuta", "COL")
    make.centre("PER-TUM", "CAM Tumbes", "PER")
    make.centre("COL-IPI", "CAM Ipiales", "COL")
    ids = {
        "cucuta": make.user("cw_cuc", "caseworker"),
        "manager": make.user("mgr_cuc", "centre_manager"),
        "tumbes": make.user("desk_tum", "reception", centres=("PER-TUM",)),
        "cw_tum": make.user("cw_tum", "caseworker", centres=("PER-TUM",)),
        "po_per": make.user("po_per", "protection_officer", scope="country", country="PER"),
        **{
            f"ipi_{role}": make.user(f"ipi_{role}", role, centres=("COL-IPI",))
            for role in ("reception", "caseworker", "centre_manager")
        },
    }
    rosa = make.person(given_names="Rosa", family_names="Peña", date_of_birth=ADULT, consents=_consents())
    luz = make.person(given_names="Luz", family_names="Marín", date_of_birth=ADULT, consents=_consents(False))
    with app.app_context():
        tumbes = session.scalar(sa.select(Centre.id).where(Centre.code == "PER-TUM"))
        today = clock.today("COL")
    return {**ids, "rosa": rosa, "luz": luz, "to_tumbes": f"centre:{tumbes}", "today": today}


def client_of(app, user_id):
    client = app.test_client()
    login_as(app, client, user_id)
    return client


def _plan(client, uid, **data):
    return client.post(f"/continuity/onward/b/{uid}/plan", data=data)


def _movement(app, uid) -> str:
    with app.app_context():
        person_id = session.scalar(sa.select(Beneficiary.id).where(Beneficiary.uid == uid))
        return session.scalar(sa.select(OnwardMovement.uid).where(OnwardMovement.beneficiary_id == person_id))


def _centre_of(app, uid) -> str:
    with app.app_context():
        return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid)).centre.code


def test_plan_from_the_profile_and_the_receiving_centre_confirms(app, desks):
    sender = client_of(app, desks["cucuta"])
    profile = sender.get(f"/b/{desks['rosa']}").get_data(as_text=True)
    assert "Onward movements" in profile and f"/continuity/onward/b/{desks['rosa']}/plan" in profile
    page = sender.get(f"/continuity/onward/b/{desks['rosa']}/plan")
    assert page.status_code == 200 and "CAM Tumbes" in page.get_data(as_text=True)
    res = _plan(
        sender,
        desks["rosa"],
        destination=desks["to_tumbes"],
        planned_on=desks["today"].isoformat(),
        transport="bus",
        provided=["ticket", "food"],
    )
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/b/{desks['rosa']}")
    profile = sender.get(f"/b/{desks['rosa']}").get_data(as_text=True)
    assert "CAM Tumbes" in profile and "Transport ticket" in profile and "onward movement planned" in profile
    uid = _movement(app, desks["rosa"])
    # the receiving desk: its home, its list and the page show who to expect, not the record
    desk = client_of(app, desks["tumbes"])
    home = desk.get("/").get_data(as_text=True)
    assert "Expected arrivals" in home and "Rosa Peña" in home
    listed = desk.get("/continuity/onward/expected").get_data(as_text=True)
    number = _number(app, desks["rosa"])
    assert "Rosa Peña" in listed and "CAM Cúcuta" in listed and number not in listed
    shown = desk.get(f"/continuity/onward/m/{uid}").get_data(as_text=True)
    assert "Rosa Peña" in shown and number not in shown and "Transport ticket" not in shown
    assert desk.get(f"/b/{desks['rosa']}").status_code == 404  # not theirs before the arrival
    res = desk.post(f"/continuity/onward/m/{uid}/arrived")
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/b/{desks['rosa']}")
    assert _centre_of(app, desks["rosa"]) == "PER-TUM"
    assert desk.get(f"/b/{desks['rosa']}").status_code == 200
    again = client_of(app, desks["cw_tum"]).post(f"/continuity/onward/m/{uid}/arrived")
    assert again.status_code == 422 and "already confirmed" in again.get_data(as_text=True)
    # the sending centre keeps its read-only profile, and the journey's page says it arrived
    assert sender.get(f"/b/{desks['rosa']}").status_code == 200
    assert "Arrived: the record moved" in sender.get(f"/continuity/onward/m/{uid}").get_data(as_text=True)
    assert "Arrived: the record moved" in desk.get(f"/b/{desks['rosa']}").get_data(as_text=True)


def _number(app, uid) -> str:
    with app.app_context():
        return session.scalar(sa.select(Beneficiary.case_number).where(Beneficiary.uid == uid))


def test_no_consent_is_said_in_words_and_what_was_typed_is_kept(app, desks):
    sender = client_of(app, desks["cucuta"])
    res = _plan(
        sender,
        desks["luz"],
        destination=desks["to_tumbes"],
        planned_on=desks["today"].isoformat(),
        transport="boat",
        provided=["hygiene_kit"],
    )
    page = res.get_data(as_text=True)
    assert res.status_code == 422 and "consent to continuity of care" in page
    assert f'value="{desks["today"].isoformat()}"' in page
    assert '<input checked id="transport-4" name="transport" type="radio" value="boat">' in page
    assert 'type="checkbox" value="hygiene_kit">' in page and 'checked id="provided-2"' in page
    assert f'<option selected value="{desks["to_tumbes"]}">' in page
    assert _movement(app, desks["luz"]) is None
    res = _plan(sender, desks["luz"], destination="other", other_city="Guayaquil", planned_on="", transport="bus")
    assert res.status_code == 422 and "Give the planned date" in res.get_data(as_text=True)
    assert 'value="Guayaquil"' in res.get_data(as_text=True)


def test_the_sending_centre_cancels_saying_why(app, desks):
    sender = client_of(app, desks["manager"])
    _plan(sender, desks["rosa"], destination=desks["to_tumbes"], planned_on=desks["today"].isoformat(), transport="car")
    uid = _movement(app, desks["rosa"])
    planned = sender.get("/continuity/onward/planned").get_data(as_text=True)
    assert uid in planned and "CAM Tumbes" in planned
    res = sender.post(f"/continuity/onward/m/{uid}/cancel")
    assert res.status_code == 422 and "Choose the reason" in res.get_data(as_text=True)
    # the receiving desk may not cancel: said in words on the page
    other = client_of(app, desks["tumbes"]).post(f"/continuity/onward/m/{uid}/cancel", data={"cancel-reason": "unsafe"})
    assert other.status_code == 403  # reception does not plan nor cancel
    res = sender.post(f"/continuity/onward/m/{uid}/cancel", data={"cancel-reason": "person_stays"})
    assert res.status_code == 302
    # the receiving desk no longer opens the journey; a stale page's confirmation is told why, naming no one
    receiver = client_of(app, desks["tumbes"])
    assert receiver.get(f"/continuity/onward/m/{uid}").status_code == 404
    confirm = receiver.post(f"/continuity/onward/m/{uid}/arrived", follow_redirects=True)
    page = confirm.get_data(as_text=True)
    assert confirm.request.path == "/continuity/onward/expected"
    assert "cancelled this journey" in page and "Rosa" not in page
    assert _centre_of(app, desks["rosa"]) == "COL-CUC"


def test_not_arrived_shows_to_managers_and_protection_officers(app, make, desks):
    child = make.person(
        given_names="Tomás",
        family_names="Peña",
        sex="male",
        date_of_birth=dt.date.today() - dt.timedelta(days=3700),
        consents=[
            registry.ConsentData(purpose="registration", status="given", given_by="guardian", guardian_name="Marta"),
            registry.ConsentData(purpose="continuity", status="given", given_by="guardian", guardian_name="Marta"),
        ],
    )
    sender = client_of(app, desks["cucuta"])
    res = _plan(
        sender,
        child,
        destination=desks["to_tumbes"],
        planned_on=desks["today"].isoformat(),
        transport="bus",
        escort="none",
    )
    assert res.status_code == 422 and "best interests of the child" in res.get_data(as_text=True)
    res = _plan(
        sender,
        child,
        destination=desks["to_tumbes"],
        planned_on=desks["today"].isoformat(),
        transport="bus",
        escort="iom_staff",
    )
    assert res.status_code == 302
    with app.app_context():
        assert onward.flag_overdue(utcnow() + dt.timedelta(days=3)).protection == 1
        session.commit()
    for who in ("manager", "po_per"):
        client = client_of(app, desks[who])
        home = client.get("/").get_data(as_text=True)
        assert "Onward movements that did not arrive" in home and "Protection flag: a child" in home
        page = client.get("/continuity/onward/not-arrived").get_data(as_text=True)
        assert "Protection flag: a child" in page and _number(app, child) in page
    assert client_of(app, desks["ipi_centre_manager"]).get("/continuity/onward/not-arrived").status_code == 200
    assert "Protection flag" not in client_of(app, desks["ipi_centre_manager"]).get("/").get_data(as_text=True)
    assert client_of(app, desks["tumbes"]).get("/continuity/onward/not-arrived").status_code == 403


def test_an_unrelated_centre_gets_404_on_every_page(app, desks):
    sender = client_of(app, desks["cucuta"])
    _plan(sender, desks["rosa"], destination=desks["to_tumbes"], planned_on=desks["today"].isoformat(), transport="bus")
    uid = _movement(app, desks["rosa"])
    for role in ("reception", "caseworker", "centre_manager"):
        client = client_of(app, desks[f"ipi_{role}"])
        assert client.get(f"/continuity/onward/m/{uid}").status_code == 404, role
        assert client.post(f"/continuity/onward/m/{uid}/arrived").status_code == 404, role
        cancel = client.post(f"/continuity/onward/m/{uid}/cancel", data={"cancel-reason": "unsafe"})
        assert cancel.status_code in (403, 404), role  # reception may not cancel anywhere
        plan = client.get(f"/continuity/onward/b/{desks['luz']}/plan")
        assert plan.status_code in (403, 404), role
        assert "Rosa" not in client.get("/continuity/onward/expected").get_data(as_text=True)
        assert uid not in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert session.scalar(sa.select(OnwardMovement.status).where(OnwardMovement.uid == uid)) == "planned"
    assert _centre_of(app, desks["rosa"]) == "COL-CUC"
