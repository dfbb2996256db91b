"""The partner directory: organisations, services, agreements; who sees and who maintains what."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc import clock
from msc.db import session
from msc.partners import service
from msc.partners.models import Organisation
from msc.security.actor import SYSTEM
from msc.security.models import User
from tests.conftest import csrf
from tests.test_access import login_as

TODAY = clock.today("COL")


def _user(make, username, role, **kw):
    return session.get(User, make.user(username, role, **kw))


# ---- rules ------------------------------------------------------------------------------------


def test_agreement_status_none_active_expired(ctx, make):
    org_id, _ = make.partner(until=TODAY)
    org = session.get(Organisation, org_id)
    assert org.agreement_status(TODAY) == "active"
    assert org.agreement_status(TODAY + dt.timedelta(days=1)) == "expired"
    org.agreement_until = None
    assert org.agreement_status(TODAY) == "none"


def test_agreement_covers_only_its_categories_while_active(ctx, make):
    org = session.get(Organisation, make.partner(categories=("identity", "contact"))[0])
    assert service.agreement_covers(org, {"identity"}, TODAY)
    assert not service.agreement_covers(org, {"identity", "document"}, TODAY)
    assert not service.agreement_covers(org, {"identity"}, TODAY + dt.timedelta(days=400))


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"agreement_until": TODAY, "categories": []}, "categories"),
        ({"agreement_until": None, "categories": ["identity"]}, "agreement_until"),
        ({"categories": ["medical_history"]}, "categories"),
        ({"kind": "club"}, "kind"),
    ],
)
def test_organisation_rules(ctx, make, fields, field):
    base = dict(
        name="OIM",
        kind="un_agency",
        country="COL",
        contact=None,
        agreement_until=TODAY,
        categories=["identity"],
        active=True,
    )
    with pytest.raises(service.DirectoryError) as err:
        service.save_organisation(SYSTEM, None, **{**base, **fields})
    assert err.value.field == field and err.value.message


def test_organisation_names_are_unique_ignoring_case(ctx, make):
    make.partner(name="Cruz Roja Colombiana")
    with pytest.raises(service.DirectoryError) as err:
        service.save_organisation(
            SYSTEM,
            None,
            name="cruz roja colombiana",
            kind="ngo",
            country="COL",
            contact=None,
            agreement_until=None,
            categories=[],
            active=True,
        )
    assert err.value.field == "name"


def test_directory_shows_services_of_my_centres_and_my_countrys_unlinked_ones(ctx, make):
    make.partner(name="Hospital Erasmo Meoz", centres=("COL-CUC",))
    make.partner(name="Albergue Tumbes", country="PER", centres=("PER-TUM",), sector="shelter")
    org_id = make.partner(name="Defensoría", country="COL", centres=("COL-IPI",), sector="legal")[0]
    unlinked = service.save_service(
        SYSTEM,
        session.get(Organisation, org_id),
        None,
        name="Orientación legal",
        sector="legal",
        centre_ids=[],
        municipalities="Bogotá",
        eligibility=None,
        languages=[],
        opening_hours=None,
        contact=None,
        active=True,
    )
    session.commit()
    clerk = _user(make, "clerk", "reception")
    names = {s.organisation.name for s in service.visible_services(clerk)}
    assert names == {"Hospital Erasmo Meoz", "Defensoría"}
    assert [s.id for s in service.visible_services(clerk, sector="legal")] == [unlinked.id]
    assert len(service.visible_services(SYSTEM)) == 4


def test_centre_manager_links_only_their_centres(ctx, make):
    manager = _user(make, "boss", "centre_manager")
    org = session.get(Organisation, make.partner(centres=("COL-CUC",))[0])
    other = make.centre("PER-TUM", "CAM Tumbes", "PER")
    with pytest.raises(service.DirectoryError) as err:
        service.save_service(
            manager,
            org,
            None,
            name="Psicología",
            sector="mhpss",
            centre_ids=[other],
            municipalities=None,
            eligibility=None,
            languages=[],
            opening_hours=None,
            contact=None,
            active=True,
        )
    assert err.value.field == "centre_ids"
    with pytest.raises(service.DirectoryError):
        service.save_service(
            manager,
            org,
            None,
            name="Psicología",
            sector="mhpss",
            centre_ids=[],
            municipalities="Cúcuta",
            eligibility=None,
            languages=[],
            opening_hours=None,
            contact=None,
            active=True,
        )
    shared = service.save_service(
        SYSTEM,
        org,
        None,
        name="Compartido",
        sector="health",
        centre_ids=[make.centre("COL-CUC"), other],
        municipalities=None,
        eligibility=None,
        languages=[],
        opening_hours=None,
        contact=None,
        active=True,
    )
    assert not service.may_edit_service(manager, shared)


# ---- pages --------------------------------------------------------------------------------------


def test_everyone_in_scope_browses_the_directory(app, make, client):
    org_id, _ = make.partner(name="Hospital Erasmo Meoz")
    login_as(app, client, make.user("clerk", "reception"))
    html = client.get("/partners/").get_data(as_text=True)
    assert "Hospital Erasmo Meoz" in html and "Active" in html and "New organisation" not in html
    html = client.get("/partners/?sector=shelter").get_data(as_text=True)
    assert "Hospital Erasmo Meoz" not in html
    page = client.get(f"/partners/organisations/{org_id}").get_data(as_text=True)
    assert "Name, Contact (phone)" in page and "Edit service" not in page


def test_admin_creates_an_organisation_and_a_service(app, make, client):
    centre = make.centre("COL-CUC")
    login_as(app, client, make.user("root", "admin", scope="region"))
    res = client.post(
        "/partners/organisations/new",
        data={
            "csrf_token": csrf(client, "/partners/organisations/new"),
            "name": "Profamilia",
            "kind": "ngo",
            "country": "COL",
            "contact": "cucuta@profamilia.example",
            "agreement_until": "2027-12-31",
            "categories": ["identity", "contact", "demographics"],
            "active": "y",
        },
    )
    assert res.status_code == 302
    with app.app_context():
        org = session.scalar(sa.select(Organisation).where(Organisation.name == "Profamilia"))
        assert org.category_codes == ["identity", "contact", "demographics"]
    url = f"/partners/organisations/{org.id}/services/new"
    res = client.post(
        url,
        data={
            "csrf_token": csrf(client, url),
            "name": "Salud sexual y reproductiva",
            "sector": "health",
            "centre_ids": [centre],
            "languages": ["es", "ht"],
            "eligibility": "Mujeres y adolescentes",
            "opening_hours": "L-S 7-19",
            "contact": "Línea 01 8000",
            "active": "y",
        },
    )
    assert res.status_code == 302
    page = client.get(f"/partners/organisations/{org.id}").get_data(as_text=True)
    assert "Salud sexual y reproductiva" in page and "Haitian Creole" in page


def test_organisation_form_errors_keep_what_was_typed(app, make, client):
    login_as(app, client, make.user("root", "admin", scope="region"))
    res = client.post(
        "/partners/organisations/new",
        data={
            "csrf_token": csrf(client, "/partners/organisations/new"),
            "name": "Fundación Nueva",
            "kind": "ngo",
            "country": "COL",
            "agreement_until": "2027-01-01",
        },
    )
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "Say which data categories" in html and 'value="Fundación Nueva"' in html


def test_centre_manager_cannot_edit_a_service_beyond_their_centres(app, make, client):
    _, svc_id = make.partner(centres=("COL-CUC", "PER-TUM"))
    login_as(app, client, make.user("boss", "centre_manager"))
    assert client.get(f"/partners/services/{svc_id}/edit").status_code == 403
    _, mine = make.partner(name="Otra", centres=("COL-CUC",))
    assert client.get(f"/partners/services/{mine}/edit").status_code == 200


def test_unknown_organisation_and_service_are_404(app, make, client):
    login_as(app, client, make.user("root", "admin", scope="region"))
    assert client.get("/partners/organisations/999").status_code == 404
    assert client.get("/partners/services/999/edit").status_code == 404
