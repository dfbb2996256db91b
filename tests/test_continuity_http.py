"""The continuity pages over HTTP: asking at the desk and from a hint, the holding centre's list and answer,
the asking centre's list, the home count, the route on the profile, the previous centre's read-only page,
and 404 for a centre that never served the person."""

import datetime as dt
import html

import pytest
import sqlalchemy as sa

from msc.beneficiaries import service as registry
from msc.beneficiaries.models import Beneficiary
from msc.continuity import service
from msc.continuity.models import Transfer
from msc.db import session, utcnow
from msc.security.models import AuditEvent
from tests.test_access import _endpoints, login_as

DOB = dt.date(1988, 4, 12)


def _consents(continuity=True):
    given = [registry.ConsentData(purpose="registration", status="given", given_by="self")]
    if continuity:
        given.append(registry.ConsentData(purpose="continuity", status="given", given_by="self"))
    return given


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
        "ipiales": make.user("cw_ipi", "caseworker", centres=("COL-IPI",)),
        "po_col": make.user("po_col", "protection_officer", scope="country", country="COL"),
    }
    rosa = make.person(given_names="Rosa", family_names="Peña", date_of_birth=DOB, consents=_consents())
    luz = make.person(given_names="Luz", family_names="Marín", date_of_birth=DOB, consents=_consents(False))
    case_uid, _task = make.case(rosa, ids["cucuta"])
    with app.app_context():
        numbers = {
            uid: session.scalar(sa.select(Beneficiary.case_number).where(Beneficiary.uid == uid)) for uid in (rosa, luz)
        }
    return {**ids, "rosa": rosa, "luz": luz, "case": case_uid, "numbers": numbers}


def client_of(app, user_id):
    client = app.test_client()
    login_as(app, client, user_id)
    return client


def centre_of(app, uid: str) -> str:
    with app.app_context():
        return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid)).centre.code


def test_at_the_desk_the_record_moves_and_the_profile_shows_the_route(app, make, desks):
    desk = client_of(app, desks["tumbes"])
    page = desk.get("/continuity/ask")
    assert page.status_code == 200 and 'name="case_number"' in page.get_data(as_text=True)
    number = desks["numbers"][desks["rosa"]]
    res = desk.post("/continuity/ask", data={"case_number": number, "date_of_birth": DOB.isoformat()})
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/b/{desks['rosa']}")
    assert centre_of(app, desks["rosa"]) == "PER-TUM"
    page = desk.get(f"/b/{desks['rosa']}").get_data(as_text=True)
    assert "Route" in page and "CAM Cúcuta" in page and "record moved here" in page
    assert number not in res.headers["Location"] and "Rosa" not in res.headers["Location"]
    manager = client_of(app, make.user("mgr_tum", "centre_manager", centres=("PER-TUM",)))
    home = manager.get("/").get_data(as_text=True)
    assert "Records that arrived from other centres" in home and number in home


def test_at_the_desk_no_record_and_no_consent_answer_the_same(app, desks):
    desk = client_of(app, desks["tumbes"])
    answers = []
    for data in (
        {"case_number": desks["numbers"][desks["luz"]], "date_of_birth": DOB.isoformat()},  # no consent
        {"case_number": desks["numbers"][desks["rosa"]], "date_of_birth": "1988-04-13"},  # another date
        {"card_token": "ABCD-EFGH-JKMN-PQRS"},  # no such card
    ):
        res = desk.post("/continuity/ask", data=data)
        assert res.status_code == 422
        answers.append(str(service.NO_MATCH) in html.unescape(res.get_data(as_text=True)))
    assert answers == [True, True, True]
    assert centre_of(app, desks["luz"]) == "COL-CUC"
    with app.app_context():  # kept, though the page answered 422
        assert session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == service.FAILED)) == 3


def test_a_hint_sends_a_request_that_the_holding_centre_accepts(app, desks):
    desk = client_of(app, desks["tumbes"])
    page = desk.get(f"/continuity/ask?record={desks['rosa']}")
    assert page.status_code == 200 and "Ask the centre that holds the record" in page.get_data(as_text=True)
    res = desk.post("/continuity/ask", data={"record": desks["rosa"]})
    assert res.status_code == 302 and res.headers["Location"].endswith("/continuity/asked")
    unknown = desk.post("/continuity/ask", data={"record": "f" * 32}, follow_redirects=True)
    assert str(service.REQUEST_SENT) in html.unescape(unknown.get_data(as_text=True))  # the same answer
    asked = desk.get("/continuity/asked").get_data(as_text=True)
    assert "Waiting for the centre that holds the record" in asked and desks["numbers"][desks["rosa"]] not in asked

    holder = client_of(app, desks["cucuta"])
    assert "Requests for records from other centres" in holder.get("/").get_data(as_text=True)
    listed = holder.get("/continuity/requests").get_data(as_text=True)
    assert desks["numbers"][desks["rosa"]] in listed and "CAM Tumbes" in listed
    with app.app_context():
        transfer_uid = session.scalar(sa.select(Transfer.uid))
    assert holder.get(f"/continuity/r/{transfer_uid}").status_code == 200
    assert holder.post(f"/continuity/r/{transfer_uid}", data={}).status_code == 422
    res = holder.post(f"/continuity/r/{transfer_uid}", data={"decision": "accept", "sections": ["notes", "fund"]})
    assert res.status_code == 302 and centre_of(app, desks["rosa"]) == "PER-TUM"
    assert "Accepted: the record is at your centre" in desk.get("/continuity/asked").get_data(as_text=True)
    # the answered request is read-only now
    assert 'name="decision"' not in holder.get(f"/continuity/r/{transfer_uid}").get_data(as_text=True)


def test_a_refusal_needs_a_reason_and_the_asking_centre_reads_what_next(app, desks):
    desk = client_of(app, desks["tumbes"])
    desk.post("/continuity/ask", data={"record": desks["luz"]})
    with app.app_context():
        transfer_uid = session.scalar(sa.select(Transfer.uid))
    manager = client_of(app, desks["manager"])
    no_consent = manager.post(f"/continuity/r/{transfer_uid}", data={"decision": "accept"})
    assert no_consent.status_code == 422 and "Record their consent first" in no_consent.get_data(as_text=True)
    missing = manager.post(f"/continuity/r/{transfer_uid}", data={"decision": "refuse"})
    assert missing.status_code == 422 and "Choose the reason" in missing.get_data(as_text=True)
    res = manager.post(f"/continuity/r/{transfer_uid}", data={"decision": "refuse", "reason": "no_consent"})
    assert res.status_code == 302
    asked = desk.get("/continuity/asked").get_data(as_text=True)
    assert "Refused" in asked and "give consent to continuity of care" in asked


def test_an_escalated_request_shows_on_the_protection_officers_home(app, desks):
    desk = client_of(app, desks["tumbes"])
    desk.post("/continuity/ask", data={"record": desks["rosa"]})
    officer = client_of(app, desks["po_col"])
    with app.app_context():
        transfer_uid = session.scalar(sa.select(Transfer.uid))
    assert officer.get(f"/continuity/r/{transfer_uid}").status_code == 404  # not before 48 hours
    with app.app_context():
        service.escalate_due(utcnow() + dt.timedelta(hours=49))
        session.commit()
    assert "Requests for records from other centres" in officer.get("/").get_data(as_text=True)
    assert desks["numbers"][desks["rosa"]] in officer.get("/continuity/requests").get_data(as_text=True)
    res = officer.post(f"/continuity/r/{transfer_uid}", data={"decision": "accept"})
    assert res.status_code == 302 and centre_of(app, desks["rosa"]) == "PER-TUM"


def test_the_previous_centre_reads_the_profile_and_nothing_else(app, desks):
    desk = client_of(app, desks["tumbes"])
    number = desks["numbers"][desks["rosa"]]
    desk.post("/continuity/ask", data={"case_number": number, "date_of_birth": DOB.isoformat()})
    before = client_of(app, desks["cucuta"])
    page = before.get(f"/b/{desks['rosa']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Your centre served them before" in text and "Rosa" in text
    assert before.get(f"/b/{desks['rosa']}/edit").status_code == 404
    assert before.get(f"/b/{desks['rosa']}/card").status_code == 404
    assert before.get(f"/cases/{desks['case']}").status_code == 404


def test_the_previous_centre_reads_the_notes_it_wrote_and_not_those_written_after(app, make, desks):
    from msc.cases import service as cases
    from msc.cases.models import Case
    from msc.security.models import User

    before = client_of(app, desks["cucuta"])
    for body, sensitive in (
        ("Acompañada a Medicina Legal el martes.", {}),
        ("Relato de la ruta, reservado.", {"note-sensitive": "y"}),
    ):
        res = before.post(f"/cases/{desks['case']}/notes", data={"note-body": body, **sensitive})
        assert res.status_code == 302
    desk = client_of(app, desks["tumbes"])
    number = desks["numbers"][desks["rosa"]]
    desk.post("/continuity/ask", data={"case_number": number, "date_of_birth": DOB.isoformat()})
    with app.app_context():
        case = session.scalar(sa.select(Case).where(Case.uid == desks["case"]))
        tumbes_cw = session.get(User, make.user("cw_tum", "caseworker", centres=("PER-TUM",)))
        cases.add_note(tumbes_cw, case, "Escrita en Tumbes después del traslado.", False)
        session.commit()
    text = html.unescape(before.get(f"/b/{desks['rosa']}").get_data(as_text=True))
    assert "Case notes written while your centre held the record" in text
    assert "Acompañada a Medicina Legal el martes." in text
    assert "Relato de la ruta, reservado." in text  # its author reads it
    assert "Escrita en Tumbes" not in text
    # a colleague of the same centre who did not write the confidential note does not read it there
    other = client_of(app, make.user("cw_cuc2", "caseworker"))
    text = html.unescape(other.get(f"/b/{desks['rosa']}").get_data(as_text=True))
    assert "Acompañada a Medicina Legal el martes." in text and "Relato de la ruta" not in text
    # a desk of the previous centre (no case access) reads no notes
    clerk = client_of(app, make.user("desk_cuc", "reception"))
    text = clerk.get(f"/b/{desks['rosa']}").get_data(as_text=True)
    assert "Your centre served them before" in text and "Medicina Legal" not in text


def test_a_centre_that_never_served_the_person_gets_404_on_every_url_of_theirs(app, desks):
    desk = client_of(app, desks["tumbes"])
    number = desks["numbers"][desks["rosa"]]
    desk.post("/continuity/ask", data={"case_number": number, "date_of_birth": DOB.isoformat()})
    stranger = client_of(app, desks["ipiales"])
    checked = 0
    for rule, method in _endpoints(app):
        args = set(rule.arguments)
        if not args or not args <= {"uid", "case_uid", "other_uid"} or rule.endpoint.startswith("referrals."):
            continue
        with app.test_request_context():
            from flask import url_for

            url = url_for(
                rule.endpoint,
                **{a: {"uid": desks["rosa"], "case_uid": desks["case"], "other_uid": desks["luz"]}[a] for a in args},
            )
        res = stranger.open(url, method=method)
        # the API answers no session at all (its calls show a token): 401 before anything is read
        refused = (401,) if rule.endpoint.startswith("api.") else (403, 404)
        assert res.status_code in refused, (rule.endpoint, method, res.status_code)
        checked += 1
    assert checked > 10


@pytest.mark.parametrize("sent_along", [False, True])
def test_a_referral_stays_readable_where_it_was_made_and_reaches_the_new_centre_only_if_sent(
    app, make, desks, sent_along
):
    _org, svc = make.partner()
    referral_uid = make.referral(
        desks["cucuta"], svc, given_names="Eva", family_names="Quispe", date_of_birth=dt.date(1979, 9, 9)
    )
    with app.app_context():
        from msc.referrals.models import Referral
        from msc.security.models import User

        referral = session.scalar(sa.select(Referral).where(Referral.uid == referral_uid))
        eva = referral.beneficiary
        registry.record_consent(
            session.get(User, desks["cucuta"]),
            eva,
            registry.ConsentData(purpose="continuity", status="given", given_by="self"),
        )
        session.commit()
        eva_uid = eva.uid
    client_of(app, desks["tumbes"]).post("/continuity/ask", data={"record": eva_uid})
    with app.app_context():
        transfer_uid = session.scalar(sa.select(Transfer.uid))
    holder = client_of(app, desks["cucuta"])
    sections = ["referrals"] if sent_along else []
    holder.post(f"/continuity/r/{transfer_uid}", data={"decision": "accept", "sections": sections})
    assert centre_of(app, eva_uid) == "PER-TUM"
    assert holder.get(f"/referrals/{referral_uid}").status_code == 200  # the centre that made it reads it
    tumbes_cw = client_of(app, make.user("cw_tum", "caseworker", centres=("PER-TUM",)))
    assert tumbes_cw.get(f"/referrals/{referral_uid}").status_code == (200 if sent_along else 404)
