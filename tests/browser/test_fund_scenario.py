"""A caseworker applies to the fund for an unaccompanied child; a protection officer approves part of it;
a disbursement is recorded; the decision register shows it."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
import sqlalchemy as sa

from tests.browser.conftest import check_axe, log_in_as
from tests.browser.test_reception_scenario import path_of, submit
from tests.conftest import Factory

pytestmark = pytest.mark.browser


SECRET = pyotp.random_base32()


def _log_in(visit, username: str) -> None:
    log_in_as(visit, username, SECRET)  # protection officers confirm with their authenticator app


@pytest.fixture
def fund_world(live_server):
    from msc import clock
    from msc.db import session
    from msc.fund.models import FundAllocation

    make = Factory(live_server.app)
    today = clock.today("COL")
    cw = make.user("gestora", "caseworker", centres=("COL-CUC",), locale="es")
    make.user("proteccion", "protection_officer", centres=("COL-CUC",), locale="es", mfa_secret=SECRET)
    child = make.person(
        given_names="Yuleisy",
        family_names="Marcano",
        sex="female",
        date_of_birth=today.replace(year=today.year - 15),
        given_by="best_interests",
        best_interests_note="Llegó sola al puente Simón Bolívar.",
    )
    case_uid, _ = make.case(child, cw)
    with live_server.app.app_context():
        session.add(
            FundAllocation(
                country="COL",
                currency="COP",
                amount=20_000_000_00,
                disbursed=0,
                starts_on=today,
                ends_on=today + dt.timedelta(days=365),
            )
        )
        session.commit()
    return {"case": case_uid, "today": today}


def test_apply_approve_part_disburse_and_audit(browser, visit, live_server, fund_world):
    page = visit.page
    _log_in(visit, "gestora")
    visit.goto(f"/cases/{fund_world['case']}")
    with page.expect_navigation():
        page.locator(f"a[href$='/fund/apply/{fund_world['case']}']").click()
    visit.note_url()
    check_axe(page, "fund application form")
    assert not page.locator("#act").is_visible() and not page.locator("#fund-send").is_visible()
    page.locator("#case_type-0").check()  # trafficking: its questions appear, and only them
    assert page.locator("#act").is_visible() and not page.locator("#indicators").is_visible()
    page.locator("#case_type-1").check()  # unaccompanied or separated child
    assert not page.locator("#act").is_visible() and page.locator("#age_in_doubt").is_visible()
    assert page.locator("#fund-send").is_visible() and not page.locator("#fund-choose").is_visible()
    page.locator("#separated_from_parents-0").check()  # yes
    page.locator("#adult_relative_caring-1").check()  # no
    page.locator("#evidence").fill("Viaja sola; la madre sigue en Maracaibo.")
    page.locator("#line1_category").select_option("shelter")
    page.locator("#line1_amount").fill("1.200.000")
    page.locator("#line1_provider").fill("Hogar de paso Luz")
    page.locator("#line2_category").select_option("medical")
    page.locator("#line2_amount").fill("300000")
    submit(visit, "#fund-send")
    assert path_of(page.url).startswith("/fund/applications/")
    application_url = page.url
    assert "Elegible" in page.locator("dl.facts").inner_text()
    check_axe(page, "fund application")
    # A protection officer approves the shelter and lowers nothing else: the medical line is left out.
    _log_in(visit, "proteccion")
    page.goto(application_url)
    visit.note_url()
    shelter_input = page.locator("input[id^='approve-']").first
    shelter_input.fill("1.000.000")
    page.locator("#outcome-0").check()  # approve
    page.locator("#period_ends_on").fill((fund_world["today"] + dt.timedelta(days=90)).isoformat())
    submit(visit, "form button.primary")
    assert "Decisión registrada" in page.locator(".flash").inner_text()
    check_axe(page, "decided application")
    # A disbursement against the approved line.
    card = page.locator("form.card").first
    card.locator("input[name$='-amount']").fill("400.000")
    card.locator("input[name$='-payee']").fill("Hogar de paso Luz")
    card.locator("input[name$='-reference']").fill("FAC-2026-0042")
    with page.expect_navigation():
        card.locator("button[type=submit]").click()
    visit.note_url()
    assert "FAC-2026-0042" in page.content() and "600.000\u00a0COP" in (page.locator("main").text_content() or "")
    # The decision register shows it.
    visit.goto("/fund/register")
    rows = page.locator("table tbody tr").all_inner_texts()
    assert any("COL-CUC" in r and "Aprobada" in r and "Proteccion" in r and "Yuleisy" not in r for r in rows), rows
    check_axe(page, "decision register")
    from msc.db import session
    from msc.fund.models import Disbursement

    with live_server.app.app_context():
        assert session.scalar(sa.select(sa.func.sum(Disbursement.amount))) == 400_000_00


def test_apply_without_javascript_in_two_steps(browser, live_server, fund_world):
    """On a phone without JavaScript: choose the case type, send, answer only that type's questions."""
    from tests.browser.conftest import TIMEOUT_MS, Visit

    context = browser.new_context(locale="es-CO", java_script_enabled=False, viewport={"width": 360, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        visit = Visit(page=context.new_page(), base_url=live_server.url)
        page = visit.page
        log_in_as(visit, "gestora")
        visit.goto(f"/fund/apply/{fund_world['case']}")
        assert page.locator("#case_type").is_visible() and not page.locator("#act").is_visible()
        assert not page.locator("#evidence").is_visible() and not page.locator("#fund-send").is_visible()
        page.locator("#case_type-0").check()  # trafficking
        submit(visit, "#fund-choose")
        assert page.locator("#act").is_visible() and page.locator("#age_in_doubt").is_visible()
        assert not page.locator("#indicators").is_visible() and not page.locator("#separated_from_parents").is_visible()
        assert page.locator(".error-summary").count() == 0 and page.locator("#fund-send").is_visible()
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
    finally:
        context.close()
