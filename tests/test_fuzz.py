"""Hypothesis fuzzes the registration and search forms and the login: no response is a 5xx."""
import pytest
from hypothesis import given, strategies as st

FIELDS = ["given_names", "family_names", "sex", "date_of_birth", "estimated_age", "nationality", "document_type",
          "document_number", "phone", "arrival_date", "entry_point", "household_mode", "household_case_number",
          "relationship", "consent_registration", "legal_basis", "method", "given_by", "guardian_name",
          "best_interests_note", "acknowledged", "centre_id", "languages", "needs"]

nasty = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.sampled_from(["", " ", "0", "-1", "999999999999999999999", "2026-02-30", "1900-01-01", "9999-12-31",
                     "<script>alert(1)</script>", "' OR 1=1 --", "\x00", "\u202e", "NaN", "null", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
                     "COL-CUC-2026-000001", "1,2,3", "abc,", "female", "VEN", "passport", "join", "given"]),
)


@pytest.fixture
def desk(app, make):
    app.config["WTF_CSRF_ENABLED"] = False
    make.user("clerk", "reception")
    make.person(given_names="José", family_names="Pérez García")
    client = app.test_client()
    from tests.conftest import Auth
    Auth(client).login("clerk")
    return client


@given(form=st.dictionaries(st.sampled_from(FIELDS), nasty, max_size=len(FIELDS)))
def test_registration_never_fails_with_5xx(desk, form):
    res = desk.post("/register", data=form)
    assert res.status_code in (200, 302, 400, 422), res.status_code


@given(q=nasty, page=nasty)
def test_search_never_fails_with_5xx(desk, q, page):
    res = desk.post("/search", data={"q": q, "page": page})
    assert res.status_code in (200, 302, 400, 422), res.status_code


@given(username=nasty, password=nasty, next_=nasty)
def test_login_never_fails_with_5xx(app, username, password, next_):
    app.config["WTF_CSRF_ENABLED"] = False
    res = app.test_client().post("/login", data={"username": username, "password": password, "next": next_})
    assert res.status_code in (200, 302, 400, 422), res.status_code
    if res.status_code == 302:
        assert res.headers["Location"].startswith("/")


@given(form=st.dictionaries(st.sampled_from(["consent-purpose", "consent-status", "consent-given_by",
                                             "consent-legal_basis", "consent-method", "consent-guardian_name",
                                             "consent-best_interests_note"]), nasty))
def test_consent_form_never_fails_with_5xx(app, desk, form):
    import sqlalchemy as sa
    from msc.beneficiaries.models import Beneficiary
    from msc.db import session
    with app.app_context():
        uid = session.scalar(sa.select(Beneficiary.uid))
    res = desk.post(f"/b/{uid}/consent", data=form)
    assert res.status_code in (200, 302, 400, 422), res.status_code
