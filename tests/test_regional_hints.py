"""Along the route: records beyond the user's reach are recognised, never disclosed (regional hints)."""

import datetime as dt
import logging
import re

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from msc import clock
from msc.beneficiaries import duplicates, regional, search, service
from msc.beneficiaries.models import Beneficiary, Consent
from msc.db import session
from msc.errors import RuleError
from msc.security.actor import SYSTEM
from msc.security.models import AuditEvent, User
from tests.conftest import csrf

DOB = dt.date(1990, 5, 17)
CONTINUITY_GIVEN = [
    service.ConsentData(purpose="registration", status="given"),
    service.ConsentData(purpose="continuity", status="given"),
]


@pytest.fixture
def route(make):
    """Cúcuta (Colombia) and Pacaraima (Brazil), and a desk at each."""
    make.centre("COL-CUC", "CAM Cúcuta", "COL")
    make.centre("BRA-PAC", "CAM Pacaraima", "BRA")
    return {
        "cucuta": make.user("desk_cuc", "reception", centres=("COL-CUC",)),
        "pacaraima": make.user("desk_pac", "reception", centres=("BRA-PAC",), locale="pt_BR"),
    }


def _walker(make, consents=CONTINUITY_GIVEN, **fields):
    """Someone registered at Cúcuta; returns the record."""
    fields = {"given_names": "María José", "family_names": "Pérez García", "phone": "+57 300 123 4567", **fields}
    uid = make.person(centre="COL-CUC", consents=consents, **fields)
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))


def _data(**fields):
    return service.PersonData(
        **{
            "given_names": "María José",
            "family_names": "Pérez García",
            "sex": "female",
            "nationality": "VEN",
            "date_of_birth": DOB,
            **fields,
        }
    )


def _register(user, centre_code, data, **kw):
    from msc.centres.models import Centre

    centre = session.scalar(sa.select(Centre).where(Centre.code == centre_code))
    consents = [service.ConsentData(purpose="registration", status="given")]
    return service.register(user, centre, data, consents, service.HouseholdChoice(), **kw)


def _hint_events():
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "beneficiary.regional_hint")))


# ---- registration: the duplicate step ---------------------------------------------------------------


def test_registration_beyond_reach_shows_a_hint_and_does_not_block(ctx, make, route):
    walker = _walker(make)
    desk = session.get(User, route["pacaraima"])
    with pytest.raises(service.PossibleDuplicates) as dup:
        _register(desk, "BRA-PAC", _data())
    assert dup.value.candidates == []  # nothing in reach
    [hint] = dup.value.hints
    month = clock.day_of(walker.registered_at, "COL").replace(day=1)
    assert hint == regional.Hint(walker.id, "COL", month, ("dob_name",), walker.uid)
    # the desk saw it and goes on: a new record, no pair kept with the record beyond reach
    person = _register(desk, "BRA-PAC", _data(), hints_seen=True)
    session.commit()
    assert person.id != walker.id and person.centre.code == "BRA-PAC"
    assert duplicates.stored(SYSTEM, person.id) == []
    assert [e.detail for e in _hint_events()] == ["registration:1"]


def test_the_phone_and_a_name_that_sounds_the_same_are_reasons(ctx, make, route):
    walker = _walker(make, date_of_birth=dt.date(1991, 1, 1))
    desk = session.get(User, route["pacaraima"])
    hints = duplicates.regional_hints(desk, _data(given_names="Maria", phone="+57 300 123 4567"), DOB, "BRA")
    assert [(h.person_id, h.reasons) for h in hints] == [(walker.id, ("phonetic", "phone"))]


@pytest.mark.parametrize(
    "consents",
    [
        [service.ConsentData(purpose="registration", status="given")],  # continuity not asked
        [
            service.ConsentData(purpose="registration", status="given"),
            service.ConsentData(purpose="continuity", status="refused"),
        ],
    ],
    ids=["not-asked", "refused"],
)
def test_without_continuity_consent_nothing_is_shared(ctx, make, route, consents):
    _walker(make, consents=consents)
    desk = session.get(User, route["pacaraima"])
    person = _register(desk, "BRA-PAC", _data())  # no stop: not even that a record exists
    assert person.id
    assert search.search(desk, "María José Pérez").hints == []
    session.commit()
    assert _hint_events() == []


def test_a_withdrawn_continuity_consent_stops_the_hints_at_once(ctx, make, route):
    walker = _walker(make)
    desk = session.get(User, route["pacaraima"])
    assert len(search.search(desk, "María Pérez").hints) == 1
    service.record_consent(SYSTEM, walker, service.ConsentData(purpose="continuity", status="withdrawn"))
    session.flush()
    assert search.search(desk, "María Pérez").hints == []
    assert duplicates.regional_hints(desk, _data(), DOB, "BRA") == []


def test_an_erased_record_is_never_hinted_at(ctx, make, route):
    from msc.dpo import erasure

    walker = _walker(make)
    card = walker.card_token
    erasure.erase(SYSTEM, walker, "subject_request")
    session.flush()
    desk = session.get(User, route["pacaraima"])
    assert duplicates.regional_hints(desk, _data(), DOB, "BRA") == []
    assert search.search(desk, "María Pérez 17/05/1990").hints == []
    assert search.search(desk, card).hints == []
    # its consent rows still say "given": the erasure alone keeps it out
    assert session.scalar(
        sa.select(Consent.id).where(Consent.beneficiary_id == walker.id, Consent.purpose == "continuity")
    )
    assert not regional.shareable(walker) and regional.hint_for(walker, ["card"]) is None


def test_in_reach_the_duplicate_step_is_as_before(ctx, make, route):
    """A record in the desk's own centre is a candidate with its name, never a hint, consent or not."""
    walker = _walker(make)
    desk = session.get(User, route["cucuta"])
    with pytest.raises(service.PossibleDuplicates) as dup:
        _register(desk, "COL-CUC", _data(phone="300 123 4567"))
    assert [(c.beneficiary.id, c.reasons) for c in dup.value.candidates] == [(walker.id, ["dob_name", "phone"])]
    assert dup.value.hints == []
    result = search.search(desk, "María Pérez")
    assert [h.person.id for h in result.hits] == [walker.id] and result.hints == []
    # the whole region in reach: nothing beyond it
    assert search.search(SYSTEM, "María Pérez").hints == []


def test_search_beyond_reach_by_name_dob_phone_document_and_card(ctx, make, route):
    walker = _walker(make, document_type="passport", document_number="VE-1234567")
    desk = session.get(User, route["pacaraima"])
    cases = {
        "María Pérez": ("name",),
        "Maria Perez 17/05/1990": ("name", "dob"),
        "17/05/1990": ("dob",),
        "+57 300 123 4567": ("phone",),
        "VE1234567": ("document",),
        walker.card_token: ("card",),
    }
    for query, reasons in cases.items():
        result = search.search(desk, query)
        assert result.hits == [] and [(h.person_id, h.reasons) for h in result.hints] == [(walker.id, reasons)], query
    # one name word alone, or a name only partly alike, recognises nobody
    assert search.search(desk, "García").hints == [] and search.search(desk, "María Ramírez").hints == []
    # the case number is a proof of presence, not a search beyond reach; a next page does not ask again
    assert search.search(desk, walker.case_number).hints == []
    assert search.search(desk, "María Pérez", page=2).hints == []
    session.commit()
    details = [e.detail for e in _hint_events()]
    assert details == ["search:1"] * len(cases)


def test_at_most_five_hints_are_decrypted(ctx, make, route):
    for i in range(7):
        _walker(make, given_names=f"Ana {chr(ord('a') + i)}lba", phone=None, date_of_birth=dt.date(1980, 1, 1 + i))
    desk = session.get(User, route["pacaraima"])
    assert len(search.search(desk, "Ana Pérez").hints) == regional.MAX_HINTS


def test_the_hint_says_country_and_month_in_the_desks_language(app, make, route):
    hint = regional.Hint(1, "COL", dt.date(2026, 3, 1), ("dob_name",))
    expected = {
        "es": "Posible registro anterior en otro centro (Colombia, marzo de 2026): "
        "misma fecha de nacimiento y nombre parecido",
        "pt_BR": "Possível cadastro anterior em outro centro (Colômbia, março de 2026): "
        "mesma data de nascimento e nome parecido",
        "en": "Possible earlier registration at another centre (Colombia, March 2026): "
        "same date of birth and similar name",
    }
    for language, text in expected.items():
        with app.test_request_context(), force_locale(language):
            assert hint.text == text, language


# ---- over HTTP: nothing personal leaves the server ---------------------------------------------------


def _secrets_of(person):
    return [person.given_names, person.family_names, person.case_number, person.uid, person.card_token, "Cúcuta"]


def _section(html):
    m = re.search(r'<section id="regional-hints".*?</section>', html, re.S)
    assert m, "no regional hints on the page"
    return m.group(0)


def test_registration_page_shows_the_hint_and_goes_on(app, client, make, auth, route, caplog):
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        walker = _walker(make)
        secrets = [*_secrets_of(walker), str(walker.id)]
        month = clock.day_of(walker.registered_at, "COL")
    auth.login("desk_pac")
    form = {
        "csrf_token": csrf(client, "/register"),
        "given_names": "Maria José",
        "family_names": "Perez Garcia",
        "sex": "female",
        "date_of_birth": DOB.isoformat(),
        "nationality": "VEN",
        "document_type": "none",
        "household_mode": "new",
        "relationship": "head",
        "consent_registration": "given",
        "consent_referral": "given",
        "consent_government_sharing": "refused",
        "consent_followup_contact": "given",
        "consent_photo": "refused",
        "consent_continuity": "given",
        "legal_basis": "consent",
        "method": "verbal",
        "given_by": "self",
    }
    res = client.post("/register", data=form)
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    section = _section(html)
    assert "Possível cadastro anterior em outro centro (Colômbia," in section
    assert "mesma data de nascimento e nome parecido" in section
    months = ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
              "novembro", "dezembro"]  # fmt: skip
    assert f"{months[month.month - 1]} de {month.year}" in section
    assert "Pedir este cadastro" in section and "/continuity/ask?record=" in section
    for secret in secrets[:-1]:
        assert secret not in html, secret
    assert f"/b/{walker.uid}" not in html and 'name="hints_seen" type="hidden" value="1"' in html
    form["hints_seen"] = "1"
    res = client.post("/register", data=form)
    assert res.status_code == 302
    with app.app_context():
        new = session.scalars(sa.select(Beneficiary).order_by(Beneficiary.id.desc())).first()
        assert new.id != walker.id and service.has_consent(new, "continuity")
        [event] = _hint_events()
        assert event.detail == "registration:1" and event.object_id is None
        for row in session.scalars(sa.select(AuditEvent)):
            assert not any(s in f"{row.object_id} {row.detail}" for s in secrets if len(s) > 3), row.action
    assert not any(s in caplog.text for s in secrets if len(s) > 3)


def test_search_page_shows_hints_apart_and_nothing_personal(app, client, make, auth, route):
    with app.app_context():
        walker = _walker(make)
        secrets = _secrets_of(walker)
    auth.login("desk_pac")
    res = client.post("/search", data={"q": "maria perez", "csrf_token": csrf(client, "/")})
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    assert "Possível cadastro anterior em outro centro (Colômbia," in _section(html)
    assert "nome parecido" in _section(html)
    for secret in secrets:
        assert secret not in html, secret
    with app.app_context():
        assert [e.detail for e in _hint_events()] == ["search:1"]


def test_search_page_without_consent_shows_no_hint(app, client, make, auth, route):
    with app.app_context():
        _walker(make, consents=[service.ConsentData(purpose="registration", status="given")])
    auth.login("desk_pac")
    res = client.post("/search", data={"q": "maria perez", "csrf_token": csrf(client, "/")})
    assert res.status_code == 200 and 'id="regional-hints"' not in res.get_data(as_text=True)


def test_registration_records_continuity_only_when_asked(app, client, make, auth, route):
    auth.login("desk_cuc")
    base = {
        "csrf_token": csrf(client, "/register"),
        "sex": "male",
        "date_of_birth": "1985-02-03",
        "nationality": "VEN",
        "document_type": "none",
        "household_mode": "new",
        "relationship": "head",
        "consent_registration": "given",
        "consent_referral": "given",
        "consent_government_sharing": "refused",
        "consent_followup_contact": "given",
        "consent_photo": "refused",
        "legal_basis": "consent",
        "method": "verbal",
        "given_by": "self",
    }
    people = (("Pedro", "Zambrano", None), ("Juan", "Quintero", "refused"), ("Luis", "Ocampo", "given"))
    for n, (given, family, continuity) in enumerate(people):
        form = {**base, "given_names": given, "family_names": family, "date_of_birth": f"198{n}-02-03"}
        if continuity:
            form["consent_continuity"] = continuity
        assert client.post("/register", data=form).status_code == 302
        with app.app_context():
            person = session.scalars(sa.select(Beneficiary).order_by(Beneficiary.id.desc())).first()
            consents = service.current_consents(person)
            assert (consents["continuity"].status if "continuity" in consents else None) == continuity
            page = client.get(f"/b/{person.uid}").get_data(as_text=True)
            assert "Continuity of care between IOM centres along the route" in page
    res = client.post(
        "/register", data={**base, "given_names": "Raúl", "family_names": "Mora", "consent_continuity": "maybe"}
    )
    assert res.status_code == 422 and "Choose given or refused." in res.get_data(as_text=True)


def test_a_childs_continuity_consent_comes_from_a_guardian(ctx, make, route):
    child = {"given_names": "Luisa", "family_names": "Mora", "date_of_birth": dt.date(2015, 3, 3)}
    by_self = [
        service.ConsentData(purpose="registration", status="given", given_by="guardian", guardian_name="Rosa Mora"),
        service.ConsentData(purpose="continuity", status="given", given_by="self"),
    ]
    with pytest.raises(RuleError) as err:
        make.person(consents=by_self, **child)
    assert err.value.field == "given_by"


def test_asking_for_a_hinted_record_sends_a_request_that_only_this_desk_can_send(app, client, make, auth, route):
    """The hint's link carries the record sealed for the user it was shown to: it leads to a request to the
    centre that holds the record, and the same link in another user's hands asks for nothing."""
    from msc.continuity.models import Transfer

    with app.app_context():
        walker = _walker(make)
        walker_id, secrets = walker.id, _secrets_of(walker)
    auth.login("desk_pac")
    html = client.post("/search", data={"q": "maria perez", "csrf_token": csrf(client, "/")}).get_data(as_text=True)
    link = re.search(r'href="(/continuity/ask\?record=[^"]+)"', _section(html)).group(1).replace("&amp;", "&")
    page = client.get(link).get_data(as_text=True)
    for secret in secrets:
        assert secret not in page and secret not in link, secret
    token = re.search(r'name="record" type="hidden" value="([^"]+)"', page).group(1)
    res = client.post("/continuity/ask", data={"record": token, "csrf_token": csrf(client, link)})
    assert res.status_code == 302
    with app.app_context():
        [asked] = session.scalars(sa.select(Transfer).where(Transfer.beneficiary_id == walker_id)).all()
        assert asked.status == "pending" and asked.requested_by.username == "desk_pac"
    # another desk of the same centre with the same link: the same answer, and no request
    make.user("desk_pac2", "reception", centres=("BRA-PAC",), locale="pt_BR")
    auth.logout()
    auth.login("desk_pac2")
    res = client.post("/continuity/ask", data={"record": token, "csrf_token": csrf(client, link)})
    assert res.status_code == 302
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 1


# ---- the pairs of name words (index layout 2) -------------------------------------------------------

PAIR_NAMES = [
    ("María José", "Pérez García"),
    ("Maria", "Peres Garsia"),  # sounds as the first
    ("José María", "García"),
    ("Mariela", "Pérez López"),
    ("Ana", "García Pérez"),
    ("Наталья", "Иванова"),
    ("Natalya", "Ivanova"),
    ("محمد", "الزهراء"),
    ("王小明", ""),
    ("Juan", "Muñoz Muñoz"),
    ("Yusuf", "Muñoz"),
]
PAIR_QUERIES = [
    "maria garcia",
    "garcia maria",
    "perez garcia",
    "maria jose perez",
    "peres garsia",
    "mariela lopez",
    "natalya ivanova",
    "наталья иванова",
    "محمد زهراء",
    "王 小明",
    "juan munoz",
    "munyoz juan",
    "ana lopez",
]


def _alike_both_ways(user, words):
    """`alike` on the pairs and on the intersection of every word's holders (a layout-1 generation)."""
    from msc.crypto import blind, rotation

    state = rotation.index_state()
    assert state.search.layout == 2  # a new database: every entry was written with the pairs
    asked: list[str] = []
    original_statement = search._statement
    search._statement = lambda sql, expanding: asked.append(sql) or original_statement(sql, expanding)
    try:
        paired = search.alike(user, words, 100, beyond=True)
    finally:
        search._statement = original_statement
    # the pairs alone: no list of a single word's holders is read
    assert f"kind = {blind.NAME_PAIR} AND" in asked[-1] and f"kind = {blind.NAME} AND" not in asked[-1], asked
    older = rotation.IndexGeneration(state.search.generation, state.search.key_id, 1)
    original = search.searched_generation
    search.searched_generation = lambda: older
    try:
        intersected = search.alike(user, words, 100, beyond=True)
    finally:
        search.searched_generation = original
    return paired, intersected


def test_the_pairs_find_whom_the_intersection_of_the_words_finds(ctx, make, route):
    """Every pair of a person's name words is one index entry: a name of two or more words beyond reach is
    one short look-up per pair, and finds exactly the people holding every word spelt or sounding alike."""
    from msc.crypto import blind

    for given, family in PAIR_NAMES:
        _walker(make, given_names=given, family_names=family)
    desk = session.get(User, route["pacaraima"])
    found_any = 0
    for query in PAIR_QUERIES:
        words = [w for w in blind.name_words(query, query=True) if not w.part]
        paired, intersected = _alike_both_ways(desk, words)
        assert paired == intersected, query
        found_any += bool(paired)
    assert found_any >= 10
    maria = [w for w in blind.name_words("maria garcia", query=True)]
    assert len(search.alike(desk, maria, 100, beyond=True)) == 3  # María José, Maria Garsia, José María


def test_a_generation_of_the_older_layout_is_searched_without_pairs_until_rebuilt(ctx, make, route):
    """After the upgrade that adds the pairs, the people indexed before hold none: their generation says
    layout 1, names are matched word by word, and `index rebuild` writes the pairs and says layout 2."""
    from msc.beneficiaries import index
    from msc.beneficiaries.models import BlindIndexEntry
    from msc.crypto import blind, rotation

    walker = _walker(make)
    session.execute(sa.delete(BlindIndexEntry).where(BlindIndexEntry.kind == blind.NAME_PAIR))
    gen = rotation.index_state().search.generation
    row = session.scalar(sa.select(rotation.KeyRotation).where(rotation.KeyRotation.generation == gen))
    row.layout = 1  # as revision 0031 marks a database that held index rows
    session.commit()
    desk = session.get(User, route["pacaraima"])
    words = blind.name_words("maria garcia", query=True)
    assert rotation.index_state().search.layout == 1
    assert search.alike(desk, words, 5, beyond=True) == [walker.id]
    index.rebuild_index()
    assert rotation.index_state().search.layout == blind.LAYOUT == 2
    pairs = session.scalar(sa.select(sa.func.count()).where(BlindIndexEntry.kind == blind.NAME_PAIR))
    assert pairs == 6  # maria, jose, perez, garcia: six pairs of four words
    assert search.alike(desk, words, 5, beyond=True) == [walker.id]
