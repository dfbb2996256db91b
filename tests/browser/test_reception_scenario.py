"""The reception desk in a real browser: log in, search, register a family, meet the duplicate
warning, print a card; every screen accessible (axe-core), usable by keyboard and on a phone.

Selectors use ids, names and hrefs rather than visible text, so the scenario holds in any language.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_plus, urlsplit

import pytest

from tests.browser.conftest import check_axe, check_no_horizontal_scroll
from tests.browser.qr import scan

pytestmark = pytest.mark.browser

HEAD = {"given": "Marisol", "family": "Quintero Bastidas", "dob": "1991-04-23"}
CHILD = {"given": "Santiago", "dob": "2017-08-02", "guardian": "Marisol Quintero Bastidas"}
#: random characters of Crockford's base 32 and a check character
CASE_NUMBER = re.compile(r"COL-CUC-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]")

PHONE = {"width": 360, "height": 740}
DESK_TABLET = {"width": 1024, "height": 768}


def path_of(url: str) -> str:
    return urlsplit(url).path


def log_in(visit, live_server) -> None:
    visit.goto("/login")
    page = visit.page
    page.locator("#username").fill(live_server.username)
    page.locator("#password").fill(live_server.password)
    with page.expect_navigation():
        page.locator("#password").press("Enter")
    visit.note_url()
    assert path_of(page.url) == "/", f"login did not reach the search page: {page.url}"


def submit(visit, selector: str) -> None:
    """Click a submit button and wait for the page it leads to."""
    with visit.page.expect_navigation():
        visit.page.locator(selector).click()
    visit.note_url()


def fill_person(page, given: str, family: str | None, dob: str, sex: str) -> None:
    page.locator("#given_names").fill(given)
    if family is not None:
        page.locator("#family_names").fill(family)
    page.locator(f"input[name=sex][value={sex}]").check()
    page.locator("#date_of_birth").fill(dob)


SAVE = "form.register > button[type=submit]"
PURPOSES = ("registration", "referral", "government_sharing", "followup_contact", "photo")


def record_consent(page, given=("registration", "referral")) -> None:
    """Consent is never pre-set: the clerk clicks given or refused on each purpose's row."""
    for purpose in PURPOSES:
        assert page.locator(f"input[name=consent_{purpose}]:checked").count() == 0, f"{purpose} is pre-set"
        page.locator(f"input[name=consent_{purpose}][value={'given' if purpose in given else 'refused'}]").check()


def test_reception_registers_a_family_and_prints_a_card(visit, live_server):
    page = visit.page

    # -- log in, in Spanish
    visit.goto("/login")
    assert page.locator("html").get_attribute("lang") == "es"
    check_axe(page, "login")
    log_in(visit, live_server)
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("h1").inner_text() == "Busque antes de registrar"  # the desk reads Spanish

    # -- search first: the form on "/" is POSTed, so the name never reaches a URL
    search_form = page.locator("form.search")
    assert (search_form.get_attribute("method") or "").lower() == "post"
    check_axe(page, "search")
    typed = f"{HEAD['given']} {HEAD['family']}"
    page.locator("#q").fill(typed)
    with page.expect_request(lambda r: path_of(r.url) == "/search") as search_request:
        submit(visit, "form.search button[type=submit]")
    assert search_request.value.method == "POST"
    assert HEAD["given"] in (search_request.value.post_data or "")  # in the body, not the URL
    results = page.locator("section.results")
    assert results.is_visible()
    assert results.locator("table").count() == 0, "an empty database found somebody"
    check_axe(page, "search results (nobody found)")

    # -- register the head of household, with her own consent
    submit(visit, "section.results a[href$='/register']")
    assert path_of(page.url) == "/register"
    check_axe(page, "registration")
    fill_person(page, HEAD["given"], HEAD["family"], HEAD["dob"], "female")
    page.locator("#nationality").select_option("VEN")
    assert page.locator("input[name=household_mode][value=new]").is_checked()
    assert page.locator("#given_by").input_value() == "self"
    record_consent(page)
    submit(visit, SAVE)
    assert re.fullmatch(r"/b/[^/]+", path_of(page.url)), (
        f"head not registered: {page.url}\n" + page.locator("main").inner_text()
    )
    head_uid = path_of(page.url).rsplit("/", 1)[1]
    head_case = page.locator("h1 small").inner_text().strip()
    assert CASE_NUMBER.fullmatch(head_case), head_case
    assert head_case in page.locator(".flash-success").inner_text()
    check_axe(page, "profile (head of household)")

    # -- from her profile, register her son into the same household; consent from his guardian
    submit(visit, "a[href*='/register?household=']")
    assert path_of(page.url) == "/register"
    assert page.locator("input[name=household_mode][value=join]").is_checked()
    assert page.locator("#household_case_number").input_value() == head_case
    assert page.locator("#relationship").input_value() == "child"
    assert page.locator("#nationality").input_value() == "VEN"
    assert page.locator("#family_names").input_value() == HEAD["family"]
    check_axe(page, "registration (household member)")
    fill_person(page, CHILD["given"], None, CHILD["dob"], "male")
    # his mother heads the household: she is the guardian who consents, already filled in
    assert page.locator("#given_by").input_value() == "guardian"
    assert page.locator("#guardian_name").input_value() == CHILD["guardian"]
    record_consent(page)
    submit(visit, SAVE)
    # sharing his mother's family names does not make him a possible duplicate of her
    assert page.locator("section.duplicates").count() == 0, page.locator("section.duplicates").inner_text()
    assert re.fullmatch(r"/b/[^/]+", path_of(page.url)), (
        f"household member not registered: {page.url}\n" + page.locator("main").inner_text()
    )
    child_uid = path_of(page.url).rsplit("/", 1)[1]
    assert child_uid != head_uid
    child_case = page.locator("h1 small").inner_text().strip()
    assert CASE_NUMBER.fullmatch(child_case) and child_case != head_case
    household = page.locator("section[aria-labelledby=household]")
    assert household.locator(f"a[href$='/b/{head_uid}']").count() == 1, "the son is not in his mother's household"
    check_axe(page, "profile (household member)")

    # -- the same person again: the duplicate warning stops the registration and says why
    submit(visit, "header.top .menu-wide a[href$='/register']")
    fill_person(page, HEAD["given"], HEAD["family"], HEAD["dob"], "female")
    page.locator("#nationality").select_option("VEN")
    record_consent(page)
    submit(visit, SAVE)
    assert path_of(page.url) == "/register"
    warning = page.locator("section.duplicates")
    assert warning.is_visible(), "no duplicate warning for the same names and date of birth"
    candidate = warning.locator(".dup-list > li").filter(has=page.locator(f"a[href$='/b/{head_uid}']"))
    assert candidate.count() == 1, warning.inner_text()
    assert head_case in candidate.inner_text()
    reasons = candidate.locator(".reasons li")
    assert reasons.count() >= 1 and reasons.first.inner_text().strip(), "the warning gives no reason"
    check_axe(page, "registration (possible duplicate)")

    # -- open the record instead, then its printable card
    submit(visit, f".duplicates a[href$='/b/{head_uid}']")
    submit(visit, f"a[href$='/b/{head_uid}/card']")
    assert path_of(page.url) == f"/b/{head_uid}/card"
    card = page.locator("article.beneficiary-card")
    assert card.locator(".case").inner_text().strip() == head_case
    qr = card.locator(".qr")
    assert qr.locator("svg").count() == 1, "the QR code is not an inline SVG"
    assert qr.locator("img").count() == 0
    assert qr.locator("svg path").count() >= 1
    assert HEAD["given"] not in card.inner_text() and HEAD["family"] not in card.inner_text()
    check_axe(page, "beneficiary card")
    assert page.locator("header.top").is_visible()
    token = card.locator(".token").inner_text().strip()
    assert scan(qr) == [token], "the card's QR code cannot be read on screen"
    page.emulate_media(media="print")
    try:
        assert page.locator("header.top").is_hidden(), "the navigation would be printed on the card"
        assert card.is_visible() and qr.locator("svg").is_visible()
        # printed, the code is 28 mm across with its quiet zone: read it at screen and at scanner resolution
        box = qr.locator("svg").bounding_box()
        assert box and abs(box["width"] - 28 * 96 / 25.4) < 1 and abs(box["height"] - box["width"]) < 1, box
        assert scan(qr) == [token], "the printed card's QR code cannot be read"
        assert scan(qr, scale=300 / 96) == [token], "a 300 dpi desk scanner cannot read the printed card"
    finally:
        page.emulate_media(media="screen")

    # -- no personal data in any URL: pages reached and requests sent
    assert visit.page_errors == [], visit.page_errors
    personal = {w.lower() for w in typed.split()} | {CHILD["given"].lower(), HEAD["dob"], CHILD["dob"]}
    leaks = [u for u in visit.all_urls() for s in personal if s in unquote_plus(u).lower()]
    assert not leaks, f"personal data in URLs: {leaks}"
    assert ("POST", live_server.url + "/search") in visit.requests
    assert not any(m == "GET" and "q=" in u for m, u in visit.requests)


def test_login_by_keyboard_only(visit, live_server):
    page = visit.page
    visit.goto("/login")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => ({cls: document.activeElement.className, href: document.activeElement.getAttribute('href')})"
    )
    assert focused == {"cls": "skip", "href": "#main"}, f"the first Tab went to {focused}, not the skip link"
    box = page.locator("a.skip").bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, "the focused skip link is off screen"

    page.keyboard.press("Enter")  # skip to the content
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "username"
    page.keyboard.type(live_server.username)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "password"
    page.keyboard.type(live_server.password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    visit.note_url()
    assert path_of(page.url) == "/"
    assert page.locator("form.search #q").count() == 1
    check_axe(page, "search (after keyboard login)")


@pytest.mark.parametrize("viewport", [PHONE, DESK_TABLET], ids=["phone-360", "desk-tablet-1024"])
def test_search_and_registration_fit_the_screen(visit, live_server, viewport):
    page = visit.page
    page.set_viewport_size(viewport)
    log_in(visit, live_server)
    check_no_horizontal_scroll(page, "search")
    visit.goto("/register")
    check_no_horizontal_scroll(page, "registration")
    submit(visit, SAVE)  # empty: the error summary and the field errors must fit too
    assert page.locator(".error-summary").is_visible()
    check_no_horizontal_scroll(page, "registration (with errors)")
    check_axe(page, "registration (with errors)")


def test_registration_on_a_phone_chooses_the_entry_point_from_the_countrys_list(visit, live_server):
    """At 360 px, in Spanish: the entry point is a list (the centre's country's crossings, then "Otro"),
    never a text box; the registration form still fits with the longest name chosen; the choice is saved
    and the profile names the crossing."""
    from tests.conftest import Factory

    make = Factory(live_server.app)
    crossing = make.entry_point("Puente Internacional Francisco de Paula Santander", "COL")
    make.entry_point("CEBAF Tumbes", "PER")  # another country's: not offered at a Colombian centre
    page = visit.page
    page.set_viewport_size(PHONE)
    log_in(visit, live_server)
    visit.goto("/register")
    select = page.locator("select#entry_point")
    assert select.count() == 1 and page.locator("input[name=entry_point]").count() == 0
    offered = select.locator("option").all_inner_texts()
    assert offered[1:] == ["Puente Internacional Francisco de Paula Santander", "Otro (no está en la lista)"], offered
    fill_person(page, "Yuleidy", "Carrasquel Mora", "1988-11-30", "female")
    page.locator("#nationality").select_option("VEN")
    select.select_option(crossing)
    record_consent(page)
    check_no_horizontal_scroll(page, "registration (entry point chosen)")
    submit(visit, SAVE)
    assert re.fullmatch(r"/b/[^/]+", path_of(page.url)), page.locator("main").inner_text()
    facts = page.locator("dl.facts").inner_text()
    assert "Punto de entrada" in facts and "Puente Internacional Francisco de Paula Santander" in facts
    check_axe(page, "profile (entry point)")


#: A browser that has BarcodeDetector and a camera (Chromium on Linux has no BarcodeDetector): the
#: camera is a black canvas; the detector sees nothing until the card is held up (__cardShown), then
#: the card. With __denyCamera set the camera cannot be opened.
FAKE_CAMERA = """
window.__detections = 0;
window.BarcodeDetector = class {
  static getSupportedFormats() { return Promise.resolve(["qr_code", "ean_13"]); }
  constructor(options) { window.__formats = options.formats; }
  detect(source) {
    window.__detections += 1;
    const seen = window.__cardShown && source instanceof HTMLVideoElement && source.srcObject;
    return Promise.resolve(seen ? [{format: "qr_code", rawValue: TOKEN}] : []);
  }
};
navigator.mediaDevices.getUserMedia = (constraints) => {
  if (window.__denyCamera) { return Promise.reject(new DOMException("denied", "NotAllowedError")); }
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 48;
  canvas.getContext("2d").fillRect(0, 0, 64, 48);
  window.__constraints = constraints;
  return Promise.resolve(canvas.captureStream(5));
};
"""


def test_the_desk_scans_a_card_with_the_camera_where_the_browser_can(visit, live_server):
    """Without BarcodeDetector the search page is as it was: a keyboard-wedge scanner types the token
    and Enter. With it (and a camera), a button reads the card, fills the box and sends the search."""
    import sqlalchemy as sa

    from msc.beneficiaries.models import Beneficiary
    from msc.db import session
    from tests.conftest import Factory

    uid = Factory(live_server.app).person(given_names="Yelitza", family_names="Rangel Ochoa")
    with live_server.app.app_context():
        token = session.scalar(sa.select(Beneficiary.card_token).where(Beneficiary.uid == uid))
    page = visit.page
    page.set_viewport_size(PHONE)

    # -- no BarcodeDetector: no camera button; the wedge scanner (keys, then Enter) finds the card
    page.add_init_script("delete window.BarcodeDetector;")
    log_in(visit, live_server)
    assert page.locator("form.search .scan-start").count() == 0
    page.locator("#q").press_sequentially(token)
    with page.expect_navigation():
        page.locator("#q").press("Enter")
    visit.note_url()
    assert path_of(page.url) == f"/b/{uid}", page.locator("main").inner_text()

    # -- the browser can scan: the button, in Spanish, fits the phone and passes axe
    page.add_init_script(FAKE_CAMERA.replace("TOKEN", json.dumps(token)))
    visit.goto("/")
    start = page.locator("form.search button.scan-start")
    assert start.is_visible() and start.inner_text() == "Escanear con la cámara"
    assert start.get_attribute("type") == "button"  # never sends the form by itself
    assert page.locator("form.search .scan-panel").is_hidden()
    check_axe(page, "search (camera scanning)")
    check_no_horizontal_scroll(page, "search (camera scanning)")

    # -- the camera cannot be opened: a message, the box keeps focus, nothing is sent
    page.evaluate("window.__denyCamera = true")
    start.click()
    status = page.locator("form.search .scan-status")
    assert status.inner_text() == "No se pudo abrir la cámara. Escriba el código o use el lector."
    assert path_of(page.url) == "/" and page.evaluate("document.activeElement.id") == "q"
    assert start.is_visible()

    # -- it can: the video shows, the card is read, the box filled and the search POSTed
    page.evaluate("window.__denyCamera = false")
    start.click()
    page.locator("form.search .scan-panel video").wait_for(state="visible")
    check_no_horizontal_scroll(page, "search (camera open)")
    page.wait_for_function("window.__detections > 0")  # looking, and finding nothing yet
    assert path_of(page.url) == "/" and page.locator("#q").input_value() == ""
    assert page.evaluate("window.__formats") == ["qr_code"]
    with page.expect_request(lambda r: path_of(r.url) == "/search") as scanned, page.expect_navigation():
        page.evaluate("window.__cardShown = true")
    visit.note_url()
    assert scanned.value.method == "POST" and token in (scanned.value.post_data or "").replace("%2D", "-")
    assert path_of(page.url) == f"/b/{uid}", page.locator("main").inner_text()
    assert visit.page_errors == [], visit.page_errors
    assert not any(token in u for u in visit.all_urls())


@pytest.mark.parametrize("typed", ["+57 300 123 4567", "300 123 4567", "(300) 123-4567"])
def test_a_phone_typed_with_spaces_finds_the_person_on_a_phone(visit, live_server, typed):
    """At 360 px, in Spanish: a phone read out in groups, with or without +57, finds who registered
    it written together."""
    from tests.conftest import Factory

    uid = Factory(live_server.app).person(given_names="Yolanda", family_names="Quintero", phone="3001234567")
    page = visit.page
    page.set_viewport_size(PHONE)
    log_in(visit, live_server)
    page.locator("#q").fill(typed)
    submit(visit, "form.search button[type=submit]")
    assert path_of(page.url) == "/search"
    assert page.locator(f"main a[href$='/b/{uid}']").count() >= 1, page.locator("main").inner_text()
    check_no_horizontal_scroll(page, "search results (phone)")
    assert not any("300" in unquote_plus(u) for u in visit.all_urls())
