"""Finding the person among namesakes: a page of equally good matches with more after it says so and
offers to narrow the search by date of birth or second surname, in one step on the same page."""

import datetime as dt

import pytest

from msc.beneficiaries import search
from msc.errors import RuleError
from msc.security.actor import SYSTEM
from tests.conftest import csrf

SECOND_SURNAMES = ["López", "Díaz", "Torres", "Castro", "Vargas", "Mendoza", "Suárez", "Ortiz", "Núñez", "Molina"]
SECOND_SURNAMES += ["Acosta", "Benítez"]
TARGET = {"given_names": "María", "family_names": "García Rojas", "date_of_birth": dt.date(1984, 9, 30)}


@pytest.fixture
def namesakes(ctx, make):
    """Twelve María Garcías and the one the desk is looking for."""
    for i, second in enumerate(SECOND_SURNAMES):
        make.person(given_names="María", family_names=f"García {second}", date_of_birth=dt.date(1960 + i, 1, 1 + i))
    return make.person(**TARGET)


@pytest.mark.parametrize("query", ["maria garcia", "maria garcai", "Mraia García"])
def test_a_page_of_namesakes_says_so(namesakes, query):
    result = search.search(SYSTEM, query)
    assert result.crowded and result.has_more and len(result.hits) == 10
    assert len({h.score for h in result.hits}) == 1


@pytest.mark.parametrize("narrowing", ["30/09/1984", "1984-09-30", "Rojas", "rojas", "Roajs"])
@pytest.mark.parametrize("query", ["maria garcia", "maria garcai"])
def test_narrowing_by_date_of_birth_or_second_surname_puts_the_person_first(namesakes, query, narrowing):
    result = search.search(SYSTEM, search.narrowed(query, narrowing))
    assert result.hits[0].person.uid == namesakes
    assert result.hits[0].score > result.hits[1].score and not result.crowded


def test_a_page_with_a_best_match_or_without_more_is_not_crowded(namesakes, make):
    assert not search.search(SYSTEM, "maria garcia rojas").crowded  # the best match stands out
    make.person(given_names="Pedro", family_names="Salazar", date_of_birth=dt.date(1950, 2, 2))
    assert not search.search(SYSTEM, "pedro salazar").crowded
    assert not search.search(SYSTEM, "30/09/1984").crowded  # not a name search


@pytest.mark.parametrize("narrowing", ["", "  ", "V12345678", "300 123 4567", "!!", "a\x00"])
def test_what_narrows_nothing_is_refused_on_the_narrowing_field(ctx, narrowing):
    with pytest.raises(RuleError) as err:
        search.narrowed("maria garcia", narrowing)
    assert err.value.field == "narrow" and err.value.message


# ---- over HTTP, without JavaScript: a form field on the same search page --------------------------


@pytest.fixture
def clerk(make, auth):
    make.user("clerk", "reception")
    auth.login("clerk")
    return "clerk"


def _post(client, **data):
    res = client.post("/search", data={"csrf_token": csrf(client, "/"), **data})
    return res.status_code, res.get_data(as_text=True)


def test_over_http_a_crowded_page_offers_the_narrowing_and_it_puts_the_person_first(namesakes, client, clerk):
    status, html = _post(client, q="maria garcai")
    assert status == 200
    assert "Many people match this search equally well" in html
    assert 'name="narrow"' in html and 'class="narrow"' in html
    assert 'type="hidden" name="q" value="maria garcai"' in html  # the query it narrows, in the form

    for narrowing in ("30/09/1984", "Rojas"):
        status, html = _post(client, q="maria garcai", narrow=narrowing)
        assert status == 200
        rows = html.split("<tbody>", 1)[1].split("</tr>")
        assert "García Rojas" in rows[0], rows[0]
        assert f'value="maria garcai {narrowing}"' in html  # the box holds the narrowed search
        assert "Many people match this search equally well" not in html


def test_over_http_a_bad_narrowing_comes_back_with_the_page_and_a_reason(namesakes, client, clerk):
    status, html = _post(client, q="maria garcia", narrow="V12345678")
    assert status == 422
    assert "To narrow the search, type a date of birth" in html and 'value="V12345678"' in html
    assert "García" in html  # the crowded page is still there


def test_over_http_a_page_that_is_not_crowded_offers_no_narrowing(namesakes, client, clerk):
    status, html = _post(client, q="maria garcia rojas")
    assert status == 200 and 'name="narrow"' not in html


def test_two_name_words_that_happen_to_read_as_a_case_number_are_searched_as_names(ctx, make):
    """ "maria hernandeez" is MAR-IAH-ERNA-NDEE-Z with a valid check character, by chance."""
    from msc.beneficiaries import casenumber

    assert casenumber.parse("maria hernandeez") is not None
    uid = make.person(given_names="María", family_names="Hernández Ruiz")
    result = search.search(SYSTEM, "maria hernandeez")
    assert result.exact is None and result.hits[0].person.uid == uid
