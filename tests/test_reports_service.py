"""Dashboards: exact figures on a known data set for every indicator, suppression, filters and scope, and
the running counts proven equal to the records after every kind of write."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc import clock
from msc.beneficiaries import service as reception
from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre
from msc.db import session, utcnow
from msc.exports import SUPPRESSED as S
from msc.exports import WITHHELD as X
from msc.numbers import Share
from msc.reports import cube, people, service
from msc.reports.scope import Filters, ReportError, scope
from msc.security.actor import SYSTEM
from msc.security.models import User


def shift(month: str, by: int) -> str:
    year, m = map(int, month.split("-"))
    index = year * 12 + (m - 1) + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


THIS = cube.local_month("COL", utcnow())
EARLIER = shift(THIS, -2)
MIDDLE = shift(THIS, -1)


def child_dob(age: int) -> dt.date:
    today = clock.today("COL")
    return today.replace(year=today.year - age) - dt.timedelta(days=30)


def uid_to_person(uid: str) -> Beneficiary:
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))


@pytest.fixture
def known(ctx, make):
    """17 people: in Cúcuta 7 women (all single caregivers, one a GBV survivor), 3 men registered two
    months ago and two sisters aged 9 travelling alone; in Tumbes 5 older men at risk who came over the
    international bridge."""
    for i in range(7):
        make.person(
            given_names=f"Mujer{i}",
            family_names="Rojas",
            date_of_birth=dt.date(1990, 1, 1 + i),
            needs=["single_caregiver"] + (["gbv_survivor"] if i == 0 else []),
        )
    for i in range(3):
        person = uid_to_person(
            make.person(
                given_names=f"Hombre{i}", family_names="Pérez", sex="male", date_of_birth=dt.date(1985, 2, 1 + i)
            )
        )
        person.registered_at = utcnow().replace(day=15) - dt.timedelta(days=62)
        while cube.local_month("COL", person.registered_at) != EARLIER:
            person.registered_at += dt.timedelta(
                days=1 if cube.local_month("COL", person.registered_at) < EARLIER else -1
            )
    session.commit()
    first = uid_to_person(
        make.person(
            given_names="Sofía",
            family_names="Gómez",
            nationality="COL",
            date_of_birth=child_dob(9),
            given_by="best_interests",
            best_interests_note="Viaja sola; registro para protección.",
        )
    )
    make.person(
        given_names="Luisa",
        family_names="Gómez",
        nationality="COL",
        date_of_birth=child_dob(9),
        given_by="best_interests",
        best_interests_note="Viaja con su hermana.",
        household=reception.HouseholdChoice(join_case_number=first.case_number, relationship="sibling"),
    )
    for i in range(5):
        make.person(
            centre="PER-TUM",
            given_names=f"Abuelo{i}",
            family_names="Quispe",
            sex="male",
            date_of_birth=dt.date(1950, 3, 1 + i),
            needs=["older_at_risk"],
            entry_point=make.entry_point("CEBAF Tumbes", "PER"),
        )
    users = {
        "region": make.user("po_region", "protection_officer", scope="region"),
        "manager": make.user("manager", "centre_manager"),
        "peru": make.user("po_peru", "protection_officer", scope="country", country="PER"),
    }
    return {k: session.get(User, v) for k, v in users.items()}


def scope_of(user, **filters):
    return scope(user, Filters(filters.pop("start", EARLIER), filters.pop("end", THIS), **filters))


def test_registrations_by_month_and_sex_with_both_suppressions(known):
    t = people.registrations(scope_of(known["region"]))
    assert t.rows == [(EARLIER,), (MIDDLE,), (THIS,)]
    # 3 men two months ago (<5): the men of this month (5) are withheld so that the men's total 8 cannot
    # give the 3 away, and this month's total (14) so that the grand total 17 cannot.
    assert t.cells == [[0, S, 0], [0, 0, 0], [9, X, 0]]
    assert t.row_totals == [S, 0, X] and t.column_totals == [9, 8, 0] and t.total == 17


def test_age_and_sex(known):
    t = people.age_and_sex(scope_of(known["region"]))
    assert [r[0] for r in t.rows] == ["0-4", "5-11", "12-17", "18-59", "60+"]
    assert t.cells == [[0, 0, 0], [S, 0, 0], [0, 0, 0], [X, S, 0], [0, X, 0]]
    assert t.row_totals == [0, S, 0, 10, X] and t.column_totals == [9, 8, 0] and t.total == 17


def test_people_by_nationality_age_and_sex(known):
    t = people.people(scope_of(known["region"]))
    assert [r[1] for r in t.rows] == ["5-11", "18-59", "60+"]
    assert t.rows[0][0] == "Colombia" and t.rows[1][0] == "Venezuela"
    assert t.hxl[:3] == ["#country+code+nationality", "#age+range", "#affected+f"]
    raw = {(r[0], r[1]): c for r, c in zip(t.rows, t.cells)}
    assert raw[("Venezuela", "60+")] == [0, X, 0]


def test_needs_counts_and_shares_and_sensitive_needs_only_for_those_who_may_see_them(known):
    t = people.needs(scope_of(known["region"]))
    rows = {r[0]: c for r, c in zip(t.rows, t.cells)}
    assert rows["Single caregiver"] == [7, 0, 0, 7, Share(7, 17)]
    assert rows["Older person at risk"] == [0, 5, 0, 5, Share(5, 17)]
    assert rows["Survivor of gender-based violence"] == [S, 0, 0, S, "—"]
    assert rows["Disability"] == [0, 0, 0, 0, Share(0, 17)]
    assert t.row_totals is None and t.column_totals is None

    managed = people.needs(scope_of(known["manager"]))
    rows = {r[0]: c for r, c in zip(managed.rows, managed.cells)}
    assert "Survivor of gender-based violence" not in rows and "Suspected victim of trafficking" not in rows
    assert rows["Single caregiver"] == [7, 0, 0, 7, Share(7, 12)]  # of the 12 people of Cúcuta


def test_households_and_possible_uasc(known):
    t = people.households(scope_of(known["region"]))
    assert [r[0].split(" · ")[0] for r in t.rows] == ["COL-CUC", "PER-TUM"]
    assert t.cells == [[11, 12, S], [5, 5, 0]]


def test_vulnerability_profile_by_centre_and_entry_point(known):
    t = people.vulnerability(scope_of(known["region"]))
    assert [r for r in t.rows] == [("COL-CUC", "Not recorded"), ("PER-TUM", "CEBAF Tumbes")]
    columns = [str(c) for c in t.columns]
    cucuta, tumbes = (dict(zip(columns, row)) for row in t.cells)
    assert cucuta["People registered"] == 12 and cucuta["Single caregiver"] == Share(7, 12)
    assert cucuta["Survivor of gender-based violence"] == "—" and cucuta["Disability"] == Share(0, 12)
    assert tumbes["People registered"] == 5 and tumbes["Older person at risk"] == Share(5, 5)
    assert "Survivor of gender-based violence" not in [
        str(c) for c in people.vulnerability(scope_of(known["manager"])).columns
    ]


def test_filters_by_sex_age_band_and_nationality(known):
    # The 5 men of this month are withheld: with the men's total (8) they would give the 3 away.
    assert people.registrations(scope_of(known["region"], sex="male")).row_totals == [S, 0, X]
    assert people.age_and_sex(scope_of(known["region"], age_band="60+")).total == 5
    only_colombians = people.people(scope_of(known["region"], nationality="COL"))
    assert only_colombians.rows == [("Colombia", "5-11")] and only_colombians.cells == [[S, 0, 0]]
    assert people.registrations(scope_of(known["region"], country="PER")).row_totals == [0, 0, 5]


def test_a_centre_manager_sees_only_the_centre_and_is_told_when_asking_for_another(known):
    s = scope_of(known["manager"])
    assert [c.code for c in s.centres] == ["COL-CUC"]
    assert people.age_and_sex(s).row_totals[4] == 0  # the older men of Tumbes are not counted
    tumbes = session.scalar(sa.select(Centre.id).where(Centre.code == "PER-TUM"))
    with pytest.raises(ReportError, match="Choose one of your centres or countries"):
        scope_of(known["manager"], centre_id=tumbes)
    assert [c.code for c in scope_of(known["peru"]).centres] == ["PER-TUM"]


@pytest.mark.parametrize(
    "filters, message",
    [
        ({"start": "2026-13"}, "Give the month as year and month"),
        ({"start": "marzo"}, "Give the month as year and month"),
        ({"start": "2026-05", "end": "2026-04"}, "The period ends before it starts"),
        ({"start": "2020-01", "end": "2026-01"}, "at most three years"),
        ({"sex": "robot"}, "Choose a sex from the list"),
        ({"age_band": "20-30"}, "Choose an age band from the list"),
        ({"nationality": "XYZ"}, "Choose a nationality from the list"),
    ],
)
def test_bad_filters_are_refused_in_words(known, filters, message):
    with pytest.raises(ReportError, match=message):
        scope_of(known["region"], **filters)


def test_export_rows_carry_totals_and_hxl_matches_the_header(known):
    s = scope_of(known["region"])
    for t in service.dashboard(known["region"], s) + [people.vulnerability(s)]:
        assert len(t.hxl) == len(t.header), t.slug
        assert all(tag.startswith("#") for tag in t.hxl)
        for row in t.export_rows():
            assert len(row) == len(t.header), t.slug
    registrations = people.registrations(s).export_rows()
    assert registrations[-1] == ["Total", 9, 8, 0, 17]


def test_counts_follow_edits_and_equal_the_records(known):
    person = session.scalar(
        sa.select(Beneficiary).where(Beneficiary.nationality == "VEN", Beneficiary.sex == "female").limit(1)
    )
    data = reception.PersonData(
        given_names=person.given_names,
        family_names=person.family_names,
        sex="other",
        nationality="ECU",
        date_of_birth=person.date_of_birth,
        needs=["disability", "trafficking"],
        entry_point="other",
    )
    reception.update(SYSTEM, person, data)
    session.commit()
    assert cube.check(session) == []
    rows = {r[0]: c for r, c in zip(*(lambda t: (t.rows, t.cells))(people.needs(scope_of(known["region"]))))}
    assert rows["Suspected victim of trafficking"] == [0, 0, S, S, "—"]
    assert rows["Single caregiver"][:4] == [6, 0, 0, 6]


def test_rebuild_gives_the_same_counts(known):
    before = cube.stored(session)
    assert cube.rebuild(session) == len(before)
    assert cube.stored(session) == before and cube.check(session) == []


def test_many_counts_in_one_transaction_are_written_in_batches(ctx, make):
    """A transaction that touches more count rows than one statement takes (an import, a merge) adds to
    every one of them, new and existing alike."""
    make.centre("COL-CUC", "CAM Cúcuta", "COL")
    centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
    keys = [
        ("people", centre.id, f"{2000 + i // 12}-{i % 12 + 1:02d}", "female", "18-59", "VEN", "", "", "")
        for i in range(1201)
    ]
    assert len(keys) > 2 * cube._APPLY_ROWS
    conn = session.connection()
    cube.apply(conn, {key: [1, 0] for key in keys})
    cube.apply(conn, {key: [2, 5] for key in keys[::2]})
    rows = {
        tuple(row[:9]): (row.n, row.amount)
        for row in conn.execute(
            sa.select(*(cube.ReportCount.__table__.c[k] for k in cube.KEY), cube.ReportCount.n, cube.ReportCount.amount)
        )
    }
    assert all(rows[key] == ((3, 5) if i % 2 == 0 else (1, 0)) for i, key in enumerate(keys))
