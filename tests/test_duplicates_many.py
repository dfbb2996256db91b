"""Many people at once (an imported list): looking for their duplicates together finds what looking one by
one finds, and registering them together keeps every rule of the registration."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from msc.beneficiaries import duplicates, service
from msc.beneficiaries.models import Beneficiary, DuplicateCandidate, DuplicateDecision, Household
from msc.centres.models import Centre
from msc.centres.stays import Stay
from msc.db import session
from msc.errors import RuleError
from msc.reports import cube
from msc.security.models import AuditEvent, User

CONTINUITY = [
    service.ConsentData(purpose="registration", status="given"),
    service.ConsentData(purpose="continuity", status="given"),
]
REGISTRATION = [service.ConsentData(purpose="registration", status="given")]


def _data(given, family, dob, **fields) -> service.PersonData:
    return service.PersonData(
        given_names=given, family_names=family, sex="female", nationality="VEN", **fields, date_of_birth=dob
    )


@pytest.fixture
def registry(make):
    """People at Cúcuta (the desk's reach) and at Pacaraima (beyond it, some sharing their record)."""
    make.centre("COL-CUC", "CAM Cúcuta", "COL")
    make.centre("BRA-PAC", "CAM Pacaraima", "BRA")
    desk = make.user("jefa", "centre_manager", centres=("COL-CUC",))
    born = dt.date(1980, 12, 12)
    make.person(given_names="José Luis", family_names="Pérez Rojas", date_of_birth=born)
    make.person(given_names="Ana", family_names="Quintero", date_of_birth=born)  # born the same day only
    make.person(
        given_names="Yusmary", family_names="Castillo", date_of_birth=dt.date(1994, 3, 8), phone="+57 301 555 0101"
    )
    make.person(given_names="Wilmer", family_names="Urdaneta Paredes", date_of_birth=dt.date(1970, 1, 1))
    make.person(
        given_names="Keiber",
        family_names="Ochoa",
        date_of_birth=dt.date(1999, 9, 9),
        document_type="passport",
        document_number="P-77123",
    )
    make.person(given_names="Oriana", family_names="Marcano", date_of_birth=dt.date(2001, 2, 3))
    make.person(
        centre="BRA-PAC",
        consents=CONTINUITY,
        given_names="Deivis",
        family_names="Colmenares Añez",
        date_of_birth=dt.date(1985, 6, 1),
    )
    make.person(
        centre="BRA-PAC",
        consents=REGISTRATION,
        given_names="Yorman",
        family_names="Sifontes",
        date_of_birth=dt.date(1975, 4, 4),
    )
    return desk


SOUGHT = [
    _data("José", "Pérez", dt.date(1980, 12, 12)),  # the same day and a name alike
    _data("Jose Luis", "Peres Rojas", dt.date(1981, 1, 1)),  # the name sounding the same
    _data("Carla", "Mendoza", dt.date(1993, 1, 1), phone="301 5550101"),  # the same phone, written without +57
    _data("Wilmer", "Urdaneta Paredes", dt.date(1971, 7, 7)),  # the same names, another day
    _data("Kieber", "Ocoha", dt.date(1999, 9, 9)),  # the same day, every word with one typo
    _data("Marta", "Quispe", dt.date(1980, 12, 12)),  # the same day, nothing of the name: no one
    _data("Luis", "Vega", dt.date(1960, 1, 1), document_type="passport", document_number="p 77123"),
    _data("Deivis", "Colmenares Añez", dt.date(1985, 6, 1)),  # beyond reach, shared: a hint
    _data("Yorman", "Sifontes", dt.date(1975, 4, 4)),  # beyond reach, not shared: nothing
    _data("Oriana", "Marcano", dt.date(2001, 2, 3)),  # the same person
]


def test_looking_for_many_at_once_finds_what_looking_one_by_one_finds(app, registry):
    with app.test_request_context():
        user = session.get(User, registry)
        people = [(data, data.date_of_birth) for data in SOUGHT]
        together = duplicates.find_many(user, people, "COL")
        for (data, dob), found in zip(people, together, strict=True):
            alone = duplicates.find(user, data, dob, country="COL")
            assert [(c.beneficiary.id, c.reasons) for c in found.candidates] == [
                (c.beneficiary.id, c.reasons) for c in alone
            ], data
            hints = duplicates.regional_hints(user, data, dob, country="COL")
            assert [(h.person_id, h.reasons) for h in found.hints] == [(h.person_id, h.reasons) for h in hints]
            holder = duplicates.holder_of_document(data.document_number)
            assert (found.document.id if found.document else None) == (holder.id if holder else None)
        reasons = [[c.reasons for c in found.candidates] for found in together]
        assert reasons[0] == [["dob_name"]] and reasons[1] == [["phonetic"]] and reasons[2] == [["phone"]]
        assert reasons[3] == [["phonetic"]] and reasons[4] == [["dob_name"]] and reasons[5] == []
        assert together[6].document is not None and together[6].document.case_number
        assert [h.reasons for h in together[7].hints] == [("dob_name",)] and together[8].hints == []
        assert reasons[9] == [["dob_name"]]


def test_a_name_shared_by_many_is_read_among_its_latest_holders(app, registry, make, monkeypatch):
    monkeypatch.setattr(duplicates, "MAX_ALIKE", 2)
    for day in (1, 2, 3):
        make.person(given_names="Camila", family_names="Torres", date_of_birth=dt.date(1990, 1, day))
    with app.test_request_context():
        user = session.get(User, registry)
        found = duplicates.find_many(
            user, [(_data("Camila", "Torres", dt.date(1995, 5, 5)), dt.date(1995, 5, 5))], "COL"
        )[0]
        days = sorted(c.beneficiary.date_of_birth.day for c in found.candidates)
        assert days == [2, 3]  # the latest registered two


def _centre() -> Centre:
    return session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))


def test_registering_many_keeps_the_rules_and_refuses_only_the_rows_that_break_one(app, registry):
    with app.test_request_context():
        user, centre = session.get(User, registry), _centre()
        family = Household(centre_id=centre.id)
        kept = session.scalar(sa.select(Beneficiary).where(Beneficiary.document_number_ct.is_not(None)))
        items = [
            service.Registration(
                _data("Rosa", "Vega", dt.date(2012, 1, 1)), [], household=family, consent_unrecorded=True
            ),
            service.Registration(
                _data("Pedro", "Vega", dt.date(2014, 1, 1)),
                [],
                household=family,
                relationship="son",
                consent_unrecorded=True,
            ),
            service.Registration(_data("Elena", "Duarte", dt.date(1990, 1, 1)), []),  # no consent
            service.Registration(
                _data("Luis", "Ibarra", dt.date(1991, 1, 1), document_type="passport", document_number="X-1"),
                REGISTRATION,
            ),
            service.Registration(
                _data("Luisa", "Ibarra", dt.date(1992, 1, 1), document_type="passport", document_number="x1"),
                REGISTRATION,
            ),  # the list's own number again
            service.Registration(
                _data("Juan", "Torres", dt.date(1990, 1, 1), document_type="passport", document_number="P77123"),
                REGISTRATION,
            ),  # a record's number
            service.Registration(_data("Diego", "Salas", dt.date(3000, 1, 1)), REGISTRATION),  # born later
            service.Registration(
                _data("Oriana", "Marcano", dt.date(2001, 2, 3)),
                REGISTRATION,
                pairs={kept.id: ["phone"]},
                acknowledged={kept.id},
            ),
        ]
        results = service.register_many(user, centre, items)
        session.commit()
        assert [type(r).__name__ for r in results] == [
            "Beneficiary",
            "Beneficiary",
            "RuleError",
            "Beneficiary",
            "RuleError",
            "RuleError",
            "RuleError",
            "Beneficiary",
        ]
        assert [r.field for r in results if isinstance(r, RuleError)] == [
            "consent_registration",
            "document_number",
            "document_number",
            "date_of_birth",
        ]
        assert "already registered to case" in str(results[5].message)
        rosa, pedro = results[0], results[1]
        assert rosa.household_id == pedro.household_id and rosa.relationship_to_head == "head"
        assert pedro.relationship_to_head == "son"
        assert rosa.possible_uasc and pedro.possible_uasc and rosa.household.no_adult  # children alone
        assert rosa.consent_unrecorded and not results[3].consent_unrecorded
        oriana = results[7]
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(DuplicateCandidate)
                .where(sa.or_(DuplicateCandidate.first_id == oriana.id, DuplicateCandidate.second_id == oriana.id))
            )
            == 1
        )
        assert session.scalar(sa.select(sa.func.count()).select_from(DuplicateDecision)) == 1
        made = [r.id for r in results if isinstance(r, Beneficiary)]
        assert session.scalar(sa.select(sa.func.count()).select_from(Stay).where(Stay.beneficiary_id.in_(made))) == 4
        created = session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "beneficiary.create", AuditEvent.object_id.in_([str(i) for i in made]))
        )
        assert created == 4
        assert len({r.case_number for r in results if isinstance(r, Beneficiary)}) == 4
        assert cube.check(session) == []


def test_a_member_joining_a_household_of_the_registry_refreshes_its_flags(app, registry, make):
    child = make.person(
        given_names="Sofía",
        family_names="Castillo",
        date_of_birth=dt.date(2015, 6, 1),
        consents=[
            service.ConsentData(
                purpose="registration", status="given", given_by="best_interests", best_interests_note="alone"
            )
        ],
    )
    with app.test_request_context():
        user, centre = session.get(User, registry), _centre()
        alone = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == child))
        assert alone.possible_uasc
        adult = service.Registration(
            _data("Yolimar", "Castillo", dt.date(1990, 1, 1)),
            REGISTRATION,
            household=alone.household,
            relationship="mother",
        )
        head = service.Registration(
            _data("Otra", "Castillo", dt.date(1990, 1, 1)), REGISTRATION, household=alone.household, relationship="head"
        )
        joined, refused = service.register_many(user, centre, [adult, head])
        session.commit()
        assert isinstance(refused, RuleError) and refused.field == "relationship"
        session.refresh(alone)
        assert joined.household_id == alone.household_id and not alone.possible_uasc
        assert cube.check(session) == []
