"""NFI pages: scan to hand over, the desk screen, refusals in words with what was typed kept, voids,
stock pages for managers, reports and exports, the catalogue; another centre's stock is invisible."""

import csv
import io
import re

import sqlalchemy as sa
from openpyxl import load_workbook

from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre
from msc.db import session
from msc.nfi import service, stock
from msc.nfi.models import Distribution, NfiItem, StockMovement
from msc.security.models import AuditEvent
from tests.conftest import csrf
from tests.test_access import login_as


def _centre_id(app, code="COL-CUC") -> int:
    with app.app_context():
        return session.scalar(sa.select(Centre.id).where(Centre.code == code))


def _item_id(app, code) -> int:
    with app.app_context():
        return session.scalar(sa.select(NfiItem.id).where(NfiItem.code == code))


def _stock(app, client, centre_id, quantities, ref="GR-100"):
    data = {
        "csrf_token": csrf(client, f"/nfi/stock/{centre_id}/receive"),
        "reference": ref,
        "source": "warehouse",
        "received_on": _today(app),
    }
    data.update({f"qty-{_item_id(app, code)}": str(q) for code, q in quantities.items()})
    return client.post(f"/nfi/stock/{centre_id}/receive", data=data)


def _today(app) -> str:
    with app.app_context():
        return stock.centre_day(session.get(Centre, _centre_id(app))).isoformat()


def _card(app, uid) -> str:
    with app.app_context():
        return session.scalar(sa.select(Beneficiary.card_token).where(Beneficiary.uid == uid))


def test_scan_give_refuse_and_void(app, make, client):
    boss = app.test_client()
    login_as(app, boss, make.user("boss", "centre_manager"))
    centre_id = _centre_id(app)
    assert _stock(app, boss, centre_id, {"HYG": 5, "DIG": 5}).status_code == 302
    uid = make.person(given_names="Ana", family_names="Rojas", sex="female")
    man = make.person(given_names="Luis", family_names="Mora", sex="male")
    login_as(app, client, make.user("clerk", "reception"))
    # The scanner types the card token into the box: straight to the hand-over screen.
    res = client.post("/nfi/find", data={"csrf_token": csrf(client, "/nfi/"), "q": _card(app, uid)})
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/nfi/give/{uid}")
    page = client.get(f"/nfi/give/{uid}").get_data(as_text=True)
    assert "Hygiene kit" in page and "Dignity kit" in page and "May receive 1 today." in page
    assert "Only for households with children under 2 years old" in page  # baby kit, with the reason
    token = csrf(client, f"/nfi/give/{uid}")
    # Bad quantities come back with what was typed and the reason.
    res = client.post(
        f"/nfi/give/{uid}",
        data={
            "csrf_token": token,
            f"qty-{uid}:HYG": "1.5",
            f"qty-{uid}:DIG": "1",
            "collected_by": "self",
            "ack_method": "thumbprint",
        },
    )
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "whole units" in html and 'value="1.5"' in html
    # No acknowledgement chosen: the signature is missing.
    res = client.post(
        f"/nfi/give/{uid}",
        data={"csrf_token": token, f"qty-{uid}:HYG": "1", "collected_by": "self", "ack_method": "signature"},
    )
    assert res.status_code == 422 and "sign on the screen" in res.get_data(as_text=True)
    res = client.post(
        f"/nfi/give/{uid}",
        data={
            "csrf_token": token,
            f"qty-{uid}:HYG": "1",
            f"qty-{uid}:DIG": "1",
            "collected_by": "self",
            "ack_method": "signature",
            "signature": "M 10 10 L 50 60 L 90 20",
        },
    )
    assert res.status_code == 302
    receipt = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "Hygiene kit" in receipt and '<path d="M 10 10 L 50 60 L 90 20"' in receipt
    # The same day again: refused with the reason next to the item.
    res = client.post(
        f"/nfi/give/{uid}",
        data={"csrf_token": token, f"qty-{uid}:HYG": "1", "collected_by": "self", "ack_method": "thumbprint"},
    )
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "Hygiene kit already received today; next from" in html
    assert "cannot be given today" in html
    # A man cannot get a dignity kit.
    res = client.post(
        f"/nfi/give/{man}",
        data={"csrf_token": token, f"qty-{man}:DIG": "1", "collected_by": "self", "ack_method": "thumbprint"},
    )
    assert res.status_code == 422 and "Only for women and girls aged 12 to 49." in res.get_data(as_text=True)
    hyg = _item_id(app, "HYG")
    with app.app_context():
        d_uid = session.scalar(sa.select(Distribution.uid))
        assert stock.on_hand(centre_id, hyg) == 4
    # The clerk voids the same day; the stock goes back.
    page = client.get(f"/nfi/handovers/{d_uid}").get_data(as_text=True)
    assert "Void this hand-over" in page
    res = client.post(
        f"/nfi/handovers/{d_uid}/void",
        data={"void-csrf_token": csrf(client, f"/nfi/handovers/{d_uid}"), "void-reason": "other", "void-note": ""},
    )
    assert res.status_code == 422 and "Write why the hand-over is voided." in res.get_data(as_text=True)
    res = client.post(
        f"/nfi/handovers/{d_uid}/void",
        data={"void-csrf_token": csrf(client, f"/nfi/handovers/{d_uid}"), "void-reason": "wrong_person"},
    )
    assert res.status_code == 302
    assert "Voided on" in client.get(f"/nfi/handovers/{d_uid}").get_data(as_text=True)
    with app.app_context():
        assert stock.on_hand(centre_id, hyg) == 5 and stock.mismatches() == []


def test_manager_override_with_justification(app, make, client):
    login_as(app, client, make.user("boss", "centre_manager"))
    centre_id = _centre_id(app)
    _stock(app, client, centre_id, {"HYG": 5})
    uid = make.person(given_names="Ana", family_names="Rojas")
    token = csrf(client, f"/nfi/give/{uid}")
    data = {"csrf_token": token, f"qty-{uid}:HYG": "1", "collected_by": "self", "ack_method": "thumbprint"}
    assert client.post(f"/nfi/give/{uid}", data=data).status_code == 302
    res = client.post(f"/nfi/give/{uid}", data=data)
    assert res.status_code == 422 and "write why they must be given anyway" in res.get_data(as_text=True)
    res = client.post(f"/nfi/give/{uid}", data=data | {"justification": "Perdió el kit en el río."})
    assert res.status_code == 302
    assert "Perdió el kit en el río." in client.get(res.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert (
            session.scalar(
                sa.select(AuditEvent.action)
                .order_by(AuditEvent.id.desc())
                .where(AuditEvent.action.like("nfi.hand_over%"))
                .limit(1)
            )
            == "nfi.hand_over.override"
        )


def test_a_clerk_sees_no_override_box(app, make, client):
    login_as(app, client, make.user("clerk", "reception"))
    uid = make.person(given_names="Ana", family_names="Rojas")
    assert "Justification" not in client.get(f"/nfi/give/{uid}").get_data(as_text=True)


def test_stock_pages(app, make, client):
    login_as(app, client, make.user("boss", "centre_manager"))
    centre_id = _centre_id(app)
    hyg, blk = _item_id(app, "HYG"), _item_id(app, "BLK")
    make.centre("PER-TUM", "CAM Tumbes", "PER")
    tumbes = _centre_id(app, "PER-TUM")
    assert client.get("/nfi/stock").headers["Location"].endswith(f"/nfi/stock/{centre_id}")
    assert _stock(app, client, centre_id, {"HYG": 10, "BLK": 2}, ref="gr-7").status_code == 302
    # A duplicate reference, however typed, is refused with what was typed kept.
    res = _stock(app, client, centre_id, {"HYG": 3}, ref=" GR-7 ")
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "GR-7 was already received at this centre" in html and 'value="3"' in html
    res = _stock(app, client, centre_id, {"HYG": "-2"}, ref="GR-8")
    assert res.status_code == 422 and "cannot be negative" in res.get_data(as_text=True)
    # Transfers: not to the same centre, not beyond the stock.
    token = csrf(client, f"/nfi/stock/{centre_id}/transfer")
    res = client.post(
        f"/nfi/stock/{centre_id}/transfer", data={"csrf_token": token, "to_centre_id": centre_id, f"qty-{hyg}": "2"}
    )
    assert res.status_code == 422 and "goes to another centre" in res.get_data(as_text=True)
    res = client.post(
        f"/nfi/stock/{centre_id}/transfer", data={"csrf_token": token, "to_centre_id": tumbes, f"qty-{hyg}": "11"}
    )
    assert res.status_code == 422 and "10 left, 11 asked for" in res.get_data(as_text=True)
    res = client.post(
        f"/nfi/stock/{centre_id}/transfer", data={"csrf_token": token, "to_centre_id": tumbes, f"qty-{hyg}": "4"}
    )
    assert res.status_code == 302
    # Adjustments with a reason; zero and fractions refused.
    token = csrf(client, f"/nfi/stock/{centre_id}/adjust")
    res = client.post(
        f"/nfi/stock/{centre_id}/adjust",
        data={"csrf_token": token, "item_id": blk, "reason": "damage", "direction": "remove", "quantity": "0"},
    )
    assert res.status_code == 422 and "at least 1" in res.get_data(as_text=True)
    res = client.post(
        f"/nfi/stock/{centre_id}/adjust",
        data={"csrf_token": token, "item_id": blk, "reason": "damage", "direction": "remove", "quantity": "1"},
    )
    assert res.status_code == 302
    # A count: only the items counted; the difference becomes an adjustment.
    token = csrf(client, f"/nfi/stock/{centre_id}/count")
    res = client.post(
        f"/nfi/stock/{centre_id}/count", data={"csrf_token": token, f"count-{hyg}": "5", f"count-{blk}": ""}
    )
    assert res.status_code == 302
    # Thresholds make the stock page warn.
    token = csrf(client, f"/nfi/stock/{centre_id}/thresholds")
    assert (
        client.post(
            f"/nfi/stock/{centre_id}/thresholds", data={"csrf_token": token, f"low-{hyg}": "6", f"low-{blk}": "x"}
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/nfi/stock/{centre_id}/thresholds", data={"csrf_token": token, f"low-{hyg}": "6", f"low-{blk}": "0"}
        ).status_code
        == 302
    )
    page = client.get(f"/nfi/stock/{centre_id}").get_data(as_text=True)
    assert re.search(r"Hygiene kit</td><td>kit</td>\s*<td>5</td><td>6</td><td><span class=\"tag stock-low\">", page)
    assert "1 difference." in page  # one difference, in the singular
    ledger = client.get(f"/nfi/stock/{centre_id}/ledger").get_data(as_text=True)
    for word in ("Receipt", "Transfer out", "Damaged", "Physical count", "counted 5"):
        assert word in ledger
    with app.app_context():
        assert stock.on_hand(centre_id, hyg) == 5 and stock.on_hand(tumbes, hyg) == 4
        assert stock.mismatches() == []


def test_another_centres_stock_is_invisible(app, make, client):
    make.centre("PER-TUM", "CAM Tumbes", "PER")
    login_as(app, client, make.user("boss", "centre_manager"))
    tumbes = _centre_id(app, "PER-TUM")
    for path in ("", "/receive", "/transfer", "/adjust", "/count", "/thresholds", "/ledger"):
        assert client.get(f"/nfi/stock/{tumbes}{path}").status_code == 404
    res = client.get(f"/nfi/reports?start=2026-01-01&end=2026-12-31&centre_id={tumbes}")
    assert res.status_code == 422 and "Choose one of your centres" in res.get_data(as_text=True)


def test_reports_and_exports_are_aggregates_with_small_counts_suppressed(app, make, client):
    login_as(app, client, make.user("boss", "centre_manager"))
    centre_id = _centre_id(app)
    _stock(app, client, centre_id, {"HYG": 20})
    with app.app_context():
        from msc.security.models import User

        boss = session.scalar(sa.select(User).where(User.username == "boss"))
        centre = session.get(Centre, centre_id)
        for i in range(6):
            uid = make.person(given_names=f"Ana{i}", family_names="Rojas", nationality="VEN" if i < 5 else "COL")
            p = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
            service.hand_over(boss, centre, p, {f"{uid}:HYG": 1}, service.Acknowledgement(method="thumbprint"))
        session.commit()
    today = _today(app)
    query = f"start={today[:8]}01&end={today}"
    page = client.get(f"/nfi/reports?{query}").get_data(as_text=True)
    assert "Hand-overs by item, sex, age and nationality" in page and "&lt;5" in page
    res = client.get(f"/nfi/reports/distributions.csv?{query}")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Country", "Centre", "Month", "Item", "Sex", "Age band", "Nationality", "People", "Units"]
    assert ["COL", "COL-CUC", today[:7], "HYG", "female", "18-59", "VEN", "5", "5"] in rows
    assert ["COL", "COL-CUC", today[:7], "HYG", "female", "18-59", "COL", "<5", "<5"] in rows
    assert "Ana" not in res.get_data(as_text=True)
    res = client.get(f"/nfi/reports/stock.xlsx?{query}")
    sheet = load_workbook(io.BytesIO(res.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:4] == ["Country", "Centre", "Item", "Opening"]
    assert values[1][:10] == ["COL", "COL-CUC", "HYG", 0, 20, 0, 0, 6, 0, 14]
    assert client.get(f"/nfi/reports/people.csv?{query}").status_code == 404
    res = client.get("/nfi/reports?start=2026-05-01&end=2026-01-01")
    assert res.status_code == 422 and "ends before it starts" in res.get_data(as_text=True)
    with app.app_context():
        assert (
            session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "nfi.export"))
            == 2
        )


def test_catalogue(app, make, client):
    login_as(app, client, make.user("admin", "admin"))
    page = client.get("/nfi/items").get_data(as_text=True)
    assert "Dignity kit" in page and "women and girls aged 12 to 49" in page
    token = csrf(client, "/nfi/items/new")
    data = {
        "csrf_token": token,
        "code": "hyg",
        "name_es": "Otro",
        "name_pt": "Outro",
        "name_en": "Other",
        "unit": "kit",
        "category": "hygiene",
        "active": "y",
        "level": "individual",
        "quantity": "2",
        "period_days": "30",
        "min_interval_days": "0",
        "max_per_day": "3",
    }
    res = client.post("/nfi/items/new", data=data)
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "already has the code HYG" in html and 'value="Otro"' in html
    res = client.post("/nfi/items/new", data=data | {"code": "SOAP"})
    assert res.status_code == 422 and "daily maximum cannot be above" in res.get_data(as_text=True)
    res = client.post(
        "/nfi/items/new",
        data=data | {"code": "SOAP", "max_per_day": "1", "sexes": ["female"], "age_min": "50", "age_max": "20"},
    )
    assert res.status_code == 422 and "lowest age cannot be above" in res.get_data(as_text=True)
    res = client.post(
        "/nfi/items/new", data=data | {"code": "SOAP", "max_per_day": "1", "sexes": ["female"], "age_min": "60"}
    )
    assert res.status_code == 302
    with app.app_context():
        soap = session.scalar(sa.select(NfiItem).where(NfiItem.code == "SOAP"))
        assert (soap.sexes, soap.age_min, soap.age_max, soap.quantity) == ("female", 60, None, 2)
    assert "women aged 60 or over" in client.get("/nfi/items").get_data(as_text=True)
    page = client.get(f"/nfi/items/{soap.id}/edit").get_data(as_text=True)
    assert re.search(r'<input checked id="sexes-0" name="sexes" type="checkbox" value="female">', page)
    assert not re.search(r'<input checked[^>]*value="male"', page)


def test_the_profile_links_to_the_hand_over_screen(app, make, client):
    login_as(app, client, make.user("clerk", "reception"))
    uid = make.person(given_names="Ana", family_names="Rojas")
    assert f"/nfi/give/{uid}" in client.get(f"/b/{uid}").get_data(as_text=True)
    assert client.get("/nfi/stock").status_code == 403  # stock is for centre managers


def test_the_ledger_pages(app, make, client):
    login_as(app, client, make.user("boss", "centre_manager"))
    centre_id = _centre_id(app)
    for i in range(30):
        _stock(app, client, centre_id, {"HYG": 1, "BLK": 1}, ref=f"GR-{i}")
    first = client.get(f"/nfi/stock/{centre_id}/ledger").get_data(as_text=True)
    with app.app_context():
        oldest_shown = session.scalars(sa.select(StockMovement.id).order_by(StockMovement.id.desc()).limit(50)).all()[
            -1
        ]
    assert f"before={oldest_shown}" in first
    older = client.get(f"/nfi/stock/{centre_id}/ledger?before={oldest_shown}").get_data(as_text=True)
    assert older.count("<tr>") == 1 + 10  # the header row and the ten oldest movements


def test_both_scan_boxes_offer_the_camera_from_a_script_of_our_own(app, make, client):
    """The search page and the NFI desk load scan.js (served by the app, allowed by script-src 'self')
    and point it at their box; the box itself still takes a typed or wedge-scanned token."""
    login_as(app, client, make.user("clerk", "reception"))
    for path in ("/", "/nfi/"):
        res = client.get(path)
        page = res.get_data(as_text=True)
        assert 'data-scan="#q"' in page and 'id="q"' in page, path
        assert '<script src="/static/js/scan.js">' in page, path
        assert "script-src 'self'" in res.headers["Content-Security-Policy"]
    script = client.get("/static/js/scan.js")
    try:
        assert script.status_code == 200 and "BarcodeDetector" in script.get_data(as_text=True)
    finally:
        script.close()
