"""Pages are light, work without JavaScript, and never call a third party."""

import re

from msc.settings import ROOT


def test_css_and_js_together_stay_under_100_kb():
    static = ROOT / "msc" / "static"
    total = sum(p.stat().st_size for p in static.rglob("*") if p.suffix in (".css", ".js"))
    assert total < 100 * 1024, total


def test_the_offline_desks_javascript_stays_under_50_kb():
    script = ROOT / "msc" / "static" / "js" / "offline.js"
    worker = ROOT / "templates" / "offline" / "sw.js"
    assert script.stat().st_size + worker.stat().st_size < 50 * 1024


def test_no_template_or_stylesheet_loads_anything_from_another_host():
    pattern = re.compile(r"""(?:src|href|action)\s*=\s*["'](?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", re.I)
    files = list((ROOT / "templates").rglob("*.html")) + list((ROOT / "msc" / "static").rglob("*.css"))
    offenders = [str(p) for p in files if pattern.search(p.read_text())]
    assert offenders == []


#: pages whose script only enhances them: the signature pad, beside thumbprint and witness; a job's
#: progress (the keys page's rotation, a job's page), which refreshes itself without it; camera scanning of a
#: card (only where the browser has BarcodeDetector), beside the box a wedge scanner or a hand types in; the
#: fund application's questions shown as the case type changes, beside its two steps on the server; the
#: offline desk (its enrolment page works without it; its own page is the offline layer, and says so without
#: it: the registration and hand-over pages serve the desk while the connection works)
ENHANCED = {
    "offline/desk.html",
    "offline/shell.html",
    "nfi/give.html",
    "dpo/keys.html",
    "jobs/detail.html",
    "reception/search.html",
    "nfi/desk.html",
    "fund/apply.html",
    "imports/batch.html",
}


def test_no_page_needs_javascript():
    pages = {str(p.relative_to(ROOT / "templates")): p.read_text() for p in (ROOT / "templates").rglob("*.html")}
    scripts = sorted(name for name, text in pages.items() if "<script" in text)
    assert scripts == sorted(ENHANCED)
    for name in ENHANCED:
        tags = re.findall(r"<script[^>]*>(.*?)</script>", pages[name], re.S)
        assert tags and all(body.strip() == "" for body in tags), "scripts come from files, never inline"


def test_times_show_in_the_centres_time_zone(app, make, auth, client):
    import datetime as dt

    make.user("clerk", "reception")
    uid = make.person(given_names="Ana", family_names="Rojas")
    auth.login("clerk")
    import sqlalchemy as sa

    from msc.beneficiaries.models import Beneficiary
    from msc.db import session

    with app.app_context():
        p = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        p.registered_at = dt.datetime(2026, 3, 1, 3, 30, tzinfo=dt.UTC)
        session.commit()
    html = client.get(f"/b/{uid}").get_data(as_text=True)
    assert "Feb 28, 2026, 10:30" in html  # Bogotá is UTC-5
