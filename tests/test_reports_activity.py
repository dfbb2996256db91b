"""Dashboards of activity: referrals and their deadlines, items handed out (voids and refusals left out),
shelter occupancy, the protection fund against its allocation and feedback — exact figures, and the
running counts equal to the records after each kind of write."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc import clock
from msc.beneficiaries import service as reception
from msc.beneficiaries.models import Beneficiary
from msc.cases import service as cases
from msc.centres.models import Centre
from msc.db import session, utcnow
from msc.exports import SUPPRESSED as S
from msc.exports import WITHHELD as X
from msc.nfi import service as nfi
from msc.nfi import stock
from msc.nfi.stock import NfiError
from msc.numbers import Money, Share
from msc.referrals import service as referrals
from msc.referrals.models import Referral
from msc.reports import activity, cube
from msc.reports.scope import Filters, scope
from msc.security.models import User
from tests.conftest import REGIONAL_MANAGER

THIS = cube.local_month("COL", utcnow())
THUMB = nfi.Acknowledgement(method="thumbprint")


def person(make, **kw) -> Beneficiary:
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == make.person(**kw)))


def cucuta() -> Centre:
    return session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))


def scope_of(user_id: int):
    return scope(session.get(User, user_id), Filters(THIS, THIS))


@pytest.fixture
def officer(make):
    return make.user("po_region", "protection_officer", scope="region")


def test_referrals_by_sector_status_and_deadline(ctx, make, officer):
    cw = make.user("cw", "caseworker")
    partner = make.user("socio", "partner")
    _org, svc = make.partner(sector="health")
    made = [
        session.scalar(
            sa.select(Referral).where(
                Referral.uid
                == make.referral(
                    cw,
                    svc,
                    partner,
                    given_names=f"Persona{i}",
                    family_names="Díaz",
                    date_of_birth=dt.date(1980, 1, 1 + i),
                )
            )
        )
        for i in range(14)
    ]
    partner_user = session.get(User, partner)
    for r in made[:7]:
        if r is made[6]:
            r.deadline_at = r.sent_at - dt.timedelta(hours=1)  # answered after its deadline
        referrals.answer(partner_user, r, "accepted")
    for r in made[7:12]:
        referrals.answer(partner_user, r, "declined", "Sin cupo esta semana.")
    session.commit()  # two stay sent, waiting

    s = scope_of(officer)
    t = activity.referrals_by_status(s)
    assert t.rows == [("Health",)]
    # 2 waiting (<5): the 5 declined are withheld with them, and the two column totals that would tell.
    assert t.cells == [[S, 7, 0, X, 0, 0]] and t.row_totals == [14]
    assert t.column_totals == [S, 7, 0, X, 0, 0] and t.total == 14
    d = activity.referral_deadlines(s)
    assert d.cells == [[12, 11, Share(11, 12), S]]

    referrals.answer(partner_user, made[0], "completed", "Atendida.")
    session.commit()
    # Two small counts in the row now hide each other: the 5 declined can be shown again.
    assert activity.referrals_by_status(scope_of(officer)).cells == [[S, 6, S, 5, 0, 0]]
    assert cube.check(session) == []


def test_items_handed_out_leave_out_voids_and_refusals(ctx, make, officer):
    boss = session.get(User, make.user("boss", "centre_manager"))
    stock.receive(
        boss,
        cucuta(),
        reference="GR-1",
        source="warehouse",
        received_on=stock.centre_day(cucuta()),
        lines={nfi.item_by_code("HYG").id: 20},
    )
    given = []
    for i in range(6):
        p = person(make, given_names=f"Ana{i}", family_names="Rojas", date_of_birth=dt.date(1991, 2, 1 + i))
        given.append(nfi.hand_over(boss, cucuta(), p, {f"{p.uid}:HYG": 1}, THUMB))
    man = person(make, given_names="Pedro", family_names="Rojas", sex="male", date_of_birth=dt.date(1980, 1, 1))
    nfi.hand_over(boss, cucuta(), man, {f"{man.uid}:HYG": 1}, THUMB)
    nfi.void(boss, given[0], "recorded_in_error")
    with pytest.raises(NfiError, match="Not enough"):
        nfi.hand_over(boss, cucuta(), man, {f"{man.uid}:BLK": 1}, THUMB)  # no blankets: nothing recorded
    session.commit()

    t = activity.items(scope_of(officer))
    assert t.rows == [("Hygiene kit",)]
    assert t.cells == [[X, S, 0]] and t.row_totals == [6]
    assert t.column_totals == [X, S, 0] and t.total == 6
    assert cube.check(session) == []


def test_shelter_occupancy_today(ctx, make, officer):
    from msc.shelters import service as shelters
    from msc.shelters.models import Shelter

    home = session.get(Shelter, make.shelter(name="Casa de Paso", female=10, male=0))
    make.shelter(name="Albergue pequeño", female=2, male=2)
    for i in range(6):
        guest = person(make, given_names=f"Huésped{i}", family_names="Vera", date_of_birth=dt.date(1992, 3, 1 + i))
        shelters.place(REGIONAL_MANAGER, guest, home, check_in_on=clock.today("COL"), planned_days=5)
    session.commit()
    t = activity.shelters(scope_of(officer))
    rows = dict(zip((r[0] for r in t.rows), t.cells))
    assert rows["Casa de Paso"] == [10, 6, 4, Share(6, 10)]
    assert rows["Albergue pequeño"] == [4, 0, 4, Share(0, 4)]


def test_fund_against_its_allocation(ctx, make, officer):
    from msc.fund import applications, decisions, disbursements
    from msc.fund.models import FundAllocation

    cw = session.get(User, make.user("cw", "caseworker"))
    today = clock.today("COL")
    session.add(
        FundAllocation(
            country="COL",
            currency="COP",
            amount=10_000_00,
            disbursed=0,
            starts_on=today,
            ends_on=today + dt.timedelta(days=30),
        )
    )
    decider = session.get(User, officer)
    for i in range(6):
        case = cases.open_case(
            cw, person(make, given_names=f"Caso{i}", family_names="León", date_of_birth=dt.date(1985, 4, 1 + i))
        )
        application = applications.submit(
            cw,
            case,
            "vulnerable",
            {"indicators": ["violence_survivor", "disability"]},
            None,
            [applications.LineData("basic_needs", 500_00, "COP")],
        )
        if i < 5:
            decision = decisions.decide(
                decider,
                application,
                "approve",
                {application.lines[0].id: 400_00},
                period_ends_on=today + dt.timedelta(days=10),
            )
            if i == 0:
                disbursements.disburse(
                    decider, decision.lines[0], amount=100_00, paid_on=today, payee="Tienda", reference="R-1"
                )
        else:
            decisions.decide(decider, application, "reject", justification="No cumple los criterios.")
    session.commit()
    t = activity.fund(scope_of(officer))
    assert t.rows == [("Colombia", f"{today.isoformat()} – {(today + dt.timedelta(days=30)).isoformat()}", "COP")]
    assert t.cells == [[6, 5, S, *(Money(n, "COP") for n in (10_000_00, 1_900_00, 100_00, 8_000_00))]]


def test_feedback_by_kind_and_status_only_what_the_user_may_see(ctx, make, officer):
    from msc.feedback import service as feedback

    make.centre()
    for i in range(6):
        feedback.submit(cucuta(), channel="self_service", kind="suggestion", text=f"Más sillas {i}.")
    feedback.submit(cucuta(), channel="self_service", kind="sea", text="Un funcionario pidió favores.")
    session.commit()
    manager = make.user("manager", "centre_manager")
    t = activity.feedback(session.get(User, manager), scope_of(manager))
    assert t.rows == [("An idea to improve",)] and t.cells == [[6, 0, 0, 0]]
    focal = make.user("focal", "protection_officer", scope="region")
    session.get(User, focal).psea_focal_point = True
    session.commit()
    seen = activity.feedback(session.get(User, focal), scope_of(focal))
    assert len(seen.rows) == 1 and seen.cells == [[S, 0, 0, 0]]


def test_counts_follow_a_person_who_changes_centre_and_household(ctx, make):
    adult = person(make, given_names="Marta", family_names="Ríos", date_of_birth=dt.date(1980, 1, 1))
    child = person(
        make,
        given_names="Tomás",
        family_names="Ríos",
        date_of_birth=clock.today("COL").replace(year=clock.today("COL").year - 8),
        given_by="guardian",
        guardian_name="Marta Ríos",
    )
    assert child.possible_uasc
    child.household = adult.household
    reception.refresh_uasc_flags(adult.household)
    make.centre("PER-TUM", "CAM Tumbes", "PER")
    adult.centre_id = session.scalar(sa.select(Centre.id).where(Centre.code == "PER-TUM"))
    session.commit()
    assert not child.possible_uasc
    assert cube.check(session) == []


def test_counts_stay_right_when_a_record_was_expired_before_the_change(ctx, make):
    p = person(
        make, given_names="Irene", family_names="Paz", date_of_birth=dt.date(1975, 5, 5), needs=["disability", "lgbtiq"]
    )
    session.commit()
    session.expire(p)
    p.sex = "other"
    session.commit()
    assert cube.check(session) == []
    session.expire(p)
    p.entry_point_other = True
    p.registered_at = p.registered_at - dt.timedelta(days=70)
    session.commit()
    assert cube.check(session) == []


def test_a_rolled_back_write_leaves_the_counts_as_they_were(ctx, make):
    make.person(given_names="Alba", family_names="Mora", date_of_birth=dt.date(1970, 7, 7))
    before = cube.stored(session)
    session.commit()
    p = session.scalar(sa.select(Beneficiary).where(Beneficiary.sex == "female"))
    p.sex = "male"
    session.flush()
    session.rollback()
    assert cube.stored(session) == before and cube.check(session) == []
    with session.begin_nested():
        p.nationality = "COL"
        session.flush()
        session.get_nested_transaction().rollback()
    session.commit()
    assert cube.stored(session) == before and cube.check(session) == []
