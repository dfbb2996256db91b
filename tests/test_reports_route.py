"""The dashboards along the route: people registered count once, at the first centre; people served count
once a month at every centre that served them; arrivals and departures per centre — all from the running
counts, which stay equal to the records when records move."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc import clock
from msc.beneficiaries import service as registry
from msc.beneficiaries.models import Beneficiary
from msc.beneficiaries.proof import Proof
from msc.centres.models import Centre
from msc.continuity import service as continuity
from msc.db import session
from msc.exports import SUPPRESSED as S
from msc.reports import cube, people
from msc.reports.models import ReportCount, ServedMonth
from msc.reports.scope import Filters, scope
from msc.security.models import User

DOB = dt.date(1990, 3, 1)


def centre(code: str) -> Centre:
    return session.scalar(sa.select(Centre).where(Centre.code == code))


def month_at(code: str) -> str:
    return clock.today_at(centre(code)).strftime("%Y-%m")


def counted(topic: str, code: str, **keys) -> int:
    stmt = sa.select(sa.func.coalesce(sa.func.sum(ReportCount.n), 0)).where(
        ReportCount.topic == topic, ReportCount.centre_id == centre(code).id
    )
    for name, value in keys.items():
        stmt = stmt.where(getattr(ReportCount, name) == value)
    cube.write_pending(session)
    return int(session.scalar(stmt))


@pytest.fixture
def journey(ctx, make):
    """Seven people registered in Cúcuta with consent to continuity; six of them move to Tumbes at the desk."""
    make.centre("COL-CUC", "CAM Cúcuta", "COL")
    make.centre("PER-TUM", "CAM Tumbes", "PER")
    consent = [
        registry.ConsentData(purpose="registration", status="given", given_by="self"),
        registry.ConsentData(purpose="continuity", status="given", given_by="self"),
    ]
    uids = [
        make.person(
            given_names=f"Persona{i}", family_names="Ruta", date_of_birth=DOB.replace(day=1 + i), consents=consent
        )
        for i in range(7)
    ]
    desk = session.get(User, make.user("desk_tum", "reception", centres=("PER-TUM",)))
    region = session.get(User, make.user("po_region", "protection_officer", scope="region"))
    for uid in uids[:6]:
        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        continuity.at_desk(desk, centre("PER-TUM"), Proof(person.case_number, person.date_of_birth))
        session.commit()
    return {"uids": uids, "region": region}


def test_people_registered_stay_at_the_first_centre_and_the_counts_match_the_records(journey):
    assert counted("people", "COL-CUC") == 7 and counted("people", "PER-TUM") == 0
    assert counted("arrival", "COL-CUC", k1="registered") == 7
    assert counted("arrival", "PER-TUM", k1="moved") == 6
    assert counted("departure", "COL-CUC") == 6 and counted("departure", "PER-TUM") == 0
    assert counted("served", "COL-CUC", month=month_at("COL-CUC")) == 7
    assert counted("served", "PER-TUM", month=month_at("PER-TUM")) == 6
    assert cube.check(session) == []


def test_a_person_served_twice_in_a_month_counts_once_there(journey, make):
    uid = journey["uids"][0]
    make.hand_over(uid)  # in Tumbes, where the record is now: Tumbes served them already this month
    assert counted("served", "PER-TUM") == 6
    marks = session.scalars(
        sa.select(ServedMonth.centre_id)
        .join(Beneficiary, Beneficiary.id == ServedMonth.beneficiary_id)
        .where(Beneficiary.uid == uid)
    ).all()
    assert sorted(marks) == sorted([centre("COL-CUC").id, centre("PER-TUM").id])
    assert cube.check(session) == []


def test_a_hand_over_in_another_month_serves_the_person_again(journey, make):
    uid = journey["uids"][6]  # still in Cúcuta
    make.hand_over(uid)
    person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
    from msc.nfi.models import Distribution

    handed = session.scalars(sa.select(Distribution).where(Distribution.beneficiary_id == person.id)).one()
    handed.day = handed.day.replace(day=1) - dt.timedelta(days=1)  # recorded as last month's
    session.commit()
    last_month = handed.day.strftime("%Y-%m")
    # written after the fact, the running count did not see the new month: the rebuild reads the records
    cube.rebuild(session)
    session.commit()
    assert counted("served", "COL-CUC", month=last_month) == 1
    assert cube.check(session) == []


def test_the_rebuild_gives_the_running_counts_back(journey):
    before = cube.stored(session)
    session.execute(sa.delete(ServedMonth))
    session.execute(sa.delete(ReportCount))
    cube.rebuild(session)
    session.commit()
    assert cube.stored(session) == before


def test_the_table_per_centre_and_month_hides_small_counts(journey):
    this = month_at("COL-CUC")
    t = people.along_the_route(scope(journey["region"], Filters(this, this)))
    rows = {r[0].split(" · ")[0]: cells for r, cells in zip(t.rows, t.cells)}
    assert rows == {"COL-CUC": [7, 0, 6], "PER-TUM": [6, 6, 0]}
    assert "#affected+served" in t.hxl


def test_a_small_centre_shows_fewer_than_five_as_such(ctx, make):
    make.centre("COL-CUC", "CAM Cúcuta", "COL")
    make.person(given_names="Sola", family_names="Una")
    region = session.get(User, make.user("po_region", "protection_officer", scope="region"))
    this = month_at("COL-CUC")
    t = people.along_the_route(scope(region, Filters(this, this)))
    assert t.cells == [[S, 0, 0]]
