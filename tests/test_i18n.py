"""Every string a person sees is translated into es, pt_BR and en; language is stored and switchable."""

import io

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from msc.settings import ROOT
from tests.conftest import csrf

LOCALES = ["es", "pt_BR", "en"]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [("msc/**.py", "python"), ("templates/**.html", "jinja2")]


def _source_msgids() -> set[str]:
    found = set()
    for sub, method in (("msc", "python"), ("templates", "jinja2")):
        pattern = "**.py" if method == "python" else "**.html"
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(ROOT / sub), method_map=[(pattern, method)], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_translates_every_string_in_the_source(locale):
    path = ROOT / "msc" / "translations" / locale / "LC_MESSAGES" / "messages.po"
    catalog = read_po(io.BytesIO(path.read_bytes()))
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    missing = sorted(_source_msgids() - set(translated))
    assert missing == [], f"{locale}: not in the catalogue: {missing[:10]}"
    empty = sorted(k for k, m in translated.items() if not (m.string if isinstance(m.string, str) else all(m.string)))
    assert empty == [], f"{locale}: untranslated: {empty[:10]}"
    fuzzy = sorted(k for k, m in translated.items() if m.fuzzy)
    assert fuzzy == [], f"{locale}: fuzzy: {fuzzy[:10]}"


def test_placeholders_survive_translation():
    import re

    for locale in LOCALES:
        path = ROOT / "msc" / "translations" / locale / "LC_MESSAGES" / "messages.po"
        for m in read_po(io.BytesIO(path.read_bytes())):
            if not m.id or not isinstance(m.id, str):
                continue
            assert set(re.findall(r"%\(\w+\)\w", m.id)) == set(re.findall(r"%\(\w+\)\w", m.string)), (locale, m.id)


def test_spanish_is_the_default(app):
    app.config["BABEL_DEFAULT_LOCALE"] = "es"
    html = app.test_client().get("/login").get_data(as_text=True)
    assert 'lang="es"' in html and "Iniciar sesión" in html


def test_browser_language_is_followed_before_login(client):
    html = client.get("/login", headers={"Accept-Language": "pt-BR,pt;q=0.9"}).get_data(as_text=True)
    assert 'lang="pt-BR"' in html and "Entrar" in html


def test_user_language_is_stored_and_used(app, make, auth, client):
    make.user("clerk", "reception", locale="es")
    auth.login("clerk")
    assert "Buscar" in client.get("/").get_data(as_text=True)
    client.post("/account", data={"lang-locale": "pt_BR", "lang-csrf_token": csrf(client, "/account")})
    html = client.get("/").get_data(as_text=True)
    assert 'lang="pt-BR"' in html


def test_dates_are_localised(app, make, auth, client):
    import datetime as dt

    make.user("clerk", "reception", locale="es")
    uid = make.person(given_names="Ana", family_names="Rojas", date_of_birth=dt.date(1990, 5, 17))
    auth.login("clerk")
    assert "17 may 1990" in client.get(f"/b/{uid}").get_data(as_text=True)


@pytest.mark.parametrize("locale", LOCALES)
def test_main_menu_items_read_differently(locale):
    """No item of the main menu reads the same as another, or as the start of another, in any language:
    "Register" and "Record feedback" once both read "Registrar" at the desk."""
    import re

    labels = re.findall(r'\{\{ _\("([^"]+)"\) \}\}</a></li>', (ROOT / "templates" / "base.html").read_text())
    assert "Register a person" in labels and "Take feedback" in labels
    path = ROOT / "msc" / "translations" / locale / "LC_MESSAGES" / "messages.po"
    catalog = read_po(io.BytesIO(path.read_bytes()))
    shown = [catalog.get(label).string.casefold() for label in labels]
    clashes = [(a, b) for i, a in enumerate(shown) for b in shown[i + 1 :] if a == b or f"{b} ".startswith(f"{a} ")]
    clashes += [(a, b) for i, a in enumerate(shown) for b in shown[i + 1 :] if f"{a} ".startswith(f"{b} ") and a != b]
    assert clashes == []


def test_templates_read_the_request_language_and_follow_a_forced_one(app):
    """The templates' gettext, ngettext and pgettext read the request's translations once; a language
    forced for a letter (force_locale) is followed inside it and the request's comes back after it."""
    from flask import render_template_string
    from flask_babel import force_locale

    page = (
        '{{ _("Detail") }}|{{ ngettext("%(num)d year", "%(num)d years", 2) }}|'
        '{{ pgettext("audit log: what an entry is about", "Record") }}'
    )
    with app.test_request_context(headers={"Accept-Language": "es"}):
        spanish = render_template_string(page)
        with force_locale("en"):
            english = render_template_string(page)
            with force_locale("pt_BR"):
                portuguese = render_template_string(page)
            assert render_template_string(page) == english
        again = render_template_string(page)
    assert spanish == again == "Detalle|2 años|Registro"
    assert english == "Detail|2 years|Record"
    assert portuguese.startswith("Detalhe|2 anos|")
