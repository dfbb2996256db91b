"""Logging in, in Spanish: a protection officer sets up the authenticator app at first login, mistypes
a code and logs in again with a code on a 360 px phone; a receptionist who mistypes the password
again and again is slowed down, with the same words for an unknown username, and gets in after the
wait."""

from __future__ import annotations

import re

import pyotp
import pytest
import sqlalchemy as sa

from tests.browser.conftest import PASSWORD, check_axe, check_no_horizontal_scroll
from tests.browser.qr import scan
from tests.browser.test_reception_scenario import PHONE, path_of
from tests.conftest import Factory

pytestmark = pytest.mark.browser

WAIT = re.compile(r"Demasiados intentos: intente de nuevo en (\d+) segundos?\.")


def _submit(visit, selector: str, text: str) -> None:
    page = visit.page
    page.locator(selector).fill(text)
    with page.expect_navigation():
        page.locator(selector).press("Enter")
    visit.note_url()


def _password_step(visit, username: str, password: str = PASSWORD) -> None:
    visit.page.locator("#username").fill(username)
    _submit(visit, "#password", password)


def test_officer_enrols_then_logs_in_with_a_code_on_a_phone(visit, live_server):
    from msc.db import session
    from msc.security.models import User

    Factory(live_server.app).user("oficial", "protection_officer", centres=("COL-CUC",), locale="es")
    page = visit.page
    visit.goto("/login")
    _password_step(visit, "oficial")
    assert path_of(page.url) == "/login/enrol"
    assert page.locator("h1").inner_text() == "Configure su segundo factor"
    check_axe(page, "second factor set-up")
    secret = page.locator("code.secret").inner_text().strip()
    read = scan(page.locator("figure.qr"))  # the authenticator app reads the same key from the QR code
    assert len(read) == 1 and read[0].startswith("otpauth://totp/") and f"secret={secret}" in read[0], read
    _submit(visit, "#code", "000000")
    assert "Ese código no es correcto" in page.locator("#code-error").inner_text()
    _submit(visit, "#code", pyotp.TOTP(secret).now())
    assert path_of(page.url) == "/"

    with live_server.app.app_context():  # as if the code just used was a minute ago (a code works once)
        user = session.scalar(sa.select(User).where(User.username == "oficial"))
        user.mfa_last_step -= 2
        session.commit()
    page.context.clear_cookies()
    page.set_viewport_size(PHONE)
    visit.goto("/login")
    _password_step(visit, "oficial")
    assert path_of(page.url) == "/login/code"
    assert page.locator("h1").inner_text() == "Código de verificación"
    check_no_horizontal_scroll(page, "verification code")
    check_axe(page, "verification code")
    _submit(visit, "#code", "123456")
    assert "Ese código no es correcto o ya se usó" in page.locator("#code-error").inner_text()
    _submit(visit, "#code", pyotp.TOTP(secret).now())
    assert path_of(page.url) == "/"


def test_mistyped_passwords_slow_down_the_same_way_for_any_username(visit, live_server):
    page = visit.page
    visit.goto("/login")
    message = ""
    for _ in range(10):
        _password_step(visit, live_server.username, "no es la contraseña")
        message = page.locator("#password-error").inner_text()
        if WAIT.search(message):
            break
        assert message == "Nombre de usuario o contraseña incorrectos."
    wait = WAIT.search(message)
    assert wait and wait.group(1) == "1", message
    check_axe(page, "login inside the wait")
    page.wait_for_timeout(1300)
    _password_step(visit, live_server.username, "no es la contraseña")  # past the wait: checked, wrong again
    assert page.locator("#password-error").inner_text() == "Nombre de usuario o contraseña incorrectos."
    _password_step(visit, live_server.username, "otra más")
    wait = WAIT.search(page.locator("#password-error").inner_text())
    assert wait and wait.group(1) in ("1", "2")  # inside the new wait, of 2 seconds
    assert page.locator("#username").input_value() == live_server.username  # what was typed comes back
    _password_step(visit, "nadie-con-este-nombre", "no es la contraseña")
    assert WAIT.search(page.locator("#password-error").inner_text())  # an unknown name: the same words
    page.wait_for_timeout(1000 * int(wait.group(1)) + 300)
    _password_step(visit, live_server.username)
    assert path_of(page.url) == "/"
