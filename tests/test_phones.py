"""Phones as people say them: with spaces, a country code (+, 00 or none), brackets, dashes or a trunk
zero, a phone finds its person at registration (duplicate warning) and in the search box."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc.beneficiaries import duplicates, search, service
from msc.beneficiaries.index import rebuild_index
from msc.beneficiaries.models import Beneficiary, BlindIndexEntry
from msc.crypto import blind, blind_indexer
from msc.crypto.rotation import index_state
from msc.db import session
from msc.security.models import User
from tests.conftest import csrf

# (centre, phone as registered, the same phone as someone else types it)
FORMS = [
    ("COL-CUC", "3001234567", "+57 300 123 4567"),
    ("COL-CUC", "3001234567", "300 123 4567"),
    ("COL-CUC", "3001234567", "300 1234567"),
    ("COL-CUC", "3001234567", "300-123-4567"),
    ("COL-CUC", "+57 300 123 4567", "0057 300 123 4567"),
    ("COL-CUC", "300 123 4567", "57 300 123 4567"),
    ("COL-CUC", "(300) 123-4567", "3001234567"),
    ("ECU-HUA", "0987 654 321", "+593 98 765 4321"),
    ("ECU-HUA", "+593987654321", "0987 654 321"),
    ("ECU-HUA", "098-765-4321", "00593 98 765 4321"),
    ("ECU-HUA", "0987654321", "593 987 654 321"),
    ("PER-TUM", "987 654 321", "+51 987 654 321"),
    ("PER-TUM", "+51987654321", "987-654-321"),
    ("PER-TUM", "(01) 234 5678", "+51 1 2345678"),
    ("PER-TUM", "987654321", "0051 987 654 321"),
    ("BRA-PAC", "(11) 91234-5678", "+55 11 91234-5678"),
    ("BRA-PAC", "+55 (11) 91234-5678", "11 91234 5678"),
    ("BRA-PAC", "11912345678", "(011) 91234-5678"),
    ("BRA-PAC", "(95) 98123-4567", "0055 95 98123 4567"),
    ("CHL-COL", "9 1234 5678", "+56 9 1234 5678"),
    ("CHL-COL", "+56912345678", "9-1234-5678"),
    ("CHL-COL", "(2) 2123 4567", "+56 2 2123 4567"),
    ("CHL-COL", "912345678", "56 9 1234 5678"),
]
IDS = [f"{c[:3]}:{typed}" for c, _, typed in FORMS]


def _user(make, centre, name="desk", **kw):
    return session.get(User, make.user(name, "reception", centres=(centre,), **kw))


def _register(make, centre, phone, **kw):
    fields = {"given_names": "Yolanda", "family_names": "Quintero", "date_of_birth": dt.date(1988, 3, 4)}
    return make.person(centre=centre, phone=phone, **{**fields, **kw})


def _id(uid):
    return session.scalar(sa.select(Beneficiary.id).where(Beneficiary.uid == uid))


@pytest.mark.parametrize("centre,stored,typed", FORMS, ids=IDS)
def test_the_search_box_finds_a_phone_however_it_is_typed(ctx, make, centre, stored, typed):
    uid = _register(make, centre, stored)
    make.person(centre=centre, given_names="Otro", family_names="Vecino", phone="(55) 5555-0000")
    result = search.search(_user(make, centre), typed)
    assert [h.person.uid for h in result.hits] == [uid]


@pytest.mark.parametrize("centre,stored,typed", FORMS, ids=IDS)
def test_registration_warns_of_the_same_phone_however_it_is_typed(ctx, make, centre, stored, typed):
    first = _id(_register(make, centre, stored))
    with pytest.raises(service.PossibleDuplicates) as dup:
        make.person(
            centre=centre,
            given_names="Bernardo",
            family_names="Zambrano",
            date_of_birth=dt.date(1950, 1, 1),
            phone=typed,
            acknowledge=False,
        )
    [cand] = dup.value.candidates
    assert cand.beneficiary.id == first and cand.reasons == ["phone"]


def test_a_name_with_a_spaced_phone_ranks_that_person_first(ctx, make):
    uid = _register(make, "COL-CUC", "3001234567")
    make.person(given_names="Yolanda", family_names="Quintero Ruiz", date_of_birth=dt.date(1970, 1, 1))
    hits = search.search(_user(make, "COL-CUC"), "Yolanda 300 123 4567").hits
    assert hits[0].person.uid == uid and len(hits) == 2


def test_a_date_and_a_phone_in_one_query_stay_apart():
    parsed = search.parse("Ana 17/05/1990 300 123 4567", ["COL"])
    assert [w.forms for w in parsed.names] == [("ana",)]
    assert parsed.dob == dt.date(1990, 5, 17) and parsed.numbers == ["300 123 4567"]
    parsed = search.parse("1990-05-17 300 123", ["COL"])  # a date beside a short number: no phone made of it
    assert parsed.dob == dt.date(1990, 5, 17) and parsed.numbers == []
    assert search.parse("V-12.345.678", ["COL"]).numbers == ["V-12.345.678"]


def test_different_area_codes_are_different_phones(ctx, make):
    """The old key (the last eight digits) took São Paulo's and Rio's same local number for one."""
    _register(make, "BRA-PAC", "(11) 91234-5678")
    found = duplicates.find(
        _user(make, "BRA-PAC"),
        service.PersonData(
            given_names="Bernardo", family_names="Zambrano", sex="male", nationality="VEN", phone="(21) 91234-5678"
        ),
        dt.date(1950, 1, 1),
        country="BRA",
    )
    assert found == []
    assert search.search(_user(make, "BRA-PAC", "other"), "(21) 91234-5678").hits == []


def test_a_regional_searcher_finds_a_phone_of_any_country(ctx, make):
    make.centre("COL-CUC", "CAM Cúcuta", "COL")
    uid = _register(make, "ECU-HUA", "0987 654 321")
    regional = session.get(User, make.user("regional", "regional_me", scope="region"))
    for typed in ("+593 98 765 4321", "0987 654 321", "593987654321"):
        assert [h.person.uid for h in search.search(regional, typed).hits] == [uid]
    # a Colombian desk does not reach the Ecuadorian centre, however the number is typed
    assert search.search(_user(make, "COL-CUC"), "+593 98 765 4321").hits == []


def test_people_indexed_before_are_still_found_and_a_rebuild_rewrites_their_phone(ctx, make):
    uid = _register(make, "COL-CUC", "+57 300 123 4567")
    pid = _id(uid)
    active = index_state().search
    idx = blind_indexer(active.key_id)
    # the entry as the old normalisation wrote it: the last eight digits
    session.execute(
        sa.update(BlindIndexEntry)
        .where(BlindIndexEntry.beneficiary_id == pid, BlindIndexEntry.kind == blind.PHONE)
        .values(hash=idx.hash(blind.PHONE, "01234567"))
    )
    session.commit()
    desk = _user(make, "COL-CUC")
    assert [h.person.uid for h in search.search(desk, "300 123 4567").hits] == [uid]
    with pytest.raises(service.PossibleDuplicates):
        make.person(given_names="Bernardo", family_names="Zambrano", phone="300 1234567", acknowledge=False)

    rebuild_index()
    stored = session.scalar(
        sa.select(BlindIndexEntry.hash).where(
            BlindIndexEntry.beneficiary_id == pid, BlindIndexEntry.kind == blind.PHONE
        )
    )
    assert stored == idx.hash(blind.PHONE, "3001234567")
    assert [h.person.uid for h in search.search(desk, "300 123 4567").hits] == [uid]


@pytest.mark.parametrize("phone", ["12", "abc", "+57 3", "1" * 20])
def test_what_is_no_phone_is_refused_on_the_form(ctx, make, phone):
    from msc.errors import RuleError

    with pytest.raises(RuleError) as err:
        make.person(given_names="Ana", family_names="Paz", phone=phone)
    assert err.value.field == "phone"


# ---- over HTTP -----------------------------------------------------------------------------------


@pytest.mark.parametrize("centre,stored,typed", [FORMS[1], FORMS[7], FORMS[11], FORMS[15], FORMS[19]], ids=str)
def test_the_search_page_finds_a_spaced_phone(client, make, auth, centre, stored, typed):
    _register(make, centre, stored)
    make.user("desk", "reception", centres=(centre,))
    auth.login("desk")
    res = client.post("/search", data={"q": typed, "csrf_token": csrf(client, "/")})
    page = res.get_data(as_text=True)
    assert res.status_code == 200 and "Yolanda Quintero" in page


def test_the_registration_page_warns_of_a_phone_typed_another_way(client, make, auth):
    from tests.test_reception_http import form_for

    _register(make, "COL-CUC", "3001234567")
    make.user("desk", "reception")
    auth.login("desk")
    res = client.post("/register", data=form_for(client, phone="+57 300 123 4567"))
    page = res.get_data(as_text=True)
    assert res.status_code == 422 and "Same phone number" in page and "Yolanda Quintero" in page


@pytest.mark.parametrize("typed", ["0414 555 1234", "414-555-1234", "+58 414 555 1234", "0058 414 5551234"])
def test_a_phone_from_home_typed_at_a_desk_abroad_finds_its_person(ctx, make, typed):
    """Many people keep their Venezuelan number: a Colombian desk types it with or without +58."""
    first = _id(_register(make, "COL-CUC", "+58 414 555 1234"))
    assert [h.person.id for h in search.search(_user(make, "COL-CUC"), typed).hits] == [first]
    with pytest.raises(service.PossibleDuplicates) as dup:
        make.person(
            given_names="Bernardo",
            family_names="Zambrano",
            date_of_birth=dt.date(1950, 1, 1),
            phone=typed,
            acknowledge=False,
        )
    assert [c.beneficiary.id for c in dup.value.candidates] == [first]
