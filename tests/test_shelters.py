"""Temporary accommodation: capacity by sex or family unit, occupancy, full-shelter override, check-out."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc import clock
from msc.beneficiaries.models import Beneficiary
from msc.db import session
from msc.security.actor import SYSTEM
from msc.security.models import User
from msc.shelters import service
from msc.shelters.models import Shelter
from tests.conftest import csrf
from tests.test_access import login_as

TODAY = clock.today("COL")


def _person(make, **kw):
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == make.person(**kw)))


def test_beds_by_sex_fill_up_and_a_full_shelter_needs_a_managers_reason(ctx, make):
    shelter = session.get(Shelter, make.shelter(female=1, male=1))
    cw = session.get(User, make.user("cw", "caseworker"))
    boss = session.get(User, make.user("boss", "centre_manager"))
    ana = _person(make, given_names="Ana", family_names="Rojas", sex="female")
    eva = _person(make, given_names="Eva", family_names="Luna", sex="female", date_of_birth=dt.date(1980, 1, 1))
    luis = _person(make, given_names="Luis", family_names="Mora", sex="male", date_of_birth=dt.date(1970, 1, 1))
    service.place(cw, ana, shelter, check_in_on=TODAY, planned_days=5)
    service.place(cw, luis, shelter, check_in_on=TODAY, planned_days=5)  # the men's bed is separate
    occ = service.occupancy(shelter)
    assert occ.free("female") == 0 and occ.free("male") == 0 and occ.total_taken == 2
    with pytest.raises(service.ShelterError) as err:
        service.place(cw, eva, shelter, check_in_on=TODAY, planned_days=5)
    assert "full" in err.value.message
    with pytest.raises(service.ShelterError) as err:
        service.place(boss, eva, shelter, check_in_on=TODAY, planned_days=5, override_reason=" ")
    assert err.value.field == "override_reason"
    placed = service.place(
        boss,
        eva,
        shelter,
        check_in_on=TODAY,
        planned_days=3,
        override_reason="Mujer con bebé; no hay otro albergue abierto de noche.",
    )
    assert placed.override_reason.startswith("Mujer") and b"beb" not in placed.override_reason_ct
    assert service.occupancy(shelter).free("female") == -1


def test_family_units_and_check_out_frees_the_place(ctx, make):
    shelter = session.get(Shelter, make.shelter(mode="family_units", female=0, male=0, units=1))
    cw = session.get(User, make.user("cw", "caseworker"))
    ana = _person(make, given_names="Ana", family_names="Rojas")
    placement = service.place(cw, ana, shelter, check_in_on=TODAY, planned_days=10)
    assert placement.slot == "family" and placement.planned_until == TODAY + dt.timedelta(days=10)
    with pytest.raises(service.ShelterError):
        service.place(cw, ana, shelter, check_in_on=TODAY, planned_days=2)  # already staying
    service.check_out(cw, placement)
    assert service.occupancy(shelter).free("family") == 1 and service.current_placement(ana) is None
    with pytest.raises(service.ShelterError):
        service.check_out(cw, placement)


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"check_in_on": None}, "check_in_on"),
        ({"check_in_on": TODAY + dt.timedelta(days=5)}, "check_in_on"),
        ({"planned_days": 0}, "planned_days"),
        ({"planned_days": 1000}, "planned_days"),
        ({"referral_id": 999}, "referral_id"),
    ],
)
def test_bad_placements_are_refused(ctx, make, fields, field):
    shelter = session.get(Shelter, make.shelter())
    cw = session.get(User, make.user("cw", "caseworker"))
    ana = _person(make, given_names="Ana", family_names="Rojas")
    args = {"check_in_on": TODAY, "planned_days": 5, **fields}
    with pytest.raises(service.ShelterError) as err:
        service.place(cw, ana, shelter, **args)
    assert err.value.field == field


def test_a_placement_comes_from_an_accepted_shelter_referral(ctx, make):
    from msc.referrals import service as referrals
    from msc.referrals.models import Referral

    cw_id = make.user("cw", "caseworker")
    org_id, svc = make.partner(name="Casa de Paso", sector="shelter")
    partner = session.get(User, make.user("socio", "partner", centres=()))
    partner.organisation_id = org_id
    uid = make.referral(cw_id, svc, given_names="Rosa", family_names="Peña")
    referral = session.scalar(sa.select(Referral).where(Referral.uid == uid))
    referrals.answer(partner, referral, "accepted")
    shelter = session.get(Shelter, make.shelter())
    assert service.shelter_referrals(referral.beneficiary) == [referral]
    placement = service.place(
        session.get(User, cw_id),
        referral.beneficiary,
        shelter,
        check_in_on=TODAY,
        planned_days=7,
        referral_id=referral.id,
    )
    assert placement.referral_id == referral.id


def test_shelter_rules(ctx, make):
    centre = make.centre("COL-CUC")
    with pytest.raises(service.ShelterError) as err:
        service.save_shelter(
            SYSTEM,
            None,
            name="X",
            centre_id=centre,
            mode="tents",
            beds_female=1,
            beds_male=1,
            family_units=0,
            active=True,
        )
    assert err.value.field == "mode"
    boss = session.get(User, make.user("boss", "centre_manager"))
    with pytest.raises(service.ShelterError) as err:
        service.save_shelter(
            boss, None, name="X", centre_id=centre, mode="beds", beds_female=0, beds_male=0, family_units=0, active=True
        )
    assert err.value.field == "beds_female"
    with pytest.raises(service.ShelterError) as err:
        service.save_shelter(
            boss,
            None,
            name="X",
            centre_id=make.centre("PER-TUM", "CAM Tumbes", "PER"),
            mode="beds",
            beds_female=1,
            beds_male=1,
            family_units=0,
            active=True,
        )
    assert err.value.field == "centre_id"


def test_pages_place_and_check_out(app, make, client):
    shelter_id = make.shelter(female=1, male=0)
    login_as(app, client, make.user("cw", "caseworker"))
    uid = make.person(given_names="Ana", family_names="Rojas", sex="female")
    assert "Place at a shelter" in client.get(f"/b/{uid}").get_data(as_text=True)
    url = f"/shelters/place/{uid}"
    res = client.post(
        url,
        data={
            "csrf_token": csrf(client, url),
            "shelter_id": shelter_id,
            "check_in_on": TODAY.isoformat(),
            "planned_days": "0",
        },
    )
    assert res.status_code == 422 and "planned stay" in res.get_data(as_text=True)
    res = client.post(
        url,
        data={
            "csrf_token": csrf(client, url),
            "shelter_id": shelter_id,
            "check_in_on": TODAY.isoformat(),
            "planned_days": "4",
        },
    )
    assert res.status_code == 302
    page = client.get(f"/shelters/{shelter_id}").get_data(as_text=True)
    assert "Rojas" in page and "1 of 1 taken" in page
    assert "0 / 1" not in client.get("/shelters/").get_data(as_text=True)
    other = make.person(given_names="Eva", family_names="Luna", sex="female", date_of_birth=dt.date(1980, 1, 1))
    res = client.post(
        f"/shelters/place/{other}",
        data={
            "csrf_token": csrf(client, url),
            "shelter_id": shelter_id,
            "check_in_on": TODAY.isoformat(),
            "planned_days": "4",
        },
    )
    assert res.status_code == 422 and "This shelter is full" in res.get_data(as_text=True)
    with app.app_context():
        from msc.shelters.models import Placement

        placement_uid = session.scalar(sa.select(Placement.uid))
    res = client.post(
        f"/shelters/placements/{placement_uid}/check-out", data={"csrf_token": csrf(client, f"/shelters/{shelter_id}")}
    )
    assert res.status_code == 302
    assert "Nobody is staying here now." in client.get(f"/shelters/{shelter_id}").get_data(as_text=True)
