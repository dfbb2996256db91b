"""Onward movements: planned at the centre that serves the person, confirmed at the next; consent for a
centre destination; a child's escort or a written best-interests reason; one answer wins; cancellation;
who did not arrive, and the protection flag for a child or a case in protection."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc import clock
from msc.beneficiaries import service as registry
from msc.beneficiaries.models import Beneficiary, BeneficiaryChange
from msc.beneficiaries.proof import Proof
from msc.centres import stays
from msc.centres.models import Centre
from msc.continuity import onward
from msc.continuity import service as continuity
from msc.continuity.models import Transfer
from msc.continuity.onward_models import OnwardMovement
from msc.db import session, utcnow
from msc.security.models import AuditEvent, User
from msc.security.policy import in_scope

ADULT = dt.date(1988, 4, 12)


def consents(continuity: bool = True, guardian: bool = False) -> list:
    who = {"given_by": "guardian", "guardian_name": "Marta Peña"} if guardian else {"given_by": "self"}
    given = [registry.ConsentData(purpose="registration", status="given", **who)]
    if continuity:
        given.append(registry.ConsentData(purpose="continuity", status="given", **who))
    return given


def person(uid: str) -> Beneficiary:
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))


def centre(code: str) -> Centre:
    return session.scalar(sa.select(Centre).where(Centre.code == code))


def user(make, name, role="caseworker", centres=("COL-CUC",), **kw) -> User:
    return session.get(User, make.user(name, role, centres=centres, **kw))


def today() -> dt.date:
    return clock.today_at(centre("COL-CUC"))


def to(code: str) -> str:
    return f"centre:{centre(code).id}"


@pytest.fixture
def route(ctx, make):
    """Rosa (adult, consent to continuity), Luz (adult, no such consent) and Tomás (a child of about ten, his
    guardian's consent) at Cúcuta; desks in Tumbes and Ipiales; Cúcuta's caseworker and manager."""
    make.centre("COL-CUC", "CAM Cúcuta", "COL")
    make.centre("PER-TUM", "CAM Tumbes", "PER")
    make.centre("COL-IPI", "CAM Ipiales", "COL")
    ids = {
        "rosa": make.person(given_names="Rosa", family_names="Peña", date_of_birth=ADULT, consents=consents()),
        "luz": make.person(
            given_names="Luz", family_names="Marín", date_of_birth=ADULT, sex="female", consents=consents(False)
        ),
        "tomas": make.person(
            given_names="Tomás",
            family_names="Peña",
            sex="male",
            date_of_birth=dt.date.today() - dt.timedelta(days=3700),  # about ten
            consents=consents(guardian=True),
        ),
    }
    users = {
        "cucuta": user(make, "cw_cuc"),
        "manager": user(make, "mgr_cuc", "centre_manager"),
        "desk_cuc": user(make, "desk_cuc", "reception"),
        "tumbes": user(make, "desk_tum", "reception", centres=("PER-TUM",)),
        "mgr_tum": user(make, "mgr_tum", "centre_manager", centres=("PER-TUM",)),
        "ipiales": user(make, "cw_ipi", "caseworker", centres=("COL-IPI",)),
        "mgr_ipi": user(make, "mgr_ipi", "centre_manager", centres=("COL-IPI",)),
        "po_col": user(make, "po_col", "protection_officer", centres=(), scope="country", country="COL"),
        "po_per": user(make, "po_per", "protection_officer", centres=(), scope="country", country="PER"),
    }
    session.expire_all()
    return {**{k: person(v) for k, v in ids.items()}, **{k: session.get(User, v.id) for k, v in users.items()}}


def journey(**kw) -> onward.Journey:
    return onward.Journey(**{"planned_on": today(), "transport": "bus", **kw})


def plan_to_tumbes(route, who="rosa", **kw) -> OnwardMovement:
    movement = onward.plan(route["cucuta"], route[who], journey(destination=to("PER-TUM"), **kw))
    session.commit()
    return movement


def refused(call, *args) -> tuple[str, str | None]:
    with pytest.raises(onward.OnwardError) as err:
        call(*args)
    return str(err.value.message), err.value.field


# ---- planning ----------------------------------------------------------------------------------


def test_a_centre_destination_needs_consent_to_continuity_a_city_does_not(route):
    luz = route["luz"]
    message, field = refused(onward.plan, route["cucuta"], luz, journey(destination=to("PER-TUM")))
    assert field == "destination" and "consent to continuity of care" in message
    assert session.scalar(sa.select(sa.func.count()).select_from(OnwardMovement)) == 0
    movement = onward.plan(route["cucuta"], luz, journey(destination="other", other_city="Quito, barrio La Tola"))
    session.commit()
    session.expire_all()
    row = session.get(OnwardMovement, movement.id)
    assert row.to_centre_id is None and row.to_other_city == "Quito, barrio La Tola"
    assert b"Tola" not in row.to_other_city_ct and row.escort is None
    onward.cancel(route["cucuta"], row, "changed_destination")
    place = onward.plan(route["cucuta"], row.beneficiary, journey(destination="place:Ipiales"))
    assert (place.to_municipality, place.to_centre_id, place.to_other_city) == ("Ipiales", None, None)


def test_what_the_form_sends_is_checked_in_words(route):
    rosa, cw = route["rosa"], route["cucuta"]
    cases = [
        (journey(), "destination"),
        (journey(destination="place:Atlantis"), "destination"),
        (journey(destination=f"centre:{rosa.centre_id}"), "destination"),  # not the centre that serves her
        (journey(destination="other", other_city="  "), "other_city"),
        (journey(destination=to("PER-TUM"), planned_on=None), "planned_on"),
        (journey(destination=to("PER-TUM"), planned_on=today() - dt.timedelta(days=1)), "planned_on"),
        (journey(destination=to("PER-TUM"), transport="rocket"), "transport"),
        (journey(destination=to("PER-TUM"), provided=["ticket", "weapons"]), "provided"),
    ]
    for data, field in cases:
        assert refused(onward.plan, cw, rosa, data)[1] == field, data
    assert session.scalar(sa.select(sa.func.count()).select_from(OnwardMovement)) == 0


def test_a_child_needs_an_escort_or_a_written_best_interests_reason(route):
    tomas, cw = route["tomas"], route["cucuta"]
    assert refused(onward.plan, cw, tomas, journey(destination=to("PER-TUM")))[1] == "escort"
    message, field = refused(onward.plan, cw, tomas, journey(destination=to("PER-TUM"), escort="none"))
    assert field == "escort_reason" and "best interests" in message
    reason = "Viaja a reunirse con su madre en Tumbes; acompañamiento acordado con ICBF."
    movement = onward.plan(
        cw, tomas, journey(destination=to("PER-TUM"), escort="none", escort_reason=reason, provided=["food", "ticket"])
    )
    session.commit()
    session.expire_all()
    row = session.get(OnwardMovement, movement.id)
    assert (row.escort, row.escort_reason, row.provided_codes) == ("none", reason, ["food", "ticket"])
    assert b"ICBF" not in row.escort_reason_ct
    # an adult's escort is not asked for, and not kept
    adult = onward.plan(cw, route["rosa"], journey(destination=to("PER-TUM"), escort="none", escort_reason="x"))
    assert (adult.escort, adult.escort_reason) == (None, None)


def test_one_planned_journey_per_person_and_only_by_the_centre_that_serves_them(route):
    plan_to_tumbes(route)
    message, _ = refused(onward.plan, route["cucuta"], route["rosa"], journey(destination=to("COL-IPI")))
    assert "already planned" in message
    for other in ("ipiales", "tumbes", "desk_cuc"):  # another centre; a role that does not plan
        assert "Only the centre that serves" in refused(onward.plan, route[other], route["luz"], journey())[0]


def test_planning_is_on_the_record_and_in_the_audit_log_in_codes(route):
    movement = plan_to_tumbes(route)
    change = session.scalars(sa.select(BeneficiaryChange).where(BeneficiaryChange.action == "onward_planned")).one()
    assert change.beneficiary_id == route["rosa"].id
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "onward.planned")).one()
    assert event.detail == f"{movement.uid}:centre"


# ---- arrival --------------------------------------------------------------------------------------


def test_confirming_the_arrival_moves_the_record_and_the_sending_centre_keeps_reading(route):
    rosa, desk = route["rosa"], route["tumbes"]
    movement = plan_to_tumbes(route)
    assert [m.uid for m in onward.expected(desk).items] == [movement.uid]
    transfer = onward.confirm(desk, movement)
    session.commit()
    session.expire_all()
    assert person(rosa.uid).centre.code == "PER-TUM"
    row = session.get(OnwardMovement, movement.id)
    assert (row.status, row.decided_by_id, row.transfer_id) == ("arrived", desk.id, transfer.id)
    moved = session.get(Transfer, transfer.id)
    assert (moved.how, moved.status, moved.from_centre.code, moved.to_centre.code) == (
        "onward",
        "moved",
        "COL-CUC",
        "PER-TUM",
    )
    first, second = stays.route_of(rosa.id)
    assert (first.centre.code, second.centre.code, second.how, second.left_on) == ("COL-CUC", "PER-TUM", "moved", None)
    actions = [c.action for c in session.scalars(sa.select(BeneficiaryChange).order_by(BeneficiaryChange.id))]
    assert actions[-3:] == ["onward_planned", "moved", "onward_arrived"]
    audit = dict(session.execute(sa.select(AuditEvent.action, AuditEvent.detail)).all())
    assert audit["onward.arrived"] == movement.uid and audit["continuity.moved"] == f"{transfer.uid}:onward"
    cucuta = session.get(User, route["cucuta"].id)
    assert not in_scope(cucuta, row.beneficiary.centre_id)
    assert in_scope(cucuta, row.beneficiary.centre_id, rosa.id, former_read=True)
    assert onward.expected(desk).total == 0


def test_a_second_confirmation_or_a_cancellation_after_it_is_told_in_words(route):
    movement = plan_to_tumbes(route)
    onward.confirm(route["tumbes"], movement)
    session.commit()
    message, _ = refused(onward.confirm, route["mgr_tum"], movement)
    assert "already confirmed" in message
    assert "already confirmed" in refused(onward.cancel, route["cucuta"], movement, "person_stays")[0]
    assert session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 1


def test_of_two_confirmations_at_once_one_wins(route):
    movement = plan_to_tumbes(route)
    # the other desk's confirmation landed between this one's read and its write
    session.execute(
        sa.update(OnwardMovement)
        .where(OnwardMovement.id == movement.id)
        .values(status="arrived")
        .execution_options(synchronize_session=False)
    )
    assert movement.status == "planned"
    assert "already confirmed" in refused(onward.confirm, route["mgr_tum"], movement)[0]
    assert session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 0


def test_a_record_that_moved_elsewhere_meanwhile_does_not_come(route):
    rosa = route["rosa"]
    movement = plan_to_tumbes(route)
    continuity.at_desk(route["ipiales"], centre("COL-IPI"), Proof(rosa.case_number, ADULT))
    session.commit()
    assert onward.expected(route["tumbes"]).total == 0  # not on the list any more
    message, _ = refused(onward.confirm, route["tumbes"], movement)
    assert "moved to another centre" in message
    session.commit()
    session.expire_all()
    assert session.get(OnwardMovement, movement.id).status == "superseded"
    assert person(rosa.uid).centre.code == "COL-IPI"


def test_consent_withdrawn_before_the_arrival_keeps_the_record_where_it_is(route):
    rosa = route["rosa"]
    movement = plan_to_tumbes(route)
    registry.record_consent(
        route["cucuta"], rosa, registry.ConsentData(purpose="continuity", status="withdrawn", given_by="self")
    )
    session.commit()
    assert "no longer consents" in refused(onward.confirm, route["tumbes"], movement)[0]
    session.expire_all()
    assert person(rosa.uid).centre.code == "COL-CUC" and session.get(OnwardMovement, movement.id).is_planned


def test_only_the_receiving_centre_confirms(route):
    movement = plan_to_tumbes(route)
    for other in ("cucuta", "manager", "ipiales", "po_col"):
        assert "Only the receiving centre" in refused(onward.confirm, route[other], movement)[0]
    assert onward.may_see(route["tumbes"], movement) and onward.may_see(route["desk_cuc"], movement)
    assert not onward.may_see(route["ipiales"], movement) and not onward.may_see(route["mgr_ipi"], movement)


# ---- cancellation -----------------------------------------------------------------------------------


def test_the_sending_centre_cancels_with_a_coded_reason(route):
    movement = plan_to_tumbes(route)
    assert "Only the centre that planned" in refused(onward.cancel, route["tumbes"], movement, "person_stays")[0]
    assert refused(onward.cancel, route["cucuta"], movement, None)[1] == "reason"
    assert refused(onward.cancel, route["cucuta"], movement, "whim")[1] == "reason"
    onward.cancel(route["manager"], movement, "unsafe")
    session.commit()
    session.expire_all()
    row = session.get(OnwardMovement, movement.id)
    assert (row.status, row.cancel_reason, row.decided_by_id) == ("cancelled", "unsafe", route["manager"].id)
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "onward.cancelled")).one()
    assert event.detail == f"{movement.uid}:unsafe"
    assert "cancelled this journey" in refused(onward.confirm, route["tumbes"], row)[0]
    assert onward.expected(route["tumbes"]).total == 0
    plan_to_tumbes(route)  # a new journey may be planned once the first is settled


# ---- who did not arrive -------------------------------------------------------------------------------


def test_not_arrived_only_after_the_days_and_a_child_is_a_protection_flag(ctx, route):
    rosa_trip = plan_to_tumbes(route)
    tomas_trip = plan_to_tumbes(route, "tomas", escort="guardian")
    luz_trip = onward.plan(route["cucuta"], route["luz"], journey(destination="other", other_city="Quito"))
    session.commit()
    now = utcnow()
    assert onward.flag_overdue(now + dt.timedelta(days=2)).flagged == 0
    found = onward.flag_overdue(now + dt.timedelta(days=3))
    session.commit()
    assert (found.flagged, found.protection) == (2, 1)  # a city has no one to confirm: not watched
    assert onward.flag_overdue(now + dt.timedelta(days=4)).flagged == 0  # once
    session.expire_all()
    assert session.get(OnwardMovement, luz_trip.id).not_arrived_at is None
    flags = {f.movement.uid: f.flag for f in onward.not_arrived(session.get(User, route["manager"].id))}
    assert flags == {tomas_trip.uid: "child", rosa_trip.uid: None}
    assert list(flags)[0] == tomas_trip.uid  # protection flags first
    assert {f.movement.uid for f in onward.not_arrived(route["mgr_tum"])} == {tomas_trip.uid, rosa_trip.uid}
    for officer in ("po_col", "po_per"):  # the countries of both centres: the protection flag only
        assert [f.movement.uid for f in onward.not_arrived(route[officer])] == [tomas_trip.uid]
    for nobody in ("mgr_ipi", "tumbes", "cucuta"):  # another centre; roles that do not follow flags
        assert onward.not_arrived(route[nobody]) == []
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "onward.not_arrived")).all()
    assert sorted(e.detail for e in events) == sorted([rosa_trip.uid, tomas_trip.uid])
    # a late arrival is still confirmed, and leaves the lists
    onward.confirm(route["tumbes"], session.get(OnwardMovement, tomas_trip.id))
    session.commit()
    assert [f.movement.uid for f in onward.not_arrived(route["po_col"])] == []


def test_the_days_come_from_the_configuration(ctx, route):
    ctx.config["ONWARD_OVERDUE_DAYS"] = 5
    plan_to_tumbes(route)
    assert onward.flag_overdue(utcnow() + dt.timedelta(days=4)).flagged == 0
    assert onward.flag_overdue(utcnow() + dt.timedelta(days=5)).flagged == 1


def test_an_adult_in_protection_is_a_protection_flag_read_from_the_encrypted_needs(route):
    rosa = route["rosa"]
    rosa.protected_needs = ["trafficking"]
    session.commit()
    movement = plan_to_tumbes(route)
    assert onward.protection_flag(movement) == "protection"
    assert onward.flag_overdue(utcnow() + dt.timedelta(days=3)).protection == 1
    assert b"trafficking" not in (rosa.sensitive_needs_ct or b"")
    columns = {c.name for c in OnwardMovement.__table__.columns}
    assert not {"protection", "flag", "trafficking"} & columns  # nothing in clear tells a trafficking case


def test_a_journey_whose_record_moved_elsewhere_is_settled_by_the_move_not_flagged(route):
    rosa = route["rosa"]
    movement = plan_to_tumbes(route)
    continuity.at_desk(route["ipiales"], centre("COL-IPI"), Proof(rosa.case_number, ADULT))
    session.commit()
    session.expire_all()
    assert session.get(OnwardMovement, movement.id).status == "superseded"  # the new centre plans its own
    found = onward.flag_overdue(utcnow() + dt.timedelta(days=3))
    session.commit()
    assert (found.flagged, found.superseded) == (0, 0)


def test_the_daily_job_flags_and_is_on_the_schedule(ctx, route):
    from msc.jobs import runner
    from msc.jobs.models import Job

    assert ctx.config["JOBS_SCHEDULE"]["continuity.onward_overdue"].startswith("daily at")
    movement = plan_to_tumbes(route, "tomas", escort="relative")
    session.execute(
        sa.update(OnwardMovement)
        .where(OnwardMovement.id == movement.id)
        .values(planned_on=today() - dt.timedelta(days=4))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.expire_all()
    job_id = runner.enqueue("continuity.onward_overdue").id
    session.commit()
    runner.run_queued()
    job = session.get(Job, job_id)
    assert (job.state, job.outcome, job.outcome_count) == ("done", "flagged", 1)


def test_an_erased_person_is_expected_nowhere_and_never_flagged(route, make):
    from msc.dpo import erasure

    movement = plan_to_tumbes(route)
    erasure.erase(user(make, "dpo", "dpo", centres=(), scope="region"), route["rosa"], "subject_request")
    session.commit()
    assert onward.expected(route["tumbes"]).total == 0
    assert onward.flag_overdue(utcnow() + dt.timedelta(days=3)).flagged == 0
    assert not onward.may_see(route["tumbes"], movement)
    assert "erased" in refused(onward.confirm, route["tumbes"], movement)[0]
