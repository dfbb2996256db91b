"""A name in Arabic script at the reception desk, on a phone: registered as written, found by the Latin
spelling a clerk types, in Spanish."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import check_axe, check_no_horizontal_scroll
from tests.browser.test_reception_scenario import PHONE, SAVE, fill_person, log_in, path_of, record_consent, submit

pytestmark = pytest.mark.browser

# (the nationality list does not name Afghanistan or Syria yet: the scenario records him stateless)
ARABIC = {"given": "محمد", "family": "حسن", "dob": "1988-06-12", "nationality": "XXA"}


def test_a_name_registered_in_arabic_script_is_found_by_its_latin_spelling(visit, live_server):
    page = visit.page
    page.set_viewport_size(PHONE)
    log_in(visit, live_server)
    assert page.locator("html").get_attribute("lang") == "es"

    # -- register him with his name as his document writes it
    visit.goto("/register")
    fill_person(page, ARABIC["given"], ARABIC["family"], ARABIC["dob"], "male")
    page.locator("#nationality").select_option(ARABIC["nationality"])
    record_consent(page)
    submit(visit, SAVE)
    assert re.fullmatch(r"/b/[^/]+", path_of(page.url)), page.locator("main").inner_text()
    uid = path_of(page.url).rsplit("/", 1)[1]
    assert ARABIC["given"] in page.locator("h1").inner_text()

    # -- another day, a clerk types the name as it sounds
    visit.goto("/")
    page.locator("#q").fill("Mohamed Hasan")
    submit(visit, "form.search button[type=submit]")
    results = page.locator("section.results")
    assert results.locator(f"a[href$='/b/{uid}']").count() == 1, results.inner_text()
    assert ARABIC["given"] in results.inner_text() and ARABIC["family"] in results.inner_text()
    check_no_horizontal_scroll(page, "search results (a name in Arabic script)")
    check_axe(page, "search results (a name in Arabic script)")
    assert visit.page_errors == [], visit.page_errors
