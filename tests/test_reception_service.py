"""Reception rules, called without HTTP."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from msc import clock
from msc.beneficiaries import search, service
from msc.beneficiaries.models import Beneficiary, BeneficiaryChange, Consent, DuplicateCandidate, DuplicateDecision
from msc.db import session
from msc.errors import RuleError
from msc.security.actor import SYSTEM


def _get(uid):
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))


def _user(make, role="reception", **kw):
    from msc.security.models import User

    return session.get(User, make.user(f"{role}{kw.pop('n', '')}", role, **kw))


def _names(result):
    return [h.person.full_name for h in result.hits]


# ---- registration ------------------------------------------------------------------------------


def test_registration_gives_case_number_card_token_and_household(ctx, make):
    uid = make.person(given_names="José", family_names="Pérez García")
    p = _get(uid)
    assert re.fullmatch(r"COL-CUC-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]", p.case_number)
    assert len(p.card_token) == 19 and p.card_token.count("-") == 3
    assert p.household is not None and p.relationship_to_head == "head"
    assert p.birth_year == 1990 and not p.dob_estimated
    uid2 = make.person(given_names="Ana", family_names="Ruiz", date_of_birth=dt.date(1985, 1, 2))
    assert _get(uid2).case_number.startswith("COL-CUC-") and _get(uid2).case_number != p.case_number


def test_estimated_age_sets_an_estimated_date_of_birth(ctx, make):
    p = _get(make.person(given_names="Pedro", family_names="Lara", date_of_birth=None, estimated_age=40))
    assert p.dob_estimated and p.age_on(clock.today("COL")) in (39, 40)


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"date_of_birth": clock.today("COL") + dt.timedelta(days=2)}, "date_of_birth"),
        ({"date_of_birth": None, "estimated_age": 130}, "estimated_age"),
        ({"date_of_birth": dt.date(1890, 1, 1)}, "date_of_birth"),
        ({"date_of_birth": None}, "date_of_birth"),
        ({"arrival_date": clock.today("COL") + dt.timedelta(days=1)}, "arrival_date"),
        ({"document_type": "passport"}, "document_number"),
        ({"document_number": "123456"}, "document_type"),
        ({"phone": "12"}, "phone"),
    ],
)
def test_impossible_data_is_refused_with_the_field_named(ctx, make, fields, field):
    with pytest.raises(RuleError) as err:
        make.person(given_names="Eva", family_names="Luna", **fields)
    assert err.value.field == field and err.value.message


def test_registration_without_consent_or_other_basis_is_refused(ctx, make):
    refused = [service.ConsentData(purpose="registration", status="refused")]
    with pytest.raises(RuleError) as err:
        make.person(given_names="Eva", family_names="Luna", consents=refused)
    assert "consent" in err.value.message
    vital = [service.ConsentData(purpose="registration", status="refused", legal_basis="vital_interest")]
    assert make.person(given_names="Eva", family_names="Luna", consents=vital)


def test_a_child_needs_a_guardian_or_a_best_interests_decision(ctx, make):
    child = {
        "given_names": "Luisa",
        "family_names": "Mora",
        "date_of_birth": clock.today("COL").replace(year=clock.today("COL").year - 10),
    }
    with pytest.raises(RuleError) as err:
        make.person(**child)
    assert err.value.field == "given_by"
    with pytest.raises(RuleError) as err:
        make.person(**child, given_by="guardian")
    assert err.value.field == "guardian_name"
    with pytest.raises(RuleError) as err:
        make.person(**child, given_by="best_interests")
    assert err.value.field == "best_interests_note"
    assert make.person(**child, given_by="guardian", guardian_name="Carmen Mora")


def test_child_alone_is_flagged_possible_uasc_until_an_adult_joins(ctx, make):
    ten = clock.today("COL").replace(year=clock.today("COL").year - 10)
    child = _get(
        make.person(
            given_names="Luisa",
            family_names="Mora",
            date_of_birth=ten,
            given_by="best_interests",
            best_interests_note="Llegó sola al puente.",
        )
    )
    assert child.possible_uasc
    adult_uid = make.person(
        given_names="Carmen",
        family_names="Mora",
        date_of_birth=dt.date(1980, 3, 3),
        household=service.HouseholdChoice(child.case_number, "parent"),
    )
    session.expire_all()
    child = _get(child.uid)
    assert not child.possible_uasc
    assert _get(adult_uid).household_id == child.household_id


def test_joining_a_household_needs_a_relationship_other_than_head(ctx, make):
    head = _get(make.person(given_names="Carmen", family_names="Mora"))
    with pytest.raises(RuleError) as err:
        make.person(
            given_names="Otro", family_names="Mora", household=service.HouseholdChoice(head.case_number, "head")
        )
    assert err.value.field == "relationship"
    with pytest.raises(RuleError) as err:
        make.person(
            given_names="Otro", family_names="Mora", household=service.HouseholdChoice("COL-CUC-2020-999999", "child")
        )
    assert err.value.field == "household_case_number"


def test_sensitive_needs_are_encrypted_and_never_in_the_needs_table(ctx, make):
    uid = make.person(given_names="Ana", family_names="Paz", needs=["trafficking", "disability", "lgbtiq"])
    p = _get(uid)
    assert p.need_codes == ["disability"]
    assert p.sensitive_needs == ["lgbtiq", "trafficking"]
    codes = set(session.scalars(sa.text("SELECT code FROM specific_needs")))
    assert codes == {"disability"}


def test_document_number_is_unique(ctx, make):
    make.person(given_names="Ana", family_names="Paz", document_type="passport", document_number="AB 123.456")
    with pytest.raises(RuleError) as err:
        make.person(given_names="Otra", family_names="Persona", document_type="national_id", document_number="ab123456")
    assert err.value.field == "document_number" and "COL-CUC" in err.value.message


# ---- duplicates ---------------------------------------------------------------------------------


def test_possible_duplicates_are_shown_with_reasons_and_the_answer_is_remembered(ctx, make):
    first = _get(make.person(given_names="María José", family_names="Pérez García", phone="3001112233"))
    with pytest.raises(service.PossibleDuplicates) as dup:
        make.person(given_names="Maria Jose", family_names="Perez Garcia", acknowledge=False)
    [cand] = dup.value.candidates
    assert cand.beneficiary.id == first.id and "dob_name" in cand.reasons

    with pytest.raises(service.PossibleDuplicates) as dup:
        make.person(
            given_names="Maria", family_names="Peres Garsia", date_of_birth=dt.date(1970, 1, 1), acknowledge=False
        )
    assert "phonetic" in dup.value.candidates[0].reasons

    with pytest.raises(service.PossibleDuplicates) as dup:
        make.person(
            given_names="Pedro",
            family_names="Ortiz",
            date_of_birth=dt.date(1960, 1, 1),
            phone="+57 300 111 2233",
            acknowledge=False,
        )
    assert dup.value.candidates[0].reasons == ["phone"]

    second_uid = make.person(given_names="Maria Jose", family_names="Perez Garcia")  # acknowledged
    second = _get(second_uid)
    pair = session.scalar(sa.select(DuplicateDecision))
    assert (pair.first_id, pair.second_id) == (first.id, second.id)
    # once answered, the pair is no longer offered
    from msc.beneficiaries import duplicates

    found = duplicates.find(
        SYSTEM,
        service.PersonData(given_names="Maria Jose", family_names="Perez Garcia", sex="female", nationality="VEN"),
        dt.date(1990, 5, 17),
        exclude_id=second.id,
    )
    assert first.id not in [c.beneficiary.id for c in found]


def _stored(person_id):
    from msc.beneficiaries import duplicates

    return {c.beneficiary.id: c.reasons for c in duplicates.stored(SYSTEM, person_id)}


def test_pairs_found_at_registration_are_kept_for_both_people_with_ids_and_codes_only(ctx, make):
    first = _get(make.person(given_names="María José", family_names="Pérez García", phone="3001112233"))
    assert _stored(first.id) == {}
    second = _get(make.person(given_names="Maria Jose", family_names="Perez Garcia", phone="300 111 2233"))
    # acknowledged at registration: kept, and hidden by the answer
    assert _stored(first.id) == _stored(second.id) == {}
    session.execute(sa.delete(DuplicateDecision))
    assert _stored(first.id) == {second.id: ["dob_name", "phone"]}
    assert _stored(second.id) == {first.id: ["dob_name", "phone"]}
    [row] = session.scalars(sa.select(DuplicateCandidate))
    assert (row.first_id, row.second_id, row.reasons) == (first.id, second.id, "dob_name,phone")


def test_an_edit_of_the_matched_fields_finds_the_pairs_again(ctx, make):
    clerk = _user(make)
    ana = _get(make.person(given_names="Ana", family_names="Rojas"))
    other = _get(make.person(given_names="Pedro", family_names="Salazar", date_of_birth=dt.date(1960, 1, 1)))
    assert _stored(other.id) == {}

    def edit(given, family, born):
        data = service.PersonData(
            given_names=given, family_names=family, sex="female", nationality="VEN", date_of_birth=born
        )
        return service.update(clerk, other, data)

    edit("Ana", "Rojas", dt.date(1990, 5, 17))
    assert _stored(other.id) == {ana.id: ["dob_name"]} and _stored(ana.id) == {other.id: ["dob_name"]}
    edit("Pedro", "Salazar", dt.date(1960, 1, 1))
    assert _stored(other.id) == _stored(ana.id) == {}


def test_checking_again_keeps_what_is_found_and_is_audited(ctx, make):
    from msc.security.models import AuditEvent

    clerk = _user(make)
    ana = _get(make.person(given_names="Ana", family_names="Rojas"))
    other = _get(make.person(given_names="Ana", family_names="Rojas", phone="3001234567"))
    session.execute(sa.delete(DuplicateDecision))
    session.execute(sa.delete(DuplicateCandidate))  # a record registered before pairs were kept
    assert _stored(other.id) == {}
    found = service.check_duplicates_again(clerk, other)
    assert [c.beneficiary.id for c in found] == [ana.id]
    assert _stored(other.id) == {ana.id: ["dob_name"]}
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "beneficiary.duplicate_check"))
    assert event.object_id == str(other.id) and event.user_id == clerk.id
    service.remember_not_same(clerk, ana.id, other.id)
    assert _stored(other.id) == _stored(ana.id) == {}
    assert service.check_duplicates_again(clerk, other) == []


def test_different_people_with_same_birthday_are_not_duplicates(ctx, make):
    make.person(given_names="Ana", family_names="Rojas")
    assert make.person(given_names="Pedro", family_names="Salazar", acknowledge=False)


# ---- edits and consent ----------------------------------------------------------------------------


def test_edit_keeps_a_history_of_changed_fields_without_values(ctx, make):
    clerk = _user(make)
    uid = make.person(given_names="Ana", family_names="Rojas")
    p = _get(uid)
    data = service.PersonData(
        given_names="Ana María",
        family_names="Rojas",
        sex="female",
        nationality="COL",
        date_of_birth=dt.date(1990, 5, 17),
        phone="3009998877",
    )
    changed = service.update(clerk, p, data)
    assert set(changed) == {"given_names", "nationality", "phone"}
    row = session.scalar(sa.select(BeneficiaryChange).where(BeneficiaryChange.action == "edited"))
    assert row.user_id == clerk.id and "Ana" not in row.fields
    assert search.search(SYSTEM, "ana maria rojas").hits[0].person.id == p.id


def test_hidden_sensitive_needs_survive_an_edit_by_reception(ctx, make):
    uid = make.person(given_names="Ana", family_names="Paz", needs=["trafficking"])
    p = _get(uid)
    kept = service.keep_hidden_needs(p, ["disability"], may_see_sensitive=False)
    assert kept == ["disability", "trafficking"]


def test_consent_withdrawal_takes_effect_at_once_and_keeps_history(ctx, make):
    clerk = _user(make)
    p = _get(
        make.person(
            given_names="Ana",
            family_names="Paz",
            consents=[
                service.ConsentData(purpose="registration", status="given"),
                service.ConsentData(purpose="referral", status="given"),
            ],
        )
    )
    assert service.has_consent(p, "referral")
    service.record_consent(clerk, p, service.ConsentData(purpose="referral", status="withdrawn"))
    session.refresh(p)
    assert not service.has_consent(p, "referral")
    assert [c.status for c in p.consents if c.purpose == "referral"] == ["given", "withdrawn"]
    with pytest.raises(RuleError):
        service.record_consent(clerk, p, service.ConsentData(purpose="photo", status="withdrawn"))


def test_guardian_name_is_encrypted(ctx, make):
    ten = clock.today("COL").replace(year=clock.today("COL").year - 10)
    make.person(
        given_names="Luisa", family_names="Mora", date_of_birth=ten, given_by="guardian", guardian_name="Carmen Zuleta"
    )
    c = session.scalar(sa.select(Consent))
    assert c.guardian_name == "Carmen Zuleta" and b"Zuleta" not in c.guardian_name_ct


# ---- search ---------------------------------------------------------------------------------------


@pytest.fixture
def people(ctx, make):
    make.person(
        given_names="José",
        family_names="Pérez García",
        date_of_birth=dt.date(1988, 2, 3),
        document_type="passport",
        document_number="V-18.555.321",
        phone="+58 414 555 1234",
    )
    make.person(given_names="Yessica", family_names="Hernández", date_of_birth=dt.date(1995, 7, 9))
    make.person(given_names="Luis", family_names="González Rincón", date_of_birth=dt.date(1979, 11, 30))
    make.person(given_names="José", family_names="Martínez", date_of_birth=dt.date(1970, 1, 1))
    for i, given in enumerate(["José", "José Luis", "José Ángel", "José Gregorio"]):
        make.person(given_names=given, family_names=f"Rodríguez {i}", date_of_birth=dt.date(1960 + i, 1, 1))
    return SYSTEM


@pytest.mark.parametrize(
    "query,expected",
    [
        ("jose perez", "José Pérez García"),
        ("PEREZ JOSE", "José Pérez García"),
        ("José Pérez García", "José Pérez García"),
        ("perez garcia", "José Pérez García"),
        ("jose garcia", "José Pérez García"),
        ("Jose Perz", "José Pérez García"),
        ("Jsoe Perez", "José Pérez García"),
        ("Yesica", "Yessica Hernández"),
        ("yesica ernandez", "Yessica Hernández"),
        ("Gonsalez", "Luis González Rincón"),
        ("luis gonzales", "Luis González Rincón"),
        ("V18555321", "José Pérez García"),
        ("4145551234", "José Pérez García"),
        ("03/02/1988", "José Pérez García"),
        ("1988-02-03", "José Pérez García"),
        ("jose 03/02/1988", "José Pérez García"),
    ],
)
def test_search_is_tolerant(people, query, expected):
    result = search.search(people, query)
    assert result.hits and result.hits[0].person.full_name == expected, _names(result)


def test_common_given_name_does_not_crowd_out_the_surname(people):
    result = search.search(people, "jose martinez")
    assert _names(result)[0] == "José Martínez"


def test_case_number_and_card_token_open_the_record(people):
    p = session.scalars(sa.select(Beneficiary)).first()
    assert search.search(people, p.case_number.lower()).exact.id == p.id
    spoken = p.case_number.replace("-", " ").lower().replace("0", "o").replace("1", "l")
    assert search.search(people, spoken).exact.id == p.id  # typed as read aloud: spaces, O for 0, L for 1
    wrong = p.case_number[:-1] + ("A" if p.case_number[-1] != "A" else "B")
    with pytest.raises(RuleError, match="a character is wrong"):
        search.search(people, wrong)
    p.legacy_case_number = "COL-CUC-2025-000042"  # a number on a paper file from before
    assert search.search(people, "col-cuc-2025-000042").exact.id == p.id
    assert search.search(people, p.card_token).exact.id == p.id
    assert search.search(people, p.card_token.replace("-", "")).exact.id == p.id


def test_unrelated_names_are_not_returned(people):
    assert search.search(people, "zacarias wolff").hits == []


def test_search_stays_in_scope(ctx, make):
    make.person(given_names="Ana", family_names="Quispe", centre="PER-TUM")
    cucuta_clerk = _user(make)
    assert search.search(cucuta_clerk, "ana quispe").hits == []
    peru_clerk = _user(make, n="2", centres=("PER-TUM",))
    assert _names(search.search(peru_clerk, "ana quispe")) == ["Ana Quispe"]


@pytest.mark.parametrize("query", ["", "   ", "x" * 201, "ana\x00"])
def test_bad_queries_are_refused_with_a_message(ctx, query):
    with pytest.raises(RuleError) as err:
        search.search(SYSTEM, query)
    assert err.value.message


def test_search_is_audited_without_its_terms(people):
    from msc.security.models import AuditEvent

    search.search(people, "jose perez")
    ev = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "beneficiary.search")).all()[-1]
    assert "jose" not in (ev.detail or "") and "perez" not in (ev.detail or "")


def test_search_pages_through_a_common_name(ctx, make):
    for i in range(14):
        make.person(given_names=f"Ana {chr(65 + i)}bc", family_names="García", date_of_birth=dt.date(1950 + i, 1, 1))
    first = search.search(SYSTEM, "garcia")
    assert len(first.hits) == 10 and first.has_more
    second = search.search(SYSTEM, "garcia", page=2)
    assert len(second.hits) == 4 and not second.has_more
    assert not {h.person.id for h in first.hits} & {h.person.id for h in second.hits}


def test_a_leading_name_outranks_a_middle_name(ctx, make):
    make.person(given_names="María", family_names="García López", date_of_birth=dt.date(1980, 1, 1))
    make.person(given_names="Ana María", family_names="Pérez García", date_of_birth=dt.date(1981, 1, 1))
    make.person(given_names="Rosa María", family_names="García", date_of_birth=dt.date(1982, 1, 1))
    assert _names(search.search(SYSTEM, "maria garcia"))[0] == "María García López"


def test_the_exact_shortcut_returns_what_the_full_ranking_returns(ctx, make):
    for i in range(7):
        make.person(given_names="María", family_names=f"García {chr(65 + i)}x", date_of_birth=dt.date(1950 + i, 1, 1))
    make.person(given_names="Ana María", family_names="García", date_of_birth=dt.date(1990, 1, 1))
    make.person(given_names="Mario", family_names="Garcés", date_of_birth=dt.date(1991, 1, 1))
    parsed = search.parse("maria garcia")
    shortcut = search.rank(SYSTEM, parsed, limit=5)  # 7 people lead with both words: shortcut
    full = search.rank(SYSTEM, parsed, limit=50)  # fewer than 50 do: full ranking
    assert shortcut == full[:5] and len(full) >= 8


def test_the_spelt_alike_tier_returns_what_the_full_ranking_returns(ctx, make, monkeypatch):
    """Two common words: when enough people hold both spelt as typed and lead with one, they are read from the
    pairs of name words, not from every holder of either word; the pages are the full ranking's, in every
    reach, past an excluded person, and when the tier holds too few (the full ranking then runs)."""
    born = iter(dt.date(1940, 1, 1) + dt.timedelta(days=97 * i) for i in range(40))
    names = [
        *[("María", f"García {s}") for s in ("Ab", "Cd")],  # both words leading: 8
        *[("Ana María", f"García {s}") for s in ("Ef", "Gh", "Ij", "Kl")],  # María not leading: 7
        *[("María", f"Pérez García {s}") for s in ("Mn", "Op", "Qr")],  # García not leading: 7
        ("Rosa María", "Pérez García"),  # neither leading: 6
        ("María", "Garsía"),  # García by its sound: 6
        ("Marya", "García"),  # María by its consonants: 6
        ("Mario", "García"),  # María one letter off: 5
        ("María", "Gómez"),  # García missing: 4
        ("Luisa", "García"),
        ("María García", "López"),  # both given names: 7
    ]
    for given, family in names:
        make.person(given_names=given, family_names=family, date_of_birth=next(born))
    make.person(given_names="María", family_names="García Lima", centre="PER-TUM", date_of_birth=next(born))
    make.person(given_names="Ana María", family_names="García Lima", centre="PER-TUM", date_of_birth=next(born))
    clerk = _user(make)  # COL-CUC only
    one = session.scalar(sa.select(Beneficiary.id).order_by(Beneficiary.id.desc()).limit(1))
    parsed = search.parse("maria garcia")
    asked = []
    tier = search._spelt_alike_first

    def counted(*args, **kw):
        found = tier(*args, **kw)
        asked.append(len(found) >= args[5])  # args[5]: the limit
        return found

    cases = [
        (who, limit, exclude) for who in (SYSTEM, clerk) for limit in (3, 5, 8, 9, 10, 12) for exclude in (None, one)
    ]
    for who, limit, exclude in cases:
        monkeypatch.setattr(search, "_spelt_alike_first", counted)
        ranked = search.rank(who, parsed, limit=limit, exclude_id=exclude)
        monkeypatch.setattr(search, "_spelt_alike_first", lambda *a, **kw: [])
        assert ranked == search.rank(who, parsed, limit=limit, exclude_id=exclude), (limit, exclude)
    # the tier filled the page for some limits (more than the 2 or 3 leading with both), not for others
    assert any(asked) and not all(asked)
    monkeypatch.setattr(search, "_spelt_alike_first", tier)
    assert [h.score for h in search.search(clerk, "maria garcia").hits][:10] == [8, 8, 7, 7, 7, 7, 7, 7, 7, 7]


def test_index_rebuild_recreates_every_entry(app, make):
    uid = make.person(given_names="Yessica", family_names="Hernández")
    with app.app_context():
        session.execute(sa.text("DELETE FROM blind_index_entries"))
        session.commit()
        assert search.search(SYSTEM, "yessica").hits == []
    res = app.test_cli_runner().invoke(args=["index", "rebuild"])
    assert res.exit_code == 0 and "1 people" in res.output
    with app.app_context():
        assert search.search(SYSTEM, "yesica hernandez").hits[0].person.uid == uid
