"""Every id a URL, a query string or a form carries is read by one converter (msc.urls.parse_id): a huge
number, a negative one, Arabic-Indic digits or an exponent is "not found" or an unapplied filter, never a 500."""

from urllib.parse import quote

import pytest

from msc.security.policy import AUTHENTICATED, PUBLIC, ROLES, declared_permission
from msc.urls import MAX_ID, coerce_id, parse_id
from tests.test_access import _endpoints, _url, login_as, world  # noqa: F401 (the fixture)

BAD = ["99999999999999999999", "-1", "١", "1e5", str(MAX_ID + 1)]
# Every query-string name a page reads as a record id (filters, paging, the ledger's cursor).
ID_PARAMS = ("centre", "centre_id", "page", "before", "object_id", "service_id", "assignee", "item_id")
SENTINEL = 987654


def test_parse_id_reads_only_ascii_digits_the_database_can_hold():
    assert parse_id("42") == 42
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert parse_id(7) == 7
    for value in [*BAD, "", " 1", "1 ", "+1", "٣", "１", "0x1", None, True, 2**40, -3, "1.0"]:
        assert parse_id(value) is None, value
    with pytest.raises(ValueError):
        coerce_id("١")


def _reachers(rule):
    needed = declared_permission(rule.endpoint)
    return [role for role, permissions in ROLES.items() if needed in (PUBLIC, AUTHENTICATED) or needed in permissions]


def test_bad_ids_in_the_query_string_never_answer_5xx(app, world):  # noqa: F811
    clients = {}
    for role in ROLES:
        clients[role] = app.test_client()
        login_as(app, clients[role], world["users"][role])
    checked = 0
    for rule, method in _endpoints(app):
        if method != "GET" or rule.endpoint.endswith(("logout", "language")):
            continue
        with app.app_context():
            roles = _reachers(rule)
        base = _url(app, rule, world)
        for value in BAD:
            query = "&".join(f"{name}={quote(value)}" for name in ID_PARAMS)
            for role in roles:
                res = clients[role].get(f"{base}?{query}")
                assert res.status_code < 500, (rule.endpoint, role, value, res.status_code)
                checked += 1
    assert checked > 500


def test_bad_ids_in_the_path_answer_404(app, world):  # noqa: F811
    clients = {}
    for role in ROLES:
        clients[role] = app.test_client()
        login_as(app, clients[role], world["users"][role])
    checked = 0
    for rule, method in _endpoints(app):
        ints = [arg for arg in rule.arguments if type(rule._converters[arg]).__name__ == "IdConverter"]
        if method != "GET" or not ints:
            continue
        with app.app_context():
            roles = _reachers(rule)
        for arg in ints:
            # A sentinel in that one argument, then each bad value in its place.
            probe = _url(app, rule, {**world, WORLD_KEY[arg]: SENTINEL})
            assert str(SENTINEL) in probe, (rule.endpoint, arg)
            for value in BAD:
                url = probe.replace(str(SENTINEL), quote(value))
                for role in roles:
                    res = clients[role].get(url)
                    assert res.status_code == 404, (rule.endpoint, arg, role, value, res.status_code)
                    checked += 1
    assert checked > 20


WORLD_KEY = {
    "centre_id": "centre",
    "user_id": "victim",
    "org_id": "org",
    "service_id": "service",
    "shelter_id": "shelter",
    "item_id": "item",
    "sample_id": "sample",
    "entry_point_id": "entry_point",
    "job_id": "job",
}


@pytest.mark.parametrize(
    ("language", "message"), [("es", "cifras 0 a 9"), ("pt_BR", "algarismos 0 a 9"), ("en", "digits 0 to 9")]
)
def test_a_record_number_in_other_digits_is_a_form_error_not_record_1(app, make, language, message):
    client = app.test_client()
    login_as(app, client, make.user("dpo", "dpo", scope="region", locale=language))
    res = client.get("/dpo/audit?object_id=%D9%A1")  # "١", which int() would read as 1
    assert res.status_code == 422 and message in res.get_data(as_text=True)
    assert client.get("/dpo/audit?object_id=99999999999999999999").status_code == 422
    assert client.get("/dpo/audit?object_id=1").status_code == 200


def test_a_huge_centre_filter_on_the_directory_is_left_unapplied(app, make):
    make.partner(name="Hospital Erasmo Meoz", centres=("COL-CUC",))
    client = app.test_client()
    login_as(app, client, make.user("cw", "caseworker"))
    res = client.get("/partners/?centre=99999999999999999999")
    assert res.status_code == 200 and "Hospital Erasmo Meoz" in res.get_data(as_text=True)


def test_a_nul_in_an_address_or_its_query_answers_404_or_400_on_every_page(app, world):  # noqa: F811
    """PostgreSQL cannot compare a text holding a NUL: such an address names nothing, before any look-up."""
    from werkzeug.routing import PathConverter, UnicodeConverter

    client = app.test_client()
    login_as(app, client, world["users"]["centre_manager"])
    adapter = app.url_map.bind("localhost")
    checked = 0
    for rule, method in _endpoints(app):
        named = [a for a in rule.arguments if isinstance(rule._converters.get(a), UnicodeConverter | PathConverter)]
        if method != "GET" or not named:
            continue
        values = {a: ("a\x00b" if a in named else 1) for a in rule.arguments}
        res = client.get(adapter.build(rule.endpoint, values))
        assert res.status_code == 404, (rule.endpoint, res.status_code)
        checked += 1
    assert checked > 20
    assert client.get("/register?household=a%00b").status_code == 400
