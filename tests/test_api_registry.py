"""The API's writing side: registering people with the registration's rules and duplicate check, reading
households, and hand-overs of non-food items by the desk's entitlement rules."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from msc.beneficiaries.models import Beneficiary, Consent, DuplicateDecision
from msc.db import session
from msc.nfi.models import Distribution
from msc.security.models import AuditEvent
from tests.conftest import REGIONAL_MANAGER
from tests.test_api import bearer

PERSON = {
    "given_names": "Yolimar",
    "family_names": "Castillo Rangel",
    "sex": "female",
    "nationality": "VEN",
    "date_of_birth": "1994-03-08",
    "document_type": "national_id",
    "document_number": "V-20.111.222",
    "phone": "+57 301 555 0101",
    "languages": ["es"],
    "needs": ["pregnant_lactating"],
    "consents": [{"purpose": "registration", "status": "given"}, {"purpose": "referral", "status": "refused"}],
}


def _post(app, secret, url, body, language=None):
    headers = bearer(secret) | ({"Accept-Language": language} if language else {})
    return app.test_client().post(url, json=body, headers=headers)


def _row(uid):
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))


# ---- registering ------------------------------------------------------------------------------------


def test_a_system_registers_a_person_encrypted_with_consent_and_audit(app, make):
    secret = make.token("kobo", "reception")
    res = _post(app, secret, "/api/v1/beneficiaries", PERSON)
    assert res.status_code == 201, res.get_data(as_text=True)
    body = res.get_json()
    assert res.headers["Location"] == f"/api/v1/beneficiaries/{body['uid']}"
    assert body["given_names"] == "Yolimar" and body["centre"] == "COL-CUC" and body["household_size"] == 1
    assert body["consents"] == {"registration": "given", "referral": "refused"} and body["household_uid"]
    with app.app_context():
        person = _row(body["uid"])
        assert person.document_number == "V-20.111.222" and person.need_codes == ["pregnant_lactating"]
        raw = (
            session.execute(sa.text("SELECT * FROM beneficiaries WHERE uid = :u"), {"u": body["uid"]}).mappings().one()
        )
        assert "Yolimar" not in str(dict(raw)) and "20.111.222" not in str(dict(raw))
        assert session.scalar(sa.select(sa.func.count()).select_from(Consent)) == 2
        actions = [e.action for e in session.scalars(sa.select(AuditEvent))]
        assert "beneficiary.create" in actions


def test_registration_rules_refuse_by_field_in_the_caller_s_language(app, make):
    secret = make.token("kobo", "reception")
    cases = [
        ({**PERSON, "consents": [{"purpose": "referral", "status": "given"}]}, "consents"),
        ({**PERSON, "date_of_birth": None}, "date_of_birth"),
        ({**PERSON, "date_of_birth": "2099-01-01"}, "date_of_birth"),
        ({**PERSON, "date_of_birth": "2015-01-01"}, "consent_given_by"),  # a child consenting for themself
        ({**PERSON, "document_number": None}, "document_number"),
        ({**PERSON, "sex": "f"}, "sex"),
        ({**PERSON, "given_names": "Ana\u202e"}, "given_names"),
        ({**PERSON, "consents": [{"purpose": "registration", "status": "given"}] * 2}, "consents"),
        ({**PERSON, "needs": ["trafficking"]}, "needs"),  # a sensitive need: reception's role may not see them
        ({**PERSON, "centre": "PER-TUM"}, "centre"),
        ({**PERSON, "household": {"uid": "nobody", "relationship": "child"}}, "household"),
        ({**PERSON, "consents": [{"purpose": "registration"}]}, "consents.0.status"),
    ]
    for body, field in cases:
        res = _post(app, secret, "/api/v1/beneficiaries", body, language="es")
        assert res.status_code == 422, (field, res.status_code, res.get_data(as_text=True))
        error = res.get_json()["error"]
        assert error["code"] == "validation_error" and field in error["fields"], (field, error)
        assert "Yolimar" not in res.get_data(as_text=True)
    words = _post(app, secret, "/api/v1/beneficiaries", cases[0][0], language="es").get_json()["error"]["fields"]
    assert "consentimiento" in words["consents"][0]
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 0


def test_a_possible_duplicate_answers_409_then_the_caller_confirms(app, make):
    existing = make.person(given_names="Yolimar", family_names="Castillo Rangel", date_of_birth=dt.date(1994, 3, 8))
    secret = make.token("kobo", "reception")
    res = _post(app, secret, "/api/v1/beneficiaries", {**PERSON, "document_type": "none", "document_number": None})
    assert res.status_code == 409
    error = res.get_json()["error"]
    assert error["code"] == "possible_duplicates" and error["message"]
    assert [c["person"]["uid"] for c in error["candidates"]] == [existing] and error["candidates"][0]["reasons"]
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 1
    confirmed = {**PERSON, "document_type": "none", "document_number": None, "not_duplicates": [existing]}
    res = _post(app, secret, "/api/v1/beneficiaries", confirmed)
    assert res.status_code == 201
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(DuplicateDecision)) == 1


def test_not_duplicates_names_only_people_within_reach(app, make):
    far = make.person(given_names="Luz", family_names="Marín", centre="PER-TUM")
    secret = make.token("kobo", "reception")
    res = _post(app, secret, "/api/v1/beneficiaries", {**PERSON, "not_duplicates": [far, "made-up"]})
    assert res.status_code == 201
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(DuplicateDecision)) == 0


def test_a_person_joins_a_household_read_within_reach(app, make):
    secret = make.token("kobo", "reception")
    head = _post(app, secret, "/api/v1/beneficiaries", PERSON).get_json()
    child = {
        **PERSON,
        "given_names": "Sofía",
        "date_of_birth": "2019-06-01",
        "document_type": "none",
        "document_number": None,
        "phone": None,
        "needs": [],
        "consent_given_by": "guardian",
        "guardian_name": "Yolimar Castillo",
        "household": {"uid": head["household_uid"], "relationship": "child"},
        "not_duplicates": [head["uid"]],
    }
    res = _post(app, secret, "/api/v1/beneficiaries", child)
    assert res.status_code == 201, res.get_data(as_text=True)
    assert res.get_json()["household_uid"] == head["household_uid"] and res.get_json()["household_size"] == 2
    household = app.test_client().get(f"/api/v1/households/{head['household_uid']}", headers=bearer(secret))
    assert household.status_code == 200
    body = household.get_json()
    assert body["size"] == 2 and body["no_adult"] is False
    assert [(m["given_names"], m["relationship"]) for m in body["members"]] == [("Yolimar", "head"), ("Sofía", "child")]
    elsewhere = make.token("tumbes_app", "reception", centres=("PER-TUM",))
    res = app.test_client().get(f"/api/v1/households/{head['household_uid']}", headers=bearer(elsewhere))
    assert res.status_code == 404
    res = _post(app, elsewhere, "/api/v1/beneficiaries", {**child, "not_duplicates": []})
    assert res.status_code == 422 and "household" in res.get_json()["error"]["fields"]


def test_a_partner_s_token_may_not_register(app, make):
    org, _ = make.partner()
    secret = make.token("crc", "partner", organisation_id=org)
    res = _post(app, secret, "/api/v1/beneficiaries", PERSON)
    assert res.status_code == 403 and res.get_json()["error"]["code"] == "forbidden"


# ---- hand-overs -------------------------------------------------------------------------------------


def _stock(app, code="HYG", units=5, centre_code="COL-CUC"):
    from msc.centres.models import Centre
    from msc.nfi import service as nfi
    from msc.nfi import stock

    with app.app_context():
        centre = session.scalar(sa.select(Centre).where(Centre.code == centre_code))
        stock.receive(
            REGIONAL_MANAGER,
            centre,
            reference="GR-9",
            source="warehouse",
            received_on=stock.centre_day(centre),
            lines={nfi.item_by_code(code).id: units},
        )
        session.commit()


def test_a_distribution_app_reads_entitlements_and_records_a_hand_over_by_the_rules(app, make):
    uid = make.person(given_names="Ana", family_names="Rojas")
    _stock(app)
    secret = make.token("nfi_app", "reception")
    client = app.test_client()
    res = client.get(f"/api/v1/beneficiaries/{uid}/entitlements", headers=bearer(secret))
    assert res.status_code == 200, res.get_data(as_text=True)
    body = res.get_json()
    assert body["centre"] == "COL-CUC"
    hygiene = next(r for r in body["rows"] if r["item"] == "HYG")
    assert hygiene["allowed"] >= 1 and hygiene["name"]
    hand_over = {
        "beneficiary": uid,
        "lines": [{"row": hygiene["row"], "quantity": 1}],
        "acknowledgement": {"method": "thumbprint"},
    }
    res = _post(app, secret, "/api/v1/hand-overs", hand_over)
    assert res.status_code == 201, res.get_data(as_text=True)
    assert res.get_json()["lines"] == [{"row": hygiene["row"], "quantity": 1}] and not res.get_json()["overridden"]
    again = _post(app, secret, "/api/v1/hand-overs", hand_over, language="es")
    assert again.status_code == 422
    error = again.get_json()["error"]
    assert list(error["fields"]) == [f"lines.{hygiene['row']}"] and error["message"]
    after = client.get(f"/api/v1/beneficiaries/{uid}/entitlements", headers=bearer(secret)).get_json()
    assert next(r for r in after["rows"] if r["item"] == "HYG")["allowed"] == 0
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Distribution)) == 1
        assert "nfi.hand_over" in [e.action for e in session.scalars(sa.select(AuditEvent))]


def test_a_hand_over_is_refused_in_words_without_stock_or_acknowledgement(app, make):
    uid = make.person(given_names="Ana", family_names="Rojas")
    secret = make.token("nfi_app", "reception")
    row = f"{uid}:HYG"
    cases = [
        (
            {"beneficiary": uid, "lines": [{"row": row, "quantity": 1}], "acknowledgement": {"method": "witness"}},
            "acknowledgement.witness_name",
        ),
        (
            {"beneficiary": uid, "lines": [{"row": row, "quantity": 1}], "acknowledgement": {"method": "thumbprint"}},
            f"lines.{row}",
        ),  # no stock at the centre
        (
            {
                "beneficiary": uid,
                "lines": [{"row": "x:HYG", "quantity": 1}],
                "acknowledgement": {"method": "thumbprint"},
            },
            "lines",
        ),
        (
            {"beneficiary": uid, "lines": [{"row": row, "quantity": 0}], "acknowledgement": {"method": "thumbprint"}},
            "lines.0.quantity",
        ),
        ({"beneficiary": uid, "lines": [], "acknowledgement": {"method": "thumbprint"}}, "lines"),
        (
            {
                "beneficiary": uid,
                "centre": "PER-TUM",
                "lines": [{"row": row, "quantity": 1}],
                "acknowledgement": {"method": "thumbprint"},
            },
            "centre",
        ),
    ]
    for body, field in cases:
        res = _post(app, secret, "/api/v1/hand-overs", body)
        assert res.status_code == 422, (field, res.get_data(as_text=True))
        assert field in res.get_json()["error"]["fields"], (field, res.get_json())
    far = make.person(given_names="Luz", family_names="Marín", centre="PER-TUM")
    res = _post(app, secret, "/api/v1/hand-overs", {**cases[1][0], "beneficiary": far})
    assert res.status_code == 404
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Distribution)) == 0


# ---- what no schema could read safely ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PERSON, "given_names": "Ana\ud800"}, "given_names"),
        ({**PERSON, "household": {"uid": "\udfff", "relationship": "child"}}, "household.uid"),
        ({**PERSON, "not_duplicates": ["ok", "x\ud800"]}, "not_duplicates.1"),
        ({**PERSON, "given_names": "\u200b\u200b"}, "given_names"),  # a name of nothing but invisible spaces
    ],
)
def test_a_text_that_cannot_be_stored_is_refused_on_its_field(app, make, body, field):
    secret = make.token("kobo", "reception")
    res = _post(app, secret, "/api/v1/beneficiaries", body)
    assert res.status_code == 422, res.get_data(as_text=True)
    assert list(res.get_json()["error"]["fields"]) == [field]
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 0


def test_a_body_nested_past_the_parser_and_an_address_with_a_nul_are_refused_not_failed(app, make):
    secret = make.token("kobo", "reception")
    client = app.test_client()
    res = client.post(
        "/api/v1/search", data="[" * 200_000, headers=bearer(secret) | {"Content-Type": "application/json"}
    )
    assert res.status_code == 400 and res.get_json()["error"]["code"] == "bad_request"
    for path in ("/api/v1/beneficiaries/a%00b", "/api/v1/households/a%00b"):
        res = client.get(path, headers=bearer(secret))
        assert res.status_code == 404 and res.get_json()["error"]["code"] == "not_found"
    res = _post(app, secret, "/api/v1/beneficiaries", {**PERSON, "not_duplicates": ["a\x00b"]})
    assert res.status_code < 500  # a NUL in an id names no one (PostgreSQL refuses it: a 400, never a 500)
