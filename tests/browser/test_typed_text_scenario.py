"""Nothing typed is cut without a word, in a real browser (Spanish): 300 characters typed into the
registration's name field all stay in it, and sending the form says what is wrong instead of saving a
silently shortened name."""

from __future__ import annotations

import pytest

from tests.browser.test_reception_scenario import SAVE, log_in, submit

pytestmark = pytest.mark.browser


def test_a_name_typed_too_long_is_kept_and_explained(visit, live_server):
    page = visit.page
    log_in(visit, live_server)
    visit.goto("/register")
    assert page.locator("html").get_attribute("lang") == "es"
    name = "María José " * 27 + "Ana"  # 300 characters
    field = page.locator("#given_names")
    assert field.get_attribute("maxlength") is None
    field.press_sequentially(name)
    assert field.input_value() == name  # the browser cut nothing
    page.locator("#family_names").fill("Quintero")
    submit(visit, SAVE)
    assert page.locator("#given_names-error").inner_text() == "Use como máximo 100 caracteres: ahora tiene 300."
    assert page.locator("#given_names").input_value() == name  # what was typed came back
    assert page.locator("#given_names").get_attribute("aria-invalid") == "true"
    summary = page.locator(".error-summary")
    assert summary.is_visible() and "ahora tiene 300" in summary.inner_text()
