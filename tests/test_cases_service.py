"""Case rules, called without HTTP."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc import clock
from msc.beneficiaries.models import Beneficiary
from msc.cases import service
from msc.cases.models import CaseEvent, CaseNote
from msc.db import session
from msc.security.models import User

TODAY = clock.today("COL")


def _person(make, **kw):
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == make.person(**kw)))


def _user(make, name, role, **kw):
    return session.get(User, make.user(name, role, **kw))


@pytest.fixture
def case(ctx, make):
    cw = _user(make, "cw", "caseworker")
    return service.open_case(cw, _person(make, given_names="Ana", family_names="Rojas")), cw


def test_opening_assigns_the_caseworker_and_keeps_history(case):
    c, cw = case
    assert c.status == "open" and [u.id for u in c.caseworkers] == [cw.id]
    assert session.scalar(sa.select(CaseEvent.action).where(CaseEvent.case_id == c.id)) == "opened"
    with pytest.raises(service.CaseError):
        service.open_case(cw, c.beneficiary)


def test_status_moves_forward_closing_needs_a_reason_and_reopening_works(case):
    c, cw = case
    with pytest.raises(service.CaseError) as err:
        service.change_status(cw, c, "closed")
    assert err.value.field == "reason"
    service.change_status(cw, c, "active")
    with pytest.raises(service.CaseError):
        service.change_status(cw, c, "open")  # no way back without closing
    service.change_status(cw, c, "closed", "needs_met")
    assert c.closed_at and c.close_reason == "needs_met"
    with pytest.raises(service.CaseError):
        service.set_risk(cw, c, "high")  # closed cases are read-only
    assert service.open_case(cw, c.beneficiary) is c and c.status == "open" and c.close_reason is None


@pytest.mark.parametrize(
    "sector,specific,level",
    [
        ({}, ["trafficking"], "critical"),
        ({}, ["uasc"], "critical"),
        ({"protection": "severe"}, [], "critical"),
        ({"shelter": "severe"}, [], "high"),
        ({}, ["gbv_survivor"], "high"),
        ({"food": "some"}, [], "medium"),
        ({}, ["pregnant_lactating"], "medium"),
        ({"food": "none"}, [], "low"),
    ],
)
def test_priority_is_derived_with_reasons(sector, specific, level):
    p = service.derive_priority(sector, specific)
    assert p.level == level and p.reasons


def test_assessment_is_encrypted_sets_priority_and_activates(case):
    c, cw = case
    a = service.assess(cw, c, {"shelter": "severe", "food": "some"}, ["gbv_survivor"])
    assert c.priority == "high" and c.status == "active"
    assert a.answers["specific"] == ["gbv_survivor"] and b"gbv" not in a.answers_ct
    with pytest.raises(service.CaseError):
        service.assess(cw, c, {"shelter": "terrible"}, [])


def test_priority_override_needs_a_reason(case):
    c, cw = case
    service.assess(cw, c, {}, [])
    with pytest.raises(service.CaseError) as err:
        service.override_priority(cw, c, "high", "  ")
    assert err.value.field == "reason"
    service.override_priority(cw, c, "high", "Amenazas recibidas en el albergue")
    assert c.effective_priority == "high" and c.override_reason.startswith("Amenazas")
    service.override_priority(cw, c, None, None)
    assert c.effective_priority == "low" and c.override_reason is None


def test_assignment_only_to_caseworkers_of_the_centre(ctx, make, case):
    c, cw = case
    other = _user(make, "cw_peru", "caseworker", centres=("PER-TUM",))
    clerk = _user(make, "clerk", "reception")
    with pytest.raises(service.CaseError):
        service.assign(cw, c, [other.id])
    with pytest.raises(service.CaseError):
        service.assign(cw, c, [clerk.id])
    with pytest.raises(service.CaseError):
        service.assign(cw, c, [])
    second = _user(make, "cw2", "caseworker")
    service.assign(cw, c, [cw.id, second.id])
    assert {u.username for u in c.caseworkers} == {"cw", "cw2"}


def test_sensitive_notes_reach_only_assigned_author_and_protection_officers_in_scope(ctx, make, case):
    c, cw = case
    service.add_note(cw, c, "Refiere amenazas de la red que la trajo.", sensitive=True)
    service.add_note(cw, c, "Necesita kit de higiene.", sensitive=False)
    note = session.scalar(sa.select(CaseNote).where(CaseNote.sensitive.is_(True)))
    assert b"amenazas" not in note.body_ct
    other_cw = _user(make, "cw2", "caseworker")
    officer = _user(make, "po", "protection_officer", scope="region")
    far_officer = _user(make, "po_peru", "protection_officer", centres=("PER-TUM",))
    assert service.may_read_note(cw, note) and service.may_read_note(officer, note)
    assert not service.may_read_note(other_cw, note) and not service.may_read_note(far_officer, note)
    readable, withheld = service.visible_notes(other_cw, c)
    assert [n.body for n in readable] == ["Necesita kit de higiene."] and withheld == 1
    with pytest.raises(service.CaseError):
        service.add_note(cw, c, "   ", sensitive=False)


def test_tasks_due_and_done_and_the_home_page(ctx, make, case):
    c, cw = case
    with pytest.raises(service.CaseError) as err:
        service.add_task(cw, c, "Llamar", None, cw.id)
    assert err.value.field == "due_on"
    with pytest.raises(service.CaseError) as err:
        service.add_task(cw, c, "Llamar", TODAY, None)
    assert err.value.field == "assignee"
    today_task = service.add_task(cw, c, "Acompañar a la cita médica", TODAY, cw.id)
    overdue = service.add_task(cw, c, "Llamar a la Defensoría", TODAY, cw.id)
    overdue.due_on = TODAY - dt.timedelta(days=3)
    service.add_task(cw, c, "Revisar documentos", TODAY + dt.timedelta(days=5), cw.id)
    service.set_risk(cw, c, "high")
    h = service.home(cw, TODAY)
    assert [t.id for t in h.tasks_due_today.items] == [today_task.id]
    assert [t.id for t in h.tasks_overdue.items] == [overdue.id] and h.tasks_overdue.total == 1
    assert [x.id for x in h.cases_by_risk["high"].items] == [c.id] and h.cases_by_risk["low"].total == 0
    service.complete_task(cw, today_task)
    with pytest.raises(service.CaseError):
        service.complete_task(cw, today_task)
    assert len(service.open_tasks(c)) == 2


def _child_alone(make):
    """A 12-year-old registered alone (a new household of one), consent in their best interests."""
    return _person(
        make,
        given_names="Brayan",
        family_names="Salas",
        date_of_birth=TODAY.replace(year=TODAY.year - 12),
        given_by="best_interests",
        best_interests_note="Llegó solo.",
    )


def test_home_lists_possible_uasc_until_assessed(ctx, make):
    cw = _user(make, "cw", "caseworker")
    child = _child_alone(make)
    assert [b.id for b in service.home(cw, TODAY).uasc_waiting] == [child.id]
    c = service.open_case(cw, child)
    assert service.home(cw, TODAY).uasc_waiting  # a case alone is not an assessment
    service.assess(cw, c, {}, ["uasc"])
    assert service.home(cw, TODAY).uasc_waiting == []
    assert c.priority == "critical"


def test_the_uasc_list_reads_marks_a_batch_at_a_time_oldest_first(ctx, make, monkeypatch):
    """The database picks who may be a child alone; the encrypted mark is read batch after batch until
    the list is full, in the order they were registered, and only those listed are loaded."""
    monkeypatch.setattr(service, "_UASC_BATCH", 2)
    cw = _user(make, "cw", "caseworker")
    children = [_child_alone(make) for _ in range(6)]
    for unmarked in (children[0], children[2], children[3]):
        unmarked.possible_uasc = False  # a desk said the child is with family after all
    session.commit()
    assert [b.id for b in service.uasc_waiting(cw, TODAY, limit=2)] == [children[1].id, children[4].id]
    assert [b.id for b in service.uasc_waiting(cw, TODAY)] == [children[1].id, children[4].id, children[5].id]


def test_a_child_leaves_the_uasc_list_when_an_adult_joins_the_household(ctx, make):
    """The household remembers whether it has an adult; the list reads only households without one."""
    from msc.beneficiaries import service as people
    from msc.beneficiaries.models import Household

    cw = _user(make, "cw", "caseworker")
    child = _child_alone(make)
    adult = _person(make, given_names="Ana", family_names="Rojas")
    assert session.get(Household, child.household_id).no_adult
    assert not session.get(Household, adult.household_id).no_adult
    assert [b.id for b in service.home(cw, TODAY).uasc_waiting] == [child.id]

    make.person(
        given_names="Marta",
        family_names="Salas",
        household=people.HouseholdChoice(join_case_number=child.case_number, relationship="parent"),
    )
    session.expire_all()
    assert not session.get(Household, child.household_id).no_adult
    assert service.home(cw, TODAY).uasc_waiting == []

    # a bulk load that wrote households directly is set right from the years of birth
    session.execute(sa.update(Household).values(no_adult=True))
    assert people.mark_households_without_adult(TODAY) == 0
    session.execute(sa.update(Household).values(no_adult=False))
    session.execute(sa.update(Beneficiary).where(Beneficiary.id != child.id).values(household_id=None))
    assert people.mark_households_without_adult(TODAY) == 2  # the child's, and the adult's now empty one
    assert session.get(Household, child.household_id).no_adult
