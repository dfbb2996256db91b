"""Fund rules: versioned, immutable criteria; applications with a stored recommendation; four-eyes
decisions; disbursements within the line and the allocation, also under concurrent requests."""

import datetime as dt
import json
import threading

import pytest
import sqlalchemy as sa

from msc import clock
from msc.cases.models import Case
from msc.db import session
from msc.fund import allocations, applications, criteria_sets, decisions, disbursements
from msc.fund import criteria as crit
from msc.fund.applications import LineData
from msc.fund.common import FundError
from msc.fund.models import CriteriaSet, DecisionLine, FundAllocation
from msc.numbers import Share
from msc.security.models import User
from tests.conftest import statements_run

TRAFFICKING = {"act": ["recruitment"], "purpose": ["forced_labour"], "means": ["deception"]}


def years_ago(n: int) -> dt.date:
    today = clock.today("COL")
    return today.replace(year=today.year - n)


@pytest.fixture
def fund(ctx, make):
    """A caseworker's case, two protection officers, an allocation for Colombia."""
    people = {
        "adult": make.person(given_names="Rosa", family_names="Peña", date_of_birth=years_ago(30)),
        "child": make.person(
            given_names="Mía",
            family_names="Rojas",
            date_of_birth=years_ago(16),
            given_by="best_interests",
            best_interests_note="Sin adulto responsable.",
        ),
    }
    cw = make.user("cw", "caseworker")
    users = {
        "cw": cw,
        "po1": make.user("po1", "protection_officer"),
        "po2": make.user("po2", "protection_officer"),
        "regional": make.user("regional", "protection_officer", scope="region"),
        "clerk": make.user("clerk", "reception"),
        "admin": make.user("admin", "admin", scope="region"),
    }
    cases = {k: make.case(uid, cw)[0] for k, uid in people.items()}
    today = clock.today("COL")
    session.add(
        FundAllocation(
            country="COL",
            currency="COP",
            amount=10_000_000_00,
            starts_on=today.replace(day=1),
            ends_on=today + dt.timedelta(days=365),
        )
    )
    session.commit()
    return {
        "users": {k: session.get(User, v) for k, v in users.items()},
        "cases": {k: session.scalar(sa.select(Case).where(Case.uid == v)) for k, v in cases.items()},
        "today": today,
    }


def apply(fund, case="adult", case_type="trafficking", answers=TRAFFICKING, lines=None):
    lines = (
        lines
        if lines is not None
        else [
            LineData("medical", 2_000_000_00, "COP", "Clínica San José"),
            LineData("shelter", 1_000_000_00, "COP", None),
        ]
    )
    return applications.submit(fund["users"]["cw"], fund["cases"][case], case_type, answers, "Relato coherente.", lines)


# ---- criteria ------------------------------------------------------------------------------


def test_version_1_is_published_and_pinned(fund):
    v1 = criteria_sets.published_for(fund["today"])
    assert v1.version == 1 and v1.status == "published"
    assert json.loads(v1.definition) == crit.VERSION_1 == criteria_sets.definition_of(v1)
    # Version 1 is frozen: the migration and every stored recommendation refer to this digest.
    assert (
        v1.digest == crit.digest(crit.VERSION_1) == "6c293500821a8192e42ef1c637dbcdc9524c966f70d6e74ac4d2daec3739b84d"
    )


def test_drafts_publication_and_immutability(fund):
    users, today = fund["users"], fund["today"]
    stricter = json.loads(json.dumps(crit.VERSION_1))
    stricter["vulnerable"]["rule"]["score"]["threshold"] = 6
    with pytest.raises(FundError, match="cannot draft"):
        criteria_sets.save_draft(users["cw"], None, stricter, today)
    with pytest.raises(FundError, match="cannot be used"):
        criteria_sets.save_draft(users["admin"], None, {"trafficking": {"rule": {"eval": "1"}}}, today)
    draft = criteria_sets.save_draft(users["admin"], None, stricter, today + dt.timedelta(days=10))
    assert draft.version == 2 and draft.status == "draft"
    for who in ("admin", "po1"):  # an admin, and a protection officer at centre level
        with pytest.raises(FundError, match="regional level"):
            criteria_sets.publish(users[who], draft)
    criteria_sets.publish(users["regional"], draft)
    session.commit()
    assert criteria_sets.published_for(today).version == 1  # v2 takes effect in ten days
    assert criteria_sets.published_for(today + dt.timedelta(days=10)).version == 2
    with pytest.raises(FundError, match="cannot be changed: draft a new version"):
        criteria_sets.save_draft(users["admin"], draft, crit.VERSION_1, today)
    draft.definition = json.dumps(crit.VERSION_1)  # even behind the service's back
    with pytest.raises(FundError, match="cannot be changed"):
        session.flush()
    session.rollback()
    v1 = session.scalar(sa.select(CriteriaSet).where(CriteriaSet.version == 1))
    criteria_sets.retire(users["regional"], v1)
    session.commit()
    assert v1.status == "retired"


# ---- applications --------------------------------------------------------------------------


def test_the_recommendation_is_stored_with_its_criteria_and_reasons(fund):
    application = apply(fund)
    assert application.recommendation == "eligible"
    assert application.criteria_set.version == 1 and application.criteria_digest == crit.digest(crit.VERSION_1)
    assert application.explanation == [["act", True], ["purpose", True], ["means_or_child", True]]
    assert application.answers == TRAFFICKING and b"forced_labour" not in application.answers_ct
    assert application.evidence == "Relato coherente." and application.age_band == "18-59"
    # the whole name, not two letters: two given bytes turn up by chance in random ciphertext now and then
    provider_ct = application.lines[0].provider_ct
    assert application.lines[0].provider == "Clínica San José" and "Clínica".encode() not in provider_ct


def test_a_child_without_means_and_an_adult_without_means(fund):
    no_means = {"act": ["recruitment"], "purpose": ["forced_labour"], "means": ["none"]}
    assert apply(fund, "child", answers=no_means).recommendation == "eligible"
    assert apply(fund, "adult", answers=no_means).recommendation == "not_eligible"


def test_uasc_application_says_unaccompanied_or_separated(fund):
    application = apply(fund, "child", "uasc", {"separated_from_parents": "yes", "adult_relative_caring": "yes"})
    assert application.recommendation == "eligible" and application.uasc_kind == "separated"


@pytest.mark.parametrize(
    "lines,message",
    [
        ([LineData("medical", 0, "COP")], "more than zero"),
        ([LineData("medical", -5, "COP")], "more than zero"),
        ([LineData("medical", 100, "USD")], "pays in COP"),
        ([LineData("spa", 100, "COP")], "category"),
        ([LineData("medical", 4_000_000_00, "COP"), LineData("medical", 2_000_000_01, "COP")], "cap per case leaves"),
        ([], "at least one"),
    ],
)
def test_bad_lines_are_refused_in_words(fund, lines, message):
    with pytest.raises(FundError, match=message):
        apply(fund, lines=lines)


def test_reception_cannot_apply_and_answers_must_be_options(fund):
    with pytest.raises(FundError, match="caseworkers"):
        applications.submit(
            fund["users"]["clerk"],
            fund["cases"]["adult"],
            "trafficking",
            TRAFFICKING,
            None,
            [LineData("medical", 100, "COP")],
        )
    with pytest.raises(FundError, match="options"):
        apply(fund, answers={"act": ["kidnapping-by-aliens"]})


# ---- decisions -----------------------------------------------------------------------------


def test_four_eyes_and_partial_approval(fund):
    users = fund["users"]
    application = apply(fund)
    medical, shelter = application.lines
    users["cw"].role = "protection_officer"  # even with the role, the one who submitted may not decide
    with pytest.raises(FundError, match="another protection officer"):
        decisions.decide(users["cw"], application, "approve", {medical.id: 100}, period_ends_on=fund["today"])
    users["cw"].role = "caseworker"
    with pytest.raises(FundError, match="never raised"):
        decisions.decide(
            users["po1"],
            application,
            "approve",
            {medical.id: medical.amount + 1},
            period_ends_on=fund["today"] + dt.timedelta(days=90),
        )
    decision = decisions.decide(
        users["po1"],
        application,
        "approve",
        {medical.id: 1_500_000_00},
        period_ends_on=fund["today"] + dt.timedelta(days=90),
    )
    assert {dl.line_id: dl.approved for dl in decision.lines} == {medical.id: 1_500_000_00, shelter.id: 0}
    assert not decision.against_recommendation
    # A change of mind is a new decision that replaces it; the first stays as it was.
    with pytest.raises(FundError, match="against the recommendation"):
        decisions.decide(users["po2"], application, "reject")
    second = decisions.decide(users["po2"], application, "reject", justification="Otra fuente ya lo cubre.")
    assert second.replaces_id == decision.id and second.against_recommendation
    assert decisions.current_decision(application).id == second.id and decision.outcome == "approve"
    decision.outcome = "reject"  # even behind the service's back
    with pytest.raises(FundError, match="never changed"):
        session.flush()
    session.rollback()


def test_nobody_involved_in_the_case_decides(fund, make):
    """Attack: a protection officer who was assigned to the case (and taken off it), or who submitted an
    earlier application for the same person, decides on the application. Refused in words, and the queue
    does not offer it to them."""
    from msc.cases import service as cases

    users = fund["users"]
    assigned = session.get(User, make.user("cw2", "caseworker"))
    earlier = session.get(User, make.user("cw3", "caseworker"))
    adult = fund["cases"]["adult"]
    cases.assign(users["cw"], adult, [users["cw"].id, assigned.id])
    cases.assign(users["cw"], adult, [users["cw"].id])  # taken off the case before deciding: still involved
    first = applications.submit(
        earlier, adult, "trafficking", TRAFFICKING, None, [LineData("medical", 100_000_00, "COP", None)]
    )
    decisions.decide(users["po1"], first, "reject", justification="Otra fuente ya lo cubre.")
    application = apply(fund)
    other = apply(fund, "child")  # a person neither of them is involved with
    session.commit()
    for user in (assigned, earlier):
        user.role = "protection_officer"  # both now decide in the centre
    session.flush()
    for user, words in ((assigned, "work or worked on this case"), (earlier, "earlier application for this person")):
        assert not decisions.may_decide(user, application)
        assert application not in applications.awaiting_decision(user)
        with pytest.raises(FundError, match=words):
            decisions.decide(user, application, "reject", justification="No.")
        assert decisions.may_decide(user, other) and other in applications.awaiting_decision(user)
    assert decisions.may_decide(users["po1"], application)
    assert application in applications.awaiting_decision(users["po1"])
    assert decisions.current_decision(application) is None
    decisions.decide(assigned, other, "reject", justification="Otra fuente ya lo cubre.")


def test_deciding_against_a_not_eligible_recommendation_needs_a_reason(fund):
    application = apply(fund, answers={"act": ["recruitment"], "purpose": ["none"], "means": ["none"]})
    assert application.recommendation == "not_eligible"
    line = application.lines[0]
    with pytest.raises(FundError, match="write why"):
        decisions.decide(
            fund["users"]["po1"],
            application,
            "approve",
            {line.id: 100},
            period_ends_on=fund["today"] + dt.timedelta(days=30),
        )
    assert decisions.decide(fund["users"]["po1"], application, "reject").against_recommendation is False


# ---- disbursements -------------------------------------------------------------------------


def _approved(fund, amount=1_500_000_00):
    application = apply(fund)
    decision = decisions.decide(
        fund["users"]["po1"],
        application,
        "approve",
        {application.lines[0].id: amount},
        period_ends_on=fund["today"] + dt.timedelta(days=90),
    )
    session.commit()
    return next(dl for dl in decision.lines if dl.approved)


def test_disbursements_stay_within_the_line_and_the_allocation(fund):
    po, today = fund["users"]["po2"], fund["today"]
    line = _approved(fund)
    allocation = session.get(FundAllocation, line.allocation_id)
    assert allocations.balance(allocation).committed == 1_500_000_00
    pay = disbursements.disburse(
        po, line, amount=1_000_000_00, paid_on=today, payee="Clínica San José", reference="F-1"
    )
    with pytest.raises(FundError, match="more than is left on this approved line: COP500,000"):
        disbursements.disburse(po, line, amount=600_000_00, paid_on=today, payee="Clínica", reference="F-2")
    b = allocations.balance(allocation)
    assert (b.allocated, b.committed, b.disbursed, b.remaining) == (
        10_000_000_00,
        500_000_00,
        1_000_000_00,
        8_500_000_00,
    )
    allocation.amount = 1_200_000_00  # a smaller allocation: the allocation's limit speaks first
    session.commit()
    with pytest.raises(FundError, match="allocation has only COP200,000 left"):
        disbursements.disburse(po, line, amount=300_000_00, paid_on=today, payee="Clínica", reference="F-3")
    disbursements.void_disbursement(po, pay, "Factura duplicada")
    assert pay.voided_at is not None and pay.void_reason == "Factura duplicada"
    assert allocations.balance(allocation).disbursed == 0 and session.get(DecisionLine, line.id).disbursed == 0
    with pytest.raises(FundError, match="already voided"):
        disbursements.void_disbursement(po, pay, "otra vez")


@pytest.mark.parametrize(
    "field,kw,message",
    [
        ("amount", {"amount": 0}, "more than zero"),
        ("paid_on", {"paid_on": None}, "day it was paid"),
        ("payee", {"payee": " "}, "payee"),
        ("reference", {"reference": ""}, "reference"),
    ],
)
def test_bad_disbursements_are_refused(fund, field, kw, message):
    line = _approved(fund)
    args = {"amount": 100, "paid_on": fund["today"], "payee": "Clínica", "reference": "F-1", **kw}
    with pytest.raises(FundError, match=message) as err:
        disbursements.disburse(fund["users"]["po2"], line, **args)
    assert err.value.field == field


def _race(app, po_id: int, today, payments: list[tuple[int, str]], amount: int) -> list[str]:
    """Two desks pay at the same moment, each with its own connection; what each was told."""
    barrier = threading.Barrier(len(payments), timeout=20)
    outcomes = []

    def pay(line_id, reference):
        with app.app_context():
            user, line = session.get(User, po_id), session.get(DecisionLine, line_id)
            line.decision.application.beneficiary  # noqa: B018 - loaded before the race
            session.rollback()
            barrier.wait()
            try:
                disbursements.disburse(
                    user,
                    session.get(DecisionLine, line_id),
                    amount=amount,
                    paid_on=today,
                    payee="Clínica",
                    reference=reference,
                )
                session.commit()
                outcomes.append("ok")
            except FundError as err:
                session.rollback()
                outcomes.append(err.message)

    threads = [threading.Thread(target=pay, args=payment) for payment in payments]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    session.rollback()
    session.expire_all()
    return sorted(outcomes)


def test_two_payments_race_for_the_last_of_the_line(app, fund):
    line_id = _approved(fund, amount=1_000_000_00).id
    po_id, today = fund["users"]["po2"].id, fund["today"]
    session.commit()  # the test's own transaction must not hold the database while the two desks race
    outcomes = _race(app, po_id, today, [(line_id, "F-A"), (line_id, "F-B")], 700_000_00)
    assert outcomes == ["That is more than is left on this approved line: COP300,000.", "ok"], outcomes
    line = session.get(DecisionLine, line_id)
    assert line.disbursed == 700_000_00
    assert session.get(FundAllocation, line.allocation_id).disbursed == 700_000_00


# ---- set-up --------------------------------------------------------------------------------


def test_allocations_and_caps(fund):
    admin, today = fund["users"]["admin"], fund["today"]
    with pytest.raises(FundError, match="regional level"):
        allocations.save_allocation(
            fund["users"]["cw"], None, country="PER", currency="PEN", amount=100, starts_on=today, ends_on=today
        )
    with pytest.raises(FundError, match="pays in PEN"):
        allocations.save_allocation(
            admin, None, country="PER", currency="USD", amount=100, starts_on=today, ends_on=today
        )
    with pytest.raises(FundError, match="end is not before"):
        allocations.save_allocation(
            admin,
            None,
            country="PER",
            currency="PEN",
            amount=100,
            starts_on=today,
            ends_on=today - dt.timedelta(days=1),
        )
    peru = allocations.save_allocation(
        admin,
        None,
        country="PER",
        currency="PEN",
        amount=50_000_00,
        starts_on=today,
        ends_on=today + dt.timedelta(days=90),
    )
    assert allocations.balance(peru).remaining == 50_000_00
    line = _approved(fund)
    disbursements.disburse(
        fund["users"]["po2"], line, amount=1_000_000_00, paid_on=today, payee="Clínica", reference="F-1"
    )
    colombia = session.get(FundAllocation, line.allocation_id)
    with pytest.raises(FundError, match="already paid from this allocation"):
        allocations.save_allocation(
            admin,
            colombia,
            country="COL",
            currency="COP",
            amount=999_999_99,
            starts_on=colombia.starts_on,
            ends_on=colombia.ends_on,
        )
    assert allocations.set_cap(admin, "legal", "COP", 1_000_00).amount == 1_000_00
    with pytest.raises(FundError, match="more than zero"):
        allocations.set_cap(admin, "legal", "COP", 0)


# ---- oversight -----------------------------------------------------------------------------


def _decided(fund, n, outcome="approve", case="adult"):
    out = []
    for _ in range(n):
        application = apply(fund, case=case, lines=[LineData("basic_needs", 1000, "COP")])
        approved = {application.lines[0].id: 1000} if outcome == "approve" else None
        out.append(
            decisions.decide(
                fund["users"]["po1"],
                application,
                outcome,
                approved,
                justification=None if outcome == "approve" else "Otra agencia ya lo cubre.",
                period_ends_on=fund["today"] + dt.timedelta(days=20),
            )
        )
    session.commit()
    return out


def test_register_and_consistency(fund):
    from msc.fund import oversight

    _decided(fund, 4)
    _decided(fund, 2, "reject")
    po2 = fund["users"]["po2"]
    everything = oversight.register(po2, oversight.RegisterFilter())
    assert len(everything) == 6
    assert len(oversight.register(po2, oversight.RegisterFilter(outcome="reject"))) == 2
    assert len(oversight.register(po2, oversight.RegisterFilter(criteria_version=1, country="COL"))) == 6
    assert oversight.register(po2, oversight.RegisterFilter(country="PER")) == []
    with pytest.raises(FundError, match="Only protection officers"):
        oversight.register(fund["users"]["cw"], oversight.RegisterFilter())
    [row] = oversight.consistency(po2)
    assert (row.key, row.applications, row.decided, row.approved, row.against) == ("COL-CUC", 6, 6, 4, 2)
    assert row.shown()[:6] == ("COL-CUC", 6, 6, "<5", Share(4, 6, 0), Share(2, 6, 0))
    [country] = oversight.consistency(po2, by="country")
    assert country.key == "COL" and country.median_days is not None and country.median_days < 1


def test_samples_are_reproducible_and_audited(fund):
    from msc.fund import oversight

    _decided(fund, 10)
    po2, today = fund["users"]["po2"], fund["today"]
    first = oversight.sampled_ids(po2, today - dt.timedelta(days=1), today + dt.timedelta(days=1), 30, seed=42)
    again = oversight.sampled_ids(po2, today - dt.timedelta(days=1), today + dt.timedelta(days=1), 30, seed=42)
    other = oversight.sampled_ids(po2, today - dt.timedelta(days=1), today + dt.timedelta(days=1), 30, seed=7)
    assert first == again and len(first) == 3 and other != first
    sample = oversight.draw_sample(po2, today - dt.timedelta(days=1), today + dt.timedelta(days=1), 30, seed=42)
    assert sorted(i.decision_id for i in sample.items) == first
    with pytest.raises(FundError, match="percentage"):
        oversight.draw_sample(po2, today, today, 0)
    item = sample.items[0]
    with pytest.raises(FundError, match="You made this decision"):
        oversight.record_finding(fund["users"]["po1"], item, "agrees", None)
    with pytest.raises(FundError, match="Write what you found"):
        oversight.record_finding(po2, item, "disagrees", " ")
    oversight.record_finding(po2, item, "disagrees", "El relato no sustenta el medio.")
    oversight.record_finding(po2, sample.items[1], "agrees", None)
    assert item.note == "El relato no sustenta el medio." and b"relato" not in item.note_ct
    assert oversight.findings_by_centre(sample) == {
        "COL-CUC": {"sampled": 3, "agrees": 1, "disagrees": 1, "follow_up": 0, "open": 1}
    }


def test_reassessment_queue(fund):
    from msc.fund import oversight

    today = fund["today"]
    [soon] = _decided(fund, 1)
    child = apply(
        fund,
        case="child",
        case_type="uasc",
        answers={"separated_from_parents": "yes", "adult_relative_caring": "no"},
        lines=[LineData("basic_needs", 1000, "COP")],
    )
    person = child.beneficiary
    person.date_of_birth = today.replace(year=today.year - 18) + dt.timedelta(days=10)  # 18 in ten days
    later = decisions.decide(
        fund["users"]["po1"], child, "approve", {child.lines[0].id: 1000}, period_ends_on=today + dt.timedelta(days=200)
    )
    session.commit()
    queue = oversight.reassessment_queue(fund["users"]["po2"], today)
    assert [(r.decision.id, r.reason) for r in queue] == [(later.id, "turns_18"), (soon.id, "period_ends")]


def test_two_payments_race_for_the_last_of_the_allocation(app, fund):
    lines = [_approved(fund, amount=800_000_00).id for _ in range(2)]
    allocation = session.get(FundAllocation, session.get(DecisionLine, lines[0]).allocation_id)
    allocation.amount = 1_000_000_00
    po_id, today = fund["users"]["po2"].id, fund["today"]
    session.commit()
    outcomes = _race(app, po_id, today, [(line_id, f"F-{n}") for n, line_id in enumerate(lines)], 800_000_00)
    assert outcomes == ["The country's allocation has only COP200,000 left.", "ok"], outcomes
    assert session.get(FundAllocation, allocation.id).disbursed == 800_000_00
    assert sorted(session.get(DecisionLine, i).disbursed for i in lines) == [0, 800_000_00]


def test_household_data_suggests_the_childs_care(fund, make):
    from msc.beneficiaries import service as reception
    from msc.beneficiaries.models import Beneficiary
    from msc.cases import service as cases

    child_case = fund["cases"]["child"]
    # Registered alone: no adult in the household.
    assert applications.household_answers(child_case, fund["today"]) == {
        "separated_from_parents": "yes",
        "adult_relative_caring": "no",
    }
    uncle = make.person(given_names="Luis", family_names="Rojas", sex="male", date_of_birth=years_ago(40))
    head = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uncle))
    nephew_uid = make.person(
        given_names="Teo",
        family_names="Rojas",
        sex="male",
        date_of_birth=years_ago(17),
        given_by="guardian",
        guardian_name="Luis Rojas",
        household=reception.HouseholdChoice(join_case_number=head.case_number, relationship="other_relative"),
    )
    nephew = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == nephew_uid))
    case = cases.open_case(fund["users"]["cw"], nephew)
    # A 17-year-old with an adult uncle: separated, not unaccompanied.
    assert applications.household_answers(case, fund["today"]) == {
        "separated_from_parents": "yes",
        "adult_relative_caring": "yes",
    }
    daughter_uid = make.person(
        given_names="Ana",
        family_names="Rojas",
        date_of_birth=years_ago(10),
        given_by="guardian",
        guardian_name="Luis Rojas",
        household=reception.HouseholdChoice(join_case_number=head.case_number, relationship="child"),
    )
    daughter = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == daughter_uid))
    assert applications.household_answers(cases.open_case(fund["users"]["cw"], daughter), fund["today"]) == {
        "separated_from_parents": "no",
        "adult_relative_caring": "no",
    }


def test_a_caseworkers_applications_are_listed_without_reading_what_the_list_does_not_show(fund):
    """The home's list of a caseworker's applications reads their people and cases once, and neither the
    people's needs nor the centres of the caseworkers and of those who decided."""
    users = fund["users"]
    first, second = apply(fund), apply(fund, case="child", case_type="uasc", answers={})
    medical = first.lines[0]
    decisions.decide(
        users["po1"], first, "approve", {medical.id: 100}, period_ends_on=fund["today"] + dt.timedelta(days=90)
    )
    session.commit()
    caseworker = session.get(User, users["cw"].id)
    session.expunge_all()  # a new request: nothing of the above in hand
    with statements_run(session.get_bind()) as seen:
        listed = applications.submitted_by(caseworker)
        shown = [(a.beneficiary.case_number, a.case.uid, d.outcome if d else None) for a, d in listed]
    assert [uid for _, uid, _ in shown] == [second.case.uid, first.case.uid]
    assert [outcome for _, _, outcome in shown] == [None, "approve"]
    assert not [s for s in seen if "FROM specific_needs" in s or "FROM user_centres" in s]
    assert len([s for s in seen if "FROM beneficiaries" in s]) == 1
