"""Merging two records of one person: every row moves and stays readable, counts and search stay right,
the merge is undone exactly until the kept record changes, and every rule says no in words."""

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from msc.beneficiaries import duplicates, index, merge, service
from msc.beneficiaries.models import (
    Beneficiary,
    BeneficiaryChange,
    BeneficiaryMerge,
    BlindIndexEntry,
    DuplicateCandidate,
)
from msc.crypto.repad import encrypted_columns
from msc.db import Base, session
from msc.security.audit import AuditEvent
from msc.security.models import User
from tests.conftest import csrf
from tests.test_access import login_as, world  # noqa: F401 (the fixture)


def _person(uid: str) -> Beneficiary:
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))


def _number(app, uid: str) -> str:
    with app.app_context():
        return _person(uid).case_number


def _twins(app, make, first: dict, second: dict) -> tuple[str, str]:
    """Two records of one person, registered as if the desk never saw the first (the factory acknowledges
    the possible duplicate, which remembers the pair as different people: that answer is taken back), with
    the pair kept among the possible duplicates."""
    from msc.beneficiaries.models import DuplicateDecision

    keep_uid, absorb_uid = make.person(**first), make.person(**second)
    clerk = make.user("desk", "reception")
    with app.app_context():
        session.execute(sa.delete(DuplicateDecision))
        service.check_duplicates_again(session.get(User, clerk), _person(absorb_uid))
        session.commit()
    return keep_uid, absorb_uid


def _manager(make, **kw) -> int:
    return make.user("manager", "centre_manager", **kw)


def _pointing_at(person_id: int) -> dict[str, int]:
    """How many rows of each table point at a person (every foreign key to beneficiaries.id)."""
    counts = {}
    for table, column in merge.person_links():
        n = session.scalar(sa.select(sa.func.count()).select_from(table).where(column == person_id))
        if n:
            counts[table.name] = n
    return counts


def _every_encrypted_value_reads() -> int:
    """Read every encrypted field of every row through its model: a value left under the wrong key fails."""
    read = 0
    session.expire_all()
    for model, field, _column in encrypted_columns():
        for row in session.scalars(sa.select(model)):
            field.__get__(row)
            read += 1
    return read


def _counts_agree() -> None:
    from msc.reports import cube

    cube.write_pending(session)
    assert cube.check(session) == []


def _people_counted() -> int:
    from msc.reports.models import ReportCount

    return session.scalar(sa.select(sa.func.sum(ReportCount.n)).where(ReportCount.topic == "people")) or 0


def test_a_merge_moves_every_row_keeps_it_readable_and_undo_puts_back_exactly(app, make, world):  # noqa: F811
    manager = _manager(make)
    with app.app_context():
        keep, absorb = _person(world["here"]), _person(world["here2"])
        before_keep, before_absorb = _pointing_at(keep.id), _pointing_at(absorb.id)
        assert {"consents", "cases", "placements", "beneficiary_changes"} <= set(before_absorb)
        people = _people_counted()
        record = merge.merge(session.get(User, manager), keep, absorb, "Registrada dos veces en 2025.")
        session.commit()

        keep, absorb = _person(world["here"]), _person(world["here2"])
        assert absorb.merged_into_id == keep.id and absorb.full_name == "Luz Marín"  # kept, encrypted as before
        assert keep.full_name == "Ana Rojas"  # the kept record's fields do not change
        after = _pointing_at(keep.id)
        for name, n in before_absorb.items():
            assert after.get(name, 0) >= before_keep.get(name, 0) + n - (name == "beneficiary_changes"), name
        assert set(_pointing_at(absorb.id)) <= {"beneficiary_changes"}  # only its "merged into" entry
        moved = json.loads(record.moved)
        assert moved["applications"] and "fund_disbursements" in moved["reencrypted"]
        assert "case_tasks" in moved["reencrypted"] and "placements" in moved["reencrypted"]
        assert _every_encrypted_value_reads() > 0
        from msc.fund.models import Application, subject_tag

        application = session.scalar(sa.select(Application).where(Application.subject_tag == subject_tag(keep)))
        assert application is not None and application.beneficiary.id == keep.id
        assert application.answers is not None  # read under the kept person's key
        assert record.reason == "Registrada dos veces en 2025."
        _counts_agree()
        assert _people_counted() == people - 1
        assert not session.scalar(sa.select(BlindIndexEntry).where(BlindIndexEntry.beneficiary_id == absorb.id))

        merge.unmerge(session.get(User, manager), session.get(BeneficiaryMerge, record.id))
        session.commit()
        keep, absorb = _person(world["here"]), _person(world["here2"])
        assert absorb.merged_into_id is None
        assert _pointing_at(absorb.id) == {
            **before_absorb,
            "beneficiary_changes": before_absorb["beneficiary_changes"] + 2,
        }
        assert _pointing_at(keep.id) == {**before_keep, "beneficiary_changes": before_keep["beneficiary_changes"] + 2}
        assert _every_encrypted_value_reads() > 0
        _counts_agree()
        assert _people_counted() == people
        assert session.scalar(sa.select(BlindIndexEntry).where(BlindIndexEntry.beneficiary_id == absorb.id))


def test_search_finds_the_kept_record_never_the_absorbed_and_its_number_leads_to_the_kept(app, make):
    from msc.beneficiaries import search

    manager = _manager(make)
    keep_uid, absorb_uid = _twins(
        app,
        make,
        dict(given_names="Yulimar", family_names="Briceño Salas", date_of_birth=dt.date(1991, 4, 2)),
        dict(given_names="Yulimar", family_names="Briseño Salas", date_of_birth=dt.date(1991, 4, 2)),
    )
    with app.app_context():
        user = session.get(User, manager)
        found = search.search(user, "Yulimar Salas")
        assert {h.person.uid for h in found.hits} == {keep_uid, absorb_uid}
        absorb_number = _person(absorb_uid).case_number
        merge.merge(user, _person(keep_uid), _person(absorb_uid), "Mismo documento en papel.")
        session.commit()
        for query in ("Yulimar Salas", "Yulimar Briseño", "Briseño"):
            assert absorb_uid not in {h.person.uid for h in search.search(user, query).hits}, query
        assert keep_uid in {h.person.uid for h in search.search(user, "Yulimar Salas").hits}
        assert search.search(user, absorb_number).exact.uid == keep_uid
        index.rebuild_index()  # a rebuild (or an index-key rotation's batches) leaves the merged record out
        absorbed_id = _person(absorb_uid).id
        assert not session.scalar(sa.select(BlindIndexEntry).where(BlindIndexEntry.beneficiary_id == absorbed_id))
        assert absorb_uid not in {h.person.uid for h in search.search(user, "Yulimar Briseño").hits}
        assert duplicates.stored(user, _person(keep_uid).id) == []


def test_the_absorbed_card_or_number_proves_the_person_and_leads_to_the_kept_record(app, make):
    """At a desk of another centre (continuity) or in an emergency access, the proof the person carries from
    before the merge still works, and it opens the record that is kept — never the absorbed one. An export
    lists the person once."""
    from msc.beneficiaries import proof
    from msc.dpo import exports

    manager = _manager(make)
    dob = dt.date(1987, 9, 30)
    keep_uid, absorb_uid = _twins(
        app,
        make,
        dict(given_names="Dayana", family_names="Mora", date_of_birth=dob),
        dict(given_names="Dayana", family_names="Mora", date_of_birth=dob),
    )
    with app.app_context():
        absorbed = _person(absorb_uid)
        number, token = absorbed.case_number, absorbed.card_token
        merge.merge(session.get(User, manager), _person(keep_uid), absorbed, "Misma persona.")
        session.commit()
        by_number = proof.Proof(number, dob)
        assert proof.matching(by_number, proof.checked(by_number)).uid == keep_uid
        by_card = proof.Proof(card_token=token)
        assert proof.matching(by_card, proof.checked(by_card)).uid == keep_uid
        wrong_day = proof.Proof(number, dob.replace(day=29))
        assert proof.matching(wrong_day, proof.checked(wrong_day)) is None
        export, _secret = exports.create(session.get(User, make.user("po", "protection_officer")), "internal_audit")
        assert export.rows == 1


def test_the_needs_move_and_the_counts_agree_with_the_recount(app, make):
    manager = _manager(make)
    keep_uid, absorb_uid = _twins(
        app,
        make,
        dict(given_names="Rosa", family_names="Peña", needs=["pregnant_lactating"]),
        dict(given_names="Rosa", family_names="Pena", needs=["disability", "pregnant_lactating"]),
    )
    with app.app_context():
        merge.merge(session.get(User, manager), _person(keep_uid), _person(absorb_uid), "Misma persona.")
        session.commit()
        assert set(_person(keep_uid).need_codes) == {"disability", "pregnant_lactating"}
        _counts_agree()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("self", "cannot be merged with itself"),
        ("no_reason", "needs a few words"),
        ("reach", "within your reach"),
        ("already", "already merged"),
        ("different", "marked as different people"),
        ("role", "Only a centre manager"),
        ("household", "household with other people"),
        ("two_cases", "Both records have a case"),
    ],
)
def test_each_rule_says_no_in_words(app, make, case, message):
    manager = _manager(make)
    clerk = make.user("clerk", "reception")
    keep_uid, other_uid = _twins(
        app,
        make,
        dict(given_names="Ana", family_names="Rojas"),
        dict(given_names="Ana", family_names="Rojas", centre="PER-TUM" if case == "reach" else "COL-CUC"),
    )
    if case == "household":
        make.person(
            given_names="Pedro",
            family_names="Rojas",
            household=service.HouseholdChoice(join_case_number=_number(app, other_uid), relationship="child"),
        )
    if case == "two_cases":
        cw = make.user("cw", "caseworker")
        make.case(keep_uid, cw)
        make.case(other_uid, cw)
    with app.app_context():
        user = session.get(User, clerk if case == "role" else manager)
        keep, other = _person(keep_uid), _person(other_uid)
        if case == "already":
            third = _person(make.person(given_names="Ana", family_names="Rojas", date_of_birth=dt.date(1980, 1, 1)))
            merge.merge(user, third, other, "Duplicado.", confirm_different=True)
            session.commit()
            other = _person(other_uid)
        if case == "different":
            service.remember_not_same(user, keep.id, other.id)
            session.commit()
        with pytest.raises(merge.MergeError, match=message):
            merge.merge(user, keep, keep if case == "self" else other, "" if case == "no_reason" else "Duplicado.")
        session.rollback()
        if case == "different":  # the manager's word that they are the same person lets it through
            merge.merge(user, _person(keep_uid), _person(other_uid), "Duplicado.", confirm_different=True)
            session.commit()


def test_undo_is_refused_once_the_kept_record_changed_or_another_merge_happened(app, make):
    manager = _manager(make)
    keep_uid, absorb_uid = _twins(
        app, make, dict(given_names="Ana", family_names="Rojas"), dict(given_names="Ana", family_names="Roja")
    )
    third_uid = make.person(given_names="Ana", family_names="Rojas Díaz")
    with app.app_context():
        user = session.get(User, manager)
        record = merge.merge(user, _person(keep_uid), _person(absorb_uid), "Duplicado.")
        session.commit()
        assert merge.undo_refusal(record) is None
        service.record_consent(user, _person(keep_uid), service.ConsentData(purpose="followup_contact", status="given"))
        session.commit()
        with pytest.raises(merge.MergeError, match="changed after the merge"):
            merge.unmerge(user, record)
        session.rollback()
        session.execute(sa.delete(BeneficiaryChange).where(BeneficiaryChange.action == "consent"))
        merge.merge(user, _person(keep_uid), _person(third_uid), "Duplicado.", confirm_different=True)
        session.commit()
        assert "Another merge" in merge.undo_refusal(session.get(BeneficiaryMerge, record.id))


def test_two_managers_merging_the_same_pair_at_once_one_wins(app, make):
    manager = _manager(make)
    other_manager = make.user("manager2", "centre_manager")
    keep_uid, absorb_uid = _twins(
        app, make, dict(given_names="Ana", family_names="Rojas"), dict(given_names="Ana", family_names="Roja")
    )
    with app.app_context():
        # the second manager's page read both records before the first merge committed
        late_keep, late_absorb = _person(absorb_uid), _person(keep_uid)
        session.commit()
        with app.app_context():  # the first manager's request
            merge.merge(session.get(User, manager), _person(keep_uid), _person(absorb_uid), "Duplicado.")
            session.commit()
        assert late_keep.merged_into_id is None  # what the second page read
        with pytest.raises(merge.MergeError, match="just merged by someone else"):
            merge.merge(session.get(User, other_manager), late_keep, late_absorb, "Duplicado.")
        session.rollback()
        assert session.scalar(sa.select(sa.func.count()).select_from(BeneficiaryMerge)) == 1
        assert session.scalar(sa.select(sa.func.count()).where(Beneficiary.merged_into_id.is_not(None))) == 1


def test_nothing_personal_in_the_merge_row_the_history_or_the_audit(app, make):
    manager = _manager(make)
    keep_uid, absorb_uid = _twins(
        app,
        make,
        dict(given_names="Yulimar", family_names="Briceño", phone="+57 300 555 1234"),
        dict(given_names="Yulimar", family_names="Briseño", phone="+57 300 555 1234"),
    )
    with app.app_context():
        merge.merge(session.get(User, manager), _person(keep_uid), _person(absorb_uid), "Vive en Villa del Rosario")
        session.commit()
        row = session.execute(sa.select(Base.metadata.tables["beneficiary_merges"])).one()
        dumped = repr(tuple(row)) + repr(session.execute(sa.select(AuditEvent.detail, AuditEvent.action)).all())
        dumped += repr(session.execute(sa.select(BeneficiaryChange.action, BeneficiaryChange.fields)).all())
        # the phone's digits as a run: three digits alone also turn up in a timestamp's microseconds
        for secret in ("Yulimar", "Brice", "Brise", "Villa", "Rosario", "3005551234", "555 1234"):
            assert secret not in dumped


def test_pairs_of_possible_duplicates_are_removed_and_undo_brings_them_back(app, make):
    manager = _manager(make)
    keep_uid, absorb_uid = _twins(
        app,
        make,
        dict(given_names="Ana", family_names="Rojas", date_of_birth=dt.date(1990, 5, 17)),
        dict(given_names="Ana", family_names="Rojas", date_of_birth=dt.date(1990, 5, 17)),
    )
    with app.app_context():
        pairs = session.scalar(sa.select(sa.func.count()).select_from(DuplicateCandidate))
        assert pairs >= 1
        record = merge.merge(session.get(User, manager), _person(keep_uid), _person(absorb_uid), "Duplicado.")
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(DuplicateCandidate)) == 0
        merge.unmerge(session.get(User, manager), record)
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(DuplicateCandidate)) == pairs


# ---- pages ------------------------------------------------------------------------------------


def test_the_manager_merges_from_the_profile_and_undoes_it(app, make):
    manager = _manager(make)
    keep_uid, absorb_uid = _twins(
        app,
        make,
        dict(given_names="Ana", family_names="Rojas", date_of_birth=dt.date(1990, 5, 17)),
        dict(given_names="Ana", family_names="Rojas", date_of_birth=dt.date(1990, 5, 17)),
    )
    client = app.test_client()
    login_as(app, client, manager)
    page = client.get(f"/b/{keep_uid}").get_data(as_text=True)
    assert f"/b/{keep_uid}/merge/{absorb_uid}" in page and "Merge these records" in page
    assert "Not the same person" not in page  # a desk's answer, not the manager's (no permission to edit)
    confirm = client.get(f"/b/{keep_uid}/merge/{absorb_uid}")
    assert confirm.status_code == 200 and "Why these records are the same person" in confirm.get_data(as_text=True)
    token = csrf(client, f"/b/{keep_uid}/merge/{absorb_uid}")
    res = client.post(f"/b/{keep_uid}/merge/{absorb_uid}", data={"csrf_token": token, "reason": ""})
    assert res.status_code == 422 and "needs a few words" in res.get_data(as_text=True)
    res = client.post(f"/b/{keep_uid}/merge/{absorb_uid}", data={"csrf_token": token, "reason": "Duplicado."})
    assert res.status_code == 302
    with app.app_context():
        absorb_number = _person(absorb_uid).case_number
    kept_page = client.get(f"/b/{keep_uid}").get_data(as_text=True)
    assert f"Merged from {absorb_number}" in kept_page and "Manager" in kept_page and "Undo" in kept_page
    res = client.get(f"/b/{absorb_uid}")
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/b/{keep_uid}")
    assert client.get(f"/b/{absorb_uid}/merge/{keep_uid}").status_code == 404
    res = client.post(f"/b/{keep_uid}/unmerge", data={"csrf_token": token})
    assert res.status_code == 302
    assert client.get(f"/b/{absorb_uid}").status_code == 200
    assert client.post(f"/b/{keep_uid}/unmerge", data={"csrf_token": token}).status_code == 404


def test_a_clerk_sees_no_merge_and_may_not_merge(app, make):
    clerk = make.user("clerk", "reception")
    keep_uid, absorb_uid = _twins(
        app,
        make,
        dict(given_names="Ana", family_names="Rojas", date_of_birth=dt.date(1990, 5, 17)),
        dict(given_names="Ana", family_names="Rojas", date_of_birth=dt.date(1990, 5, 17)),
    )
    client = app.test_client()
    login_as(app, client, clerk)
    assert "Merge these records" not in client.get(f"/b/{keep_uid}").get_data(as_text=True)
    assert client.get(f"/b/{keep_uid}/merge/{absorb_uid}").status_code == 403


@pytest.mark.parametrize(("language", "words"), [("es", "Fusionar"), ("pt_BR", "Mesclar")])
def test_the_merge_page_speaks_the_desk_language(app, make, language, words):
    manager = make.user("manager", "centre_manager", locale=language)
    keep_uid, absorb_uid = _twins(
        app, make, dict(given_names="Ana", family_names="Rojas"), dict(given_names="Ana", family_names="Roja")
    )
    client = app.test_client()
    login_as(app, client, manager)
    assert words in client.get(f"/b/{keep_uid}/merge/{absorb_uid}").get_data(as_text=True)
