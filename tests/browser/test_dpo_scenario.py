"""Break the glass, then the approval and the review: a caseworker in Cúcuta cannot find a person
registered in Tumbes; on a phone at the desk she opens the record in an emergency with the person's case
number and date of birth (a wrong date is refused in words) and a reason, reads it, ends the access. Her
next request is past the day's quota and waits: a protection officer approves it with a note. The data
protection officer sees the accesses and the burst alert on the home page, and records that one was not
justified, with a note."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
import sqlalchemy as sa

from tests.browser.conftest import check_axe, check_no_horizontal_scroll, log_in_as
from tests.browser.test_reception_scenario import path_of
from tests.conftest import Factory

pytestmark = pytest.mark.browser

DPO_SECRET = pyotp.random_base32()
PO_SECRET = pyotp.random_base32()
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def glass_world(live_server):
    from msc.beneficiaries.models import Beneficiary
    from msc.db import session

    live_server.app.config.update(BREAK_GLASS_DAILY_QUOTA=1, BREAK_GLASS_BURST_COUNT=3)
    make = Factory(live_server.app)
    uid = make.person(
        centre="PER-TUM", given_names="Yesenia", family_names="Torres Ramos", date_of_birth=dt.date(1994, 10, 3)
    )
    second = make.person(
        centre="PER-TUM", given_names="Julio", family_names="Quispe Mamani", date_of_birth=dt.date(1979, 4, 12)
    )
    make.user("gestora", "caseworker", centres=("COL-CUC",), locale="es")
    make.user("oficial", "protection_officer", scope="country", country="COL", locale="es", mfa_secret=PO_SECRET)
    make.user("dpo", "dpo", scope="region", locale="es", mfa_secret=DPO_SECRET)
    with live_server.app.app_context():
        number = session.scalar(sa.select(Beneficiary.case_number).where(Beneficiary.uid == uid))
        card = session.scalar(sa.select(Beneficiary.card_token).where(Beneficiary.uid == second))
    return {"uid": uid, "number": number, "second": second, "card": card}


def _open(page, button="Abrir el registro"):
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def menu_link(page, name: str):
    """A link of the main menu, opening the folded menu first on a phone."""
    folded = page.locator("header.top details.menu-narrow")
    if folded.is_visible():
        if not folded.evaluate("d => d.open"):
            folded.locator("summary").click()
        return folded.get_by_role("link", name=name, exact=True)
    return page.locator("header.top .menu-wide").get_by_role("link", name=name, exact=True)


def test_break_the_glass_then_the_approval_and_the_dpo_review(browser, visit, live_server, glass_world):
    page = visit.page
    page.set_viewport_size(PHONE)  # the desk's phone
    log_in_as(visit, "gestora")
    # a caseworker lands on their work; the search is in the menu, folded under "Menú" on a phone
    with page.expect_navigation():
        menu_link(page, "Buscar").click()
    page.locator("#q").fill(glass_world["number"])
    with page.expect_navigation():
        page.locator("#q").press("Enter")
    with page.expect_navigation():
        page.get_by_role("link", name="Acceso de emergencia").click()
    visit.note_url()
    check_axe(page, "emergency access")
    check_no_horizontal_scroll(page, "emergency access")
    page.locator("#case_number").fill(glass_world["number"].lower().replace("-", " "))  # as read aloud
    page.locator("#date_of_birth").fill("1994-03-10")  # day and month swapped: not her date of birth
    page.get_by_label("Emergencia médica").check()
    page.locator("#explanation").fill("corto")
    _open(page)
    assert "Explique en una o dos frases" in page.locator(".error-summary").inner_text()
    page.locator("#explanation").fill("Llegó a urgencias en Cúcuta; necesito sus alergias registradas en Tumbes.")
    _open(page)
    assert (
        "Ningún registro coincide con este número de caso y fecha de nacimiento"
        in page.locator(".error-summary").inner_text()
    )
    check_no_horizontal_scroll(page, "emergency access (refused)")
    page.locator("#date_of_birth").fill("1994-10-03")
    _open(page)
    visit.note_url()
    assert path_of(page.url) == f"/b/{glass_world['uid']}"
    assert "Yesenia" in page.locator("h1").inner_text()
    assert "Acceso de emergencia a un registro de otro centro" in page.content()
    assert "Solo lectura" in page.content() and page.get_by_role("link", name="Editar").count() == 0
    check_axe(page, "profile opened in an emergency")
    check_no_horizontal_scroll(page, "profile opened in an emergency")
    with page.expect_navigation():
        page.get_by_role("button", name="Terminar ahora").first.click()
    assert "Acceso de emergencia terminado." in page.content()
    assert visit.goto(f"/b/{glass_world['uid']}").status == 404

    # a second person the same day, by the card: past the quota, it waits for a protection officer
    visit.goto("/access/break-glass")
    page.locator("#card_token").fill(glass_world["card"])
    page.get_by_label("Traslado entre centros").check()
    page.locator("#explanation").fill("Lo trasladan hoy desde Tumbes y necesito su registro para la atención.")
    _open(page)
    assert "Ya usó sus accesos de emergencia de hoy" in page.content()
    assert "Sus solicitudes a la espera de un oficial de protección" in page.content()
    assert visit.goto(f"/b/{glass_world['second']}").status == 404

    log_in_as(visit, "oficial", PO_SECRET)
    with page.expect_navigation():
        menu_link(page, "Aprobar accesos de emergencia").click()
    visit.note_url()
    check_axe(page, "emergency accesses to approve")
    with page.expect_navigation():
        page.get_by_role("link", name="Decidir").first.click()
    assert "Lo trasladan hoy desde Tumbes" in page.content() and "Julio" not in page.content()
    check_axe(page, "approve an emergency access")
    page.get_by_label("Aprobar: abrir el acceso ahora").check()
    _open(page, "Registrar la decisión")
    assert "Escriba una nota sobre su decisión" in page.locator(".error-summary").inner_text()
    page.locator("#note").fill("Llamé a la gestora: el traslado es hoy.")
    _open(page, "Registrar la decisión")
    assert "Decisión registrada." in page.content()

    log_in_as(visit, "gestora")
    assert visit.goto(f"/b/{glass_world['second']}").status == 200
    assert "Julio" in page.locator("h1").inner_text()

    page.set_viewport_size({"width": 1024, "height": 768})
    log_in_as(visit, "dpo", DPO_SECRET)  # with the authenticator code
    with page.expect_navigation():
        menu_link(page, "Protección de datos").click()
    check_axe(page, "DPO dashboard")
    alert = page.get_by_role("alert")
    assert "Alerta: una ráfaga de accesos de emergencia" in alert.inner_text() and "gestora" in alert.inner_text()
    assert "Accesos de emergencia aún sin revisar" in page.content() and "2 por revisar" in page.content()
    with page.expect_navigation():
        page.get_by_role("link", name="Accesos de emergencia por revisar").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Revisar").first.click()
    visit.note_url()
    assert "Llegó a urgencias en Cúcuta" in page.content() and "Yesenia" not in page.content()
    check_axe(page, "emergency access review")
    page.get_by_label("No justificado").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Registrar la revisión").click()
    assert "Escriba por qué el acceso no estaba justificado" in page.locator(".error-summary").inner_text()
    page.locator("#note").fill("La persona no estaba en Cúcuta ese día.")
    with page.expect_navigation():
        page.get_by_role("button", name="Registrar la revisión").click()
    assert "Revisión registrada." in page.content()
    assert all(url.startswith(live_server.url) for url in visit.all_urls()), "no third-party request"


def test_the_dpo_rotates_the_index_key_and_watches_it_finish(browser, visit, live_server, glass_world, monkeypatch):
    """The button queues a job that the worker runs in batches (here a thread of the server, as on the embedded
    default); the page follows its progress and shows the end by itself, then the old key is retired."""
    from msc.dpo import keys

    live_server.app.config["JOBS_BACKEND"] = "thread"

    make = Factory(live_server.app)
    for i in range(4):
        make.person(given_names=f"Marisol{i}", family_names="Quintero", date_of_birth=dt.date(1990, 1, 1 + i))
    monkeypatch.setattr(keys, "PEOPLE_BATCH", 1)
    monkeypatch.setattr(keys, "DROP_BATCH", 1)
    monkeypatch.setattr(keys, "STEP_SECONDS", 0)
    page = visit.page
    page.set_viewport_size(PHONE)  # the DPO's phone
    log_in_as(visit, "dpo", DPO_SECRET)
    visit.goto("/dpo/")
    with page.expect_navigation():
        page.get_by_role("link", name="Rotar claves y retirar las antiguas").click()
    visit.note_url()
    check_axe(page, "keys")
    with page.expect_navigation():
        page.get_by_role("button", name="Rotar: nueva clave de índice").click()
    assert "Rotación iniciada." in page.content()
    # the job runs in the background; the page's script follows it and reloads the page once it is done
    page.get_by_text("personas indexadas con").wait_for(timeout=20_000)
    visit.note_url()
    assert page.locator(".rotation progress").first.get_attribute("value") == "100"
    check_axe(page, "keys after a rotation")
    # the jobs page says who ran it and that it finished
    visit.goto("/jobs/")
    row = page.locator("tr", has_text="Rotación de clave")
    assert "Hecho" in row.first.inner_text() and "dpo" in row.first.inner_text()
    check_axe(page, "jobs")
    visit.goto("/dpo/keys")
    with page.expect_navigation():
        page.get_by_role("button", name="Retirar idx-0").click()
    assert "Clave idx-0 retirada" in page.content()
    assert page.get_by_role("button", name="Retirar idx-0").count() == 0
    assert all(url.startswith(live_server.url) for url in visit.all_urls()), "no third-party request"


def test_an_export_with_its_purpose_then_it_expires_unread(browser, visit, live_server):
    """A protection officer exports the people of Cúcuta for a purpose of their own, in words kept
    encrypted; the archive waits on the exports page, and once it has expired it is refused and gone.
    The DPO's chain check then finds the newest audit records missing when they are deleted."""
    from msc.db import session
    from msc.dpo.models import PersonalExport
    from msc.security.models import AuditEvent

    make = Factory(live_server.app)
    make.person(given_names="Yesenia", family_names="Torres Ramos", date_of_birth=dt.date(1994, 10, 3))
    secret = pyotp.random_base32()
    make.user("proteccion", "protection_officer", centres=("COL-CUC",), locale="es", mfa_secret=secret)
    make.user("dpo", "dpo", scope="region", locale="es", mfa_secret=DPO_SECRET)
    page = visit.page
    log_in_as(visit, "proteccion", secret)
    with page.expect_navigation():
        page.get_by_role("link", name="Exportar datos personales").click()
    visit.note_url()
    check_axe(page, "personal-data export")
    page.get_by_label("Otro (explique)").check()
    page.locator("#purpose_note").fill("corto")
    with page.expect_navigation():
        page.get_by_role("button", name="Preparar el archivo cifrado").click()
    assert "Indique en una frase la finalidad" in page.locator(".error-summary").inner_text()
    assert page.locator("#purpose_note").input_value() == "corto"
    words = "Lista para la jornada de vacunación acordada con la secretaría de salud de Cúcuta."
    page.locator("#purpose_note").fill(words)
    with page.expect_navigation():
        page.get_by_role("button", name="Preparar el archivo cifrado").click()
    assert "Si nadie lo descarga antes del" in page.content()
    visit.goto("/exports/personal")
    mine = page.get_by_role("region", name="Sus últimas exportaciones")
    assert "Otro (explique)" in mine.inner_text() and "Descargar (una sola vez)" in mine.inner_text()
    check_axe(page, "personal-data export with the latest exports")
    with live_server.app.app_context():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        session.execute(sa.update(PersonalExport).values(expires_at=past))
        session.commit()
    with page.expect_navigation():
        mine.get_by_role("link", name="Descargar (una sola vez)").click()
    visit.note_url()
    assert "Este archivo venció sin descargarse y se borró" in page.content()
    assert "Venció sin descargarse: borrado" in page.locator("#mine-title + .table-wrap table").inner_text()
    with live_server.app.app_context():
        assert session.scalar(sa.select(PersonalExport.archive)) is None
        details = session.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == "data.export")).all()
        assert details == ["1 rows; COL-CUC; purpose: other"]

    log_in_as(visit, "dpo", DPO_SECRET)
    visit.goto("/dpo/")
    res = live_server.app.test_cli_runner().invoke(args=["audit", "anchor"])  # the minute's timer
    assert res.exit_code == 0, res.output
    with live_server.app.app_context():
        newest = session.scalar(sa.select(sa.func.max(AuditEvent.seq)))
        session.execute(sa.delete(AuditEvent).where(AuditEvent.seq > newest - 3))  # the attack
        session.commit()
    with page.expect_navigation():
        page.get_by_role("button", name="Verificar la cadena ahora").click()
    assert f"La cadena de auditoría está rota en el registro {newest - 2}." in page.content()
    assert f"records {newest - 2}–{newest} are missing" in page.content()
    assert all(url.startswith(live_server.url) for url in visit.all_urls()), "no third-party request"
