"""A person scans the poster with a phone, sends an anonymous complaint; the focal point answers; the
person reads the answer with the code."""

from __future__ import annotations

import re

import pyotp
import pytest
import sqlalchemy as sa

from tests.browser.conftest import PASSWORD, check_axe, check_no_horizontal_scroll, log_in_as
from tests.browser.qr import scan
from tests.browser.test_reception_scenario import path_of
from tests.conftest import Factory

pytestmark = pytest.mark.browser
SECRET = pyotp.random_base32()


@pytest.fixture
def focal_point(live_server):
    from msc.db import session
    from msc.security.models import User

    uid = Factory(live_server.app).user(
        "punto_focal", "protection_officer", centres=("COL-CUC",), locale="es", mfa_secret=SECRET
    )
    live_server.app.config["FEEDBACK_MIN_SECONDS"] = 0  # the robot check, not the test, decides how fast people type
    with live_server.app.app_context():
        session.get(User, uid).psea_focal_point = True
        session.commit()


def test_anonymous_complaint_from_a_phone_answered_by_the_focal_point(browser, live_server, focal_point):
    phone = browser.new_context(
        locale="es-CO",
        bypass_csp=True,
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        service_workers="block",
    )
    page = phone.new_page()
    try:
        # The poster's QR code points here.
        page.goto(f"{live_server.url}/f/COL-CUC")
        check_axe(page, "public feedback page")
        check_no_horizontal_scroll(page, "public feedback page")
        page.locator("input[name=kind][value=misconduct]").check()
        page.locator("#text").fill("El guardia de la puerta me quitó el carné y me gritó.")
        with page.expect_navigation():
            page.locator("button.primary").click()
        code = page.locator("#reference-code").inner_text()
        assert re.fullmatch(r"[2-9A-Z]{5}-[2-9A-Z]{5}", code)
        check_no_horizontal_scroll(page, "message received")
        # The focal point answers.
        staff = browser.new_context(locale="es-CO", bypass_csp=True, service_workers="block")
        desk = staff.new_page()
        desk.goto(f"{live_server.url}/login")
        desk.locator("#username").fill("punto_focal")
        desk.locator("#password").fill(PASSWORD)
        with desk.expect_navigation():
            desk.locator("#password").press("Enter")
        desk.locator("#code").fill(pyotp.TOTP(SECRET).now())
        with desk.expect_navigation():
            desk.locator("#code").press("Enter")
        desk.goto(f"{live_server.url}/feedback/")
        with desk.expect_navigation():
            desk.locator("a[href*='/feedback/items/']").first.click()
        assert "El guardia de la puerta" in desk.content()
        check_axe(desk, "sensitive complaint")
        desk.locator("#status").select_option("answered")
        desk.locator("#response").fill("Gracias por avisar. Recupere su carné en la oficina 3; el caso está abierto.")
        with desk.expect_navigation():
            desk.locator("button.primary").click()
        staff.close()
        # The person reads the answer with the code, and nothing else.
        page.goto(f"{live_server.url}/f/status")
        page.locator("#code").fill(code.lower())
        with page.expect_navigation():
            page.locator("button.primary").click()
        assert path_of(page.url) == "/f/status"
        assert "Recupere su carné en la oficina 3" in page.locator("#answer").inner_text()
        assert "El guardia" not in page.content()
        check_axe(page, "answer")
        check_no_horizontal_scroll(page, "answer")
    finally:
        phone.close()


def test_the_printed_poster_scans_to_the_public_page(visit, live_server):
    """The poster's QR code, at its printed size, reads back as the centre's public address."""
    from msc.centres.models import Centre
    from msc.db import session

    Factory(live_server.app).user("jefa", "centre_manager", centres=("COL-CUC",), locale="es")
    with live_server.app.app_context():
        centre_id = session.scalar(sa.select(Centre.id).where(Centre.code == "COL-CUC"))
    log_in_as(visit, "jefa")
    visit.goto(f"/feedback/poster/{centre_id}")
    qr = visit.page.locator(".poster .qr")
    expected = [f"{live_server.url}/f/COL-CUC"]
    assert scan(qr) == expected, "the poster's QR code cannot be read on screen"
    visit.page.emulate_media(media="print")
    assert scan(qr) == expected and scan(qr, scale=300 / 96) == expected, "the printed poster cannot be read"
    assert visit.page_errors == [], visit.page_errors


def test_the_centre_manager_prints_the_poster_from_the_feedback_page(browser, live_server):
    """In Spanish: from the menu's feedback page, the centre manager reaches the centre's poster and its QR."""
    Factory(live_server.app).user("jefa", "centre_manager", centres=("COL-CUC",), locale="es")
    staff = browser.new_context(locale="es-CO", bypass_csp=True, service_workers="block")
    desk = staff.new_page()
    try:
        desk.goto(f"{live_server.url}/login")
        desk.locator("#username").fill("jefa")
        desk.locator("#password").fill(PASSWORD)
        with desk.expect_navigation():
            desk.locator("#password").press("Enter")
        with desk.expect_navigation():
            desk.locator("header.top .menu-wide a[href$='/feedback/']").click()
        with desk.expect_navigation():
            desk.get_by_role("link", name="Afiche de COL-CUC").click()
        assert re.fullmatch(r"/feedback/poster/\d+", path_of(desk.url))
        assert desk.locator("svg").count() >= 1 and "/f/COL-CUC" in desk.content()
        check_axe(desk, "feedback poster")
    finally:
        staff.close()
