"""The JSON API (/api/v1): service accounts' tokens, the calls they make, their errors and their document."""

from __future__ import annotations

import datetime as dt
import json

import pyotp
import pytest
import sqlalchemy as sa
import time_machine
from openapi_spec_validator import validate

from msc.admin import service as admin_service
from msc.api import tokens
from msc.api.models import ApiToken
from msc.db import session, utcnow
from msc.security import service as accounts
from msc.security.actor import SYSTEM
from msc.security.models import AuditEvent, User
from msc.security.service import AccountError
from tests.conftest import PASSWORD, csrf, limited_app
from tests.test_access import login_as


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _account(username: str) -> User:
    return session.scalar(sa.select(User).where(User.username == username))


def _actions() -> list[tuple[str, str | None, int | None]]:
    return [(e.action, e.detail, e.user_id) for e in session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq))]


# ---- tokens (service) ------------------------------------------------------------------------------


def test_a_token_is_kept_only_as_its_digest_and_names_its_service_account(app, make):
    secret = make.token("kobo", "reception")
    assert secret.startswith("msc_") and len(secret) > 40
    with app.app_context():
        token = session.scalar(sa.select(ApiToken))
        row = session.execute(sa.text("SELECT * FROM api_tokens")).mappings().one()
        assert secret not in json.dumps({k: str(v) for k, v in row.items()})
        assert token.token_hash == tokens.digest(secret) and token.prefix == secret[:10]
        account, found = tokens.authenticate(f"Bearer {secret}")
        assert found.id == token.id and account.username == "kobo" and account.service_account
        assert token.last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute(app, make):
    secret = make.token("kobo", "reception")
    with app.app_context(), time_machine.travel(utcnow(), tick=False) as clock:
        _, token = tokens.authenticate(f"Bearer {secret}")
        first = token.last_used_at
        clock.shift(dt.timedelta(seconds=30))
        tokens.authenticate(f"Bearer {secret}")
        assert token.last_used_at == first
        clock.shift(dt.timedelta(seconds=31))
        tokens.authenticate(f"Bearer {secret}")
        assert token.last_used_at > first


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("Basic a2Vy", "missing"),
        ("Bearer ", "missing"),
        ("Bearer not-ours", "unknown"),
        ("Bearer msc_" + "x" * 200, "unknown"),
        ("Bearer msc_unknownsecretunknownsecretunknownsecret", "unknown"),
    ],
)
def test_a_call_without_a_valid_token_is_refused_in_words(app, header, reason):
    with app.test_request_context(), pytest.raises(tokens.Unauthorized) as refused:
        tokens.authenticate(header)
    assert refused.value.reason == reason and refused.value.message


def test_expired_revoked_and_deactivated_tokens_are_refused(app, make):
    expiring = make.token("kobo", "reception", days=1)
    revoked = make.token("shelter_app", "reception")
    deactivated = make.token("old_app", "reception")
    with app.test_request_context():
        with (
            time_machine.travel(utcnow() + dt.timedelta(days=1, seconds=1)),
            pytest.raises(tokens.Unauthorized, match="expired"),
        ):
            tokens.authenticate(f"Bearer {expiring}")
        tokens.revoke(SYSTEM, tokens.authenticate(f"Bearer {revoked}")[1])
        with pytest.raises(tokens.TokenError, match="already revoked"):
            tokens.revoke(SYSTEM, session.scalar(sa.select(ApiToken).where(ApiToken.revoked_at.is_not(None))))
        with pytest.raises(tokens.Unauthorized, match="revoked"):
            tokens.authenticate(f"Bearer {revoked}")
        admin_service.set_active(SYSTEM, _account("old_app"), False)
        with pytest.raises(tokens.Unauthorized, match="deactivated"):
            tokens.authenticate(f"Bearer {deactivated}")
        assert [a for a, _, _ in _actions() if a.startswith("api_token")] == [
            "api_token.issue",
            "api_token.issue",
            "api_token.issue",
            "api_token.revoke",
        ]


def test_tokens_are_issued_only_to_active_service_accounts_for_1_to_365_days(app, make):
    make.token("kobo", "reception")
    person = make.user("clerk", "reception")
    with app.test_request_context():
        account = _account("kobo")
        with pytest.raises(tokens.TokenError, match="only for service accounts"):
            tokens.issue(SYSTEM, session.get(User, person), label="x", days=10)
        for days in (0, 366, None):
            with pytest.raises(tokens.TokenError, match="1 to 365") as refused:
                tokens.issue(SYSTEM, account, label="x", days=days)
            assert refused.value.field == "days"
        with pytest.raises(tokens.TokenError, match="Name the token") as refused:
            tokens.issue(SYSTEM, account, label="  ", days=10)
        assert refused.value.field == "label"
        admin_service.set_active(SYSTEM, account, False)
        with pytest.raises(tokens.TokenError, match="deactivated"):
            tokens.issue(SYSTEM, account, label="x", days=10)


def test_service_accounts_have_no_password_no_second_factor_role_and_never_log_in(app, make, auth):
    make.token("kobo", "reception")
    with app.test_request_context():
        for role in ("admin", "dpo", "protection_officer"):
            with pytest.raises(AccountError, match="service account may have") as refused:
                admin_service.save_user(
                    SYSTEM,
                    None,
                    username=f"svc_{role}",
                    display_name="x",
                    role=role,
                    scope="region",
                    country=None,
                    centre_ids=[],
                    locale="en",
                    password=None,
                    service_account=True,
                )
            assert refused.value.field == "role"
        with pytest.raises(AccountError, match="cannot become a service account"):
            admin_service.save_user(
                SYSTEM,
                _account("kobo"),
                username="kobo",
                display_name="x",
                role="reception",
                scope="region",
                country=None,
                centre_ids=[],
                locale="en",
                password=PASSWORD,
            )
        with pytest.raises(AccountError):
            accounts.authenticate("kobo", "!", "10.0.0.1")
    assert b"Wrong username or password" in auth.login("kobo", "!", follow=True).data


# ---- calls -----------------------------------------------------------------------------------------


def test_a_call_without_a_token_or_with_a_cookie_only_answers_401_in_json(app, make, client, auth):
    make.user("clerk", "reception")
    res = app.test_client().post("/api/v1/search", json={"query": "Ana"})
    assert res.status_code == 401 and res.headers["WWW-Authenticate"].startswith("Bearer")
    assert res.get_json()["error"]["code"] == "unauthorized"
    auth.login("clerk")
    res = client.post("/api/v1/search", json={"query": "Ana"})
    assert res.status_code == 401, "a page's session never reaches the API"
    res = client.post("/api/v1/search", json={"query": "Ana"}, headers=bearer("msc_nothing"))
    assert res.get_json() == {"error": {"code": "unauthorized", "message": "This token is not valid."}}
    with app.app_context():
        assert [(a, d) for a, d, _ in _actions() if a == "api.denied"] == [
            ("api.denied", "api.search:missing"),
            ("api.denied", "api.search:missing"),
            ("api.denied", "api.search:unknown"),
        ]


def test_search_answers_the_people_in_reach_and_only_that_others_exist(app, make):
    here = make.person(given_names="Ana María", family_names="Rojas Pérez")
    make.person(
        given_names="Ana María", family_names="Rojas Pérez", centre="PER-TUM", date_of_birth=dt.date(1991, 1, 1)
    )
    secret = make.token("kobo", "reception")
    res = app.test_client().post("/api/v1/search", json={"query": "ana rojas"}, headers=bearer(secret))
    assert res.status_code == 200, res.get_data(as_text=True)
    body = res.get_json()
    assert body["kind"] == "name" and body["page"] == 1 and body["has_more"] is False
    assert [m["person"]["uid"] for m in body["matches"]] == [here]
    person = body["matches"][0]["person"]
    assert person["given_names"] == "Ana María" and person["date_of_birth"] == "1990-05-17"
    assert person["centre"] == "COL-CUC" and person["sex"] == "female" and "document_number" not in person
    assert all(set(e) == {"country", "registered_month", "reasons"} for e in body["elsewhere"])
    with app.app_context():
        kobo = _account("kobo").id
        assert ("beneficiary.search", "name:1", kobo) in _actions()


def test_a_case_number_answers_the_one_person_and_the_view_is_audited(app, make):
    uid = make.person(given_names="Luz", family_names="Marín")
    secret = make.token("kobo", "caseworker")
    with app.app_context():
        from msc.beneficiaries.models import Beneficiary

        number = session.scalar(sa.select(Beneficiary.case_number).where(Beneficiary.uid == uid))
    body = app.test_client().post("/api/v1/search", json={"query": number}, headers=bearer(secret)).get_json()
    assert body["kind"] == "case_number" and [m["person"]["uid"] for m in body["matches"]] == [uid]
    with app.app_context():
        assert any(a == "beneficiary.view" and d.startswith("api:") for a, d, _ in _actions())


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({}, "query", "This field is required."),
        ({"query": ""}, "query", "The length of this value is out of range."),
        ({"query": "x" * 201}, "query", "The length of this value is out of range."),
        ({"query": "Ana", "page": "2"}, "page", "Send a whole number here."),
        ({"query": "Ana", "page": 51}, "page", "This value is out of range."),
        ({"query": "Ana", "name": "x"}, "name", "This field is not part of the request."),
        ({"query": 12}, "query", "Send text here."),
        ({"query": "Ana\x00"}, "query", "Remove the invisible or control characters from the search."),
    ],
)
def test_a_refused_body_names_the_field_and_why(app, make, payload, field, words):
    secret = make.token("kobo", "reception")
    res = app.test_client().post("/api/v1/search", json=payload, headers=bearer(secret))
    assert res.status_code == 422
    error = res.get_json()["error"]
    assert error["code"] == "validation_error" and error["fields"] == {field: [words]}


def test_a_body_that_is_not_json_is_refused_without_a_500(app, make):
    secret = make.token("kobo", "reception")
    client = app.test_client()
    for data, kind in (("{not json", "application/json"), ("query=Ana", "application/x-www-form-urlencoded")):
        res = client.post("/api/v1/search", data=data, content_type=kind, headers=bearer(secret))
        assert res.status_code in (400, 422) and res.is_json, (data, res.status_code)
    res = client.get("/api/v1/search", headers=bearer(secret))
    assert res.status_code == 405 and res.get_json()["error"]["code"] == "method_not_allowed"
    res = client.get("/api/v1/nothing-here", headers=bearer(secret))
    assert res.status_code == 404 and res.get_json()["error"]["code"] == "not_found"


def test_errors_speak_the_language_the_call_asks_for(app, make):
    secret = make.token("kobo", "reception")
    client = app.test_client()
    res = client.post("/api/v1/search", json={"query": "Ana"}, headers={"Accept-Language": "es"})
    assert "token" in res.get_json()["error"]["message"] and "Envíe" in res.get_json()["error"]["message"]
    res = client.post("/api/v1/search", json={}, headers={**bearer(secret), "Accept-Language": "pt-BR"})
    assert res.get_json()["error"]["fields"] == {"query": ["Este campo é obrigatório."]}
    res = client.post("/api/v1/search", json={}, headers=bearer(secret))
    assert res.get_json()["error"]["fields"] == {"query": ["This field is required."]}, "the account's language"


def test_a_role_without_the_permission_gets_a_json_403(app, make):
    org, _ = make.partner()
    secret = make.token("partner_system", "partner", organisation_id=org)
    res = app.test_client().post("/api/v1/search", json={"query": "Ana"}, headers=bearer(secret))
    assert res.status_code == 403 and res.get_json()["error"]["code"] == "forbidden"


def test_a_person_is_read_within_reach_only(app, make):
    here = make.person(given_names="Ana", family_names="Rojas")
    there = make.person(given_names="Eva", family_names="Quispe", centre="PER-TUM")
    secret = make.token("kobo", "caseworker")
    client = app.test_client()
    res = client.get(f"/api/v1/beneficiaries/{here}", headers=bearer(secret))
    assert res.status_code == 200
    body = res.get_json()
    assert body["uid"] == here and body["household_size"] == 1 and body["consents"] == {"registration": "given"}
    res = client.get(f"/api/v1/beneficiaries/{there}", headers=bearer(secret))
    assert res.status_code == 404 and res.get_json()["error"]["code"] == "not_found"
    with app.app_context():
        assert [(a, u) for a, d, u in _actions() if d and d.startswith("api:")] == [
            ("beneficiary.view", _account("kobo").id)
        ]


def test_each_token_has_its_own_rate_limit(app, make):
    first, second = make.token("kobo", "reception"), make.token("other", "reception")
    limited = limited_app(app, API_RATE_LIMIT="2 per minute")
    try:
        client = limited.test_client()
        for _ in range(2):
            assert client.post("/api/v1/search", json={"query": "Ana"}, headers=bearer(first)).status_code == 200
        res = client.post("/api/v1/search", json={"query": "Ana"}, headers=bearer(first))
        assert res.status_code == 429 and res.get_json()["error"]["code"] == "rate_limited"
        assert client.post("/api/v1/search", json={"query": "Ana"}, headers=bearer(second)).status_code == 200
    finally:
        limited.extensions["msc.engine"].dispose()


def test_made_up_tokens_one_after_another_get_no_fresh_bucket(app, make):
    secret = make.token("kobo", "reception")
    limited = limited_app(app, API_RATE_LIMIT="100 per minute", API_ADDRESS_RATE_LIMIT="3 per minute")
    try:
        client = limited.test_client()
        codes = [
            client.post("/api/v1/search", json={"query": "Ana"}, headers=bearer(f"msc_guess{i}")).status_code
            for i in range(3)
        ]
        assert codes == [401, 401, 401]
        res = client.post("/api/v1/search", json={"query": "Ana"}, headers=bearer("msc_guess4"))
        assert res.status_code == 429 and res.get_json()["error"]["code"] == "rate_limited"
        assert client.post("/api/v1/search", json={"query": "Ana"}, headers=bearer(secret)).status_code == 429
    finally:
        limited.extensions["msc.engine"].dispose()


def test_an_old_case_number_of_an_erased_person_names_no_one(app, make):
    uid = make.person(given_names="Ana", family_names="Rojas")
    secret = make.token("kobo", "caseworker")
    with app.app_context():
        from msc.beneficiaries.models import Beneficiary
        from msc.dpo import erasure

        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        person.legacy_case_number = "COL-CUC-2025-000123"
        session.commit()
        erasure.erase(session.get(User, make.user("dpo", "dpo", scope="region")), person, "subject_request")
        session.commit()
    res = app.test_client().post("/api/v1/search", json={"query": "COL-CUC-2025-000123"}, headers=bearer(secret))
    assert res.status_code == 200 and res.get_json()["matches"] == []


def test_the_rate_limits_are_shared_by_every_endpoint_however_the_header_is_spelt(app, make):
    uid = make.person(given_names="Ana", family_names="Rojas")
    secret = make.token("kobo", "caseworker")
    limited = limited_app(app, API_RATE_LIMIT="3 per minute")
    try:
        client = limited.test_client()
        calls = [
            lambda: client.post("/api/v1/search", json={"query": "Ana"}, headers=bearer(secret)),
            lambda: client.get(f"/api/v1/beneficiaries/{uid}", headers={"Authorization": f"bearer {secret}"}),
            lambda: client.get(f"/api/v1/beneficiaries/{uid}", headers={"Authorization": f"BEARER  {secret}"}),
            lambda: client.post(
                "/api/v1/search", json={"query": "Ana"}, headers={"Authorization": f" Bearer {secret}"}
            ),
        ]
        assert [call().status_code for call in calls] == [200, 200, 200, 429]
    finally:
        limited.extensions["msc.engine"].dispose()


def test_a_refused_call_is_never_put_on_the_browser_s_user(app, make, client, auth):
    make.user("clerk", "reception")
    auth.login("clerk")
    assert client.post("/api/v1/search", json={"query": "Ana"}).status_code == 401
    with app.app_context():
        assert [(a, u) for a, _, u in _actions() if a == "api.denied"] == [("api.denied", None)]


def test_reads_name_the_token_that_read(app, make):
    uid = make.person(given_names="Ana", family_names="Rojas")
    secret = make.token("kobo", "caseworker")
    app.test_client().get(f"/api/v1/beneficiaries/{uid}", headers=bearer(secret))
    with app.app_context():
        token_uid = session.scalar(sa.select(ApiToken.uid))
        assert ("beneficiary.view", f"api:{token_uid}") in [(a, d) for a, d, _ in _actions()]


def test_a_report_filter_out_of_any_database_s_range_is_refused_not_a_500(app, make):
    secret = make.token("dashboards", "centre_manager")
    res = app.test_client().get("/api/v1/reports/people?centre_id=99999999999999999999", headers=bearer(secret))
    assert res.status_code == 422 and list(res.get_json()["error"]["fields"]) == ["centre_id"]


# ---- referrals, for partner organisations' systems -------------------------------------------------


@pytest.fixture
def partner_api(make):
    """A partner organisation's system with a token, one referral sent to it and one to another organisation."""
    caseworker = make.user("cw", "caseworker")
    org, service_id = make.partner()
    other_service = make.partner(name="Albergue San José", sector="shelter")[1]
    sent = make.referral(caseworker, service_id, given_names="Rosa", family_names="Peña", phone="+57 300 123 4567")
    elsewhere = make.referral(caseworker, other_service, given_names="Luz", family_names="Marín")
    return {"token": make.token("crc_system", "partner", organisation_id=org), "sent": sent, "elsewhere": elsewhere}


def test_a_partner_system_lists_and_reads_its_referrals_with_only_the_shared_data(app, partner_api):
    client = app.test_client()
    res = client.get("/api/v1/referrals", headers=bearer(partner_api["token"]))
    assert res.status_code == 200
    body = res.get_json()
    assert [r["uid"] for r in body["referrals"]] == [partner_api["sent"]] and body["has_more"] is False
    listed = body["referrals"][0]
    assert listed["status"] == "sent" and listed["service"] == "health service" and "person" not in listed
    assert (
        client.get("/api/v1/referrals?view=answered", headers=bearer(partner_api["token"])).get_json()["referrals"]
        == []
    )
    res = client.get(f"/api/v1/referrals/{partner_api['sent']}", headers=bearer(partner_api["token"]))
    detail = res.get_json()
    assert detail["shared"] == ["identity", "contact"] and detail["reason"] == "Valoración médica"
    assert detail["person"]["name"] == "Rosa Peña" and detail["person"]["phone"] == "+57 300 123 4567"
    assert "date_of_birth" not in detail["person"] and "sex" not in detail["person"]
    res = client.get(f"/api/v1/referrals/{partner_api['elsewhere']}", headers=bearer(partner_api["token"]))
    assert res.status_code == 404, "another organisation's referral"
    with app.app_context():
        from msc.referrals.models import Disclosure

        assert session.scalar(sa.select(sa.func.count()).select_from(Disclosure)) == 1
        assert ("referral.disclosure", "identity,contact") in [(a, d) for a, d, _ in _actions()]


def test_a_partner_system_answers_as_the_portal_does_and_is_told_why_not(app, partner_api):
    client = app.test_client()
    url = f"/api/v1/referrals/{partner_api['sent']}/answer"
    headers = bearer(partner_api["token"])
    res = client.post(url, json={"to": "completed", "text": "Atendida"}, headers=headers)
    assert res.status_code == 422
    assert res.get_json()["error"]["fields"] == {"to": ["This referral cannot go from its current status to that one."]}
    res = client.post(url, json={"to": "declined"}, headers=headers)
    assert res.status_code == 422 and list(res.get_json()["error"]["fields"]) == ["text"]
    res = client.post(url, json={"to": "maybe"}, headers=headers)
    assert res.status_code == 422 and list(res.get_json()["error"]["fields"]) == ["to"]
    res = client.post(url, json={"to": "accepted"}, headers=headers)
    assert res.status_code == 200 and res.get_json()["status"] == "accepted"
    res = client.post(url, json={"to": "completed", "text": "Atendida en consulta"}, headers=headers)
    assert res.get_json()["status"] == "completed" and res.get_json()["answer"] == "Atendida en consulta"
    with app.app_context():
        from msc.referrals.models import Disclosure

        assert session.scalar(sa.select(sa.func.count()).select_from(Disclosure)) == 2, "each answer showed the data"
    answered = client.get("/api/v1/referrals?view=answered", headers=headers).get_json()["referrals"]
    assert [r["uid"] for r in answered] == [partner_api["sent"]]
    res = client.post(f"/api/v1/referrals/{partner_api['elsewhere']}/answer", json={"to": "accepted"}, headers=headers)
    assert res.status_code == 404


# ---- the dashboards' tables ------------------------------------------------------------------------


def test_a_dashboard_table_comes_with_its_hxl_hashtags_and_small_counts_hidden(app, make):
    for i in range(7):
        make.person(given_names=f"Ana {i}", family_names="Rojas", sex="female" if i < 6 else "male")
    make.person(given_names="Eva", family_names="Quispe", centre="PER-TUM")
    secret = make.token("dashboards", "centre_manager")
    client = app.test_client()
    res = client.get("/api/v1/reports/registrations", headers={**bearer(secret), "Accept-Language": "es"})
    assert res.status_code == 200, res.get_data(as_text=True)
    body = res.get_json()
    assert body["table"] == "registrations" and len(body["hxl"]) == len(body["header"])
    assert all(tag.startswith("#") for tag in body["hxl"] if tag)
    # the manager's centre only (not Tumbes' person); one man hidden, and the women with him (the total tells)
    assert body["rows"][-1] == ["Total", "x", "<5", 0, 7]
    assert body["header"][0] == "Mes" and body["title"] != "People registered by month and sex", "in Spanish"
    with app.app_context():
        assert any(a == "reports.export" and d.startswith("registrations.api:") for a, d, _ in _actions())


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-13", "start"),
        ("start=2026-05&end=2026-01", "end"),
        ("sex=robot", "sex"),
        ("centre_id=999999", "centre_id"),
    ],
)
def test_a_refused_report_filter_names_its_field(app, make, query, field):
    secret = make.token("dashboards", "centre_manager")
    res = app.test_client().get(f"/api/v1/reports/people?{query}", headers=bearer(secret))
    assert res.status_code == 422 and list(res.get_json()["error"]["fields"]) == [field]


def test_an_unknown_table_is_404_and_a_desk_token_403(app, make):
    manager, desk = make.token("dashboards", "centre_manager"), make.token("kobo", "reception")
    client = app.test_client()
    assert client.get("/api/v1/reports/salaries", headers=bearer(manager)).status_code == 404
    assert client.get("/api/v1/reports/people", headers=bearer(desk)).status_code == 403


# ---- the document ----------------------------------------------------------------------------------

#: a call for each documented operation (a new operation without one fails the test below)
SAMPLES = {
    ("post", "/api/v1/search"): {"json": {"query": "Ana Rojas"}},
    ("get", "/api/v1/beneficiaries/{uid}"): {},
    ("get", "/api/v1/referrals"): {"partner": True},
    ("get", "/api/v1/referrals/{uid}"): {"partner": True},
    ("post", "/api/v1/referrals/{uid}/answer"): {"partner": True, "json": {"to": "accepted"}},
    ("get", "/api/v1/reports/{table}"): {"manager": True},
    ("post", "/api/v1/beneficiaries"): {
        "json": {
            "given_names": "Ana",
            "family_names": "Rojas",
            "sex": "female",
            "nationality": "VEN",
            "date_of_birth": "1990-05-17",
            "consents": [{"purpose": "registration", "status": "given"}],
        }
    },
    ("get", "/api/v1/households/{uid}"): {},
    ("get", "/api/v1/beneficiaries/{uid}/entitlements"): {},
    ("post", "/api/v1/hand-overs"): {"json": {"beneficiary": "x", "lines": [], "acknowledgement": {}}},
}


def _walk(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_the_openapi_document_is_valid_3_1_and_every_operation_answers_as_documented(app, make, partner_api):
    uid = make.person(given_names="Ana", family_names="Rojas")
    secret, manager = make.token("kobo", "caseworker"), make.token("dashboards", "centre_manager")
    client = app.test_client()
    res = client.get("/api/v1/openapi.json")
    assert res.status_code == 200
    spec = res.get_json()
    validate(spec)
    assert spec["openapi"] == "3.1.0" and "nullable" not in set(_walk(spec))
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    documented = {(m, p) for p, item in spec["paths"].items() for m in item if m in ("get", "post", "put", "delete")}
    assert documented == set(SAMPLES)
    for (method, path), call in SAMPLES.items():
        op = spec["paths"][path][method]
        assert op["security"] == [{"bearer": []}] and op["summary"]
        partner = call.get("partner")
        url = path.replace("{uid}", partner_api["sent"] if partner else uid).replace("{table}", "people")
        token = partner_api["token"] if partner else (manager if call.get("manager") else secret)
        res = client.open(url, method=method, headers=bearer(token), json=call.get("json"))
        assert str(res.status_code) in op["responses"], (method, path, res.status_code)
        answer = op["responses"][str(res.status_code)]
        if "$ref" in answer:  # a shared response (an error's)
            answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
        schema = answer["content"]["application/json"]["schema"]["$ref"]
        required = spec["components"]["schemas"][schema.rsplit("/", 1)[-1]].get("required", [])
        assert set(required) <= set(res.get_json()), (method, path, required)


def test_the_reference_page_is_served_by_the_app_in_the_readers_language(app):
    client = app.test_client()
    res = client.get("/api/v1/", headers={"Accept-Language": "es"})
    assert res.status_code == 200 and res.mimetype == "text/html"
    page = res.get_data(as_text=True)
    assert "POST /api/v1/search" in page and "Buscar personas" in page and "<script" not in page


# ---- the administrator's pages ---------------------------------------------------------------------


@pytest.fixture
def admin(app, make, client):
    login_as(app, client, make.user("boss", "admin", scope="region", mfa_secret=pyotp.random_base32()))


def test_an_admin_creates_a_service_account_issues_a_token_once_and_revokes_it(app, make, client, admin):
    make.person(given_names="Ana", family_names="Rojas")
    form = {
        "csrf_token": csrf(client, "/admin/api/accounts/new"),
        "username": "kobo",
        "display_name": "KoBo server of Cúcuta",
        "role": "admin",
        "scope": "region",
        "locale": "es",
        "organisation_id": "0",
        "country": "",
    }
    res = client.post("/admin/api/accounts/new", data=form)
    assert res.status_code == 422 and "KoBo server of Cúcuta" in res.get_data(as_text=True)
    assert "Not a valid choice" in res.get_data(as_text=True), "a role a service account may not have is not offered"
    res = client.post("/admin/api/accounts/new", data={**form, "role": "reception"})
    assert res.status_code == 302
    tokens_page = res.headers["Location"]
    res = client.post(tokens_page, data={"csrf_token": csrf(client, tokens_page), "label": "KoBo sync", "days": "400"})
    assert res.status_code == 422 and "From 1 to 365 days" in res.get_data(as_text=True)
    res = client.post(tokens_page, data={"csrf_token": csrf(client, tokens_page), "label": "KoBo sync", "days": "30"})
    assert res.status_code == 200
    page = res.get_data(as_text=True)
    secret = page.split('id="secret" class="secret" type="text" readonly value="', 1)[1].split('"', 1)[0]
    assert secret.startswith("msc_") and res.headers["Cache-Control"].startswith("no-store")
    assert secret not in client.get(tokens_page).get_data(as_text=True), "shown once"
    api = app.test_client()
    assert api.post("/api/v1/search", json={"query": "Ana"}, headers=bearer(secret)).status_code == 200
    listing = client.get(tokens_page).get_data(as_text=True)
    assert "KoBo sync" in listing and secret[:10] in listing and "Never" not in listing
    with app.app_context():
        token_uid = session.scalar(sa.select(ApiToken.uid))
    res = client.post(f"/admin/api/tokens/{token_uid}/revoke", data={"csrf_token": csrf(client, tokens_page)})
    assert res.status_code == 302
    res = api.post("/api/v1/search", json={"query": "Ana"}, headers=bearer(secret))
    assert res.status_code == 401 and res.get_json()["error"]["message"] == "This token was revoked."
    assert "kobo" in client.get("/admin/api/").get_data(as_text=True)
    assert "kobo" not in client.get("/admin/users").get_data(as_text=True), "people's accounts only"


def test_deactivating_a_service_account_stops_its_tokens_at_once(app, make, client, admin):
    secret = make.token("kobo", "reception")
    with app.app_context():
        account_id = _account("kobo").id
    page = f"/admin/api/accounts/{account_id}/tokens"
    client.post(f"/admin/api/accounts/{account_id}/active", data={"csrf_token": csrf(client, page)})
    res = app.test_client().post("/api/v1/search", json={"query": "Ana"}, headers=bearer(secret))
    assert res.status_code == 401
    client.post(f"/admin/api/accounts/{account_id}/active", data={"csrf_token": csrf(client, page)})
    res = app.test_client().post("/api/v1/search", json={"query": "Ana"}, headers=bearer(secret))
    assert res.get_json()["error"]["message"] == "This token was revoked.", "activating again brings no token back"
    assert client.get(f"/admin/users/{account_id}").status_code == 302, "edited on its own page"
    assert client.get("/admin/api/accounts/999999/tokens").status_code == 404


def test_the_benchmark_s_service_account_has_the_page_user_s_reach(app, make, db_url, keys_file):
    from bench.api import bench_token

    make.user("gestora", "caseworker", centres=("COL-CUC",))
    here = make.person(given_names="Ana", family_names="Rojas")
    make.person(given_names="Ana", family_names="Rojas", centre="PER-TUM", date_of_birth=dt.date(1991, 1, 1))
    secret = bench_token(db_url, str(keys_file), "gestora")
    assert bench_token(db_url, str(keys_file), "gestora") != secret, "a new token each run, one account"
    body = app.test_client().post("/api/v1/search", json={"query": "Ana Rojas"}, headers=bearer(secret)).get_json()
    assert [m["person"]["uid"] for m in body["matches"]] == [here]
    with app.app_context():
        assert _account("bench_api").role == "caseworker"


def test_a_partner_system_s_answer_is_refused_with_control_characters_as_the_portal_refuses_it(app, partner_api):
    client = app.test_client()
    url = f"/api/v1/referrals/{partner_api['sent']}/answer"
    res = client.post(url, json={"to": "declined", "text": "x\x00y"}, headers=bearer(partner_api["token"]))
    assert res.status_code == 422
    assert res.get_json()["error"]["fields"] == {
        "text": ["Remove the invisible or control characters from this field."]
    }
