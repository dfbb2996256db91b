"""Along the route: a record moves to the centre that serves the person now — at the desk on the person's
proof and consent, or on a request the holding centre accepts; the same answer for whatever does not match;
one winner when two centres ask at once; escalation after 48 hours; the route on the record; the previous
centre's read-only view."""

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from msc.beneficiaries import service as registry
from msc.beneficiaries.models import Beneficiary, BeneficiaryChange
from msc.beneficiaries.proof import Proof
from msc.cases import service as cases
from msc.cases.models import Case, Task
from msc.centres import stays
from msc.centres.models import Centre
from msc.continuity import service
from msc.continuity.models import Transfer, TransferStatus
from msc.db import session, utcnow
from msc.referrals import service as referrals
from msc.security.models import AuditEvent, User
from msc.security.policy import in_scope
from tests.conftest import PG_URL, statements_run

DOB = dt.date(1988, 4, 12)


def consents(continuity: bool = True) -> list:
    given = [registry.ConsentData(purpose="registration", status="given", given_by="self")]
    if continuity:
        given.append(registry.ConsentData(purpose="continuity", status="given", given_by="self"))
    return given


def person(uid: str) -> Beneficiary:
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))


def user(make, name, role="caseworker", centres=("COL-CUC",), **kw) -> User:
    return session.get(User, make.user(name, role, centres=centres, **kw))


def centre(code: str) -> Centre:
    return session.scalar(sa.select(Centre).where(Centre.code == code))


def register(make, continuity=True, centre_code="COL-CUC", **fields) -> Beneficiary:
    fields = {"given_names": "Rosa", "family_names": "Peña", "date_of_birth": DOB, **fields}
    return person(make.person(centre=centre_code, consents=consents(continuity), **fields))


@pytest.fixture
def route(ctx, make):
    """Rosa, registered in Cúcuta with consent to continuity and an open case; desks in Tumbes and Ipiales."""
    make.centre("COL-CUC", "CAM Cúcuta", "COL")
    make.centre("PER-TUM", "CAM Tumbes", "PER")
    make.centre("COL-IPI", "CAM Ipiales", "COL")
    cucuta = user(make, "cw_cuc")
    rosa = register(make)
    make.case(rosa.uid, cucuta.id)
    session.expire_all()
    return {
        "rosa": person(rosa.uid),
        "cucuta": session.get(User, cucuta.id),
        "tumbes": user(make, "desk_tum", "reception", centres=("PER-TUM",)),
        "ipiales": user(make, "desk_ipi", "reception", centres=("COL-IPI",)),
    }


def moved_to(uid: str) -> str:
    session.expire_all()
    return person(uid).centre.code


# ---- the desk --------------------------------------------------------------------------------


def test_registration_opens_a_stay_at_the_centre(route):
    (stay,) = stays.route_of(route["rosa"].id)
    assert stay.centre.code == "COL-CUC" and stay.how == "registered" and stay.left_on is None


def test_the_route_is_read_once_a_transaction_and_again_after_an_arrival_or_a_savepoint(route):
    rosa = route["rosa"]
    with statements_run(session.get_bind()) as seen:
        session.commit()
        assert [s.centre.code for s in stays.route_of(rosa.id)] == ["COL-CUC"]
        assert len(stays.route_of(rosa.id)) == 1 and sum("FROM stays" in s for s in seen) == 1
        stays.arrive(rosa.id, centre("PER-TUM").id, dt.date.today(), stays.MOVED)
        assert [s.centre.code for s in stays.route_of(rosa.id)] == ["COL-CUC", "PER-TUM"], "an arrival is seen"
        session.rollback()
        assert [s.centre.code for s in stays.route_of(rosa.id)] == ["COL-CUC"], "the rolled-back stay is gone"
        with session.begin_nested() as savepoint:
            stays.arrive(rosa.id, centre("PER-TUM").id, dt.date.today(), stays.MOVED)
            assert len(stays.route_of(rosa.id)) == 2
            savepoint.rollback()
        assert [s.centre.code for s in stays.route_of(rosa.id)] == ["COL-CUC"], "nor the savepoint's"


def test_at_the_desk_the_proof_and_consent_move_the_record_and_its_case_at_once(route):
    rosa, tumbes = route["rosa"], route["tumbes"]
    transfer = service.at_desk(tumbes, centre("PER-TUM"), Proof(rosa.case_number.lower(), DOB))
    session.commit()
    assert transfer.status == TransferStatus.MOVED and moved_to(rosa.uid) == "PER-TUM"
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == rosa.id))
    assert case.centre_id == centre("PER-TUM").id and case.caseworkers == []
    assert all(t.assignee_id is None for t in session.scalars(sa.select(Task).where(Task.case_id == case.id)))
    first, second = stays.route_of(rosa.id)
    assert (first.centre.code, first.left_on is not None) == ("COL-CUC", True)
    assert (second.centre.code, second.how, second.left_on) == ("PER-TUM", "moved", None)
    change = session.scalars(sa.select(BeneficiaryChange).where(BeneficiaryChange.action == "moved")).one()
    assert change.beneficiary_id == rosa.id and change.user_id == tumbes.id
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "continuity.moved")).one()
    assert event.detail == f"{transfer.uid}:desk" and "Rosa" not in event.detail
    assert in_scope(tumbes, person(rosa.uid).centre_id)


def test_the_card_token_is_proof_enough(route):
    rosa = route["rosa"]
    service.at_desk(route["tumbes"], centre("PER-TUM"), Proof(card_token=rosa.card_token.replace("-", "").lower()))
    session.commit()
    assert moved_to(rosa.uid) == "PER-TUM"


def test_whatever_does_not_move_gets_one_and_the_same_answer(ctx, route, make):
    tumbes, rosa = route["tumbes"], route["rosa"]
    no_consent = register(make, continuity=False, given_names="Luz", family_names="Marín", date_of_birth=DOB)
    gone = register(make, given_names="Ana", family_names="Gómez", date_of_birth=DOB)
    gone_number, gone_card = gone.case_number, gone.card_token
    from msc.dpo import erasure

    erasure.erase(user(make, "dpo", "dpo", scope="region"), gone, "subject_request")
    closed = register(make, centre_code="VEN-SAC", given_names="Eva", family_names="Luna", date_of_birth=DOB)
    centre("VEN-SAC").active = False
    nobody = registry._new_case_numbers(centre("COL-CUC"), 1)[0]
    session.commit()
    ctx.config["CONTINUITY_FAILED_PROOFS"] = 7
    answers = set()
    for proof in [
        Proof(nobody, DOB),  # no such record
        Proof(rosa.case_number, DOB + dt.timedelta(days=1)),  # another date of birth
        Proof(gone_number, DOB),  # erased
        Proof(card_token=gone_card),  # erased, by the card
        Proof(closed.case_number, DOB),  # a closed centre's
        Proof(no_consent.case_number, DOB),  # no consent to continuity
        Proof(card_token="ABCD-EFGH-JKMN-PQRS"),  # no such card
    ]:
        with pytest.raises(service.ContinuityError) as err:
            service.at_desk(tumbes, centre("PER-TUM"), proof)
        answers.add((err.value.message, err.value.field))
    assert answers == {(str(service.NO_MATCH), "case_number")}
    assert "consent" in str(service.NO_MATCH)  # the answer says what to do next
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 0
    assert moved_to(no_consent.uid) == "COL-CUC" and moved_to(rosa.uid) == "COL-CUC"
    failed = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == service.FAILED)).all()
    assert len(failed) == 7 and {e.detail for e in failed} == {"desk"}
    # past the daily allowance, even a right proof is refused
    with pytest.raises(service.ContinuityError, match="Too many attempts"):
        service.at_desk(tumbes, centre("PER-TUM"), Proof(rosa.case_number, DOB))


def test_a_proof_missing_a_part_is_asked_for_in_words(route):
    with pytest.raises(service.ContinuityError, match="date of birth, or the token"):
        service.at_desk(route["tumbes"], centre("PER-TUM"), Proof())
    with pytest.raises(service.ContinuityError, match="Give the person's date of birth"):
        service.at_desk(route["tumbes"], centre("PER-TUM"), Proof(route["rosa"].case_number))


def test_a_record_already_in_reach_and_roles_that_do_not_ask(route, make):
    rosa = route["rosa"]
    with pytest.raises(service.ContinuityError, match="already within your reach"):
        service.at_desk(route["cucuta"], centre("COL-CUC"), Proof(rosa.case_number, DOB))
    for role in ("protection_officer", "dpo", "admin", "partner"):
        with pytest.raises(service.ContinuityError, match="does not ask"):
            service.asking_centre(user(make, f"u_{role}", role, centres=("PER-TUM",)), None)
    with pytest.raises(service.ContinuityError, match="one of your centres"):
        service.asking_centre(route["tumbes"], centre("COL-CUC").id)


# ---- a request to the holding centre ---------------------------------------------------------


def test_a_request_is_accepted_with_the_sections_chosen(route, make):
    rosa, cucuta = route["rosa"], route["cucuta"]
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == rosa.id))
    cases.add_note(cucuta, case, "Llegó con su hija; sin documentos.", sensitive=False)
    org, svc = make.partner()
    session.commit()
    transfer = service.request_record(route["tumbes"], centre("PER-TUM"), rosa.uid)
    session.commit()
    assert transfer.status == TransferStatus.PENDING and moved_to(rosa.uid) == "COL-CUC"
    assert service.request_record(route["tumbes"], centre("PER-TUM"), rosa.uid).id == transfer.id  # one a centre
    assert [t.id for t in service.to_answer(cucuta).items] == [transfer.id]
    assert service.to_answer(route["tumbes"]).total == 0
    with pytest.raises(service.ContinuityError, match="Choose among"):
        service.accept(cucuta, transfer, ["everything"])
    service.accept(cucuta, transfer, ["notes"])
    session.commit()
    assert transfer.status == TransferStatus.ACCEPTED and transfer.sections == "notes"
    assert moved_to(rosa.uid) == "PER-TUM"
    tum_cw = user(make, "cw_tum", centres=("PER-TUM",))
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == rosa.id))
    notes, _ = cases.visible_notes(tum_cw, case)
    assert [n.body for n in notes] == ["Llegó con su hija; sin documentos."]  # sent along
    assert cases.withheld_before(case, "referrals") is not None  # not sent along
    assert cases.withheld_before(case, "notes") is None
    actions = [c.action for c in session.scalars(sa.select(BeneficiaryChange).order_by(BeneficiaryChange.id))]
    assert actions[-2:] == ["transfer_requested", "moved"]
    audit = [
        e.action
        for e in session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action.like("continuity.%")).order_by(AuditEvent.seq)
        )
    ]
    assert audit == ["continuity.requested", "continuity.moved", "continuity.accepted"]
    with pytest.raises(service.ContinuityError, match="already answered"):
        service.refuse(cucuta, transfer, "other", "tarde")


def test_notes_and_referrals_not_sent_along_stay_with_the_centre_that_wrote_them(route, make):
    rosa, cucuta = route["rosa"], route["cucuta"]
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == rosa.id))
    cases.add_note(cucuta, case, "Nota de Cúcuta.", sensitive=False)
    session.commit()
    transfer = service.request_record(route["tumbes"], centre("PER-TUM"), rosa.uid)
    service.accept(cucuta, transfer, [])
    session.commit()
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == rosa.id))
    tum_cw = user(make, "cw_tum", centres=("PER-TUM",))
    assert cases.visible_notes(tum_cw, case)[0] == []
    assert referrals.of_case(case) == []
    cases.add_note(tum_cw, case, "Nota de Tumbes.", sensitive=False)
    session.commit()
    assert [n.body for n in cases.visible_notes(tum_cw, case)[0]] == ["Nota de Tumbes."]


def test_without_consent_nothing_moves_and_the_answer_says_to_record_it_first(route, make):
    luz = register(make, continuity=False, given_names="Luz", family_names="Marín", date_of_birth=DOB)
    cucuta = route["cucuta"]
    transfer = service.request_record(route["tumbes"], centre("PER-TUM"), luz.uid)
    session.commit()
    with pytest.raises(service.ContinuityError, match="Record their consent first"):
        service.accept(cucuta, transfer, ["notes"])
    assert moved_to(luz.uid) == "COL-CUC"
    registry.record_consent(
        cucuta, person(luz.uid), registry.ConsentData(purpose="continuity", status="given", given_by="self")
    )
    service.accept(cucuta, session.get(Transfer, transfer.id), [])
    session.commit()
    assert moved_to(luz.uid) == "PER-TUM"


def test_a_refusal_needs_a_reason_and_tells_the_asking_centre_what_next(route):
    rosa, cucuta, tumbes = route["rosa"], route["cucuta"], route["tumbes"]
    transfer = service.request_record(tumbes, centre("PER-TUM"), rosa.uid)
    with pytest.raises(service.ContinuityError, match="Choose the reason"):
        service.refuse(cucuta, transfer, None, None)
    with pytest.raises(service.ContinuityError, match="Write the reason"):
        service.refuse(cucuta, transfer, "other", "  ")
    with pytest.raises(service.ContinuityError, match="Only the centre that holds"):
        service.refuse(tumbes, transfer, "no_consent", None)
    service.refuse(cucuta, transfer, "other", "La persona sigue en el albergue de Cúcuta.")
    session.commit()
    assert transfer.status == TransferStatus.REFUSED and moved_to(rosa.uid) == "COL-CUC"
    assert transfer.refusal_note_ct and b"albergue" not in transfer.refusal_note_ct
    assert [t.id for t in service.asked_by(tumbes)] == [transfer.id]
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "continuity.refused")).one()
    assert event.detail == f"{transfer.uid}:other"
    # refused, the centre may ask again
    assert service.request_record(tumbes, centre("PER-TUM"), rosa.uid).id != transfer.id


def test_a_request_from_a_hint_answers_the_same_whatever_the_record(route, make):
    gone = register(make, given_names="Ana", family_names="Gómez", date_of_birth=DOB)
    from msc.dpo import erasure

    erasure.erase(user(make, "dpo", "dpo", scope="region"), gone, "subject_request")
    session.commit()
    for uid in ("0" * 32, gone.uid, "", None):
        assert service.request_record(route["tumbes"], centre("PER-TUM"), uid) is None
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 0


# ---- two centres at once ---------------------------------------------------------------------


def test_two_centres_asking_at_once_one_wins_and_the_other_is_told_in_words(route):
    rosa, cucuta = route["rosa"], route["cucuta"]
    first = service.request_record(route["tumbes"], centre("PER-TUM"), rosa.uid)
    second = service.request_record(route["ipiales"], centre("COL-IPI"), rosa.uid)
    session.commit()
    service.accept(cucuta, first, [])
    session.commit()
    assert moved_to(rosa.uid) == "PER-TUM"
    session.refresh(second)
    assert second.status == TransferStatus.SUPERSEDED
    # an answer on its way when the first one won (its copy says pending) reads the request as it stands now
    set_committed_value(second, "status", TransferStatus.PENDING.value)
    with pytest.raises(service.ContinuityError, match="already answered"):
        service.accept(cucuta, second, [])
    # and the move itself is conditional: a request that found the record where it no longer is moves nothing
    stale = Transfer(
        beneficiary=person(rosa.uid),
        beneficiary_id=rosa.id,
        from_centre_id=centre("COL-CUC").id,
        to_centre_id=centre("COL-IPI").id,
        how="request",
    )
    assert service._move(cucuta, stale, []) is False
    session.rollback()
    assert moved_to(rosa.uid) == "PER-TUM"
    assert len(stays.route_of(rosa.id)) == 2


def test_a_move_at_the_desk_supersedes_the_other_centres_requests(route):
    rosa = route["rosa"]
    waiting = service.request_record(route["ipiales"], centre("COL-IPI"), rosa.uid)
    service.at_desk(route["tumbes"], centre("PER-TUM"), Proof(rosa.case_number, DOB))
    session.commit()
    session.refresh(waiting)
    assert waiting.status == TransferStatus.SUPERSEDED


# ---- escalation ------------------------------------------------------------------------------


def test_a_request_unanswered_for_48_hours_goes_to_the_countrys_protection_officer(route, make):
    from msc.jobs import registry as jobs

    rosa = route["rosa"]
    transfer = service.request_record(route["tumbes"], centre("PER-TUM"), rosa.uid)
    session.commit()
    colombia = user(make, "po_col", "protection_officer", scope="country", country="COL")
    peru = user(make, "po_per", "protection_officer", scope="country", country="PER")
    assert not service.may_answer(colombia, transfer) and service.to_answer(colombia).total == 0
    frozen = utcnow()
    assert service.escalate_due(frozen + dt.timedelta(hours=47)) == 0
    assert service.escalate_due(frozen + dt.timedelta(hours=49)) == 1
    session.commit()
    assert transfer.status == TransferStatus.ESCALATED
    assert service.escalate_due(frozen + dt.timedelta(hours=50)) == 0  # once
    assert [t.id for t in service.to_answer(colombia).items] == [transfer.id]
    assert service.to_answer(peru).total == 0 and not service.may_answer(peru, transfer)
    assert service.may_answer(route["cucuta"], transfer)  # the holding centre still answers
    service.accept(colombia, transfer, ["assessment"])
    session.commit()
    assert moved_to(rosa.uid) == "PER-TUM"
    assert "continuity.escalate" in {t.name for t in jobs.all_tasks()}
    from flask import current_app

    assert "continuity.escalate" in current_app.config["JOBS_SCHEDULE"]


# ---- afterwards ------------------------------------------------------------------------------


def test_the_previous_centre_keeps_a_read_only_view_and_other_centres_none(route, make):
    rosa, cucuta = route["rosa"], route["cucuta"]
    service.at_desk(route["tumbes"], centre("PER-TUM"), Proof(rosa.case_number, DOB))
    session.commit()
    rosa = person(rosa.uid)
    assert in_scope(cucuta, rosa.centre_id, rosa.id, former_read=True)
    assert not in_scope(cucuta, rosa.centre_id, rosa.id)  # never to change anything
    assert not in_scope(cucuta, rosa.centre_id, rosa.id, emergency_read=True)
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == rosa.id))
    assert not cases.may_access(cucuta, case)
    ipiales = user(make, "cw_ipi", centres=("COL-IPI",))
    assert not in_scope(ipiales, rosa.centre_id, rosa.id, former_read=True, emergency_read=True)


def test_only_the_person_asked_for_moves_not_their_household(route, make):
    rosa = route["rosa"]
    guardian = registry.ConsentData(
        purpose="registration", status="given", given_by="guardian", guardian_name="Rosa Peña"
    )
    child = person(
        make.person(
            given_names="Sofía",
            family_names="Peña",
            date_of_birth=dt.date(2016, 3, 3),
            consents=[guardian, registry.ConsentData(**{**guardian.__dict__, "purpose": "continuity"})],
            household=registry.HouseholdChoice(join_case_number=rosa.case_number, relationship="child"),
        )
    )
    service.at_desk(route["tumbes"], centre("PER-TUM"), Proof(rosa.case_number, DOB))
    session.commit()
    assert moved_to(rosa.uid) == "PER-TUM" and moved_to(child.uid) == "COL-CUC"


def test_the_route_counts_what_each_centre_provided(route, make):
    rosa = route["rosa"]
    make.hand_over(rosa.uid)
    service.at_desk(route["tumbes"], centre("PER-TUM"), Proof(rosa.case_number, DOB))
    session.commit()
    stops = service.route(person(rosa.uid))
    assert [(s.stay.centre.code, s.counts.get("handovers")) for s in stops] == [("COL-CUC", 1), ("PER-TUM", 0)]
    assert [t.status for t in service.of_person(person(rosa.uid))] == ["moved"]


@pytest.mark.skipif(not PG_URL, reason="two connections answering at the same moment: PostgreSQL")
def test_two_answers_for_one_person_at_the_same_moment_one_wins_without_a_deadlock(app, make):
    make.centre("COL-CUC", "CAM Cúcuta", "COL")
    holder = make.user("cw_cuc", "caseworker")
    manager = make.user("mgr_cuc", "centre_manager")
    tumbes = make.user("desk_tum", "reception", centres=("PER-TUM",))
    ipiales = make.user("desk_ipi", "reception", centres=("COL-IPI",))
    uid = make.person(given_names="Rosa", family_names="Peña", date_of_birth=DOB, consents=consents())
    with app.app_context():
        uids = [
            service.request_record(session.get(User, asker), centre(code), uid).uid
            for asker, code in ((tumbes, "PER-TUM"), (ipiales, "COL-IPI"))
        ]
        session.commit()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def answer(transfer_uid: str, user_id: int) -> None:
        with app.app_context():
            transfer = session.scalar(sa.select(Transfer).where(Transfer.uid == transfer_uid))
            user_row = session.get(User, user_id)
            barrier.wait()
            try:
                service.accept(user_row, transfer, [])
                session.commit()
                outcomes[transfer_uid] = "accepted"
            except service.ContinuityError as err:
                session.commit()  # as the page does: a request found superseded stays so
                outcomes[transfer_uid] = err.message

    threads = [threading.Thread(target=answer, args=pair) for pair in zip(uids, (holder, manager), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(outcomes) == 2 and list(outcomes.values()).count("accepted") == 1
    loser = next(v for v in outcomes.values() if v != "accepted")
    assert loser in (str(service.MOVED_ELSEWHERE), "This request was already answered.")
    with app.app_context():
        winner = next(k for k, v in outcomes.items() if v == "accepted")
        won = session.scalar(sa.select(Transfer).where(Transfer.uid == winner))
        assert person(uid).centre_id == won.to_centre_id
        assert len(stays.route_of(person(uid).id)) == 2
        statuses = sorted(session.scalars(sa.select(Transfer.status)))
        assert statuses == ["accepted", "superseded"]


@pytest.mark.skipif(not PG_URL, reason="two connections asking at the same moment: PostgreSQL")
def test_two_desks_showing_one_card_at_the_same_moment_one_wins(app, make):
    make.centre("COL-CUC", "CAM Cúcuta", "COL")
    desks = [
        (make.user("desk_tum", "reception", centres=("PER-TUM",)), "PER-TUM"),
        (make.user("desk_ipi", "reception", centres=("COL-IPI",)), "COL-IPI"),
    ]
    uid = make.person(given_names="Rosa", family_names="Peña", date_of_birth=DOB, consents=consents())
    with app.app_context():
        card = person(uid).card_token
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def ask(user_id: int, code: str) -> None:
        with app.app_context():
            user_row, here = session.get(User, user_id), centre(code)
            barrier.wait()
            try:
                service.at_desk(user_row, here, Proof(card_token=card))
                session.commit()
                outcomes[code] = "moved"
            except service.ContinuityError as err:
                session.rollback()
                outcomes[code] = err.message

    threads = [threading.Thread(target=ask, args=desk) for desk in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()) == sorted(["moved", str(service.MOVED_ELSEWHERE)])
    with app.app_context():
        winner = next(k for k, v in outcomes.items() if v == "moved")
        assert moved_to(uid) == winner and len(stays.route_of(person(uid).id)) == 2


def test_the_subject_access_report_names_every_centre_that_held_the_record(route, make):
    from msc.dpo import subject

    rosa = route["rosa"]
    service.at_desk(route["tumbes"], centre("PER-TUM"), Proof(rosa.case_number, DOB))
    session.commit()
    dpo = user(make, "dpo_region", "dpo", centres=(), scope="region")
    report = subject.build(dpo, person(rosa.uid))
    assert [(s["centre"], s["country"], s["how"], s["left_on"] is None) for s in report.route] == [
        ("CAM Cúcuta", "COL", "registered", False),
        ("CAM Tumbes", "PER", "moved", True),
    ]
