"""A caseworker refers a person to a health service; the partner accepts and completes it; the
caseworker sees the outcome and the disclosure on the person's record."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD, check_axe
from tests.browser.test_reception_scenario import path_of, submit
from tests.conftest import Factory

pytestmark = pytest.mark.browser


def _log_in(visit, username: str) -> None:
    visit.goto("/login")
    page = visit.page
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("#password").press("Enter")
    visit.note_url()


@pytest.fixture
def referral_world(live_server):
    from msc.beneficiaries import service as reception
    from msc.db import session
    from msc.security.models import User

    make = Factory(live_server.app)
    make.user("gestora", "caseworker", centres=("COL-CUC",), locale="es")
    org_id, _ = make.partner(
        name="Fundación Salud Frontera", sector="health", categories=("identity", "contact", "demographics")
    )
    partner_id = make.user("socio", "partner", centres=(), locale="es")
    with live_server.app.app_context():
        session.get(User, partner_id).organisation_id = org_id
        session.commit()
    uid = make.person(
        given_names="Marisol",
        family_names="Quintero Bastidas",
        phone="+57 311 555 0101",
        consents=[
            reception.ConsentData(purpose="registration", status="given"),
            reception.ConsentData(purpose="referral", status="given"),
        ],
    )
    return {"uid": uid, "org": "Fundación Salud Frontera"}


def test_refer_accept_complete_and_see_the_disclosure(browser, visit, live_server, referral_world):
    page = visit.page
    _log_in(visit, "gestora")
    visit.goto(f"/b/{referral_world['uid']}")
    submit(visit, "form[action*='/cases/open/'] button")
    assert "/cases/" in path_of(page.url)
    check_axe(page, "case")
    with page.expect_navigation():
        page.locator("a[href$='/referrals/new']").click()
    check_axe(page, "new referral")
    page.locator("#service_id").select_option(index=1)
    page.locator("#urgency").select_option("urgent")
    page.locator("#reason").fill("Control prenatal; segundo trimestre.")
    assert page.locator("#categories-0").is_checked() and page.locator("#categories-1").is_checked()
    submit(visit, "form button.primary")
    referral_url = page.url
    check_axe(page, "referral draft")
    submit(visit, "form[action$='/send'] button")
    assert "Enviada" in page.locator("dl.facts.card").inner_text()

    # the partner, in a browser of their own
    partner_context = browser.new_context(locale="es-CO", bypass_csp=True)
    try:
        partner = partner_context.new_page()
        partner.goto(live_server.url + "/login")
        partner.locator("#username").fill("socio")
        partner.locator("#password").fill(PASSWORD)
        with partner.expect_navigation():
            partner.locator("#password").press("Enter")
        assert path_of(partner.url) == "/"  # the partner lands on the referrals waiting for an answer
        check_axe(partner, "partner home")
        with partner.expect_navigation():
            partner.locator("header.top .menu-wide a[href$='/portal/']").click()
        assert path_of(partner.url) == "/portal/"
        check_axe(partner, "partner portal")
        with partner.expect_navigation():
            partner.locator("table a").first.click()
        shared = partner.locator("main").inner_text()
        assert "Marisol Quintero Bastidas" in shared and "311 555 0101" in shared
        assert "Fecha de nacimiento" not in shared  # not shared with this partner
        check_axe(partner, "partner referral")
        with partner.expect_navigation():
            partner.locator("button[formaction$='/accepted']").click()
        partner.locator("#text").fill("Atendida; próxima cita en cuatro semanas.")
        with partner.expect_navigation():
            partner.locator("button[formaction$='/completed']").click()
        assert "Completada" in partner.locator("h1").inner_text()
    finally:
        partner_context.close()

    # back at the centre: the outcome, and who saw what
    visit.goto(path_of(referral_url))
    facts = page.locator("dl.facts.card").inner_text()
    assert "Completada" in facts and "próxima cita" in facts
    visit.goto(f"/b/{referral_world['uid']}")
    shared_with = page.locator("#disclosures").locator("xpath=..").inner_text()
    assert referral_world["org"] in shared_with and "Nombre" in shared_with
    check_axe(page, "profile with disclosures")
