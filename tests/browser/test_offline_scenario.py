"""A border desk loses its connection: the clerk registers three people (a mother, her daughter, and a man
who is already on the registry) and hands out two kits offline, the browser is closed and opened again, and
nothing readable is left on the tablet; back online, the queue is sent: each record exists once, the
possible duplicate is offered to the clerk, and the audit marks what came from the offline desk. Then a
device revoked while offline has its queue refused. At 360 px (a phone) and on a tablet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from msc.security.actor import SYSTEM
from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS, TIMEOUT_MS, check_axe, check_no_horizontal_scroll
from tests.browser.test_reception_scenario import record_consent
from tests.conftest import PASSWORD, Factory

pytestmark = pytest.mark.browser

#: what must never be found in clear in what the browser keeps
SECRETS = ("Yolimar", "Castillo", "Sofía", "Sofia", "Wilmer", "Urdaneta", "3015550199", "555 0199", "V-20111222")


@pytest.fixture
def border(live_server):
    """A man already registered (whom the desk will register again), and two people with a card, with kits in
    stock at the centre."""
    from msc.beneficiaries.models import Beneficiary
    from msc.centres.models import Centre
    from msc.db import session
    from msc.nfi import service, stock

    make = Factory(live_server.app)
    make.person(given_names="Wilmer José", family_names="Urdaneta", sex="male", date_of_birth=dt.date(1988, 4, 2))
    cards = []
    for given in ("Marisol", "Luz Marina"):
        uid = make.person(given_names=given, family_names="Quintero Bastidas", sex="female")
        with live_server.app.app_context():
            cards.append(session.scalar(sa.select(Beneficiary.card_token).where(Beneficiary.uid == uid)))
    with live_server.app.app_context():
        centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
        stock.receive(
            SYSTEM,
            centre,
            reference="GR-2026-0002",
            source="warehouse",
            received_on=stock.centre_day(centre),
            lines={service.item_by_code("HYG").id: 10, service.item_by_code("DIG").id: 10},
        )
        session.commit()
    make.user("jefa", "centre_manager", centres=("COL-CUC",), locale="es")
    return {"cards": cards}


def _open(browser, profile: Path, width: int):
    """The browser on the tablet: its own profile folder, kept when it closes (as a real one is)."""
    context = browser.browser_type.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,
        args=LAUNCH_ARGS,
        locale="es-CO",
        viewport={"width": width, "height": 800},
        service_workers="allow",
        bypass_csp=True,  # only so that axe can be injected
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.pages[0] if context.pages else context.new_page()
    return context, page


def _log_in(page, url, username):
    page.goto(url + "/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("#password").press("Enter")


def _desk_ready(page):
    """The desk's page is controlled by its service worker and its offline window is open."""
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller")
    page.locator("#offline-forms").wait_for(state="visible")


def _register(page, given, family, dob, sex, household="new", relationship=None, guardian=None, phone=None):
    page.locator("#given_names").fill(given)
    page.locator("#family_names").fill(family)
    page.locator(f"input[name=sex][value={sex}]").check()
    page.locator("#date_of_birth").fill(dob)
    page.locator("#nationality").select_option("VEN")
    if phone:
        page.locator("#phone").fill(phone)
    page.locator(f"#offline-household-{household}").check()
    if relationship:
        page.locator("#relationship").select_option(relationship)
    if guardian:
        page.locator("#given_by").select_option("guardian")
        page.locator("#guardian_name").fill(guardian)
    record_consent(page)
    queued = page.locator("#offline-queue li").count()
    page.locator("#offline-register button[type=submit]").click()
    page.wait_for_function(f"() => document.querySelectorAll('#offline-queue li').length === {queued + 1}")


def _give(page, card, code="HYG"):
    page.locator("#offline-card").fill(card)
    page.locator(f"#item-{code}").fill("1")
    page.locator("input[name=give-ack_method][value=thumbprint]").check()
    queued = page.locator("#offline-queue li").count()
    page.locator("#offline-give button[type=submit]").click()
    page.wait_for_function(f"() => document.querySelectorAll('#offline-queue li').length === {queued + 1}")


def _stored_bytes(profile: Path) -> bytes:
    """Everything the browser keeps on disk for the site: IndexedDB, Cache Storage, the service worker."""
    kept = b""
    for path in profile.rglob("*"):
        if path.is_file() and any(
            part in ("IndexedDB", "CacheStorage", "Service Worker", "Local Storage") for part in path.parts
        ):
            kept += path.read_bytes()
    return kept


@pytest.mark.parametrize("width", [1024, 360], ids=["tablet", "phone"])
def test_a_border_desk_works_offline_and_leaves_nothing_readable(browser, live_server, border, tmp_path, width):
    from msc.beneficiaries.models import Beneficiary
    from msc.db import session
    from msc.nfi.models import Distribution
    from msc.offline.models import OfflineDevice, OfflineRecord
    from msc.security.models import AuditEvent

    url, profile = live_server.url, tmp_path / "tablet"
    context, page = _open(browser, profile, width)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))

    # -- online: log in, enrol the tablet, open the offline desk (its window opens)
    _log_in(page, url, live_server.username)
    page.goto(url + "/offline/")
    check_axe(page, "offline desk (enrol)")
    page.locator("#label").fill("Tableta 2, Rumichaca")
    with page.expect_navigation():
        page.locator("form[action$='/offline/enrol'] button[type=submit]").click()
    assert page.locator("#enrolled").is_visible()
    page.wait_for_function("""async () => {
        const db = await new Promise(r => {
            const o = indexedDB.open('msc-offline', 1); o.onsuccess = () => r(o.result); });
        const found = await new Promise(r => { const g = db.transaction('meta').objectStore('meta').get('device');
            g.onsuccess = () => r(g.result); });
        db.close();
        return !!found;
    }""")
    page.goto(url + "/offline/desk")
    page.reload()  # the second visit is served through the service worker
    _desk_ready(page)
    assert "sin conexión hasta" in page.locator("#offline-window").inner_text()
    check_axe(page, "offline desk")
    check_no_horizontal_scroll(page, "offline desk")

    # -- the connection drops: three people and two kits
    context.set_offline(True)
    page.reload()  # the page comes from the tablet's cache
    _desk_ready(page)
    assert "Sin conexión" in page.locator("#offline-state").inner_text()
    _register(page, "Yolimar", "Castillo Rangel", "1994-03-08", "female", phone="+57 301 555 0199")
    _register(
        page,
        "Sofía",
        "Castillo Rangel",
        "2019-06-01",
        "female",
        household="last",
        relationship="child",
        guardian="Yolimar Castillo Rangel",
    )
    _register(page, "Wilmer José", "Urdaneta", "1988-04-02", "male")
    _give(page, border["cards"][0])
    _give(page, border["cards"][1], code="DIG")
    lines = page.locator("#offline-queue li").all_inner_texts()
    assert len(lines) == 5 and lines[2].startswith("Registro 3 de 5") and "grupo familiar de 2" in lines[0]
    for secret in SECRETS:
        assert secret not in page.locator("#offline-state").inner_text() + "".join(lines)
    context.close()

    # -- closed and opened again (still offline): the queue is there, and nothing on disk reads
    stored = _stored_bytes(profile)
    assert stored, "the browser kept nothing on disk"
    with live_server.app.app_context():
        device_uid = session.scalar(sa.select(OfflineDevice.uid))
    # the scan reads what the browser keeps as it keeps it: the device's id is there, in clear
    assert device_uid.encode() in stored or device_uid.encode("utf-16-le") in stored
    for secret in SECRETS + tuple(border["cards"]):
        for encoding in ("utf-8", "utf-16-le", "latin-1"):
            assert secret.encode(encoding) not in stored, f"{secret!r} in clear ({encoding})"
    context, page = _open(browser, profile, width)
    page.on("pageerror", lambda err: errors.append(str(err)))
    context.set_offline(True)
    page.goto(url + "/offline/desk")
    page.locator("#offline-queue li").nth(4).wait_for()
    assert page.locator("#offline-queue li").count() == 5

    # -- the connection returns: the closed browser forgot its session, so the clerk logs in, and it is sent
    context.set_offline(False)
    page.locator("#offline-state").filter(has_text="Inicie sesión").wait_for()
    _log_in(page, url, live_server.username)
    page.goto(url + "/offline/desk")
    page.locator("#offline-sent li").nth(4).wait_for()
    assert page.locator("#offline-empty").is_visible()
    sent = page.locator("#offline-sent li").all_inner_texts()
    assert len(sent) == 5 and sum("Registrado" in s for s in sent) == 4
    waiting = page.locator("#offline-sent li.outcome-waiting")
    assert waiting.count() == 1 and "misma persona" in waiting.inner_text()

    # -- the possible duplicate is offered: the clerk opens it and decides it is the man already registered
    with page.expect_navigation():
        waiting.locator("a").click()
    assert "Wilmer" in page.locator("main").inner_text()
    check_axe(page, "offline record")
    with page.expect_navigation():
        page.locator("button[name=same_as]").first.click()
    assert "Ya registrada" in page.locator("main").inner_text()
    assert not errors, errors
    context.close()

    with live_server.app.app_context():
        people = list(session.scalars(sa.select(Beneficiary)))
        names = sorted(p.given_names for p in people)
        assert names == ["Luz Marina", "Marisol", "Sofía", "Wilmer José", "Yolimar"]  # each once
        mother = next(p for p in people if p.given_names == "Yolimar")
        daughter = next(p for p in people if p.given_names == "Sofía")
        assert mother.household_id == daughter.household_id is not None
        assert session.scalar(sa.select(sa.func.count()).select_from(Distribution)) == 2
        assert session.scalar(sa.select(sa.func.count()).select_from(OfflineRecord)) == 5
        origin = list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "offline.replay")))
        assert len(origin) == 4 and all("device:" in e.detail for e in origin)


def test_a_revoked_device_has_its_offline_queue_refused(browser, live_server, border, tmp_path):
    from msc.beneficiaries.models import Beneficiary
    from msc.db import session
    from msc.offline import service
    from msc.offline.models import OfflineDevice
    from msc.security.models import User

    url = live_server.url
    context, page = _open(browser, tmp_path / "lost-tablet", 1024)
    _log_in(page, url, live_server.username)
    page.goto(url + "/offline/")
    page.locator("#label").fill("Tableta perdida")
    with page.expect_navigation():
        page.locator("form[action$='/offline/enrol'] button[type=submit]").click()
    page.goto(url + "/offline/desk")
    page.reload()
    _desk_ready(page)
    context.set_offline(True)
    _register(page, "Yolimar", "Castillo Rangel", "1994-03-08", "female")

    # -- the centre manager revokes the tablet while it is offline
    with live_server.app.app_context():
        manager = session.scalar(sa.select(User).where(User.username == "jefa"))
        service.revoke(manager, session.scalar(sa.select(OfflineDevice)))
        session.commit()
    context.set_offline(False)
    page.locator("#offline-sent li.outcome-refused").wait_for()
    assert "revocado" in page.locator("#offline-sent li").inner_text()
    assert page.locator("#offline-forms").is_hidden()  # no new offline window on a revoked device
    context.close()
    with live_server.app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 3  # the fixture's only
