"""The monthly report: a centre manager opens the dashboard, narrows it to women, gives a period the
wrong way round and is told so with what was typed kept, downloads a table, and prints the page without its filters."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.conftest import check_axe
from tests.browser.test_reception_scenario import path_of
from tests.conftest import PASSWORD, Factory

pytestmark = pytest.mark.browser


@pytest.fixture
def manager(live_server):
    make = Factory(live_server.app)
    for i in range(6):
        make.person(
            given_names=f"Yolanda{i}",
            family_names="Cárdenas",
            date_of_birth=dt.date(1988, 6, 1 + i),
            needs=["single_caregiver"],
        )
    for i in range(3):
        make.person(given_names=f"Julio{i}", family_names="Cárdenas", sex="male", date_of_birth=dt.date(1984, 2, 1 + i))
    make.user("coordinadora", "centre_manager", centres=("COL-CUC",), locale="es")
    return "coordinadora"


def test_a_centre_manager_reads_filters_downloads_and_prints_the_dashboard(browser, visit, live_server, manager):
    page = visit.page
    visit.goto("/login")
    page.locator("#username").fill(manager)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("#password").press("Enter")
    with page.expect_navigation():
        page.get_by_role("link", name="Tablero").click()
    visit.note_url()
    assert path_of(page.url) == "/reports/"
    assert page.locator("h1").inner_text() == "Tablero"
    registrations = page.locator("section", has=page.locator("#t-age_sex"))
    assert registrations.locator("svg").count() == 1
    assert registrations.locator("tbody tr", has_text="18-59").locator("td").all_inner_texts() == ["x", "<5", "0", "9"]
    check_axe(page, "dashboard")
    # along the route: the nine people the centre registered this month are people it served
    route = page.locator("section", has=page.locator("#t-route"))
    assert "A lo largo de la ruta: personas atendidas, llegadas y salidas" in route.inner_text()
    assert route.locator("tbody tr", has_text="COL-CUC").locator("td").all_inner_texts()[-3:] == ["9", "0", "0"]

    page.locator("#sex").select_option("female")
    with page.expect_navigation():
        page.get_by_role("button", name="Mostrar").click()
    visit.note_url()
    assert parse_qs(urlparse(page.url).query)["sex"] == ["female"]
    women = page.locator("section", has=page.locator("#t-age_sex")).locator("tbody tr", has_text="18-59")
    assert women.locator("td").all_inner_texts() == ["6", "0", "0", "6"]

    # The month fields offer the browser's month picker; a period the wrong way round comes back as typed.
    page.locator("#start").fill("2026-05")
    page.locator("#end").fill("2026-04")
    with page.expect_navigation():
        page.get_by_role("button", name="Mostrar").click()
    assert "El periodo termina antes de empezar." in page.locator(".error-summary").inner_text()
    assert page.locator("#start").input_value() == "2026-05" and page.locator("#end").input_value() == "2026-04"
    check_axe(page, "dashboard with a refused filter")

    visit.goto("/reports/")
    with page.expect_download() as download:
        page.locator("section", has=page.locator("#t-needs")).get_by_role("link", name="Descargar CSV").click()
    with open(download.value.path(), encoding="utf-8-sig") as f:
        text = f.read()
    assert text.splitlines()[1].startswith("#indicator+need,#affected+f")
    assert "Yolanda" not in text and "Cárdenas" not in text

    page.emulate_media(media="print")
    assert not page.locator("form.filters").is_visible()
    assert page.locator("#t-registrations").is_visible()
    page.emulate_media(media="screen")
    assert all(url.startswith(live_server.url) for url in visit.all_urls()), "no third-party request"
    assert "Yolanda" not in page.content()
