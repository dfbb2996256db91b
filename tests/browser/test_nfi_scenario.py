"""At the desk: the clerk scans a woman's card, gives her a hygiene kit and a dignity kit with her
signature on the screen, and is refused a second hygiene kit the same day, with the reason shown."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from msc.security.actor import SYSTEM
from tests.browser.conftest import check_axe
from tests.browser.test_reception_scenario import log_in, path_of, submit
from tests.conftest import Factory

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(live_server):
    from msc.beneficiaries.models import Beneficiary
    from msc.centres.models import Centre
    from msc.db import session
    from msc.nfi import service, stock

    make = Factory(live_server.app)
    uid = make.person(given_names="Marisol", family_names="Quintero Bastidas", sex="female")
    with live_server.app.app_context():
        centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
        stock.receive(
            SYSTEM,
            centre,
            reference="GR-2026-0001",
            source="warehouse",
            received_on=stock.centre_day(centre),
            lines={service.item_by_code("HYG").id: 10, service.item_by_code("DIG").id: 10},
        )
        session.commit()
        card = session.scalar(sa.select(Beneficiary.card_token).where(Beneficiary.uid == uid))
    return {"uid": uid, "card": card}


def _sign(page) -> None:
    page.locator("#signature-canvas").scroll_into_view_if_needed()
    box = page.locator("#signature-canvas").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 100)
    page.mouse.down()
    for x, y in ((60, 40), (100, 120), (140, 50), (200, 110)):
        page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
    page.mouse.up()


def test_scan_give_two_kits_then_refused_a_second_hygiene_kit(browser, visit, live_server, desk):
    page = visit.page
    uid = desk["uid"]
    log_in(visit, live_server)
    visit.goto("/nfi/")
    check_axe(page, "NFI desk")
    # The card scanner types the token and Enter into the focused box.
    page.locator("#q").fill(desk["card"])
    with page.expect_navigation():
        page.locator("#q").press("Enter")
    visit.note_url()
    assert path_of(page.url) == f"/nfi/give/{uid}"
    check_axe(page, "hand-over")
    assert page.locator(f"#qty-{uid}-HYG").is_visible() and page.locator(f"#qty-{uid}-DIG").is_visible()
    page.locator(f"#qty-{uid}-HYG").fill("1")
    page.locator(f"#qty-{uid}-DIG").fill("1")
    assert page.locator("#ack_method-0").is_checked()  # signature on screen
    _sign(page)
    assert re.fullmatch(r"M \d+ \d+( L \d+ \d+)+", page.locator("#signature").input_value())
    submit(visit, "form button.primary")
    assert path_of(page.url).startswith("/nfi/handovers/")
    check_axe(page, "hand-over receipt")
    rows = page.locator("table tbody tr").all_inner_texts()
    assert any("Kit de higiene" in r for r in rows) and any("Kit de dignidad" in r for r in rows)
    assert page.locator("figure.signature svg path").count() == 1
    # A second hygiene kit the same day: refused, the reason next to the item.
    with page.expect_navigation():
        page.locator(f"a[href$='/nfi/give/{uid}']").last.click()
    visit.note_url()
    page.locator(f"#qty-{uid}-HYG").fill("1")
    page.locator("#ack_method-1").check()  # thumbprint
    submit(visit, "form button.primary")
    assert path_of(page.url) == f"/nfi/give/{uid}"
    error = page.locator(f"#err-{uid}-HYG").inner_text()
    assert error.startswith("Kit de higiene ya recibido hoy; próxima entrega desde el ")
    assert page.locator(f"#qty-{uid}-HYG").input_value() == "1"  # what was typed is kept
    assert page.locator(".error-summary").is_visible()
    check_axe(page, "hand-over refused")
    with live_server.app.app_context():
        from msc.db import session
        from msc.nfi import service, stock
        from msc.nfi.models import Distribution

        assert session.scalar(sa.select(sa.func.count()).select_from(Distribution)) == 1
        centre_id = session.scalar(sa.select(Distribution.centre_id))
        assert stock.on_hand(centre_id, service.item_by_code("HYG").id) == 9
