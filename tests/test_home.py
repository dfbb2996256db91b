"""Each role's home shows its work: every feature's section, only what the role may see, scoped to its centres."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc import sections
from msc.beneficiaries.models import Beneficiary
from msc.clock import today as local_today
from msc.db import session, utcnow
from msc.security.models import User
from tests.conftest import REGIONAL_MANAGER
from tests.test_access import login_as, world  # noqa: F401 (the two-centre world every role works in)

TODAY = local_today("COL")


def _home(app, user_id: int) -> dict[str, sections.Section]:
    """What the landing page would show the user, by section key."""
    with app.test_request_context():
        return {s.key: s for s in sections.home(session.get(User, user_id), TODAY)}


def _texts(section: sections.Section) -> str:
    return " | ".join(f"{r.text} {r.note} {r.url or ''}" for r in section.rows)


def _case_number(app, uid: str) -> str:
    with app.app_context():
        return session.scalar(sa.select(Beneficiary.case_number).where(Beneficiary.uid == uid))


def _referral_number(app, referral_uid: str) -> str:
    from msc.referrals.models import Referral

    with app.app_context():
        return session.scalar(sa.select(Referral).where(Referral.uid == referral_uid)).beneficiary.case_number


def _past_deadlines(app) -> None:
    """Every sent referral is past its deadline."""
    from msc.referrals.models import Referral

    with app.app_context():
        session.execute(sa.update(Referral).values(deadline_at=utcnow() - dt.timedelta(days=1)))
        session.commit()


# ---- the sections, role by role ----------------------------------------------------------------


def test_caseworker_sees_their_tasks_cases_referrals_and_children_not_another_centres(app, world):  # noqa: F811
    found = _home(app, world["users"]["caseworker"])
    assert list(found) == ["tasks", "referrals", "cases", "continuity", "uasc"]
    # Tumbes asks for the record of Cúcuta (not the other way round: that one is for Tumbes to answer)
    assert _case_number(app, world["here"]) in _texts(found["continuity"])
    assert _case_number(app, world["there"]) not in _texts(found["continuity"])
    here_case = _case_number(app, world["here2"])
    assert here_case in _texts(found["tasks"]) and "Llamar" in _texts(found["tasks"])
    assert _referral_number(app, world["referral"]) in _texts(found["referrals"])
    assert _referral_number(app, world["there_referral"]) not in _texts(found["referrals"])
    assert _case_number(app, world["there"]) not in _texts(found["tasks"]) + _texts(found["uasc"])
    assert [r.url for r in found["cases"].rows] and all("/cases/mine/" in r.url for r in found["cases"].rows)
    assert found["uasc"].rows == [] and found["uasc"].empty


def test_a_task_past_its_day_is_flagged_and_a_late_referral_too(app, world):  # noqa: F811
    from msc.cases.models import Task

    with app.app_context():
        session.execute(sa.update(Task).values(due_on=TODAY - dt.timedelta(days=2)))
        session.commit()
    _past_deadlines(app)
    found = _home(app, world["users"]["caseworker"])
    assert [bool(r.flag) for r in found["tasks"].rows] == [True]
    assert [bool(r.flag) for r in found["referrals"].rows] == [True]


def test_centre_manager_sees_the_centre_today_and_nothing_of_another_centre(app, world):  # noqa: F811
    from msc.centres.models import Centre
    from msc.nfi import stock

    with app.app_context():
        for code in ("COL-CUC", "PER-TUM"):
            centre = session.scalar(sa.select(Centre).where(Centre.code == code))
            stock.set_thresholds(REGIONAL_MANAGER, centre, {world["item"]: 20})
        session.commit()
    _past_deadlines(app)
    found = _home(app, world["users"]["centre_manager"])
    assert set(found) == {"stock", "feedback", "occupancy", "late", "continuity", "offline-reported"}
    assert "Tablet COL-CUC" in _texts(found["offline-reported"]) and "PER-TUM" not in _texts(found["offline-reported"])
    assert _case_number(app, world["there"]) not in _texts(found["continuity"])
    assert "COL-CUC" in _texts(found["stock"]) and "PER-TUM" not in _texts(found["stock"])
    assert "COL-CUC" in _texts(found["feedback"]) and "PER-TUM" not in _texts(found["feedback"])
    assert "Casa de Paso" in _texts(found["occupancy"]) and "Tumbes" not in _texts(found["occupancy"])
    # one referral of Cúcuta is late (the one of Tumbes is not counted); the manager sees a count, no person
    assert len(found["late"].rows) == 1 and found["late"].rows[0].text.startswith("1 ")
    assert _referral_number(app, world["referral"]) not in _texts(found["late"])


def test_centre_manager_never_sees_a_sensitive_complaint(app, world):  # noqa: F811
    from msc.centres.models import Centre
    from msc.feedback import service as feedback

    with app.app_context():
        centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
        feedback.submit(centre, channel="self_service", kind="sea", text="Un funcionario pidió favores.")
        session.commit()
    found = _home(app, world["users"]["centre_manager"])
    assert len(found["feedback"].rows) == 1 and "psea" not in found


def test_protection_officer_sees_decisions_samples_psea_and_reassessments_in_scope(app, make, world):  # noqa: F811
    from msc.centres.models import Centre
    from msc.feedback import service as feedback

    officer = world["users"]["protection_officer"]
    with app.app_context():
        session.get(User, officer).psea_focal_point = True
        for code in ("COL-CUC", "PER-TUM"):
            centre = session.scalar(sa.select(Centre).where(Centre.code == code))
            feedback.submit(centre, channel="self_service", kind="fraud", text="Me pidieron dinero.")
        session.commit()
    found = _home(app, officer)
    assert list(found) == ["decisions", "samples", "psea", "reassessments"]
    assert found["decisions"].rows == [] and found["decisions"].empty  # both applications are decided
    assert len(found["samples"].rows) == 1 and found["samples"].rows[0].note.startswith("1 ")  # Cúcuta's only
    assert "COL-CUC" in _texts(found["psea"]) and "PER-TUM" not in _texts(found["psea"])
    assert len(found["psea"].rows) == 1  # the suggestion of Cúcuta is the manager's, not the focal point's
    assert "COL-CUC" in _texts(found["reassessments"]) and "PER-TUM" not in _texts(found["reassessments"])


def test_an_officer_who_is_not_a_focal_point_has_no_psea_section(app, world):  # noqa: F811
    assert "psea" not in _home(app, world["users"]["protection_officer"])


def test_an_application_waits_for_a_decision_on_the_officers_home(app, world):  # noqa: F811
    from msc.cases.models import Case
    from msc.fund import applications

    with app.app_context():
        # a second application for the case of Cúcuta, by its caseworker, and one for the case of Tumbes
        for case_uid in (world["case"], world["there_case"]):
            case = session.scalar(sa.select(Case).where(Case.uid == case_uid))
            applications.submit(
                case.caseworkers[0],
                case,
                "vulnerable",
                {"indicators": ["disability"]},
                None,
                [applications.LineData("basic_needs", 100_00, "COP" if case_uid == world["case"] else "PEN")],
            )
        session.commit()
        officer = session.get(User, world["users"]["protection_officer"])
        assert applications.awaiting_count(officer) == 1
    found = _home(app, world["users"]["protection_officer"])
    assert len(found["decisions"].rows) == 1 and "COL-CUC" in _texts(found["decisions"])


def test_dpo_sees_reviews_chain_retention_and_exports(app, world):  # noqa: F811
    from msc.dpo import oversight
    from msc.security import audit

    dpo = world["users"]["dpo"]
    found = _home(app, dpo)
    assert list(found) == ["reviews", "chain", "retention", "exports"]
    assert world["grant"] in _texts(found["reviews"])
    assert found["chain"].rows == [] and found["retention"].rows == []
    with app.test_request_context():
        audit.record("nfi.export", detail="stock.csv:3", user_id=world["users"]["centre_manager"])
        oversight.check_chain(session.get(User, dpo))
        session.commit()
    found = _home(app, dpo)
    assert "u_centre_manager" in _texts(found["exports"])
    assert len(found["chain"].rows) == 1 and not found["chain"].rows[0].flag


def test_partner_sees_only_their_organisations_referrals(app, world):  # noqa: F811
    found = _home(app, world["users"]["partner"])
    assert list(found) == ["referrals"]
    assert _referral_number(app, world["referral"]) in _texts(found["referrals"])
    assert _referral_number(app, world["there_referral"]) not in _texts(found["referrals"])


def test_reception_has_no_sections(app, world):  # noqa: F811
    assert _home(app, world["users"]["reception"]) == {}


# ---- over HTTP ---------------------------------------------------------------------------------

HEADINGS = {
    "reception": ["Search before registering"],
    "caseworker": ["Tasks due", "Referrals waiting for an answer", "My cases", "Possible unaccompanied"],
    "centre_manager": ["Low stock", "Feedback to answer", "Occupancy", "What is late"],
    "protection_officer": ["Decisions waiting", "Audit samples", "Re-assessments"],
    "dpo": ["Emergency accesses to review", "Audit chain", "Retention", "Downloads and exports"],
    "partner": ["Referrals waiting for your answer"],
}


@pytest.mark.parametrize("role", sorted(HEADINGS))
def test_each_role_lands_on_its_work(app, client, world, role):  # noqa: F811
    login_as(app, client, world["users"][role])
    res = client.get("/")
    page = res.get_data(as_text=True)
    assert res.status_code == 200
    assert all(h in page for h in HEADINGS[role]), role
    assert "as they become available" not in page


def test_the_dpo_home_is_no_placeholder_and_keeps_the_burst_alert(app, client, world):  # noqa: F811
    from msc.dpo import glass
    from msc.security import audit

    with app.test_request_context():
        audit.record(glass.BURST, object_type="region", detail="region:7")
        session.get(User, world["users"]["dpo"]).locale = "es"
        session.commit()
    login_as(app, client, world["users"]["dpo"])
    page = client.get("/").get_data(as_text=True)
    assert "aparecerán" not in page and "a medida que estén disponibles" not in page
    assert 'role="alert"' in page and 'id="home-alerts"' in page and 'id="home-reviews"' in page


def test_a_caseworker_logging_in_lands_on_their_tasks(app, client, auth, world):  # noqa: F811
    res = auth.login("u_caseworker", follow=True)
    page = res.get_data(as_text=True)
    assert "Tasks due" in page and "Llamar" in page and 'action="/search"' not in page


def test_the_menu_search_opens_the_box(app, client, world):  # noqa: F811
    login_as(app, client, world["users"]["caseworker"])
    assert 'href="/search"' in client.get("/").get_data(as_text=True)
    assert "Search before registering" in client.get("/search").get_data(as_text=True)
