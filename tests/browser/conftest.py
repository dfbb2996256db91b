"""Fixtures for the browser scenarios: Debian's Chromium through Playwright, a live server, axe-core.

Nothing is downloaded here: Chromium is /usr/bin/chromium and axe-core is the npm package that
`make browser-deps` installs under .cache/axe. If either is missing the tests fail and say so.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from msc.settings import ROOT
from tests.conftest import PASSWORD, PG_URL, Factory, _empty_pg, _new_app

CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

RECEPTION_USER = "recepcion"


# ---- browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (Debian's, never a downloaded one)."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
            "Run `make browser-deps` (apt-get install chromium).",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        pw.stop()


# ---- live server ---------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr; errors go to the server's list for the test to check."""

    def log(self, type: str, message: str, *args) -> None:  # noqa: A002 - werkzeug's signature
        self.server.log(type, message, *args)


@dataclass
class LiveServer:
    url: str
    app: object
    username: str
    password: str
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def live_server(db_url, tmp_path, keys_file):
    """The app on 127.0.0.1:<free port> in a background thread, with a centre and a reception user."""
    own_keys = tmp_path / "keys.json"
    shutil.copyfile(keys_file, own_keys)
    # create_app("testing", ...) as tests/conftest.py does, with CSRF on and the desk's default language
    app = _new_app(tmp_path, db_url, own_keys, WTF_CSRF_ENABLED=True, BABEL_DEFAULT_LOCALE="es")
    engine = app.extensions["msc.engine"]
    server = thread = None
    try:
        make = Factory(app)
        make.centre("COL-CUC", "CAM Cúcuta", "COL")
        make.user(RECEPTION_USER, "reception", centres=("COL-CUC",), locale="es")
        # A thread per connection, as a real server has: Chromium opens connections ahead of use, and a
        # single-threaded server waiting on an idle one leaves the page's real request unanswered.
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        server.errors = []

        def _log(type: str, message: str, *args) -> None:  # noqa: A002 - werkzeug's signature
            if type == "error":
                server.errors.append(message % args if args else message)

        server.log = _log  # werkzeug reports a failed request (or error page) here
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="msc-live-server", daemon=True
        )
        thread.start()
        yield LiveServer(
            url=f"http://127.0.0.1:{server.server_port}",
            app=app,
            username=RECEPTION_USER,
            password=PASSWORD,
            errors=server.errors,
        )
    finally:
        if server is not None:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
        if PG_URL:
            _empty_pg(engine)
        engine.dispose()


# ---- a page that records where it went -----------------------------------------------------


@dataclass
class Visit:
    """A browser page plus every URL it reached and every request it sent."""

    page: object
    base_url: str
    page_urls: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def goto(self, path: str):
        response = self.page.goto(self.base_url + path)
        self.note_url()
        return response

    def note_url(self) -> None:
        self.page_urls.append(self.page.url)

    def all_urls(self) -> list[str]:
        return self.page_urls + [url for _, url in self.requests]


@pytest.fixture
def visit(browser, live_server):
    """A fresh browser context in Colombian Spanish; CSP bypassed only so that axe can be injected."""
    context = browser.new_context(
        locale="es-CO", bypass_csp=True, viewport={"width": 1024, "height": 768}, service_workers="block"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    v = Visit(page=page, base_url=live_server.url)
    page.on("request", lambda req: v.requests.append((req.method, req.url)))
    page.on("framenavigated", lambda frame: v.page_urls.append(frame.url) if frame == page.main_frame else None)
    page.on(
        "response",
        lambda res: (
            v.server_errors.append(f"{res.status} {res.request.method} {res.url}") if res.status >= 500 else None
        ),
    )
    page.on("pageerror", lambda err: v.page_errors.append(str(err)))
    try:
        yield v
    finally:
        context.close()
    assert not v.server_errors, f"the server answered with errors: {v.server_errors}"
    assert not live_server.errors, f"the live server logged errors: {live_server.errors}"


# ---- checks --------------------------------------------------------------------------------


def log_in_as(visit, username: str, totp_secret: str | None = None) -> None:
    """Log in through the form (a fresh cookie jar), confirming with the authenticator code if asked."""
    import pyotp

    page = visit.page
    page.context.clear_cookies()
    visit.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("#password").press("Enter")
    visit.note_url()
    if page.url.split("?")[0].endswith("/login/code") and totp_secret:
        page.locator("#code").fill(pyotp.TOTP(totp_secret).now())
        with page.expect_navigation():
            page.locator("#code").press("Enter")
        visit.note_url()


def check_axe(page, screen: str) -> None:
    """Run axe-core on the page; fail on any serious or critical violation."""
    if not AXE_JS.is_file():
        pytest.fail(f"axe-core is missing ({AXE_JS}): run `make browser-deps`.", pytrace=False)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    violations = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                                       targets: v.nodes.map(n => n.target.join(' ')),
                                       summary: v.nodes.slice(0, 3).map(n => n.failureSummary)}));
    }""")
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    if bad:
        lines = [f"axe-core found {len(bad)} serious/critical violation(s) on the {screen} screen ({page.url}):"]
        for v in bad:
            lines.append(f"  - [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
            for target in v["targets"][:10]:
                lines.append(f"      at {target}")
            for s in v["summary"]:
                lines.append("      " + json.dumps(s))
        pytest.fail("\n".join(lines), pytrace=False)


def check_no_horizontal_scroll(page, screen: str) -> None:
    widths = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    if widths["scroll"] > widths["inner"] + 1:
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                + (typeof e.className === 'string' && e.className ? '.' + e.classList.value.replace(/ +/g, '.') : '')
                + ' right=' + Math.round(e.getBoundingClientRect().right))""")
        pytest.fail(
            f"the {screen} screen scrolls sideways at {page.viewport_size}: scrollWidth "
            f"{widths['scroll']} > innerWidth {widths['inner']}; too wide: {wide}",
            pytrace=False,
        )
