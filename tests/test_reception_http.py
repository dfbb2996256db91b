"""Reception routes over HTTP: search, register, duplicates, profile, edit, consent, card."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from msc import clock
from msc.beneficiaries.models import Beneficiary
from msc.db import session
from tests.conftest import csrf
from tests.test_qr import assert_scalable_qr


@pytest.fixture
def clerk(make, auth):
    make.user("clerk", "reception")
    auth.login("clerk")
    return "clerk"


def form_for(client, **overrides):
    data = {
        "csrf_token": csrf(client, "/register"),
        "given_names": "María José",
        "family_names": "Pérez García",
        "sex": "female",
        "date_of_birth": "1990-05-17",
        "nationality": "VEN",
        "document_type": "none",
        "household_mode": "new",
        "relationship": "head",
        "consent_registration": "given",
        "consent_referral": "given",
        "consent_government_sharing": "refused",
        "consent_followup_contact": "given",
        "consent_photo": "refused",
        "legal_basis": "consent",
        "method": "verbal",
        "given_by": "self",
        "languages": ["es"],
        "arrival_date": "2026-01-10",
        "entry_point": "other",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _person(app, case=None):
    with app.app_context():
        stmt = sa.select(Beneficiary).order_by(Beneficiary.id.desc())
        if case:
            stmt = stmt.where(Beneficiary.case_number == case)
        return session.scalars(stmt).first()


def test_search_page_and_name_search_by_post(client, clerk, make):
    make.person(given_names="José", family_names="Pérez García")
    assert "Search before registering" in client.get("/").get_data(as_text=True)
    res = client.post("/search", data={"q": "jose perez", "csrf_token": csrf(client, "/")})
    assert res.status_code == 200 and "José Pérez García" in res.get_data(as_text=True)
    box = client.get("/search?q=jose")  # the menu's way to the box: terms in a URL are never searched
    assert box.status_code == 200 and "jose" not in box.get_data(as_text=True)


def test_empty_and_overlong_searches_are_explained(client, clerk):
    res = client.post("/search", data={"q": "  ", "csrf_token": csrf(client, "/")})
    assert res.status_code == 422 and "Type a name" in res.get_data(as_text=True)
    res = client.post("/search", data={"q": "a" * 250, "csrf_token": csrf(client, "/")})
    assert res.status_code == 422 and "Use at most 200 characters: this has 250." in res.get_data(as_text=True)


def test_case_number_search_opens_the_record(app, client, clerk, make):
    uid = make.person(given_names="José", family_names="Pérez García")
    p = _person(app)
    res = client.post("/search", data={"q": p.case_number, "csrf_token": csrf(client, "/")})
    assert res.status_code == 302 and res.headers["Location"] == f"/b/{uid}"
    res = client.post("/search", data={"q": p.card_token.lower(), "csrf_token": csrf(client, "/")})
    assert res.headers["Location"] == f"/b/{uid}"


def test_register_a_family(app, client, clerk):
    res = client.post("/register", data=form_for(client))
    assert res.status_code == 302, res.get_data(as_text=True)
    head = _person(app)
    assert res.headers["Location"] == f"/b/{head.uid}"
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "Registered with case number" in page and head.case_number in page
    # the member form is prefilled with the household
    prefilled = client.get(f"/register?household={head.uid}").get_data(as_text=True)
    assert head.case_number in prefilled
    # a child joining: consent from the head of household, their guardian, pre-filled
    assert re.search(r'<option selected value="guardian">', prefilled), "the guardian is not pre-filled"
    assert re.search(r'id="guardian_name"[^>]*value="María José Pérez García"', prefilled)
    res = client.post(
        "/register",
        data=form_for(
            client,
            given_names="Sofía",
            date_of_birth=(clock.today("COL") - dt.timedelta(days=365 * 6)).isoformat(),
            household_mode="join",
            household_case_number=head.case_number,
            relationship="child",
            given_by="guardian",
            guardian_name="María José Pérez García",
        ),
    )
    assert res.status_code == 302, res.get_data(as_text=True)
    child = _person(app)
    assert child.household_id == head.household_id and child.relationship_to_head == "child"
    with app.app_context():  # the mark is encrypted: read with the keys
        assert session.get(Beneficiary, child.id).possible_uasc is False


def test_registration_errors_come_back_with_what_was_typed(client, clerk):
    res = client.post(
        "/register",
        data=form_for(client, date_of_birth="2999-01-01", phone="+57 300 123 4567", given_names="Wilmer Alexander"),
    )
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "cannot be in the future" in html
    assert 'value="Wilmer Alexander"' in html and 'value="+57 300 123 4567"' in html
    assert 'aria-invalid="true"' in html and 'id="date_of_birth-error"' in html


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"date_of_birth": None, "estimated_age": "150"}, "between 0 and 120"),
        ({"date_of_birth": "17/05/1990"}, "Not a valid date value"),
        ({"date_of_birth": None}, "Give the date of birth or an estimated age"),
        ({"given_names": "Ana\x07"}, "invisible or control characters"),
        ({"given_names": "A" * 150}, "at most 100 characters"),
        ({"given_names": ""}, "Enter the given names"),
        ({"document_type": "passport"}, "Enter the document number"),
        ({"consent_registration": "refused"}, "Registration needs the person"),
        ({"household_mode": "join"}, "Enter the case number of someone in the household"),
        ({"nationality": "XYZ"}, "Not a valid choice"),
    ],
)
def test_bad_registration_input_is_explained(client, clerk, overrides, message):
    res = client.post("/register", data=form_for(client, **overrides))
    assert res.status_code == 422
    assert message in res.get_data(as_text=True)


def test_consent_is_recorded_never_assumed(app, client, clerk):
    """No consent choice is pre-set: a registration without one comes back as typed, with the message on
    that purpose's row, and nothing is saved."""
    page = client.get("/register").get_data(as_text=True)
    radios = re.findall(r'<input[^>]*name="consent_[a-z_]+"[^>]*>', page)
    assert len(radios) == 12 and not any("checked" in r for r in radios), radios
    for purpose in ("consent_registration", "consent_photo"):
        res = client.post("/register", data=form_for(client, **{purpose: None}))
        html = res.get_data(as_text=True)
        assert res.status_code == 422 and 'value="María José"' in html
        row = re.search(rf'<fieldset class="field choices inline has-error" id="{purpose}".*?</fieldset>', html, re.S)
        assert row and "gave or refused consent for this purpose" in row.group(0)
        assert _person(app) is None


def test_child_registered_alone_needs_best_interests_and_is_flagged(app, client, clerk):
    kid = {"given_names": "Brayan", "family_names": "Salas", "date_of_birth": "2014-03-03", "sex": "male"}
    res = client.post("/register", data=form_for(client, **kid))
    assert res.status_code == 422 and "This person is a child" in res.get_data(as_text=True)
    res = client.post(
        "/register",
        data=form_for(
            client, **kid, given_by="best_interests", best_interests_note="Llegó solo; se registra para protegerlo."
        ),
    )
    assert res.status_code == 302
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "Possible unaccompanied or separated child" in page
    # a child heading a household is no one's guardian: nothing is pre-filled for a sibling joining
    prefilled = client.get(f"/register?household={_person(app).uid}").get_data(as_text=True)
    assert '<option selected value="guardian">' not in prefilled and 'value="Brayan Salas"' not in prefilled


def test_duplicate_warning_then_confirmed_registration(app, client, clerk, make):
    make.person(given_names="María José", family_names="Pérez García")
    res = client.post("/register", data=form_for(client))
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "This person may already be registered" in html
    assert "Same date of birth and a similar name" in html
    import re

    acknowledged = re.search(r'name="acknowledged" type="hidden" value="([^"]*)"', html).group(1)
    res = client.post("/register", data=form_for(client, acknowledged=acknowledged))
    assert res.status_code == 302


def test_same_document_is_refused_with_the_existing_case(app, client, clerk, make):
    make.person(given_names="Ana", family_names="Rojas", document_type="passport", document_number="P998877")
    res = client.post("/register", data=form_for(client, document_type="passport", document_number="p-998877"))
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "already registered to case COL-CUC" in html


def test_profile_hides_sensitive_needs_from_reception(app, client, clerk, make, auth):
    uid = make.person(given_names="Ana", family_names="Rojas", needs=["trafficking", "disability"])
    page = client.get(f"/b/{uid}").get_data(as_text=True)
    assert "Disability" in page and "trafficking" not in page.lower()
    auth.logout()
    make.user("cw", "caseworker")
    auth.login("cw")
    assert "Suspected victim of trafficking" in client.get(f"/b/{uid}").get_data(as_text=True)


def test_profile_views_are_audited(app, client, clerk, make):
    uid = make.person(given_names="Ana", family_names="Rojas")
    client.get(f"/b/{uid}")
    from msc.security.models import AuditEvent

    with app.app_context():
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "beneficiary.view")
            )
            == 1
        )


def test_edit_keeps_history_and_reception_cannot_erase_hidden_needs(app, client, clerk, make):
    uid = make.person(given_names="Ana", family_names="Rojas", needs=["gbv_survivor"])
    form = client.get(f"/b/{uid}/edit").get_data(as_text=True)
    assert 'value="Ana"' in form and "gbv" not in form
    res = client.post(
        f"/b/{uid}/edit",
        data={
            "csrf_token": csrf(client, f"/b/{uid}/edit"),
            "given_names": "Ana Lucía",
            "family_names": "Rojas",
            "sex": "female",
            "date_of_birth": "1990-05-17",
            "nationality": "VEN",
            "document_type": "none",
            "needs": ["disability"],
        },
    )
    assert res.status_code == 302
    page = client.get(f"/b/{uid}").get_data(as_text=True)
    assert "Given names" in page and "Specific needs" in page
    with app.app_context():
        p = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        assert p.given_names == "Ana Lucía" and p.sensitive_needs == ["gbv_survivor"]


def test_edit_errors_are_explained(client, clerk, make):
    uid = make.person(given_names="Ana", family_names="Rojas")
    res = client.post(
        f"/b/{uid}/edit",
        data={
            "csrf_token": csrf(client, f"/b/{uid}/edit"),
            "given_names": "Ana",
            "family_names": "",
            "sex": "female",
            "date_of_birth": "1990-05-17",
            "nationality": "VEN",
            "document_type": "none",
        },
    )
    assert res.status_code == 422 and "Enter the family names" in res.get_data(as_text=True)


def test_consent_withdrawal_and_its_errors(app, client, clerk, make):
    uid = make.person(given_names="Ana", family_names="Rojas")
    res = client.post(
        f"/b/{uid}/consent",
        data={
            "csrf_token": csrf(client, f"/b/{uid}"),
            "consent-purpose": "photo",
            "consent-status": "withdrawn",
            "consent-method": "verbal",
            "consent-given_by": "self",
            "consent-legal_basis": "consent",
        },
    )
    assert res.status_code == 422 and "no consent given for this purpose" in res.get_data(as_text=True)
    res = client.post(
        f"/b/{uid}/consent",
        data={
            "csrf_token": csrf(client, f"/b/{uid}"),
            "consent-purpose": "registration",
            "consent-status": "withdrawn",
            "consent-method": "verbal",
            "consent-given_by": "self",
            "consent-legal_basis": "consent",
        },
    )
    assert res.status_code == 302
    assert "Withdrawn" in client.get(f"/b/{uid}").get_data(as_text=True)


def test_card_has_case_number_and_qr_without_personal_data(app, client, clerk, make):
    uid = make.person(given_names="Ana", family_names="Rojas", phone="3001234567")
    p = _person(app)
    html = client.get(f"/b/{uid}/card").get_data(as_text=True)
    assert p.case_number in html and "<svg" in html and p.card_token in html
    assert_scalable_qr(html)
    assert "Rojas" not in html and "3001234567" not in html


def test_not_duplicate_is_remembered_from_the_profile(app, client, clerk, make):
    a = make.person(given_names="Ana María", family_names="Rojas Peña")
    b = make.person(given_names="Ana Maria", family_names="Rojas Pena", date_of_birth=dt.date(1991, 1, 1))
    from msc.beneficiaries.models import DuplicateDecision

    with app.app_context():  # forget the answer the factory gave at registration
        session.execute(sa.delete(DuplicateDecision))
        session.commit()
    page = client.get(f"/b/{b}").get_data(as_text=True)
    assert "Possible duplicates" in page
    res = client.post(f"/b/{b}/not-duplicate/{a}", data={"csrf_token": csrf(client, f"/b/{b}")})
    assert res.status_code == 302
    assert "Possible duplicates" not in client.get(f"/b/{b}").get_data(as_text=True)


def test_the_profile_reads_the_kept_pairs_and_checks_again_on_demand(app, client, clerk, make):
    from msc.beneficiaries.models import DuplicateCandidate, DuplicateDecision

    a = make.person(given_names="Ana María", family_names="Rojas Peña")
    b = make.person(given_names="Ana Maria", family_names="Rojas Pena", date_of_birth=dt.date(1991, 1, 1))
    with app.app_context():  # a record from before pairs were kept, and no answer given
        session.execute(sa.delete(DuplicateDecision))
        session.execute(sa.delete(DuplicateCandidate))
        session.commit()
    page = client.get(f"/b/{a}").get_data(as_text=True)
    assert "Possible duplicates" not in page and "Check for duplicates" in page
    token = csrf(client, f"/b/{a}")
    assert client.post(f"/b/{a}/duplicates").status_code == 400  # no CSRF token, nothing searched
    res = client.post(f"/b/{a}/duplicates", data={"csrf_token": token})
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/b/{a}#possible")
    for uid, other in ((a, "Ana Maria Rojas Pena"), (b, "Ana María Rojas Peña")):
        page = client.get(f"/b/{uid}").get_data(as_text=True)
        assert "Possible duplicates" in page and other in page and "Check again" in page
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(DuplicateCandidate)) == 1
        from msc.security.models import AuditEvent

        assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "beneficiary.duplicate_check"))


def test_pages_with_personal_data_are_not_cached(client, clerk, make):
    uid = make.person(given_names="Ana", family_names="Rojas")
    assert client.get(f"/b/{uid}").headers["Cache-Control"] == "no-store"


def test_unknown_record_is_404_with_a_translated_page(client, clerk):
    res = client.get("/b/doesnotexist")
    assert res.status_code == 404 and "does not exist" in res.get_data(as_text=True)


def test_user_without_centre_cannot_register(make, auth, client):
    make.user("nocentre", "reception", centres=())
    auth.login("nocentre")
    res = client.get("/register")
    assert res.status_code == 302
