"""Case numbers are random (not a counter), short, forgiving to type, and carry a check character that
catches a mistyped character before anything is looked up."""

import datetime as dt
import itertools

import pytest
import sqlalchemy as sa

from msc.beneficiaries import casenumber, service
from msc.beneficiaries.models import Beneficiary
from msc.db import session


def test_a_new_number_is_the_centre_code_eight_random_characters_and_a_check():
    numbers = {casenumber.new("COL-CUC") for _ in range(2000)}
    assert len(numbers) == 2000  # 40 random bits: no clash in a small sample
    for number in itertools.islice(numbers, 200):
        code, group1, group2, check = number.rsplit("-", 3)
        assert code == "COL-CUC" and len(group1) == len(group2) == 4 and len(check) == 1
        assert set(group1 + group2 + check) <= set(casenumber.ALPHABET)
        assert not set(group1 + group2 + check) & set("ILOU")
        assert casenumber.parse(number) == casenumber.CaseNumber(number)
    assert len(casenumber.new("COL-ABCDEFGH")) <= 32  # fits the column with the longest centre code


def test_typing_is_forgiving():
    number = casenumber.new("PER-TUM")
    body = number[len("PER-TUM-") :]
    for typed in (
        number.lower(),
        f"  per-tum {body.replace('-', ' ')} ",
        "PERTUM" + body.replace("-", ""),
        number.replace("0", "O").replace("1", "I"),
        number.replace("1", "l").lower(),
    ):
        assert casenumber.parse(typed) == casenumber.CaseNumber(number), typed
    assert casenumber.parse("María Pérez") is None and casenumber.parse("") is None
    assert casenumber.parse("col-cuc-2026-000123") == casenumber.CaseNumber("COL-CUC-2026-000123", legacy=True)


def test_the_check_character_catches_every_single_wrong_character_and_neighbour_swaps():
    body = "7K3MQ9XD"
    check = casenumber.check_character(body)
    good = body + check
    for i, wrong in itertools.product(range(len(good)), casenumber.ALPHABET):
        if good[i] == wrong:
            continue
        typo = good[:i] + wrong + good[i + 1 :]
        with pytest.raises(casenumber.CaseNumberError, match="a character is wrong"):
            casenumber.parse(f"COL-CUC-{typo[:4]}-{typo[4:8]}-{typo[8]}")
    caught = 0
    for i in range(len(good) - 1):
        if good[i] == good[i + 1]:
            continue
        swapped = good[:i] + good[i + 1] + good[i] + good[i + 2 :]
        try:
            casenumber.parse(f"COL-CUC-{swapped[:4]}-{swapped[4:8]}-{swapped[8]}")
        except casenumber.CaseNumberError:
            caught += 1
    assert caught >= 7  # Luhn mod 32 misses only the swap of two particular characters


def test_a_wrong_check_character_says_so_without_touching_the_database(ctx, make, monkeypatch):
    make.person(given_names="Ana", family_names="Rojas")
    number = session.scalar(sa.select(Beneficiary.case_number))
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    queries = []
    monkeypatch.setattr(session, "scalar", lambda *a, **k: queries.append(a))
    with pytest.raises(casenumber.CaseNumberError, match="Check the case number: a character is wrong"):
        service.by_case_number(wrong)
    assert queries == []


def test_registration_draws_again_when_a_number_is_taken(ctx, make, monkeypatch):
    make.person(given_names="Ana", family_names="Rojas")
    taken = session.scalar(sa.select(Beneficiary.case_number))
    fresh = casenumber.new("COL-CUC")
    drawn = iter([taken, taken, fresh])
    monkeypatch.setattr(casenumber, "new", lambda code: next(drawn))
    uid = make.person(given_names="Luz", family_names="Marín", date_of_birth=dt.date(1970, 1, 1))
    assert session.scalar(sa.select(Beneficiary.case_number).where(Beneficiary.uid == uid)) == fresh


def test_consecutive_registrations_are_not_neighbours(ctx, make):
    """The attack: register (or see) one number and walk to the next ones. Numbers of one centre share
    nothing but the centre's code."""
    uids = [
        make.person(given_names=f"Persona{i}", family_names="Prueba", date_of_birth=dt.date(1980, 1, 1 + i))
        for i in range(5)
    ]
    numbers = [session.scalar(sa.select(Beneficiary.case_number).where(Beneficiary.uid == u)) for u in uids]
    assert len(set(numbers)) == 5
    # the next sequential guess after any number is not a person
    for n in numbers:
        body = n[len("COL-CUC-") :].replace("-", "")[:8]
        nxt = casenumber.ALPHABET[(casenumber.ALPHABET.index(body[-1]) + 1) % 32]
        guess_body = body[:-1] + nxt
        guess = f"COL-CUC-{guess_body[:4]}-{guess_body[4:]}-{casenumber.check_character(guess_body)}"
        assert service.by_case_number(guess) is None


def test_the_migration_renumbers_counted_numbers_and_keeps_them_as_aliases(app, make):
    """Numbers issued before were counted: going up from 0016 gives every person a random number and keeps
    the old one, which still finds the person within one's reach; going down gives the old ones back."""
    from msc import db as dbmod

    uid = make.person(given_names="Ana", family_names="Rojas")
    dbmod.downgrade(app, "0016")
    with app.app_context():
        old = session.scalar(sa.text("SELECT case_number FROM beneficiaries"))
        assert casenumber.LEGACY_RE.match(old)
    dbmod.upgrade(app)
    with app.app_context():
        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        assert person.legacy_case_number == old and person.case_number != old
        assert casenumber.parse(person.case_number) == casenumber.CaseNumber(person.case_number)
        assert service.by_case_number(old.lower()).id == person.id
        new = person.case_number
    dbmod.downgrade(app, "0016")
    with app.app_context():
        assert session.scalar(sa.text("SELECT case_number FROM beneficiaries")) == old
    dbmod.upgrade(app)
    with app.app_context():
        assert session.scalar(sa.select(Beneficiary.case_number)) != new  # drawn again, still random
