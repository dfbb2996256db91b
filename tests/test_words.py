"""No code reaches a page: every page, for every role, in Spanish, shows words and not the keys behind them."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import sqlalchemy as sa
from flask_babel import force_locale

from msc.db import session
from msc.security.models import User
from msc.security.policy import AUTHENTICATED, PUBLIC, ROLES, SERVICE_ROLES, declared_permission
from tests.test_access import _endpoints, _url, login_as, world  # noqa: F401  (world is a fixture)

#: a snake_case key ("fund_allocation", "case_number") or a dotted one ("beneficiary.search")
KEY = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b[a-z]+\.[a-z_]+[a-z]\b")
#: where a code may legitimately be shown: code samples, scripts, styles, what was typed
HIDDEN = {"code", "script", "style", "textarea", "pre", "kbd", "samp"}


class _Text(HTMLParser):
    """The text a person reads on a page (not attributes, URLs, input values or code)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in HIDDEN:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in HIDDEN and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The page's readable text, one space between pieces."""
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _codes() -> set[str]:
    """Every one-word code of every vocabulary, and every role: none of them is Spanish."""
    from msc.beneficiaries import vocab as bvocab
    from msc.cases import vocab as cvocab
    from msc.dpo import vocab as dvocab
    from msc.feedback import vocab as fbvocab
    from msc.fund import vocab as fvocab
    from msc.nfi import vocab as nvocab
    from msc.partners import vocab as pvocab
    from msc.referrals import vocab as rvocab

    codes = set(ROLES)
    for module in (bvocab, cvocab, dvocab, fbvocab, fvocab, nvocab, pvocab, rvocab):
        for value in vars(module).values():
            if isinstance(value, dict):
                codes |= {k for k in value if isinstance(k, str) and k.isalpha() and k.islower()}
    # words that are also Spanish, or a proper name shown as such
    return {code for code in codes if len(code) > 2} - {"legal", "ngo", "kit", "sea", "general"}


def offending(text: str, codes: set[str]) -> set[str]:
    """Keys and English codes found in a Spanish page's text."""
    text = re.sub(r"\S+@\S+", " ", text)  # e-mail addresses are data, not keys
    found = set(KEY.findall(text))
    found |= {w for w in re.findall(r"\b[a-z]+\b", text) if w in codes}
    return found


def test_the_scanner_finds_keys_outside_code_and_values():
    html = (
        "<p>Acción: fund_allocation, beneficiary.search</p><code>case_number</code>"
        '<input value="partner_service"><a href="/x/y_z">ir</a><td>caseworker</td>'
    )
    assert offending(visible_text(html), {"caseworker"}) == {"fund_allocation", "beneficiary.search", "caseworker"}


def test_no_page_shows_a_code_in_spanish(app, world):  # noqa: F811
    codes = _codes()
    with app.app_context():
        session.execute(sa.update(User).values(locale="es"))
        session.commit()
    problems: dict[str, set[str]] = {}
    seen = 0
    for rule, method in _endpoints(app):
        if method != "GET" or rule.endpoint.startswith(("api.", "static")):
            continue
        with app.app_context():
            needed = declared_permission(rule.endpoint)
        url = _url(app, rule, world)
        for role, permissions in ROLES.items():
            if needed not in (PUBLIC, AUTHENTICATED) and needed not in permissions:
                continue
            client = app.test_client()
            login_as(app, client, world["users"][role])
            res = client.get(url)
            if res.status_code != 200 or res.mimetype != "text/html":
                continue
            seen += 1
            # the factory names a partner's service after its sector: data, not a key
            text = visible_text(res.get_data(as_text=True)).replace("health service", "")
            found = offending(text, codes)
            if found:
                problems.setdefault(f"{role} {rule.endpoint}", set()).update(found)
    assert seen > 50
    usernames = {  # data, not keys
        "cw_peru",
        "cw_tumbes",
        "po_region",
        *(f"u_{role}" for role in ROLES),
        *(f"svc_{role}" for role in SERVICE_ROLES),
        "svc_spare",
    }
    problems = {page: found - usernames for page, found in problems.items() if found - usernames}
    assert problems == {}, "\n".join(f"{page}: {sorted(found)}" for page, found in sorted(problems.items()))


def _say(app, language: str, template: str, **context) -> str:
    from flask import render_template_string

    with app.test_request_context(), force_locale(language):
        return render_template_string(template, **context)


def test_a_word_that_is_a_noun_or_a_state_or_a_verb_is_translated_as_what_it_is(app):
    record = (
        '{{ pgettext("a person\'s record", "Record") }}|{{ pgettext("audit log: what an entry is about", "Record") }}'
    )
    assert _say(app, "es", record) == "Registro|Registro"
    assert _say(app, "pt_BR", record) == "Registro|Registro"
    assert _say(app, "es", '{{ _("Record") }}') == "Registrar"  # the button keeps its verb
    opened = '{{ pgettext("verb: open the page", "Open") }}|{{ CASE_STATUSES["open"] }}'
    assert _say(app, "es", opened) == "Abrir|Abierto"
    assert _say(app, "pt_BR", opened) == "Abrir|Aberto"
    with app.test_request_context():
        from msc.feedback import vocab as feedback
        from msc.fund import vocab as fund

        with force_locale("es"):
            assert (str(fund.OUTCOMES["approve"]), str(fund.DECISION_STATES["approve"])) == ("Aprobar", "Aprobada")
            assert str(feedback.STATUSES["answered"]) == "Respondida"
        with force_locale("pt_BR"):
            assert (str(fund.OUTCOMES["approve"]), str(fund.DECISION_STATES["approve"])) == ("Aprovar", "Aprovada")


def test_counts_agree_with_their_noun(app):
    template = (
        '{{ ngettext("Count recorded: %(num)d difference adjusted.",'
        ' "Count recorded: %(num)d differences adjusted.", n) }}'
        '|{{ ngettext("%(num)d person anonymised", "%(num)d people anonymised", n) }}'
    )
    assert _say(app, "es", template, n=1) == "Conteo registrado: 1 diferencia ajustada.|1 persona anonimizada"
    assert _say(app, "es", template, n=2) == "Conteo registrado: 2 diferencias ajustadas.|2 personas anonimizadas"
    assert _say(app, "pt_BR", template, n=1) == "Contagem registrada: 1 diferença ajustada.|1 pessoa anonimizada"
    with app.test_request_context(), force_locale("es"):
        from flask_babel import ngettext

        one = ngettext(
            "Retention run finished: %(num)d person anonymised.",
            "Retention run finished: %(num)d people anonymised.",
            1,
        )
        assert one == "Ejecución de conservación terminada: 1 persona anonimizada."


def test_every_count_shown_with_a_noun_uses_plural_forms():
    """A template or a flash that puts a number before a noun goes through ngettext (a static check)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    # a number followed by a word; "of", "to", "or", "a" and version numbers do not agree with it.
    # (Lazy messages are limits of forms, "at most %(n)d characters", never one.)
    single = re.compile(r"""\b_\(\s*["'][^"']*%\((?!v\)|pct\)|low\))\w+\)d (?!of\b|to\b|or\b|a\b|today\b)[a-z]""")
    found = [
        f"{path.relative_to(root)}: {m.group(0)}"
        for folder, pattern in (("templates", "**/*.html"), ("msc", "**/*.py"))
        for path in sorted((root / folder).glob(pattern))
        for m in single.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "\n".join(found)
