"""Offline desk routes over HTTP: enrolling a device, the offline window and the sync as the desk's script
calls them (JSON, with the CSRF header), the clerk's decision on a waiting registration, and the devices
page where a manager revokes one."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets

import pytest
import sqlalchemy as sa

from msc.beneficiaries.models import Beneficiary
from msc.crypto import sealed
from msc.db import session, utcnow
from msc.offline.models import OfflineDevice, OfflineRecord
from tests.conftest import csrf
from tests.test_offline_service import FORM


@pytest.fixture
def clerk(make, auth):
    make.user("clerk", "reception", locale="es")
    make.user("jefa", "centre_manager")
    auth.login("clerk")
    return "clerk"


def _enrol(client, label="Tablet 2, entry hall"):
    token = csrf(client, "/offline/")
    res = client.post("/offline/enrol", data={"csrf_token": token, "label": label, "centre_id": _centre_id(client)})
    return token, res


def _centre_id(client) -> str:
    html = client.get("/offline/").get_data(as_text=True)
    return re.search(r'<option[^>]*value="(\d+)"', html).group(1)


def _sealed(grant, client_id, kind="registration", **payload):
    body = {"made_at": utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z"), "grant": grant["grant"], **payload}
    box = sealed.seal_record(json.dumps(body).encode(), sealed.aad(grant["device"], client_id, kind), grant["key"])
    return {"id": client_id, "kind": kind, "sealed": box}


def test_the_desk_page_offers_to_enrol_the_device_in_spanish(client, clerk):
    res = client.get("/offline/")
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "Inscribir este dispositivo" in html
    assert 'name="label"' in html


def test_enrolling_without_a_name_comes_back_with_the_reason(client, clerk):
    _, res = _enrol(client, label="")
    assert res.status_code == 422
    assert "Ponga un nombre al dispositivo" in res.get_data(as_text=True)


def test_enrol_grant_sync_and_resend_through_the_pages(app, client, clerk):
    token, res = _enrol(client)
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    device = re.search(r'data-device="([0-9a-f]+)"', html).group(1)
    headers = {"X-CSRFToken": token}
    grant = client.post("/offline/grant", json={"device": device}, headers=headers)
    assert grant.status_code == 200
    opened = grant.get_json()
    assert opened["device"] == device and opened["key"]["crv"] == "P-256" and opened["ends"].endswith("Z")
    record = _sealed(opened, secrets.token_urlsafe(12), form=FORM)
    first = client.post("/offline/sync", json={"device": device, "records": [record]}, headers=headers)
    assert first.status_code == 200
    assert first.get_json()["records"][0]["state"] == "applied"
    again = client.post("/offline/sync", json={"device": device, "records": [record]}, headers=headers)
    assert again.get_json() == first.get_json()
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 1


def test_the_sync_needs_the_csrf_header_and_a_readable_body(client, clerk):
    token, res = _enrol(client)
    device = re.search(r'data-device="([0-9a-f]+)"', res.get_data(as_text=True)).group(1)
    assert client.post("/offline/sync", json={"device": device, "records": []}).status_code == 400
    headers = {"X-CSRFToken": token}
    bad = client.post("/offline/sync", data="{not json", headers={**headers, "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.is_json
    wrong = client.post("/offline/sync", json={"device": device, "records": "x"}, headers=headers)
    assert wrong.status_code == 422 and wrong.get_json()["error"]
    unknown = client.post("/offline/grant", json={"device": "0" * 32}, headers=headers)
    assert unknown.status_code == 422 and "dispositivo" in unknown.get_json()["error"]


def test_a_waiting_registration_is_decided_on_its_page(app, make, client, clerk):
    make.person(given_names="Yolimar", family_names="Castillo Rangel", date_of_birth=dt.date(1994, 3, 8))
    token, res = _enrol(client)
    device = re.search(r'data-device="([0-9a-f]+)"', res.get_data(as_text=True)).group(1)
    headers = {"X-CSRFToken": token}
    opened = client.post("/offline/grant", json={"device": device}, headers=headers).get_json()
    out = client.post(
        "/offline/sync", json={"device": device, "records": [_sealed(opened, "rec-000001", form=FORM)]}, headers=headers
    ).get_json()["records"][0]
    assert out["state"] == "waiting"
    assert out["record"] in client.get("/offline/").get_data(as_text=True)  # listed on the desk page
    page = client.get(f"/offline/records/{out['record']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Yolimar" in html and "Castillo Rangel" in html
    res = client.post(f"/offline/records/{out['record']}", data={"csrf_token": token, "action": "new"})
    assert res.status_code == 302
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 2
        assert session.scalar(sa.select(OfflineRecord)).payload_ct is None
    again = client.post(f"/offline/records/{out['record']}", data={"csrf_token": token, "action": "new"})
    assert again.status_code == 422


def test_a_manager_revokes_a_device_and_its_queue_is_refused(app, client, clerk, auth):
    token, res = _enrol(client)
    device = re.search(r'data-device="([0-9a-f]+)"', res.get_data(as_text=True)).group(1)
    opened = client.post("/offline/grant", json={"device": device}, headers={"X-CSRFToken": token}).get_json()
    auth.logout()
    auth.login("jefa")
    page = client.get("/offline/devices")
    assert page.status_code == 200 and "Tablet 2, entry hall" in page.get_data(as_text=True)
    res = client.post(f"/offline/devices/{device}/revoke", data={"csrf_token": csrf(client, "/offline/devices")})
    assert res.status_code == 302
    with app.app_context():
        assert session.scalar(sa.select(OfflineDevice)).revoked
    auth.logout()
    auth.login("clerk")
    token = csrf(client, "/offline/")
    out = client.post(
        "/offline/sync",
        json={"device": device, "records": [_sealed(opened, "rec-000002", form=FORM)]},
        headers={"X-CSRFToken": token},
    ).get_json()["records"][0]
    assert out["state"] == "refused" and "revocado" in out["message"]
    assert client.post("/offline/grant", json={"device": device}, headers={"X-CSRFToken": token}).status_code == 422


def test_the_desks_offline_page_holds_the_forms_and_no_ones_data(app, make, client, clerk):
    make.person(given_names="Marisol", family_names="Quintero")
    # a registration's message waits to be shown: the page the tablet keeps must not hold it
    with client.session_transaction() as s:
        s["_flashes"] = [("success", "Registrada Marisol Quintero")]
    res = client.get("/offline/desk")
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "Marisol" not in html and "Quintero" not in html
    assert 'rel="manifest"' in html and 'id="offline-register"' in html and 'id="offline-give"' in html
    assert 'name="consent_registration"' in html and 'name="item-HYG"' in html
    assert "Guardar el registro para enviarlo" in html
    assert 'data-of="%(n)s de %(total)s"' in html  # the script fills in the numbers


def test_the_status_gives_a_fresh_token_and_says_when_the_session_is_gone(app, client, clerk, auth):
    res = client.get("/offline/status")
    assert res.status_code == 200 and res.get_json()["csrf"]
    auth.logout()
    assert client.get("/offline/status").status_code == 302


def test_the_service_worker_and_the_manifest_are_served_by_the_app(client):
    worker = client.get("/offline/sw.js")
    body = worker.get_data(as_text=True)
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/offline/"
    assert '"/offline/desk"' in body and "/static/js/offline.js" in body and "http" not in body.replace("https", "")
    manifest = client.get("/offline/manifest.webmanifest", headers={"Accept-Language": "pt-BR"})
    data = json.loads(manifest.get_data(as_text=True))
    assert manifest.mimetype == "application/manifest+json"
    assert data["start_url"] == "/offline/desk" and data["scope"] == "/offline/"
    assert data["short_name"] == "Balcão sem conexão"


def test_the_landing_pages_show_what_offline_desks_left_to_decide(app, make, client, clerk, auth):
    make.person(given_names="Yolimar", family_names="Castillo Rangel", date_of_birth=dt.date(1994, 3, 8))
    token, res = _enrol(client)
    device = re.search(r'data-device="([0-9a-f]+)"', res.get_data(as_text=True)).group(1)
    headers = {"X-CSRFToken": token}
    opened = client.post("/offline/grant", json={"device": device}, headers=headers).get_json()
    refused = {**FORM, "given_names": "Ana", "consent_registration": "refused"}
    records = [_sealed(opened, "rec-000003", form=FORM), _sealed(opened, "rec-000004", form=refused)]
    client.post("/offline/sync", json={"device": device, "records": records}, headers=headers)
    home = client.get("/").get_data(as_text=True)
    assert "Registros sin conexión por decidir" in home and "1 registro espera" in home
    auth.logout()
    auth.login("jefa")
    home = client.get("/").get_data(as_text=True)
    assert "Flagged and refused offline records" in home and "1 record to look at" in home
    record = re.search(r'href="(/offline/records/[0-9a-f]+)"', home).group(1)
    page = client.get(record)
    assert "Mark as reviewed" in page.get_data(as_text=True)
    res = client.post(record, data={"csrf_token": csrf(client, record), "action": "reviewed"})
    assert res.status_code == 302
    assert "1 record to look at" not in client.get("/").get_data(as_text=True)


def test_a_body_nested_past_the_parser_or_a_device_id_of_another_type_is_refused_not_failed(client, clerk):
    token, res = _enrol(client)
    headers = {"X-CSRFToken": token, "Content-Type": "application/json"}
    for path in ("/offline/sync", "/offline/grant"):
        deep = client.post(path, data="[" * 200_000, headers=headers)
        assert deep.status_code in (400, 422) and deep.is_json
        for device in (123, ["x"], {"a": 1}, "ab\x00cd"):
            odd = client.post(path, json={"device": device, "records": []}, headers={"X-CSRFToken": token})
            assert odd.status_code == 422 and odd.get_json()["error"]
