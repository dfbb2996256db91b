"""The API's tokens as an administrator handles them, in Spanish on a 360 px phone: a service account for the
KoBo server of Cúcuta, a token shown once and used by another system, then revoked — the next call is refused
in the language it asks for."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pyotp
import pytest

from tests.browser.conftest import check_axe, check_no_horizontal_scroll, log_in_as
from tests.browser.test_reception_scenario import PHONE, path_of
from tests.conftest import Factory

pytestmark = pytest.mark.browser


def _call(base_url: str, secret: str, query: str) -> tuple[int, dict]:
    """Another system's call to the search, as curl would send it."""
    request = urllib.request.Request(
        base_url + "/api/v1/search",
        data=json.dumps({"query": query}).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json", "Accept-Language": "es"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _submit(visit, button: str) -> None:
    page = visit.page
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()
    visit.note_url()


def test_an_admin_issues_a_token_on_a_phone_another_system_uses_it_and_it_is_revoked(visit, live_server):
    make = Factory(live_server.app)
    secret_2fa = pyotp.random_base32()
    make.user("admin_cuc", "admin", scope="region", locale="es", mfa_secret=secret_2fa)
    person = make.person(given_names="Ana María", family_names="Rojas Pérez")
    page = visit.page
    page.set_viewport_size(PHONE)
    log_in_as(visit, "admin_cuc", secret_2fa)

    visit.goto("/admin/")
    with page.expect_navigation():
        page.get_by_role("link", name="Cuentas de servicio (API)").click()
    assert page.locator("h1").inner_text() == "Cuentas de servicio"
    check_axe(page, "service accounts")
    with page.expect_navigation():
        page.get_by_role("link", name="Nueva cuenta de servicio").click()
    page.get_by_label("Nombre de usuario").fill("kobo_cucuta")
    page.get_by_label("Qué sistema es").fill("Servidor KoBo de Cúcuta")
    page.get_by_label("Rol").select_option("reception")
    page.get_by_label("COL-CUC", exact=False).check()
    check_axe(page, "new service account")
    _submit(visit, "Guardar")
    assert "Cuenta de servicio guardada." in page.content()
    assert path_of(page.url).endswith("/tokens")

    page.get_by_label("Nombre del token (dónde se usará)").fill("Sincronización KoBo")
    page.get_by_label("Válido por (días)").fill("400")
    _submit(visit, "Emitir token")
    assert "De 1 a 365 días." in page.content()
    assert page.get_by_label("Nombre del token (dónde se usará)").input_value() == "Sincronización KoBo"
    page.get_by_label("Válido por (días)").fill("30")
    _submit(visit, "Emitir token")
    assert "Nuevo token: cópielo ahora" in page.content()
    secret = page.locator("#secret").input_value()
    assert secret.startswith("msc_")
    check_axe(page, "token issued")
    check_no_horizontal_scroll(page, "token issued")

    status, body = _call(live_server.url, secret, "ana rojas")
    assert status == 200 and [m["person"]["uid"] for m in body["matches"]] == [person]

    visit.goto(path_of(page.url))  # the page again: the token is not shown a second time
    assert secret not in page.content() and secret[:10] in page.content()
    check_no_horizontal_scroll(page, "tokens")
    _submit(visit, "Revocar")
    assert "Token revocado" in page.content()
    status, body = _call(live_server.url, secret, "ana rojas")
    assert status == 401 and body["error"] == {"code": "unauthorized", "message": "Este token fue revocado."}

    visit.goto("/api/v1/")
    assert "Buscar personas, como el cuadro de búsqueda" in page.content()
    check_axe(page, "API reference")
    check_no_horizontal_scroll(page, "API reference")
