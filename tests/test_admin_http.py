"""Admin pages: centres and users; admins never see beneficiary data."""

import pyotp
import pytest
import sqlalchemy as sa

from msc.centres.models import Centre
from msc.db import session
from msc.security.models import User
from tests.conftest import csrf
from tests.test_access import login_as


@pytest.fixture
def admin(app, make, client):
    uid = make.user("root", "admin", scope="region", mfa_secret=pyotp.random_base32())
    login_as(app, client, uid)
    return uid


def test_admin_creates_and_edits_a_centre(app, client, admin):
    assert client.get("/admin/").status_code == 200
    res = client.post(
        "/admin/centres/new",
        data={
            "csrf_token": csrf(client, "/admin/centres/new"),
            "code": "per-tac",
            "name": "CAM Tacna",
            "country": "PER",
            "municipality": "Tacna",
            "kind": "border_entry",
            "active": "y",
        },
    )
    assert res.status_code == 302
    with app.app_context():
        centre = session.scalar(sa.select(Centre).where(Centre.code == "PER-TAC"))
        assert centre.municipality == "Tacna"
    res = client.post(
        f"/admin/centres/{centre.id}",
        data={
            "csrf_token": csrf(client, f"/admin/centres/{centre.id}"),
            "code": "PER-TAC",
            "name": "CAM Tacna Sur",
            "country": "PER",
            "municipality": "Tacna",
            "kind": "transit",
        },
    )
    assert res.status_code == 302
    assert "CAM Tacna Sur" in client.get("/admin/centres").get_data(as_text=True)


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"code": "XX"}, "Use the country code"),
        ({"code": "COL-TAC"}, "must start with the country code"),
        ({"name": ""}, "Enter a name"),
    ],
)
def test_centre_form_errors(client, admin, fields, message):
    data = {
        "csrf_token": csrf(client, "/admin/centres/new"),
        "code": "PER-TAC",
        "name": "CAM Tacna",
        "country": "PER",
        "municipality": "Tacna",
        "kind": "border_entry",
        **fields,
    }
    res = client.post("/admin/centres/new", data=data)
    assert res.status_code == 422 and message in res.get_data(as_text=True)


def test_duplicate_centre_code_is_refused(client, admin, make):
    make.centre("PER-TAC", "CAM Tacna", "PER")
    res = client.post(
        "/admin/centres/new",
        data={
            "csrf_token": csrf(client, "/admin/centres/new"),
            "code": "PER-TAC",
            "name": "Otra",
            "country": "PER",
            "municipality": "Tacna",
            "kind": "border_entry",
        },
    )
    assert res.status_code == 422 and "already uses this code" in res.get_data(as_text=True)


def test_admin_creates_a_user_with_rules(app, client, admin, make):
    centre_id = make.centre("COL-CUC")
    base = {
        "csrf_token": csrf(client, "/admin/users/new"),
        "username": "nueva",
        "display_name": "Nueva Persona",
        "role": "reception",
        "scope": "centre",
        "locale": "es",
        "password": "una clave bastante larga",
    }
    res = client.post("/admin/users/new", data=base)
    assert res.status_code == 422 and "at least one centre" in res.get_data(as_text=True)
    res = client.post("/admin/users/new", data={**base, "password": "123456789012", "centres": [centre_id]})
    assert res.status_code == 422 and "too common" in res.get_data(as_text=True)
    res = client.post("/admin/users/new", data={**base, "centres": [centre_id]})
    assert res.status_code == 302
    res = client.post("/admin/users/new", data={**base, "centres": [centre_id]})
    assert res.status_code == 422 and "taken" in res.get_data(as_text=True)
    with app.app_context():
        u = session.scalar(sa.select(User).where(User.username == "nueva"))
        assert [c.code for c in u.centres] == ["COL-CUC"] and u.password_hash.startswith("$argon2id$")


def test_admin_designates_a_psea_focal_point(app, client, admin, make):
    centre_id = make.centre("COL-CUC")
    base = {
        "csrf_token": csrf(client, "/admin/users/new"),
        "username": "focal",
        "display_name": "Punto Focal",
        "role": "reception",
        "scope": "centre",
        "locale": "es",
        "password": "una clave bastante larga",
        "centres": [centre_id],
        "psea_focal_point": "y",
    }
    res = client.post("/admin/users/new", data=base)
    assert res.status_code == 422 and "Only protection officers can be PSEA focal points" in res.get_data(as_text=True)
    assert client.post("/admin/users/new", data={**base, "role": "protection_officer"}).status_code == 302
    with app.app_context():
        assert session.scalar(sa.select(User.psea_focal_point).where(User.username == "focal")) is True


def test_deactivate_reset_mfa_and_unlock(app, client, admin, make):
    uid = make.user("clerk", "reception", mfa_secret=pyotp.random_base32())
    other = app.test_client()
    login_as(app, other, uid)
    assert other.get("/").status_code == 200
    token = csrf(client, f"/admin/users/{uid}")
    assert client.post(f"/admin/users/{uid}/reset-mfa", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert session.get(User, uid).mfa_secret is None
    assert other.get("/").status_code == 302  # MFA reset ends sessions
    login_as(app, other, uid)
    assert client.post(f"/admin/users/{uid}/deactivate", data={"csrf_token": token}).status_code == 302
    assert other.get("/").status_code == 302  # deactivation ends sessions at once
    assert "Deactivated" in client.get("/admin/users").get_data(as_text=True)
    assert client.post(f"/admin/users/{uid}/activate", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/admin/users/{uid}/unlock", data={"csrf_token": token}).status_code == 302


def test_admin_cannot_deactivate_themself(app, client, admin):
    res = client.post(
        f"/admin/users/{admin}/deactivate", data={"csrf_token": csrf(client, "/admin/users")}, follow_redirects=True
    )
    assert "cannot deactivate your own account" in res.get_data(as_text=True)


def test_admin_sees_no_beneficiary_data(app, client, admin, make):
    uid = make.person(given_names="Ana", family_names="Rojas")
    assert client.get(f"/b/{uid}").status_code == 403
    assert client.post("/search", data={"q": "ana", "csrf_token": csrf(client, "/admin/")}).status_code == 403
    assert "Rojas" not in client.get("/admin/users").get_data(as_text=True)


def test_unknown_user_and_centre_are_404(client, admin):
    assert client.get("/admin/users/9999").status_code == 404
    assert client.get("/admin/centres/9999").status_code == 404


def test_partner_users_belong_to_one_organisation(app, client, admin, make):
    org_id, _ = make.partner()
    base = {
        "csrf_token": csrf(client, "/admin/users/new"),
        "username": "socia",
        "display_name": "Socia",
        "role": "partner",
        "scope": "centre",
        "locale": "es",
        "password": "una clave bastante larga",
    }
    res = client.post("/admin/users/new", data={**base, "organisation_id": "0"})
    assert res.status_code == 422 and "Choose the organisation" in res.get_data(as_text=True)
    assert client.post("/admin/users/new", data={**base, "organisation_id": str(org_id)}).status_code == 302
    with app.app_context():
        assert session.scalar(sa.select(User.organisation_id).where(User.username == "socia")) == org_id
