"""Names in every script: a name registered in Arabic, Chinese, Cyrillic or Devanagari script is found
by its own script and by a Latin spelling, and the other way round; the duplicate check at registration
sees both."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from msc.beneficiaries import search, service
from msc.beneficiaries.models import Beneficiary
from msc.crypto import blind
from msc.db import session
from msc.security.actor import SYSTEM
from tests.conftest import csrf
from tests.test_reception_http import form_for

# (given and family names in their own script, the same names as a clerk spells them in Latin letters)
NAMES = [
    pytest.param(("محمد", "حسن"), ("Mohammed", "Hassan"), id="arabic"),
    pytest.param(("فاطمة", "الزهراء"), ("Fatima", "Zahra"), id="arabic-article"),
    pytest.param(("احمد شاه", "احمدی"), ("Ahmad Shah", "Ahmadi"), id="dari"),
    pytest.param(("小明", "王"), ("Xiaoming", "Wang"), id="chinese"),
    pytest.param(("Наталья", "Петрова"), ("Natalya", "Petrova"), id="cyrillic"),
    pytest.param(("सीता", "गुरुङ"), ("Sita", "Gurung"), id="devanagari"),
]
SCRIPTS = ["own", "latin"]


@pytest.fixture
def crowd(ctx, make):
    """Other people at the same desk, so that a match has to rank."""
    for given, family in [
        ("María", "Hernández"),
        ("Mario", "Vargas"),
        ("Natalia", "Pérez"),
        ("Rita", "Gutiérrez"),
        ("Wendy", "Wong"),
        ("Ahmed", "Salazar"),
        ("Marta", "Peña"),
    ]:
        make.person(given_names=given, family_names=family, date_of_birth=dt.date(1970, 3, 3))
    return make


def _spellings(own, latin, registered):
    return (own, latin) if registered == "own" else (latin, own)


def _query(names, reversed_order=False):
    given, family = names
    return f"{family} {given}" if reversed_order else f"{given} {family}"


@pytest.mark.parametrize("registered", SCRIPTS)
@pytest.mark.parametrize("own,latin", NAMES)
def test_a_name_is_found_by_its_own_script_and_by_its_latin_spelling(crowd, own, latin, registered):
    stored, other = _spellings(own, latin, registered)
    uid = crowd.person(given_names=stored[0], family_names=stored[1], date_of_birth=dt.date(1991, 4, 4))
    for query in (_query(stored), _query(other), _query(other, reversed_order=True), other[1]):
        hits = search.search(SYSTEM, query).hits
        assert hits and hits[0].person.uid == uid, (query, [h.person.full_name for h in hits])


@pytest.mark.parametrize("registered", SCRIPTS)
@pytest.mark.parametrize("own,latin", NAMES)
def test_registering_again_in_the_other_script_warns_of_a_duplicate(crowd, own, latin, registered):
    stored, other = _spellings(own, latin, registered)
    first = crowd.person(given_names=stored[0], family_names=stored[1], date_of_birth=dt.date(1991, 4, 4))
    # another date of birth: the names alone must raise the warning
    with pytest.raises(service.PossibleDuplicates) as dup:
        crowd.person(given_names=other[0], family_names=other[1], date_of_birth=dt.date(1993, 8, 8), acknowledge=False)
    assert [c.beneficiary.uid for c in dup.value.candidates] == [first]
    assert dup.value.candidates[0].reasons == ["phonetic"]
    with pytest.raises(service.PossibleDuplicates) as dup:  # and the same date of birth
        crowd.person(given_names=other[0], family_names=other[1], date_of_birth=dt.date(1991, 4, 4), acknowledge=False)
    assert dup.value.candidates[0].beneficiary.uid == first and "dob_name" in dup.value.candidates[0].reasons


def test_a_name_only_in_another_script_is_searchable(crowd):
    """Before, a name without Latin letters gave "nothing to search"."""
    crowd.person(given_names="علي", family_names="رضایی")
    assert search.parse("علي").names and search.search(SYSTEM, "علي").hits[0].person.given_names == "علي"
    assert search.search(SYSTEM, "Ali Rezaei").hits[0].person.given_names == "علي"


def test_latin_names_do_not_meet_by_skeleton(crowd):
    """Consonant skeletons only bridge to a script that leaves vowels out: Hamid is not Ahmed, though both
    are "hmd" without their vowels; حامد is Hamid."""
    assert search.search(SYSTEM, "Hamid").hits == []
    crowd.person(given_names="حامد", family_names="كريمي")
    assert [h.person.given_names for h in search.search(SYSTEM, "Hamid").hits] == ["حامد"]


def test_name_words_keep_every_script():
    assert blind.name_tokens("Владимир Петров") == ["владимир", "vladimir", "петров", "petrov"]
    assert blind.name_tokens("Наталья") == ["наталья", "natalya"]  # the soft sign's apostrophe is dropped
    assert blind.name_tokens("محمد") == ["محمد", "mhmd"]
    assert blind.name_tokens("مُحَمَّد") == blind.name_tokens("محمد")  # vowel points are optional
    assert blind.name_tokens("یوسف") == blind.name_tokens("يوسف")  # Persian and Arabic yeh
    assert blind.name_tokens("María José Pérez de la Cruz") == ["maria", "jose", "perez", "cruz"]
    # Chinese: the whole name and each character, in characters and in pinyin syllables
    assert [w.forms for w in blind.name_words("小明")] == [("小明", "xiaoming"), ("小", "xiao"), ("明", "ming")]
    assert [w.forms for w in blind.name_words("王小明", query=True)] == [("王", "wang"), ("小明", "xiaoming")]
    assert blind.consonant_skeleton("mohammed") == blind.consonant_skeleton("mhmd") == "mhmd"


# ---- over HTTP ----------------------------------------------------------------------------------------


@pytest.fixture
def clerk(make, auth):
    make.user("clerk", "reception")
    auth.login("clerk")
    return "clerk"


def _register(client, given, family, dob="1991-04-04", **extra):
    data = form_for(client, given_names=given, family_names=family, date_of_birth=dob, **extra)
    return client.post("/register", data=data)


def _search(client, query):
    return client.post("/search", data={"q": query, "csrf_token": csrf(client, "/")}).get_data(as_text=True)


@pytest.mark.parametrize("registered", SCRIPTS)
@pytest.mark.parametrize("own,latin", NAMES)
def test_over_http_register_in_one_script_search_and_register_again_in_the_other(
    app, client, clerk, own, latin, registered
):
    stored, other = _spellings(own, latin, registered)
    assert _register(client, *stored).status_code == 302
    page = _search(client, _query(other))
    assert stored[0] in page and stored[1] in page
    page = _search(client, _query(stored))
    assert stored[0] in page and stored[1] in page
    res = _register(client, *other, dob="1993-08-08")
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "This person may already be registered" in html and stored[0] in html
    acknowledged = re.search(r'name="acknowledged" type="hidden" value="([^"]*)"', html).group(1)
    assert _register(client, *other, dob="1993-08-08", acknowledged=acknowledged).status_code == 302
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 2


def test_index_rebuild_brings_a_record_indexed_before_up_to_date(app, make):
    """Records indexed before names were indexed in every script carry no entry for such a name: the
    rebuild the README asks for after upgrading writes them."""
    uid = make.person(given_names="محمد", family_names="حسن")
    with app.app_context():
        session.execute(sa.text("DELETE FROM blind_index_entries"))
        session.execute(sa.text("DELETE FROM name_vocabulary"))
        session.commit()
        assert search.search(SYSTEM, "Mohammed Hassan").hits == []
    assert app.test_cli_runner().invoke(args=["index", "rebuild"]).exit_code == 0
    with app.app_context():
        assert search.search(SYSTEM, "Mohammed Hassan").hits[0].person.uid == uid
        assert search.search(SYSTEM, "محمد").hits[0].person.uid == uid
