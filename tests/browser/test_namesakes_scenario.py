"""Among namesakes on a phone, in Spanish: a page of equally good matches says so, and the date of
birth typed in the narrowing field puts the person first, on the same page and without JavaScript."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import check_axe, check_no_horizontal_scroll
from tests.browser.test_reception_scenario import PHONE, log_in, submit
from tests.conftest import Factory

pytestmark = pytest.mark.browser

SECOND_SURNAMES = [
    "López",
    "Díaz",
    "Torres",
    "Castro",
    "Vargas",
    "Mendoza",
    "Suárez",
    "Ortiz",
    "Núñez",
    "Molina",
    "Paz",
]


def test_a_crowded_page_is_narrowed_by_date_of_birth_in_one_step(visit, live_server):
    make = Factory(live_server.app)
    for i, second in enumerate(SECOND_SURNAMES):
        make.person(given_names="María", family_names=f"García {second}", date_of_birth=dt.date(1960 + i, 1, 1 + i))
    make.person(given_names="María", family_names="García Rojas", date_of_birth=dt.date(1984, 9, 30))
    page = visit.page
    page.set_viewport_size(PHONE)
    log_in(visit, live_server)

    page.locator("#q").fill("maria garsia")  # one letter wrong
    submit(visit, "form.search button[type=submit]")
    notice = page.locator("form.narrow")
    assert notice.is_visible(), page.locator("main").inner_text()
    assert "coinciden igual de bien" in notice.inner_text()  # the desk reads Spanish
    check_no_horizontal_scroll(page, "search results (namesakes)")
    check_axe(page, "search results (namesakes)")

    # one step: the date of birth in the narrowing field, on the same page
    page.locator("#narrow").fill("30/09/1984")
    submit(visit, "form.narrow button[type=submit]")
    first = page.locator("section.results tbody tr").first
    assert "García Rojas" in first.inner_text(), page.locator("section.results").inner_text()
    assert page.locator("#q").input_value() == "maria garsia 30/09/1984"  # the box holds the narrowed search
    assert page.locator("form.narrow").count() == 0
    assert not any(m == "GET" and "q=" in u for m, u in visit.requests)
    assert visit.page_errors == [], visit.page_errors
