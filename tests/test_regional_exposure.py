"""What another centre, a desk or a second click learns or changes of a person across centres, tried from
outside: an expected arrival after consent to continuity was withdrawn or the journey was cancelled, the
journey's page audited, acknowledged ids that were never shown, a second review of an emergency access, a
journey left behind by a move, the route's counts by role and by what a move carried along."""

import datetime as dt

import sqlalchemy as sa

from msc.beneficiaries import service as registry
from msc.beneficiaries.models import Beneficiary
from msc.db import session
from msc.security.models import AuditEvent, User
from tests.test_onward_http import _movement, _plan, client_of, desks  # noqa: F401
from tests.test_reception_http import form_for


def _withdraw_continuity(app, uid, by):
    with app.app_context():
        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        registry.record_consent(
            session.get(User, by),
            person,
            registry.ConsentData(purpose="continuity", status="withdrawn", given_by="self"),
        )
        session.commit()


def test_the_receiving_centre_no_longer_expects_a_person_who_withdrew_consent_to_continuity(app, desks):  # noqa: F811
    sender = client_of(app, desks["cucuta"])
    _plan(sender, desks["rosa"], destination=desks["to_tumbes"], planned_on=desks["today"].isoformat(), transport="bus")
    uid = _movement(app, desks["rosa"])
    _withdraw_continuity(app, desks["rosa"], desks["cucuta"])
    receiver = client_of(app, desks["tumbes"])
    expected = receiver.get("/continuity/onward/expected").get_data(as_text=True)
    page = receiver.get(f"/continuity/onward/m/{uid}")
    # without consent to continuity nothing of the person should reach another centre
    assert "Rosa" not in expected
    assert page.status_code == 404 or "Rosa" not in page.get_data(as_text=True)


def test_the_receiving_centre_opening_a_journey_is_audited_as_a_view_of_the_person(app, desks):  # noqa: F811
    sender = client_of(app, desks["cucuta"])
    _plan(sender, desks["rosa"], destination=desks["to_tumbes"], planned_on=desks["today"].isoformat(), transport="bus")
    uid = _movement(app, desks["rosa"])
    receiver = client_of(app, desks["tumbes"])
    with app.app_context():
        before = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    page = receiver.get(f"/continuity/onward/m/{uid}")
    assert page.status_code == 200 and "Rosa" in page.get_data(as_text=True)
    with app.app_context():
        events = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()[before:]
        actions = [(e.action, e.object_type, e.detail) for e in events]
    assert any(a[0] == "beneficiary.view" or a[1] == "beneficiary" for a in actions), actions


def test_a_cancelled_journey_is_closed_to_the_receiving_centre(app, desks):  # noqa: F811
    sender = client_of(app, desks["cucuta"])
    _plan(sender, desks["rosa"], destination=desks["to_tumbes"], planned_on=desks["today"].isoformat(), transport="bus")
    uid = _movement(app, desks["rosa"])
    res = sender.post(f"/continuity/onward/m/{uid}/cancel", data={"cancel-reason": "unsafe"})
    assert res.status_code == 302
    receiver = client_of(app, desks["tumbes"])
    page = receiver.get(f"/continuity/onward/m/{uid}")
    assert page.status_code == 404 or "Rosa" not in page.get_data(as_text=True)


ODD = ["\x00", "a\x00b", "9" * 40, "-1", "1e5", "١", "%00", "centre:\x00", "centre:" + "9" * 30, "x" * 5000]


def test_odd_values_in_every_regional_form_and_address_never_answer_500(app, desks, make):  # noqa: F811
    from tests.test_continuity_http import DOB

    sender = client_of(app, desks["cucuta"])
    _plan(sender, desks["rosa"], destination=desks["to_tumbes"], planned_on=desks["today"].isoformat(), transport="bus")
    muid = _movement(app, desks["rosa"])
    desk = client_of(app, desks["tumbes"])
    desk.post("/continuity/ask", data={"record": desks["luz"]})
    from msc.continuity.models import Transfer

    with app.app_context():
        tuid = session.scalar(sa.select(Transfer.uid))
    holder = client_of(app, desks["manager"])
    bad = []
    for v in ODD:
        calls = [
            (desk, "post", "/continuity/ask", {"centre": v, "case_number": v, "date_of_birth": v, "card_token": v}),
            (desk, "post", "/continuity/ask", {"record": v, "centre": v}),
            (desk, "get", "/continuity/ask?record=" + v, None),
            (desk, "post", "/continuity/ask", {"case_number": v, "date_of_birth": DOB.isoformat()}),
            (desk, "post", "/continuity/ask", {"card_token": v}),
            (holder, "post", f"/continuity/r/{tuid}", {"decision": v, "sections": v, "reason": v, "note": v}),
            (holder, "post", f"/continuity/r/{tuid}", {"decision": "refuse", "reason": "other", "note": v}),
            (holder, "get", f"/continuity/r/{v}", None),
            (
                sender,
                "post",
                f"/continuity/onward/b/{desks['rosa']}/plan",
                {
                    "destination": v,
                    "other_city": v,
                    "planned_on": v,
                    "transport": v,
                    "escort": v,
                    "escort_reason": v,
                    "provided": v,
                },
            ),
            (
                sender,
                "post",
                f"/continuity/onward/b/{desks['luz']}/plan",
                {"destination": "other", "other_city": v, "planned_on": desks["today"].isoformat(), "transport": "bus"},
            ),
            (sender, "post", f"/continuity/onward/m/{muid}/cancel", {"cancel-reason": v}),
            (desk, "get", f"/continuity/onward/m/{v}", None),
            (
                desk,
                "post",
                "/access/break-glass",
                {"case_number": v, "date_of_birth": v, "card_token": v, "reason": v, "explanation": v},
            ),
            (desk, "post", f"/access/break-glass/{v}/end", {}),
        ]
        for client, method, url, data in calls:
            try:
                res = getattr(client, method)(url, data=data) if data is not None else getattr(client, method)(url)
                code = res.status_code
            except Exception as exc:  # noqa: BLE001
                code = f"exc {type(exc).__name__}: {exc}"[:200]
            if not isinstance(code, int) or code >= 500:
                bad.append((url[:60], repr(v)[:20], code))
    assert not bad, bad


def test_an_acknowledged_id_that_names_no_one_is_ignored(app, desks):  # noqa: F811
    desk = client_of(app, desks["tumbes"])
    res = desk.post("/register", data=form_for(desk, acknowledged="999999"))
    assert res.status_code in (302, 422), res.status_code


def test_an_acknowledged_id_never_shown_writes_no_decision_on_a_record_out_of_reach(app, desks):  # noqa: F811
    from msc.beneficiaries.models import DuplicateDecision

    with app.app_context():
        luz_id = session.scalar(sa.select(Beneficiary.id).where(Beneficiary.uid == desks["luz"]))
    desk = client_of(app, desks["tumbes"])  # Luz is at Cúcuta: out of this desk's reach, no continuity consent
    res = desk.post("/register", data=form_for(desk, acknowledged=str(luz_id)))
    assert res.status_code == 302
    with app.app_context():
        pairs = session.scalars(sa.select(DuplicateDecision)).all()
        touched = [(p.first_id, p.second_id) for p in pairs if luz_id in (p.first_id, p.second_id)]
    assert touched == [], touched


def test_a_second_review_of_an_emergency_access_is_refused_and_the_first_stands(app, make):
    from msc.dpo import glass
    from msc.security.emergency import BreakGlass
    from tests.test_access import login_as

    app.config["WTF_CSRF_ENABLED"] = False
    uid = make.person(centre="PER-TUM", given_names="Rosa", family_names="Huamán", date_of_birth=dt.date(1987, 8, 8))
    make.centre("COL-CUC")
    cw = make.user("cw", "caseworker")
    with app.app_context():
        p = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        glass.open_record(
            session.get(User, cw),
            glass.Proof(p.case_number, p.date_of_birth),
            "other",
            "Llegó herida a urgencias de Cúcuta; necesito su historia.",
        )
        session.commit()
        grant_uid = session.scalar(sa.select(BreakGlass.uid))
    dpo = app.test_client()
    login_as(app, dpo, make.user("dpo", "dpo", scope="region"))
    first = dpo.post(
        f"/dpo/break-glass/{grant_uid}", data={"outcome": "not_justified", "note": "No había urgencia alguna."}
    )
    assert first.status_code == 302
    second = dpo.post(f"/dpo/break-glass/{grant_uid}", data={"outcome": "justified", "note": ""})
    with app.app_context():
        grant = session.scalar(sa.select(BreakGlass).where(BreakGlass.uid == grant_uid))
        outcome = grant.outcome
    # a recorded review is never silently replaced (a stale form, a second click, another DPO)
    assert outcome == "not_justified", (second.status_code, outcome)
    assert second.status_code == 422
    assert "already reviewed: the first review stands" in second.get_data(as_text=True)


def test_a_journey_planned_before_the_record_moved_does_not_block_the_new_centre(app, desks):  # noqa: F811
    from msc.centres.models import Centre
    from tests.test_continuity_http import DOB  # noqa: F401

    sender = client_of(app, desks["cucuta"])
    later = (desks["today"] + dt.timedelta(days=30)).isoformat()
    res = _plan(sender, desks["rosa"], destination=desks["to_tumbes"], planned_on=later, transport="bus")
    assert res.status_code == 302
    # the person turns up at Ipiales instead and proves presence at the desk: the record moves there
    with app.app_context():
        number = session.scalar(sa.select(Beneficiary.case_number).where(Beneficiary.uid == desks["rosa"]))
        ipi = session.scalar(sa.select(Centre.id).where(Centre.code == "COL-IPI"))
    from tests.test_onward_http import ADULT as dob

    ipi_cw = client_of(app, desks["ipi_caseworker"])
    res = ipi_cw.post("/continuity/ask", data={"case_number": number, "date_of_birth": dob.isoformat()})
    assert res.status_code == 302
    from tests.test_onward_http import _centre_of

    assert _centre_of(app, desks["rosa"]) == "COL-IPI"
    # the centre that serves the person now plans their next journey
    res = _plan(
        ipi_cw,
        desks["rosa"],
        destination="other",
        other_city="Quito",
        planned_on=desks["today"].isoformat(),
        transport="bus",
    )
    body = res.get_data(as_text=True)
    assert res.status_code == 302, (res.status_code, "already planned" in body)
    _ = ipi


def _applied_to_the_fund(app, make):
    """A caseworker of Cúcuta applies to the protection fund for a child's case (tests.test_fund_http's
    world): the users, and the case's uid."""
    from tests.conftest import csrf
    from tests.test_fund_http import _client, _world

    users, case_uid, _today = _world(app, make)
    cw = _client(app, users["caseworker"])
    path = f"/fund/apply/{case_uid}"
    form = {
        "csrf_token": csrf(cw, path),
        "case_type": "uasc",
        "asked": "uasc",
        "separated_from_parents": "yes",
        "adult_relative_caring": "no",
        "evidence": "Llegó sola; la madre está en Caracas.",
        "line1_category": "shelter",
        "line1_amount": "1000",
        "line1_provider": "Hogar Luz",
    }
    assert cw.post(path, data=form).status_code == 302
    return users, case_uid


def test_reception_does_not_learn_from_the_route_that_a_person_applied_to_the_fund(app, make):
    from msc.cases.models import Case
    from msc.fund.models import Application
    from tests.test_fund_http import _client

    users, case_uid = _applied_to_the_fund(app, make)
    with app.app_context():
        person_uid = session.scalar(sa.select(Case).where(Case.uid == case_uid)).beneficiary.uid
        app_uid = session.scalar(sa.select(Application.uid))
    clerk = _client(app, users["reception"])
    assert clerk.get(f"/fund/applications/{app_uid}").status_code in (403, 404)  # reception never sees them
    page = clerk.get(f"/b/{person_uid}").get_data(as_text=True)
    assert "1 fund application" not in page


def test_a_move_that_left_the_fund_history_behind_does_not_count_it_on_the_route(app, make):
    from msc.cases.models import Case
    from tests.conftest import csrf
    from tests.test_fund_http import _client

    users, case_uid = _applied_to_the_fund(app, make)
    with app.app_context():
        person = session.scalar(sa.select(Case).where(Case.uid == case_uid)).beneficiary
        registry.record_consent(
            session.get(User, users["caseworker"]),
            person,
            registry.ConsentData(
                purpose="continuity",
                status="given",
                given_by="best_interests",
                best_interests_note="Sola en el puente; sigue hacia Tumbes.",
            ),
        )
        session.commit()
        person_uid, number, dob = person.uid, person.case_number, person.date_of_birth
    tum = _client(app, make.user("cw_tum", "caseworker", centres=("PER-TUM",)))
    res = tum.post(
        "/continuity/ask",
        data={"case_number": number, "date_of_birth": dob.isoformat(), "csrf_token": csrf(tum, "/continuity/ask")},
    )
    assert res.status_code == 302  # moved at the desk: identity and household only, no fund history
    page = tum.get(f"/b/{person_uid}").get_data(as_text=True)
    case_page = tum.get(f"/cases/{case_uid}").get_data(as_text=True)
    assert "Regional fund history from earlier centres" not in case_page  # fund history withheld, as designed
    assert "1 fund application" not in page  # nor does the route tell that the person applied at Cúcuta
