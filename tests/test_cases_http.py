"""Case pages over HTTP."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc import clock
from msc.cases.models import Case, CaseNote, Task
from msc.db import session
from tests.conftest import csrf, statements_run
from tests.test_access import login_as

TODAY = clock.today("COL")


@pytest.fixture
def desk(app, make, client):
    cw = make.user("cw", "caseworker")
    login_as(app, client, cw)
    uid = make.person(given_names="Ana", family_names="Rojas")
    return {"cw": cw, "uid": uid}


def _open(client, uid):
    res = client.post(f"/cases/open/{uid}", data={"confirm-csrf_token": csrf(client, f"/b/{uid}")})
    assert res.status_code == 302, res.get_data(as_text=True)[:300]
    return res.headers["Location"]


def test_open_a_case_from_the_profile_and_see_it(app, client, desk):
    assert "Open a case" in client.get(f"/b/{desk['uid']}").get_data(as_text=True)
    url = _open(client, desk["uid"])
    page = client.get(url).get_data(as_text=True)
    assert "Rojas" in page and "Open" in page and "Cw" in page
    assert "Open the case" in client.get(f"/b/{desk['uid']}").get_data(as_text=True)
    res = client.post(
        f"/cases/open/{desk['uid']}", data={"confirm-csrf_token": csrf(client, url)}, follow_redirects=True
    )
    assert "already has an open case" in res.get_data(as_text=True)


def test_the_profile_reads_the_case_without_reading_the_person_again(app, client, desk):
    """The person is in hand when their case is read: it is not joined again, and who holds the case is not
    read at all (the profile shows the case's status)."""
    _open(client, desk["uid"])
    with statements_run(app.extensions["msc.engine"]) as seen:
        page = client.get(f"/b/{desk['uid']}").get_data(as_text=True)
    assert "Open the case" in page
    case_reads = [s for s in seen if "FROM cases" in s]  # the sections' probe, then the case
    assert len(case_reads) == 2 and not [s for s in case_reads if "beneficiaries" in s]
    assert not [s for s in seen if "case_assignments" in s]


def test_assessment_sets_priority(app, client, desk):
    url = _open(client, desk["uid"])
    form = client.get(url + "/assessment").get_data(as_text=True)
    assert "Needs by sector" in form
    res = client.post(
        url + "/assessment",
        data={
            "csrf_token": csrf(client, url + "/assessment"),
            "sector_shelter": "severe",
            "sector_food": "some",
            "specific": ["pregnant_lactating"],
        },
    )
    assert res.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "High" in page and "Shelter: Severe need" in page
    res = client.post(
        url + "/assessment", data={"csrf_token": csrf(client, url + "/assessment"), "sector_shelter": "apocalyptic"}
    )
    assert res.status_code == 422


def test_notes_tasks_status_and_their_errors(app, client, desk):
    url = _open(client, desk["uid"])
    token = csrf(client, url)
    assert (
        client.post(
            url + "/notes", data={"note-csrf_token": token, "note-body": "Refiere amenazas.", "note-sensitive": "y"}
        ).status_code
        == 302
    )
    with app.app_context():
        assert b"amenazas" not in session.scalar(sa.select(CaseNote.body_ct))
    res = client.post(url + "/notes", data={"note-csrf_token": token, "note-body": ""})
    assert res.status_code == 422 and "Write the note." in res.get_data(as_text=True)
    res = client.post(
        url + "/tasks",
        data={
            "task-csrf_token": token,
            "task-title": "Cita médica",
            "task-due_on": TODAY.isoformat(),
            "task-assignee": str(desk["cw"]),
        },
    )
    assert res.status_code == 302
    res = client.post(
        url + "/tasks", data={"task-csrf_token": token, "task-title": "Sin fecha", "task-assignee": str(desk["cw"])}
    )
    assert res.status_code == 422 and "Give a due date." in res.get_data(as_text=True)
    home = client.get("/cases/").get_data(as_text=True)
    assert "Cita médica" in home and "Due today" in home
    with app.app_context():
        task_uid = session.scalar(sa.select(Task.uid))
    assert (
        client.post(f"/cases/tasks/{task_uid}/done", data={"confirm-csrf_token": token, "back": "home"}).headers[
            "Location"
        ]
        == "/cases/"
    )
    res = client.post(url + "/status", data={"status-csrf_token": token, "status-status": "closed"})
    assert res.status_code == 422 and "Choose why the case is being closed." in res.get_data(as_text=True)
    res = client.post(
        url + "/status", data={"status-csrf_token": token, "status-status": "closed", "status-reason": "needs_met"}
    )
    assert res.status_code == 302
    with app.app_context():
        assert session.scalar(sa.select(Case.status)) == "closed"


def test_priority_override_and_risk(app, client, desk):
    url = _open(client, desk["uid"])
    token = csrf(client, url)
    res = client.post(url + "/priority", data={"priority-csrf_token": token, "priority-priority": "critical"})
    assert res.status_code == 422 and "Write why" in res.get_data(as_text=True)
    assert (
        client.post(
            url + "/priority",
            data={"priority-csrf_token": token, "priority-priority": "critical", "priority-reason": "Amenaza directa"},
        ).status_code
        == 302
    )
    assert client.post(url + "/risk", data={"risk-csrf_token": token, "risk-risk_level": "high"}).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Amenaza directa" in page and "risk level changed (Low → High)" in page


def test_reception_and_managers_never_reach_cases_or_notes(app, make, client, desk):
    url = _open(client, desk["uid"])
    for role in ("reception", "centre_manager", "dpo", "admin", "partner"):
        other = app.test_client()
        login_as(app, other, make.user(f"x_{role}", role))
        assert other.get(url).status_code == 403, role
        assert "Open the case" not in other.get(f"/b/{desk['uid']}").get_data(as_text=True)


def test_sensitive_note_hidden_from_an_unassigned_caseworker(app, make, client, desk):
    url = _open(client, desk["uid"])
    client.post(
        url + "/notes",
        data={"note-csrf_token": csrf(client, url), "note-body": "Secreto de protección", "note-sensitive": "y"},
    )
    other = app.test_client()
    login_as(app, other, make.user("cw2", "caseworker"))
    page = other.get(url).get_data(as_text=True)
    assert "Secreto de protección" not in page and "1 confidential note is not shown to you." in page
    officer = app.test_client()
    login_as(app, officer, make.user("po", "protection_officer", scope="region"))
    assert "Secreto de protección" in officer.get(url).get_data(as_text=True)


def _register_daughter(make, case_number: str) -> None:
    """Sofía, six, registered by her mother Ana as a child of the household of the case `case_number`."""
    from msc.beneficiaries import service as reception

    make.person(
        given_names="Sofía",
        family_names="Rojas",
        date_of_birth=TODAY.replace(year=TODAY.year - 6),
        given_by="guardian",
        guardian_name="Ana Rojas",
        household=reception.HouseholdChoice(case_number, "child"),
    )


def test_a_household_heads_case_shows_the_members(app, make, client, desk):
    from msc.beneficiaries.models import Beneficiary

    with app.app_context():
        head = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == desk["uid"]))
        case_number = head.case_number
    _register_daughter(make, case_number)
    page = client.get(_open(client, desk["uid"])).get_data(as_text=True)
    assert "Household members in this case" in page and "Sofía Rojas" in page and "Son or daughter" in page


def test_home_lists_stay_short_and_link_to_the_rest(app, make, client, desk, monkeypatch):
    from msc.cases import service as cases_service

    monkeypatch.setattr(cases_service, "HOME_CASES", 1)
    monkeypatch.setattr(cases_service, "HOME_TASKS", 1)
    _open(client, desk["uid"])
    _open(client, make.person(given_names="Luz", family_names="Marín", date_of_birth=dt.date(1970, 1, 1)))
    with app.app_context():
        from msc.cases import service as svc
        from msc.security.models import User

        cw = session.get(User, desk["cw"])
        for case in session.scalars(sa.select(Case)):
            svc.add_task(cw, case, "Llamar", TODAY, cw.id)
        session.commit()
    home = client.get("/cases/").get_data(as_text=True)
    assert "and 1 more" in home and "All 2 cases at this risk level" in home
    page = client.get("/cases/mine/low").get_data(as_text=True)
    assert "Rojas" in page and "Marín" in page


def test_the_case_page_reads_the_household_with_the_case_and_nothing_twice(app, make, client):
    """The person's household comes with the case; their needs, the referrals' person and the centres of
    the referrals' services are not read (the page does not show them), and the caseworkers' centres once."""
    from msc.referrals.models import Referral

    make.centre()
    cw = make.user("cw", "caseworker")
    _, service_id = make.partner()
    referral_uid = make.referral(cw, service_id, given_names="Ana", family_names="Rojas")
    with app.app_context():
        referral = session.scalar(sa.select(Referral).where(Referral.uid == referral_uid))
        case_uid, case_number, person_uid = (
            referral.case.uid,
            referral.beneficiary.case_number,
            referral.beneficiary.uid,
        )
    _register_daughter(make, case_number)
    login_as(app, client, cw)
    with statements_run(app.extensions["msc.engine"]) as seen:
        page = client.get(f"/cases/{case_uid}").get_data(as_text=True)
    assert "Household members in this case" in page and "Sofía Rojas" in page and "Cruz Roja Colombiana" in page
    assert person_uid in page
    assert not [s for s in seen if "FROM specific_needs" in s or "FROM households" in s]
    assert not [s for s in seen if "partner_service_centres" in s]
    assert len([s for s in seen if "FROM user_centres" in s]) == 1
    [referrals_read] = [s for s in seen if "FROM referrals" in s]
    assert "beneficiaries" not in referrals_read


def test_the_home_reads_each_short_list_once_with_what_it_shows(app, make, client, desk):
    """A list shorter than its limit is read without a count, and the tasks come with their cases and people
    in the same statement."""
    _open(client, desk["uid"])
    with app.app_context():
        from msc.cases import service as svc
        from msc.security.models import User

        cw = session.get(User, desk["cw"])
        for case in session.scalars(sa.select(Case)):
            svc.add_task(cw, case, "Llamar", TODAY, cw.id)
            late = svc.add_task(cw, case, "Visitar", TODAY, cw.id)
        session.flush()
        late.due_on = TODAY - dt.timedelta(days=2)  # a task left undone past its day
        session.commit()
    with statements_run(app.extensions["msc.engine"]) as seen:
        home = client.get("/cases/").get_data(as_text=True)
    assert "Llamar" in home and "Visitar" in home and "Rojas" in home
    tasks = [s for s in seen if "FROM case_tasks" in s]
    assert len(tasks) == 2 and all("JOIN cases" in s and "JOIN beneficiaries" in s for s in tasks)
    assert not [s for s in seen if "count(" in s.lower() and ("case_tasks" in s or "referrals" in s)]
