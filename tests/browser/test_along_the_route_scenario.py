"""Along the route, on phones: a woman registered at Cúcuta (in Spanish) with consent to continuity of care
is recognised at the Pacaraima desk (in Portuguese) as a possible earlier registration — the country and the
month, never her name, case number or centre; she shows her card and her record comes to Pacaraima, its
route naming both centres; a caseworker plans her journey on to Boa Vista, which expects her and confirms her
arrival, and the route names all three."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import check_axe, check_no_horizontal_scroll, log_in_as
from tests.browser.test_reception_scenario import PHONE, SAVE, fill_person, log_in, path_of, record_consent, submit
from tests.conftest import Factory

pytestmark = pytest.mark.browser


def test_a_desk_down_the_route_recognises_an_earlier_registration(visit, live_server):
    page = visit.page
    page.set_viewport_size(PHONE)
    make = Factory(live_server.app)
    make.centre("BRA-PAC", "CAM Pacaraima", "BRA")
    make.user("recepcao_pac", "reception", centres=("BRA-PAC",), locale="pt_BR")

    # -- Cúcuta, in Spanish: registered with consent to continuity
    log_in(visit, live_server)
    visit.goto("/register")
    fill_person(page, "Yulimar", "Contreras Briceño", "1994-08-21", "female")
    page.locator("#nationality").select_option("VEN")
    record_consent(page)
    continuity = page.locator("#consent_continuity")
    assert "Continuidad de la atención" in continuity.inner_text()
    continuity.locator("input[value=given]").check()
    submit(visit, SAVE)
    assert re.fullmatch(r"/b/[^/]+", path_of(page.url)), page.locator("main").inner_text()
    uid = path_of(page.url).rsplit("/", 1)[1]
    case_number = page.locator("h1 small").inner_text().strip()

    # -- Pacaraima, in Portuguese: the name searched finds nobody in reach, and a hint
    pages_before, requests_before = len(visit.page_urls), len(visit.requests)
    log_in_as(visit, "recepcao_pac")
    assert page.locator("html").get_attribute("lang") == "pt-BR"
    page.locator("#q").fill("yulimar contreras")
    submit(visit, "form.search button[type=submit]")
    hints = page.locator("#regional-hints")
    assert hints.is_visible(), page.locator("main").inner_text()
    text = hints.inner_text()
    assert "Possível cadastro anterior em outro centro (Colômbia," in text and "nome parecido" in text
    main = page.locator("main").inner_html()
    for secret in ("Contreras Briceño", "Yulimar", case_number, uid, "Cúcuta"):
        assert secret not in main, secret
    # the Cúcuta desk opened the record; nothing this desk reached names it
    since = visit.page_urls[pages_before:] + [url for _, url in visit.requests[requests_before:]]
    assert since and not any(uid in u for u in since)
    check_no_horizontal_scroll(page, "search results with a regional hint")
    check_axe(page, "search results with a regional hint")
    assert visit.page_errors == [], visit.page_errors

    # -- the person shows her card at the Pacaraima desk: with her consent to continuity the record comes here
    with live_server.app.app_context():
        import sqlalchemy as sa

        from msc.beneficiaries.models import Beneficiary
        from msc.db import session

        token = session.scalar(sa.select(Beneficiary.card_token).where(Beneficiary.uid == uid))
    visit.goto("/continuity/ask")
    page.locator("#card_token").fill(token)  # what the card's QR code or the text under it gives
    submit(visit, "main form button[type=submit]")
    assert path_of(page.url) == f"/b/{uid}", page.locator("main").inner_text()
    assert "Yulimar" in page.locator("h1").inner_text()
    route = page.locator("section[aria-labelledby=route]")
    rows = route.locator("tbody tr").all_inner_texts()
    assert len(rows) == 2 and "COL-CUC" in rows[0] and "BRA-PAC" in rows[1], rows
    check_no_horizontal_scroll(page, "profile of a record that arrived")
    check_axe(page, "profile of a record that arrived")
    assert visit.page_errors == [], visit.page_errors

    # -- a caseworker at Pacaraima plans her journey on to Boa Vista; Boa Vista expects her and confirms
    import datetime as dt

    boa_vista = make.centre("BRA-BVB", "Centro de Apoio Boa Vista", "BRA")
    make.user("gestora_pac", "caseworker", centres=("BRA-PAC",), locale="pt_BR")
    make.user("recepcao_bvb", "reception", centres=("BRA-BVB",), locale="pt_BR")
    log_in_as(visit, "gestora_pac")
    visit.goto(f"/b/{uid}")
    with page.expect_navigation():
        page.locator("section[aria-labelledby=onward] a[href$='/plan']").click()
    visit.note_url()
    page.locator("#destination").select_option(f"centre:{boa_vista}")
    page.locator("#planned_on").fill((dt.date.today() + dt.timedelta(days=2)).isoformat())
    page.locator("input[name=transport][value=bus]").check()
    page.locator("input[name=provided][value=food]").check()
    check_no_horizontal_scroll(page, "plan of an onward movement")
    check_axe(page, "plan of an onward movement")
    submit(visit, "main form button.primary")
    assert path_of(page.url) == f"/b/{uid}", page.locator("main").inner_text()
    assert "Boa Vista" in page.locator("section[aria-labelledby=onward]").inner_text()

    log_in_as(visit, "recepcao_bvb")
    visit.goto("/continuity/onward/expected")
    expected = page.locator("main table")
    assert "Yulimar Contreras Briceño" in expected.inner_text() and "Pacaraima" in expected.inner_text()
    check_no_horizontal_scroll(page, "expected arrivals")
    check_axe(page, "expected arrivals")
    with page.expect_navigation():
        expected.locator("a").first.click()
    visit.note_url()
    submit(visit, "form[action$='/arrived'] button[type=submit]")
    assert path_of(page.url) == f"/b/{uid}", page.locator("main").inner_text()
    rows = page.locator("section[aria-labelledby=route] tbody tr").all_inner_texts()
    assert [r.split("(")[1][:7] for r in rows] == ["COL-CUC", "BRA-PAC", "BRA-BVB"], rows
    assert visit.page_errors == [], visit.page_errors
