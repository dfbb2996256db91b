"""Entry points: a list per country kept by administrators instead of free text. Reception chooses one of
the centre's country or "Other" (no text); records, report counts and exports carry the id, never text."""

import datetime as dt
import re

import pyotp
import pytest
import sqlalchemy as sa

from msc.admin import service as admin
from msc.beneficiaries import service as reception
from msc.beneficiaries.models import Beneficiary
from msc.centres.models import EntryPoint
from msc.db import session
from msc.errors import RuleError
from msc.reports import cube, people
from msc.reports.models import ReportCount
from msc.security.actor import SYSTEM
from msc.security.models import AuditEvent
from tests.conftest import csrf
from tests.test_access import login_as
from tests.test_reception_http import form_for
from tests.test_reports_service import scope_of

# ---- the rules ---------------------------------------------------------------------------------


def _person(uid: str) -> Beneficiary:
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))


def test_a_listed_entry_point_is_stored_by_id_and_other_keeps_no_text(ctx, make):
    crossing = make.entry_point("Puente Internacional Simón Bolívar", "COL")
    listed = _person(make.person(given_names="Ana", family_names="Rojas", entry_point=crossing))
    assert listed.entry_point_id == int(crossing) and not listed.entry_point_other
    assert listed.entry_point_place.name == "Puente Internacional Simón Bolívar"
    other = _person(make.person(given_names="Luz", family_names="Marín", entry_point="other"))
    assert other.entry_point_id is None and other.entry_point_other and other.entry_point == "other"
    nothing = _person(make.person(given_names="Eva", family_names="Paz", entry_point=None))
    assert nothing.entry_point is None and not nothing.entry_point_other
    assert "entry_point" not in Beneficiary.__table__.c  # no free-text column left to fill


@pytest.mark.parametrize(
    "sent",
    [
        "Juan Pérez, +57 300 123 4567",  # free text smuggled past the select: could be anything, a person included
        "Puente Internacional Simón Bolívar",  # even a place's name: only ids of the list count
        "99999",  # an id that does not exist
        "-1",
        "1e3",
        "١",  # a digit in another script
    ],
)
def test_anything_but_an_entry_point_of_the_list_is_refused(ctx, make, sent):
    make.entry_point("Puente Internacional Simón Bolívar", "COL")
    with pytest.raises(RuleError) as err:
        make.person(given_names="Ana", family_names="Rojas", entry_point=sent)
    assert err.value.field == "entry_point"
    assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 0


def test_an_entry_point_of_another_country_or_an_inactive_one_is_refused(ctx, make):
    peru = make.entry_point("CEBAF Tumbes", "PER")
    closed = make.entry_point("Paso cerrado", "COL", active=False)
    for sent in (peru, closed):
        with pytest.raises(RuleError, match="entry points of the centre's country"):
            make.person(given_names="Ana", family_names="Rojas", entry_point=sent)
    assert make.person(centre="PER-TUM", given_names="Eva", family_names="Quispe", entry_point=peru)


def test_an_edit_keeps_an_entry_point_deactivated_since_but_cannot_choose_another_inactive_one(ctx, make):
    crossing = make.entry_point("Puente Internacional de Rumichaca", "COL")
    person = _person(make.person(given_names="Ana", family_names="Rojas", entry_point=crossing))
    session.get(EntryPoint, int(crossing)).active = False
    closed = make.entry_point("Paso cerrado", "COL", active=False)
    data = reception.PersonData(
        given_names="Ana",
        family_names="Rojas",
        sex="female",
        nationality="VEN",
        date_of_birth=dt.date(1990, 5, 17),
        phone="+57 300 111 2233",
        entry_point=crossing,
    )
    assert reception.update(SYSTEM, person, data) == ["phone"]
    data.entry_point = closed
    with pytest.raises(RuleError):
        reception.update(SYSTEM, person, data)
    data.entry_point = "other"
    assert reception.update(SYSTEM, person, data) == ["entry_point"]
    assert person.entry_point_id is None and person.entry_point_other


def test_report_counts_carry_the_id_never_text_and_the_profile_shows_the_name(ctx, make):
    crossing = make.entry_point("Puente Internacional Simón Bolívar", "COL")
    for i in range(5):
        make.person(
            given_names=f"Ana{i}", family_names="Rojas", date_of_birth=dt.date(1990, 1, 1 + i), entry_point=crossing
        )
    make.person(given_names="Luz", family_names="Marín", entry_point="other")
    session.commit()
    keys = set(session.scalars(sa.select(ReportCount.k1).where(ReportCount.topic == "people")))
    assert keys == {crossing, "other"}
    assert cube.check(session) == []
    from msc.security.models import User

    manager = session.get(User, make.user("boss", "centre_manager"))
    table = people.vulnerability(scope_of(manager))
    assert [tuple(str(x) for x in r) for r in table.rows] == [
        ("COL-CUC", "Puente Internacional Simón Bolívar"),
        ("COL-CUC", "Other (not on the list)"),
    ]


# ---- administrators keep the list ------------------------------------------------------------


def test_names_are_unique_within_a_country_whatever_the_case(ctx):
    admin.save_entry_point(None, country="ECU", name="Rumichaca", kind="border_crossing", active=True)
    admin.save_entry_point(None, country="COL", name="Rumichaca", kind="border_crossing", active=True)
    with pytest.raises(RuleError) as err:
        admin.save_entry_point(None, country="ECU", name="  RUMICHACA ", kind="border_crossing", active=True)
    assert err.value.field == "name"
    with pytest.raises(RuleError):
        admin.save_entry_point(None, country="ECU", name="Quitumbe", kind="spaceport", active=True)


def test_an_entry_point_in_use_is_never_deleted_nor_moved_to_another_country(ctx, make):
    crossing = make.entry_point("Puente Internacional Simón Bolívar", "COL")
    make.person(given_names="Ana", family_names="Rojas", entry_point=crossing)
    place = session.get(EntryPoint, int(crossing))
    with pytest.raises(RuleError, match="deactivate it instead"):
        admin.delete_entry_point(place)
    with pytest.raises(RuleError) as err:
        admin.save_entry_point(place, country="VEN", name=place.name, kind=place.kind, active=True)
    assert err.value.field == "country"
    admin.save_entry_point(place, country="COL", name="Puente Simón Bolívar", kind="border_crossing", active=False)
    assert place.name == "Puente Simón Bolívar" and not place.active
    unused = session.get(EntryPoint, int(make.entry_point("Sin uso", "COL")))
    admin.delete_entry_point(unused)
    assert session.get(EntryPoint, int(unused.id)) is None
    actions = list(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "entry_point")))
    assert actions.count("entry_point.save") == 1 and actions.count("entry_point.delete") == 1


# ---- pages -----------------------------------------------------------------------------------


@pytest.fixture
def admin_client(app, make, client):
    login_as(app, client, make.user("root", "admin", scope="region", mfa_secret=pyotp.random_base32()))
    return client


def test_admin_adds_renames_and_deactivates_an_entry_point(app, admin_client, make):
    client = admin_client
    assert "Entry points" in client.get("/admin/").get_data(as_text=True)
    res = client.post(
        "/admin/entry-points/new",
        data={
            "csrf_token": csrf(client, "/admin/entry-points/new"),
            "name": "  Puente  Internacional de Rumichaca ",
            "country": "ECU",
            "kind": "border_crossing",
            "active": "y",
        },
    )
    assert res.status_code == 302 and res.headers["Location"].endswith("/admin/entry-points?country=ECU")
    listing = client.get("/admin/entry-points?country=ECU").get_data(as_text=True)
    assert "Puente Internacional de Rumichaca" in listing and "Border crossing" in listing
    with app.app_context():
        place_id = session.scalar(sa.select(EntryPoint.id).where(EntryPoint.country == "ECU"))
    page = f"/admin/entry-points/{place_id}"
    assert "Delete" in client.get(page).get_data(as_text=True)  # nobody names it yet
    res = client.post(
        page, data={"csrf_token": csrf(client, page), "name": "Rumichaca", "country": "ECU", "kind": "border_crossing"}
    )
    assert res.status_code == 302
    with app.app_context():
        place = session.get(EntryPoint, place_id)
        assert place.name == "Rumichaca" and not place.active  # the box unticked: deactivated


def test_entry_point_form_errors_come_back_with_what_was_typed(admin_client, make):
    make.entry_point("Rumichaca", "ECU")
    client = admin_client
    res = client.post(
        "/admin/entry-points/new",
        data={
            "csrf_token": csrf(client, "/admin/entry-points/new"),
            "name": "rumichaca",
            "country": "ECU",
            "kind": "port",
        },
    )
    page = res.get_data(as_text=True)
    assert (
        res.status_code == 422 and "already has an entry point with this name" in page and 'value="rumichaca"' in page
    )
    res = client.post(
        "/admin/entry-points/new",
        data={"csrf_token": csrf(client, "/admin/entry-points/new"), "name": "", "country": "ECU", "kind": "port"},
    )
    assert res.status_code == 422 and "Enter the name of the place." in res.get_data(as_text=True)


def test_deleting_an_entry_point_in_use_is_refused_and_an_unused_one_goes(app, admin_client, make):
    client = admin_client
    used = make.entry_point("Puente Internacional Simón Bolívar", "COL")
    make.person(given_names="Ana", family_names="Rojas", entry_point=used)
    page = client.get(f"/admin/entry-points/{used}").get_data(as_text=True)
    assert "1 record names this entry point." in page and ">Delete<" not in page
    res = client.post(f"/admin/entry-points/{used}/delete", data={"csrf_token": csrf(client, "/admin/")})
    assert res.status_code == 302
    assert "deactivate it instead" in client.get(res.headers["Location"]).get_data(as_text=True)
    unused = make.entry_point("Sin uso", "COL")
    res = client.post(f"/admin/entry-points/{unused}/delete", data={"csrf_token": csrf(client, "/admin/")})
    assert res.status_code == 302
    with app.app_context():
        assert session.get(EntryPoint, int(used)) is not None and session.get(EntryPoint, int(unused)) is None
    assert (
        client.post(f"/admin/entry-points/{unused}/delete", data={"csrf_token": csrf(client, "/admin/")}).status_code
        == 404
    )


def test_registration_offers_the_centres_country_list_and_other_with_no_free_text(app, client, make, auth):
    here = make.entry_point("Puente Internacional Simón Bolívar", "COL")
    make.entry_point("Paso cerrado", "COL", active=False)
    make.entry_point("CEBAF Tumbes", "PER")
    make.user("clerk", "reception")
    auth.login("clerk")
    page = client.get("/register").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="entry_point".*?</select>', page, re.S).group(0)
    assert "Puente Internacional Simón Bolívar" in select and 'value="other"' in select
    assert "Paso cerrado" not in select and "CEBAF Tumbes" not in select
    assert not re.search(r'<input[^>]*name="entry_point"', page)
    res = client.post("/register", data=form_for(client, entry_point=here))
    assert res.status_code == 302
    profile = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "Puente Internacional Simón Bolívar" in profile
    # Free text sent anyway (a crafted request): the form comes back with a message, nothing is saved.
    res = client.post("/register", data=form_for(client, given_names="Eva", entry_point="Casa de Juan 3001234567"))
    page = res.get_data(as_text=True)
    assert res.status_code == 422 and "entry points of the centre&#39;s country" in page
    assert "Casa de Juan" not in page
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 1


def test_the_edit_page_offers_the_current_entry_point_even_when_deactivated(app, client, make, auth):
    crossing = make.entry_point("Puente Internacional de Rumichaca", "COL")
    uid = make.person(given_names="Ana", family_names="Rojas", entry_point=crossing)
    with app.app_context():
        session.get(EntryPoint, int(crossing)).active = False
        session.commit()
    make.user("clerk", "reception")
    auth.login("clerk")
    page = client.get(f"/b/{uid}/edit").get_data(as_text=True)
    assert re.search(rf'<option selected value="{crossing}">Puente Internacional de Rumichaca', page) or re.search(
        rf'<option value="{crossing}" selected>', page
    ), page[page.find('name="entry_point"') - 200 : page.find('name="entry_point"') + 600]


# ---- the migration: free text becomes the list, or "other" ------------------------------------

OLD_COUNT = sa.text(
    "INSERT INTO report_counts (topic, centre_id, month, sex, age_band, nationality, k1, k2, k3, n, amount)"
    " VALUES ('people', :c, '2026-01', 'female', '18-59', 'VEN', :k1, '', '', :n, 0)"
)


def test_the_migration_turns_common_free_text_into_entry_points_and_drops_the_rest(app, make):
    """Revision 0021 on a database with free text: a value recorded for 5 or more people of a country
    (spaces and letter case aside) becomes an entry point of that country; rarer values, which may hold
    anything (here a name and a phone number), become "other" with their text gone; the counts follow."""
    from msc import db as dbmod

    uids = [
        make.person(given_names=f"Ana{i}", family_names="Rojas", date_of_birth=dt.date(1990, 1, 1 + i))
        for i in range(8)
    ]
    peru = make.person(centre="PER-TUM", given_names="Eva", family_names="Quispe")
    dbmod.downgrade(app, "0016")
    engine = app.extensions["msc.engine"]
    typed = [
        "Puente Simón Bolívar",
        " puente  simón bolívar",
        "PUENTE SIMÓN BOLÍVAR",
        "Puente Simón Bolívar",
        "Puente Simón Bolívar ",
        "Casa de Juan Pérez 3001234567",
        "",
        None,
    ]
    with engine.begin() as conn:
        for uid, text in zip(uids, typed, strict=True):
            conn.execute(sa.text("UPDATE beneficiaries SET entry_point = :t WHERE uid = :u"), {"t": text, "u": uid})
        # Tumbes: the same words as Cúcuta's common value, but only one person there: "other"
        conn.execute(
            sa.text("UPDATE beneficiaries SET entry_point = 'Puente Simón Bolívar' WHERE uid = :u"), {"u": peru}
        )
    with app.app_context():
        session.execute(sa.delete(ReportCount))  # counts as the release before kept them: rebuilt from the text
        session.commit()
    with engine.begin() as conn:
        centres = dict(conn.execute(sa.text("SELECT code, id FROM centres")).all())
        for centre, k1, n in [("COL-CUC", "Puente Simón Bolívar", 4), ("COL-CUC", "puente simón bolívar", 1),
                              ("COL-CUC", "Casa de Juan Pérez 3001234567", 1), ("COL-CUC", "", 2),
                              ("PER-TUM", "Puente Simón Bolívar", 1)]:  # fmt: skip
            conn.execute(
                OLD_COUNT,
                {"c": centres[centre], "k1": k1, "n": n},
            )
    dbmod.upgrade(app)
    with app.app_context():
        places = session.scalars(sa.select(EntryPoint)).all()
        assert [(p.country, p.name, p.kind, p.active) for p in places] == [
            ("COL", "Puente Simón Bolívar", "other", True)
        ]
        place_id = places[0].id
        got = {uid: (p.entry_point_id, p.entry_point_other) for uid, p in ((u, _person(u)) for u in [*uids, peru])}
        assert [got[u] for u in uids] == [(place_id, False)] * 5 + [(None, True), (None, False), (None, False)]
        assert got[peru] == (None, True)
        counts = dict(
            session.execute(
                sa.select(ReportCount.k1, sa.func.sum(ReportCount.n))
                .where(ReportCount.topic == "people")
                .group_by(ReportCount.k1)
            ).all()
        )
        assert counts == {str(place_id): 5, "other": 2, "": 2}
        session.rollback()
    assert "entry_point" not in [c["name"] for c in sa.inspect(engine).get_columns("beneficiaries")]
    with engine.connect() as conn:  # the text is gone from every table: nothing left to leak
        for table in ("beneficiaries", "report_counts", "entry_points"):
            dump = repr(conn.execute(sa.text(f"SELECT * FROM {table}")).all())
            assert "Casa de Juan" not in dump and "3001234567" not in dump
    # and back: the list's names become the text again ("other" has none)
    dbmod.downgrade(app, "0016")
    with engine.connect() as conn:
        back = dict(conn.execute(sa.text("SELECT uid, entry_point FROM beneficiaries")).all())
    assert [back[u] for u in uids] == ["Puente Simón Bolívar"] * 5 + [None] * 3
    dbmod.upgrade(app)


def test_a_desk_serving_two_countries_sees_each_name_with_its_country_and_cannot_mix_them(app, client, make, auth):
    colombia = make.entry_point("Puente Internacional de Rumichaca", "COL")
    peru = make.entry_point("CEBAF Tumbes", "PER")
    make.centre("PER-TUM", "CAM Tumbes", "PER")
    make.user("clerk", "reception", centres=("COL-CUC", "PER-TUM"))
    auth.login("clerk")
    page = client.get("/register").get_data(as_text=True)
    assert "Puente Internacional de Rumichaca (Colombia)" in page and "CEBAF Tumbes (Peru)" in page
    with app.app_context():
        cucuta = session.scalar(sa.text("SELECT id FROM centres WHERE code = 'COL-CUC'"))
    res = client.post("/register", data=form_for(client, centre_id=str(cucuta), entry_point=peru))
    assert res.status_code == 422 and "entry points of the centre&#39;s country" in res.get_data(as_text=True)
    res = client.post("/register", data=form_for(client, centre_id=str(cucuta), entry_point=colombia))
    assert res.status_code == 302
