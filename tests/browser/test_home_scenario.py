"""A caseworker logs in on a 360 px phone and lands on their work: the task due today and the referral
waiting for an answer, each a link to its page."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.browser.conftest import check_axe, check_no_horizontal_scroll, log_in_as
from tests.conftest import Factory

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def caseload(live_server):
    from msc.beneficiaries.models import Beneficiary
    from msc.cases.models import Task
    from msc.clock import today as local_today
    from msc.db import session
    from msc.referrals.models import Referral

    make = Factory(live_server.app)
    caseworker = make.user("gestora", "caseworker", centres=("COL-CUC",), locale="es")
    _, service_id = make.partner(name="Fundación Salud Frontera", sector="health")
    person = make.person(given_names="Marisol", family_names="Quintero Bastidas")
    case_uid, _ = make.case(person, caseworker)
    referral_uid = make.referral(
        caseworker, service_id, given_names="Rosa", family_names="Peña Ortiz", date_of_birth=dt.date(1984, 4, 4)
    )
    with live_server.app.app_context():
        for task in session.scalars(sa.select(Task)):  # the title is encrypted: set through the model
            task.title, task.due_on = "Llamar a la familia", local_today("COL")
        session.commit()
        return {
            "case": case_uid,
            "case_number": session.scalar(sa.select(Beneficiary.case_number).where(Beneficiary.uid == person)),
            "referral": referral_uid,
            "referral_number": session.scalar(
                sa.select(Referral).where(Referral.uid == referral_uid)
            ).beneficiary.case_number,
        }


def test_a_caseworker_lands_on_the_task_due_today_and_the_referral_waiting(visit, caseload):
    page = visit.page
    page.set_viewport_size(PHONE)
    log_in_as(visit, "gestora")
    assert page.url.rstrip("/") == visit.base_url.rstrip("/")  # the landing page, not the search box
    tasks = page.locator("section[aria-labelledby='home-tasks']")
    assert "Tareas pendientes" in tasks.inner_text() and "1 tarea para hoy" in tasks.inner_text()
    assert "Llamar a la familia" in tasks.inner_text() and caseload["case_number"] in tasks.inner_text()
    referrals = page.locator("section[aria-labelledby='home-referrals']")
    text = referrals.inner_text()
    assert "Derivaciones que esperan respuesta" in text and "1 espera respuesta" in text
    assert caseload["referral_number"] in text and "Fundación Salud Frontera" in text
    assert "Nada en espera." in page.locator("section[aria-labelledby='home-uasc']").inner_text()
    check_axe(page, "caseworker home")
    check_no_horizontal_scroll(page, "caseworker home")

    with page.expect_navigation():
        tasks.get_by_role("link", name=caseload["case_number"]).click()
    assert page.url.endswith(f"/cases/{caseload['case']}")
    assert "Llamar a la familia" in page.content()

    visit.goto("/")
    with page.expect_navigation():
        page.locator("section[aria-labelledby='home-referrals']").get_by_role(
            "link", name=caseload["referral_number"]
        ).click()
    assert page.url.endswith(f"/referrals/{caseload['referral']}")
    check_no_horizontal_scroll(page, "referral")


def test_the_centre_manager_and_the_dpo_homes_fit_a_phone(visit, live_server):
    import pyotp

    from msc.centres.models import Centre
    from msc.db import session
    from msc.feedback import service as feedback
    from msc.security import audit

    secret = pyotp.random_base32()
    make = Factory(live_server.app)
    make.user("jefa", "centre_manager", centres=("COL-CUC",), locale="es")
    make.user("dpo", "dpo", scope="region", locale="es", mfa_secret=secret)
    make.shelter()
    with live_server.app.app_context():
        centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
        feedback.submit(centre, channel="self_service", kind="complaint_service", text="La fila es muy larga.")
        audit.record("access.break_glass_burst", object_type="region", detail="region:9")
        session.commit()
    page = visit.page
    page.set_viewport_size(PHONE)
    log_in_as(visit, "jefa")
    for key in ("stock", "feedback", "occupancy", "late"):
        assert page.locator(f"section[aria-labelledby='home-{key}']").count() == 1
    assert "Casa de Paso Cúcuta" in page.locator("section[aria-labelledby='home-occupancy']").inner_text()
    check_axe(page, "centre manager home")
    check_no_horizontal_scroll(page, "centre manager home")

    log_in_as(visit, "dpo", secret)
    assert page.locator("section[role='alert']").count() == 1
    assert "aparecerán" not in page.content()
    for key in ("reviews", "chain", "retention", "exports"):
        assert page.locator(f"section[aria-labelledby='home-{key}']").count() == 1
    check_axe(page, "DPO home")
    check_no_horizontal_scroll(page, "DPO home")
