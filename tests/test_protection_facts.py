"""A copy of the database alone does not tell who is a victim of trafficking, a survivor of GBV, a possible
unaccompanied or separated child, or in the fund; the lists, queues and counts that need those facts read
them through the keys."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc.beneficiaries import service as reception
from msc.beneficiaries.models import Beneficiary
from msc.beneficiaries.vocab import PROTECTED_NEEDS
from msc.cases import service as cases
from msc.db import session
from msc.dpo import erasure, subject
from msc.fund import decisions, oversight
from msc.fund.applications import LineData
from msc.fund.models import Application
from msc.reports import cube
from msc.security import audit
from msc.security.models import User
from tests.test_access import login_as
from tests.test_fund_service import apply, fund, years_ago  # noqa: F401  (fund is a fixture)

#: words that would tell the facts, in any column of any table that holds a row per person
WORDS = ("trafficking", "gbv", "uasc", "unaccompanied", "separated", "lgbtiq", "victim", "survivor")
#: tables that name those words but no one: counts per centre and month, and the fund's criteria
NAMELESS = {"report_counts", "report_carried", "fund_criteria_sets", "alembic_version"}
UASC = {"separated_from_parents": "yes", "adult_relative_caring": "no"}


@pytest.fixture
def scene(fund, make):  # noqa: F811
    """Luz (a trafficking and GBV survivor), Mía (16, alone: possible UASC, with the UASC need), Rosa (an
    adult with no such need), a trafficking application for Rosa and a UASC one for Mía, both decided."""
    cw, po = fund["users"]["cw"], fund["users"]["po1"]
    luz = session.scalar(
        sa.select(Beneficiary).where(
            Beneficiary.uid
            == make.person(
                given_names="Luz",
                family_names="Marina",
                date_of_birth=years_ago(25),
                needs=["trafficking", "gbv_survivor"],
            )
        )
    )
    rosa, mia = fund["cases"]["adult"].beneficiary, fund["cases"]["child"].beneficiary
    mia_data = reception.PersonData(
        given_names="Mía", family_names="Rojas", sex="female", nationality="VEN", date_of_birth=years_ago(16)
    )
    mia_data.needs = ["uasc", "no_documents"]
    reception.update(cw, mia, mia_data)
    traffic = apply(fund)
    child = apply(fund, case="child", case_type="uasc", answers=UASC, lines=[LineData("basic_needs", 1000, "COP")])
    for a in (traffic, child):
        decisions.decide(
            po, a, "approve", {a.lines[0].id: a.lines[0].amount}, period_ends_on=fund["today"] + dt.timedelta(days=200)
        )
    session.commit()
    return {**fund, "luz": luz, "rosa": rosa, "mia": mia, "traffic": traffic, "child": child}


def _tables(conn):
    insp = sa.inspect(conn)
    for table in sorted(insp.get_table_names()):
        yield table, insp


def test_a_copy_of_the_database_does_not_tell_who_is_a_victim_a_child_alone_or_in_the_fund(scene):
    """The attack: read every table with SQL and no key, looking for the facts."""
    mia, luz, rosa = scene["mia"], scene["luz"], scene["rosa"]
    # with the keys, the facts are there (so that their absence below means something)
    assert mia.possible_uasc is True and rosa.possible_uasc is False and "uasc" in mia.need_codes
    assert luz.sensitive_needs == ["gbv_survivor", "trafficking"] and rosa.sensitive_needs == []
    assert scene["child"].case_type == "uasc" and scene["child"].uasc_kind == "unaccompanied"
    assert scene["traffic"].case_type == "trafficking" and scene["traffic"].beneficiary.id == rosa.id

    conn = session.connection()
    people = {mia.id, luz.id, rosa.id}
    for table, insp in _tables(conn):
        columns = insp.get_columns(table)
        names = [c["name"] for c in columns]
        # no column in clear for the facts: only encrypted ones (bytes) may be named after them
        for c in columns:
            if any(w in c["name"] for w in ("uasc", "case_type", "trafficking", "gbv", "sensitive_needs")):
                assert isinstance(c["type"], sa.LargeBinary), (table, c["name"])
        # no fund table points at a person or a case
        if table.startswith("fund_"):
            assert not {"beneficiary_id", "case_id"} & set(names), table
            assert not any(fk["referred_table"] in ("beneficiaries", "cases") for fk in insp.get_foreign_keys(table))
        if table in NAMELESS:
            continue
        for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')).mappings():
            for name, value in row.items():
                # a password hash's random salt in base64 may happen to spell "gbv"; it says nothing of anyone
                if isinstance(value, str) and name != "password_hash":
                    assert not any(w in value.lower() for w in WORDS), (table, name, value)
            if table.startswith("fund_"):  # nor holds anyone's id, uid or case number
                values = {str(v) for v in row.values() if v is not None}
                assert not values & {mia.uid, luz.uid, rosa.uid, mia.case_number, rosa.case_number}, table
    # the needs kept in clear are only those that tell nothing of the kind
    codes = set(conn.execute(sa.text("SELECT code FROM specific_needs")).scalars())
    assert codes == {"no_documents"} and not codes & PROTECTED_NEEDS
    # the encrypted facts have one length, whatever they say (and everyone has them)
    for column in ("sensitive_needs_ct", "possible_uasc_ct"):
        lengths = conn.execute(sa.text(f"SELECT id, length({column}) FROM beneficiaries")).all()
        assert {i for i, _ in lengths} >= people and len({n for _, n in lengths}) == 1, column
    for column in ("facts_ct", "subject_ct"):
        lengths = set(conn.execute(sa.text(f"SELECT length({column}) FROM fund_applications")).scalars())
        assert len(lengths) == 1 and None not in lengths, column
    # the applications' tags are keyed hashes: the same for one person's, but of no one's id
    tags = conn.execute(sa.text("SELECT subject_tag FROM fund_applications")).scalars().all()
    assert len(set(tags)) == 2 and not set(tags) & {str(i) for i in people}
    # the audit log says an application was made and what it recommended, not its case type
    details = conn.execute(sa.text("SELECT detail FROM audit_events WHERE action = 'fund.apply'")).scalars().all()
    assert sorted(details) == ["eligible", "eligible"]


def test_the_lists_and_queues_that_need_the_facts_read_them_through_the_keys(scene, make):
    cw, po = scene["users"]["cw"], scene["users"]["po2"]
    mia, rosa, today = scene["mia"], scene["rosa"], scene["today"]
    # the caseworker's home: the child alone, not the adults, not a child with an adult
    family = make.person(given_names="Pedro", family_names="Gil", date_of_birth=years_ago(40))
    head = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == family))
    kid = session.scalar(
        sa.select(Beneficiary).where(
            Beneficiary.uid
            == make.person(
                given_names="Tomás",
                family_names="Gil",
                date_of_birth=years_ago(8),
                household=reception.HouseholdChoice(head.case_number, "child"),
                given_by="guardian",
                guardian_name="Pedro Gil",
            )
        )
    )
    assert kid.possible_uasc is False
    assert [b.id for b in cases.home(cw, today).uasc_waiting] == [mia.id]
    # the fund's register filtered by case type, the per-case cap, the subject access report, the erasure
    register = oversight.register(po, oversight.RegisterFilter(case_type="uasc"))
    assert [d.application.beneficiary.id for d in register] == [mia.id]
    assert [d.application.case_type for d in oversight.register(po, oversight.RegisterFilter())] == [
        "uasc",
        "trafficking",
    ]
    assert decisions.approved_so_far(scene["cases"]["child"], "basic_needs", "COP") == 1000
    assert decisions.approved_so_far(scene["cases"]["adult"], "basic_needs", "COP") == 0
    report = subject.build(session.get(User, make.user("dpo", "dpo", scope="region")), mia)
    assert [a["case_type"] for a in report.fund] == ["uasc"] and "uasc" in report.needs
    assert erasure.held(mia).applications == 1 and erasure.held(rosa).applications == 1
    # the children's re-assessment queue reaches the person through the link
    mia.date_of_birth = today.replace(year=today.year - 18) + dt.timedelta(days=5)
    session.commit()
    assert [r.reason for r in oversight.reassessment_queue(po, today)] == ["turns_18"]


def test_the_counts_follow_the_encrypted_facts_through_changes_and_erasure(scene, make):
    mia, luz, dpo = scene["mia"], scene["luz"], make.user("dpo", "dpo", scope="region")

    def marked():
        stored = cube.stored(session)
        return sum(n for key, (n, _) in stored.items() if key[0] == "people" and key[7] == "uasc")

    def need(code):
        return sum(n for key, (n, _) in cube.stored(session).items() if key[0] == "need" and key[7] == code)

    assert marked() == 1 and need("uasc") == 1 and need("trafficking") == 1 and cube.check(session) == []
    # an adult joins the child's household: she is no longer marked, and the counts move with her
    reception.register(
        session.get(User, scene["users"]["cw"].id),
        mia.centre,
        reception.PersonData(
            given_names="Carmen", family_names="Rojas", sex="female", nationality="VEN", date_of_birth=years_ago(45)
        ),
        [reception.ConsentData(purpose="registration", status="given")],
        reception.HouseholdChoice(mia.case_number, "parent"),
        acknowledged=set(),
    )
    session.commit()
    assert mia.possible_uasc is False and marked() == 0 and cube.check(session) == []
    # erasing people whose needs and marks only their keys could tell keeps every figure
    lone = session.scalar(
        sa.select(Beneficiary).where(
            Beneficiary.uid
            == make.person(
                given_names="Kevin",
                family_names="Ruiz",
                date_of_birth=years_ago(15),
                needs=["uasc"],
                given_by="best_interests",
                best_interests_note="Solo.",
            )
        )
    )
    assert marked() == 1 and need("uasc") == 2
    before = cube.stored(session)
    for person in (lone, luz):
        erasure.erase(session.get(User, dpo), person, "subject_request")
    session.commit()
    session.expire_all()
    assert session.get(Beneficiary, lone.id).possible_uasc is None  # gone with the key
    assert cube.stored(session) == before and cube.check(session) == []
    # and a later change to the erased child's household touches nothing of theirs
    reception.refresh_uasc_flags(session.get(Beneficiary, lone.id).household)
    session.commit()
    assert cube.check(session) == [] and audit.verify().ok


def test_the_pages_show_what_they_decrypt(app, scene):
    po, cw = app.test_client(), app.test_client()
    login_as(app, po, scene["users"]["po2"].id)
    login_as(app, cw, scene["users"]["cw"].id)
    rows = po.get("/fund/register?case_type=uasc").get_data(as_text=True).split("<tbody>")[1]
    assert "Unaccompanied or separated child" in rows and "Victim of trafficking" not in rows
    rows = po.get("/fund/register").get_data(as_text=True).split("<tbody>")[1]
    assert "Unaccompanied or separated child" in rows and "Victim of trafficking" in rows
    page = cw.get(f"/fund/applications/{scene['child'].uid}").get_data(as_text=True)
    assert "Unaccompanied or separated child (unaccompanied)" in page and scene["mia"].case_number in page
    home = cw.get("/cases/").get_data(as_text=True)
    waiting = home.split('id="uasc"')[1].split("</section>")[0]
    assert scene["mia"].case_number in waiting and scene["rosa"].case_number not in waiting


def test_revision_0020_encrypts_the_facts_already_held_and_goes_back(app, scene, make):
    from msc import db as dbmod

    mia, rosa, child = scene["mia"].id, scene["rosa"].id, scene["child"].id
    lone = session.scalar(
        sa.select(Beneficiary.id).where(
            Beneficiary.uid
            == make.person(
                given_names="Kevin", family_names="Ruiz", date_of_birth=years_ago(15), given_by="best_interests",
                best_interests_note="Solo.",
            )
        )
    )  # fmt: skip
    session.close()

    dbmod.downgrade(app, "0021")  # what the keys can read comes back in clear
    sql = session.connection()
    flags = dict(sql.execute(sa.text("SELECT id, possible_uasc FROM beneficiaries")).all())
    assert flags[mia] and flags[lone] and not flags[rosa]
    assert sql.execute(sa.text("SELECT code FROM specific_needs WHERE beneficiary_id = :i"), {"i": mia}).scalars().all()
    row = sql.execute(
        sa.text("SELECT beneficiary_id, case_type, uasc_kind FROM fund_applications WHERE id = :i"), {"i": child}
    ).one()
    assert tuple(row) == (mia, "uasc", "unaccompanied")
    # a database as the release before left it: a child erased there (key destroyed), still marked in clear
    # and with the UASC need
    key = sql.execute(sa.text("SELECT data_key_id FROM beneficiaries WHERE id = :i"), {"i": lone}).scalar()
    sql.execute(sa.text("UPDATE data_keys SET wrapped = NULL WHERE id = :k"), {"k": key})
    sql.execute(sa.text("INSERT INTO specific_needs (beneficiary_id, code) VALUES (:i, 'uasc')"), {"i": lone})
    session.commit()
    session.close()

    dbmod.upgrade(app)
    assert session.get(Beneficiary, mia).possible_uasc is True and "uasc" in session.get(Beneficiary, mia).need_codes
    assert session.get(Beneficiary, rosa).possible_uasc is False
    assert session.get(Beneficiary, lone).possible_uasc_ct is None  # nothing to encrypt it with, nothing in clear
    application = session.get(Application, child)
    assert (application.case_type, application.uasc_kind, application.beneficiary.id) == ("uasc", "unaccompanied", mia)
    assert application.explanation == [["child", True], ["separated_from_parents", True]]
    assert session.get(Application, scene["traffic"].id).case_type == "trafficking"
    sql = session.connection()
    assert not sql.execute(sa.text("SELECT count(*) FROM specific_needs WHERE code = 'uasc'")).scalar()
    assert audit.verify().ok  # the chain is not touched
    # what the counts knew in clear of the erased child is carried: a recount still finds two marked, two needs
    recount = cube.recompute(session)
    assert sum(n for k, (n, _) in recount.items() if k[0] == "people" and k[7] == "uasc") == 2
    assert sum(n for k, (n, _) in recount.items() if k[0] == "need" and k[7] == "uasc") == 2
