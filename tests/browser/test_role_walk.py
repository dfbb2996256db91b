"""Every role walks every page its menu reaches, in Spanish, on a phone (360 px) and on a desk (1280 px).

The demo data (a few households, casework, referrals, stock, fund applications, shelters, feedback) fills
the pages. Each page must fit the screen, pass axe-core, and read as Spanish: no raw message keys, no
English UI words, no English number formats. Every finding of every page is collected and reported in
one assertion, so a failure lists all of them at once.
"""

from __future__ import annotations

import re
import shutil
import threading
from urllib.parse import urlsplit

import pyotp
import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from tests.browser.conftest import AXE_JS, TIMEOUT_MS, _QuietHandler
from tests.conftest import PASSWORD, PG_URL, _cached_hash, _empty_pg, _new_app

WIDTHS = (360, 1280)
#: pages people print (the monthly report is the dashboard with a month chosen)
PRINTED = ("/reports/",)
#: demo user per role (msc/demo.py); there is no regional manager role, regional scope is given per user
ROLES = {
    "reception": "recepcion",
    "caseworker": "gestora",
    "centre_manager": "coordinador",
    "protection_officer": "proteccion",
    "dpo": "dpo",
    "partner": "socio",
    "admin": "admin",
}

#: pages a role reaches from its menu pages' contents that the walk opens too: a profile, the fund application
EXTRA = {"reception": ("/b/{person}",), "caseworker": ("/b/{person}", "/fund/apply/{case}")}

#: snake_case or dotted keys (message ids, enum values, permission names) that leaked into the text
RAW_KEY = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b[a-z]+(?:\.[a-z_]+){1,3}\b(?!\.)")
#: words of the English interface that must never show on a Spanish page (whole words, case-sensitive)
ENGLISH = re.compile(
    r"\b(Save|Search|Open|Status|Name|Date|Cancel|Submit|Back|Today|None|True|False|Record|Delete|Edit|"
    r"Yes|Next|Previous|Details|Download|Export|Print|Send|View|Add|Remove|Close|Closed|Active)\b"
)
#: money and percentages written the English way (1,234.56 or 3.5%) instead of the Spanish way
ENGLISH_NUMBER = re.compile(r"\d,\d{3}\.\d{2}\b|\b\d+\.\d+\s?%")
#: parts of a dotted key that are only e-mail addresses, file or host names
NOT_A_KEY = re.compile(r"@|\.(?:org|com|csv|xlsx|json|zip|pdf|svg)\b")

#: Known findings that belong to other work on the issue (item 8: numbers in the locale; item 9: raw keys and
#: untranslated labels). They are allowed here until that work merges; then empty this set. Each entry is
#: (path pattern, finding): the pattern is a regular expression the whole path matches, and a finding is
#: allowed when it starts with the entry's finding (e.g. "English number" allows every such number there).
KNOWN: set[tuple[str, str]] = set()

VISIBLE_TEXT = """() => {
  const skip = new Set(['CODE', 'PRE', 'INPUT', 'TEXTAREA', 'SELECT', 'SCRIPT', 'STYLE', 'SVG', 'NOSCRIPT']);
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let e = node.parentElement; e; e = e.parentElement) {
        if (skip.has(e.tagName.toUpperCase()) || e.hidden) return NodeFilter.FILTER_REJECT;
      }
      const box = node.parentElement.getBoundingClientRect();
      return box.width || box.height ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
    }
  });
  while (walker.nextNode()) out.push(walker.currentNode.nodeValue);
  return out.join(' ');
}"""

AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' at ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
}"""

#: the header's menu on one line (a wide screen) or folded under its button (a phone), never wrapped
MENU_LINES = """() => {
  const nav = [...document.querySelectorAll('header nav')].find(n => n.getClientRects().length);
  if (!nav) return [0, 0, ''];
  const tops = new Set([...nav.querySelectorAll('li')].filter(li => li.getClientRects().length)
    .map(li => Math.round(li.getBoundingClientRect().top)));
  const items = [...nav.querySelectorAll('li')]
    .map(li => li.textContent.trim() + ' ' + Math.round(li.getBoundingClientRect().width));
  return [tops.size, Math.round(nav.getBoundingClientRect().width), items.join(', ')];
}"""

#: on paper (an A4 page's width at 96 dpi less its margins) every table shows whole, none cut at its edge
PRINT_CUT = """() => [...document.querySelectorAll('main table')]
  .filter(t => t.getBoundingClientRect().right > document.documentElement.clientWidth + 1
       || t.parentElement.scrollWidth > t.parentElement.clientWidth + 1)
  .map(t => (t.querySelector('caption') || t.parentElement.closest('section') || t).innerText.split('\\n')[0])"""
PRINT_WIDTH = 680

#: on a wide screen every table fits its column: none scrolls inside its box
SCROLLING_TABLES = """() => [...document.querySelectorAll('main .table-wrap')]
  .filter(w => w.scrollWidth > w.clientWidth + 1)
  .map(w => (w.querySelector('caption') || w.closest('section') || w).innerText.split('\\n')[0])"""

WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 4).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
     + (typeof e.className === 'string' && e.className ? '.' + e.classList.value.replace(/ +/g, '.') : ''))"""


@pytest.fixture(scope="module")
def walk_server(template_db, pg_url, keys_file, tmp_path_factory):
    """The app with the demo data, served once for every role's walk."""
    tmp = tmp_path_factory.mktemp("walk")
    own_keys = tmp / "keys.json"
    shutil.copyfile(keys_file, own_keys)
    if pg_url:
        url = pg_url
    else:
        shutil.copyfile(template_db, tmp / "msc.sqlite3")
        url = f"sqlite:///{tmp / 'msc.sqlite3'}"
    app = _new_app(tmp, url, own_keys, WTF_CSRF_ENABLED=True, BABEL_DEFAULT_LOCALE="es")
    engine = app.extensions["msc.engine"]
    secrets, places = _load_demo(app)
    server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=_QuietHandler)
    errors: list[str] = []
    server.log = lambda type, message, *args: errors.append(message % args) if type == "error" else None  # noqa: A006
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", secrets, errors, places
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        if PG_URL:
            _empty_pg(engine)
        engine.dispose()


def _load_demo(app) -> tuple[dict[str, str], dict[str, str]]:
    """A small demo, every demo account with the test password, an authenticator for the roles that need one;
    returns the authenticator secrets and a person and an open case of the demo's first centre."""
    from msc import demo
    from msc.cases.models import Case, CaseStatus
    from msc.centres.models import Centre
    from msc.db import session
    from msc.security.models import User
    from msc.security.policy import MFA_REQUIRED

    secrets = {}
    with app.app_context():
        demo.load(people=24)
        for user in session.scalars(sa.select(User)):
            user.password_hash = _cached_hash(PASSWORD)
            if user.role in MFA_REQUIRED:
                user.mfa_secret = secrets.setdefault(user.username, pyotp.random_base32())
        session.commit()
        centre = session.scalar(sa.select(Centre.id).where(Centre.code == "COL-CUC"))
        case = session.scalar(
            sa.select(Case).where(Case.centre_id == centre, Case.status != CaseStatus.CLOSED).order_by(Case.id).limit(1)
        )
        places = {"person": case.beneficiary.uid, "case": case.uid}
    return secrets, places


def _log_in(page, base: str, username: str, secret: str | None) -> None:
    page.goto(base + "/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("#password").press("Enter")
    if urlsplit(page.url).path.endswith("/login/code"):
        page.locator("#code").fill(pyotp.TOTP(secret).now())
        with page.expect_navigation():
            page.locator("#code").press("Enter")
    assert "/login" not in urlsplit(page.url).path, f"{username} could not log in"


def _menu(page) -> list[str]:
    """The paths the header's navigation links to (the menu is the same on every page)."""
    hrefs = page.eval_on_selector_all("header nav a[href]", "links => links.map(a => a.getAttribute('href'))")
    return list(dict.fromkeys(h for h in hrefs if h.startswith("/")))


def _first_row_link(page) -> str | None:
    """The first link inside a table row of a list page (one level deeper, cheaply)."""
    return page.evaluate(
        "() => { const a = document.querySelector('main table tbody a[href^=\"/\"]'); "
        "return a ? a.getAttribute('href') : null; }"
    )


#: pages axe has checked already (by their path's shape): the menus share many pages, and axe is the slow part
_AXE_DONE: set[str] = set()


def _shape(path: str) -> str:
    """The path with its record ids left out, so that one page of a kind stands for the others."""
    return re.sub(r"/(?:[0-9a-f]{32}|\d+)(?=/|$)", "/*", path)


def _findings(page, width: int, path: str) -> list[str]:
    """What is wrong with the page on screen now."""
    found = []
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if widths[0] > widths[1] + 1:
        found.append(f"scrolls sideways at {width} px ({widths[0]} px wide): {', '.join(page.evaluate(WIDE))}")
    text = page.evaluate(VISIBLE_TEXT)
    keys = [k for k in sorted({m.group(0) for m in RAW_KEY.finditer(text)}) if not _not_a_key(text, k)]
    for kind, values in (
        ("raw key", keys),
        ("English word", sorted({m.group(0) for m in ENGLISH.finditer(text)})),
        ("English number", sorted({m.group(0) for m in ENGLISH_NUMBER.finditer(text)})),
    ):
        found += [f"{kind}: {value}" for value in values]
    if width >= 1024:
        found += [f"a table overflows its column at {width} px: {name}" for name in page.evaluate(SCROLLING_TABLES)]
    lines, room, items = page.evaluate(MENU_LINES)
    if width >= 1024 and lines > 1:
        found.append(f"the menu wraps onto {lines} lines at {width} px ({room} px: {items})")
    if width == WIDTHS[0] and _shape(path) not in _AXE_DONE:  # axe once per page, on the phone (the tightest)
        _AXE_DONE.add(_shape(path))
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE_JS))
        found += [f"axe: {v}" for v in page.evaluate(AXE_RUN)]
    return found


def _not_a_key(text: str, key: str) -> bool:
    """An e-mail address, a file or host name that only looks like a dotted key."""
    at = text.find(key)
    return bool(NOT_A_KEY.search(text[max(0, at - 1) : at + len(key) + 5]))


def _print_findings(page, width: int) -> list[str]:
    """A page printed on A4: the tables whole, none cut at the paper's edge."""
    page.set_viewport_size({"width": PRINT_WIDTH, "height": 1000})
    page.emulate_media(media="print")
    try:
        return [f"printed, the table is cut: {name}" for name in page.evaluate(PRINT_CUT)]
    finally:
        page.emulate_media(media="screen")
        page.set_viewport_size({"width": width, "height": 800})


def _known(path: str, finding: str) -> bool:
    """Whether the finding is on the allow-list: the path matches its pattern and the finding starts with it."""
    return any(re.fullmatch(pattern, path) and finding.startswith(known) for pattern, known in KNOWN)


@pytest.mark.parametrize("role", list(ROLES))
def test_every_menu_page_fits_and_reads_as_spanish(browser, walk_server, role):
    """Log in as the role, open every page of the menu (and the first row of each list), at both widths."""
    if not AXE_JS.is_file():
        pytest.fail(f"axe-core is missing ({AXE_JS}): run `make browser-deps`.", pytrace=False)
    base, secrets, server_errors, places = walk_server
    username = ROLES[role]
    problems: list[str] = []
    signed_in = None  # log in once (an authenticator code is good only once), then carry the session over
    for width in WIDTHS:
        context = browser.new_context(
            locale="es-CO",
            bypass_csp=True,
            viewport={"width": width, "height": 800},
            service_workers="block",
            storage_state=signed_in,
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        bad_status: list[str] = []
        page.on("response", lambda r, bad=bad_status: bad.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        try:
            if signed_in is None:
                _log_in(page, base, username, secrets.get(username))
                signed_in = context.storage_state()
            else:
                page.goto(base + "/")
            pages = [urlsplit(page.url).path, *_menu(page)]
            pages += [extra.format(**places) for extra in EXTRA.get(role, ())]
            seen: set[str] = set()
            queue = list(dict.fromkeys(pages))
            while queue:
                path = queue.pop(0)
                if path in seen:
                    continue
                seen.add(path)
                response = page.goto(base + path)
                if response is None or response.status >= 400:
                    problems.append(f"{width} {path}: answered {response.status if response else 'nothing'}")
                    continue
                found = _findings(page, width, path)
                if width == WIDTHS[-1] and path.startswith(PRINTED):
                    found += _print_findings(page, width)
                for finding in found:
                    if not _known(path, finding):
                        problems.append(f"{width} {path}: {finding}")
                if path in pages:  # one level deeper: the first row of a list page
                    row = _first_row_link(page)
                    if row and row not in seen:
                        queue.append(row)
            problems += [f"{width}: server error {s}" for s in bad_status]
        finally:
            context.close()
    problems += [f"server log: {e}" for e in server_errors]
    server_errors.clear()  # reported once, for the role that met them
    assert not problems, f"{role} ({username}) found {len(problems)} problem(s):\n" + "\n".join(problems)
