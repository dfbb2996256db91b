"""Feedback pages: the public page and its code, robots and floods, the status page that tells nothing
about unknown codes, the queues, and no route by which centre staff reach a sensitive complaint."""

import re
import time

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeSerializer

from msc.db import session
from msc.feedback.models import Feedback
from msc.security.models import User
from tests.conftest import _new_app, csrf
from tests.test_access import login_as
from tests.test_qr import assert_scalable_qr

CODE = re.compile(r'id="reference-code">([2-9A-Z]{5}-[2-9A-Z]{5})<')


def _started(app, seconds_ago=10):
    return URLSafeSerializer(app.config["SECRET_KEY"], salt="feedback-started").dumps(time.time() - seconds_ago)


def _send(app, client, kind, text, contact="", centre="COL-CUC", seconds_ago=10, extra=None):
    path = f"/f/{centre}"
    data = {
        "csrf_token": csrf(client, path),
        "kind": kind,
        "text": text,
        "contact": contact,
        "website": "",
        "started": _started(app, seconds_ago),
    }
    return client.post(path, data=data | (extra or {}))


def _focal(app, make, username="focal"):
    """A protection officer designated as PSEA focal point, logged in."""
    user_id = make.user(username, "protection_officer")
    with app.app_context():
        session.get(User, user_id).psea_focal_point = True
        session.commit()
    client = app.test_client()
    login_as(app, client, user_id)
    return client


def test_anonymous_message_code_answer(app, make, client):
    make.centre("COL-CUC")
    page = client.get("/f/col-cuc")
    assert page.status_code == 200 and "You do not need to give your name" in page.get_data(as_text=True)
    res = _send(app, client, "question", "¿A qué hora abren el sábado?", contact="+57 300 123 4567")
    assert res.status_code == 200
    code = CODE.search(res.get_data(as_text=True)).group(1)
    # The manager answers.
    boss = app.test_client()
    login_as(app, boss, make.user("boss", "centre_manager"))
    queue = boss.get("/feedback/").get_data(as_text=True)
    uid = re.search(r"/feedback/items/([0-9a-f]{32})", queue).group(1)
    item_page = boss.get(f"/feedback/items/{uid}").get_data(as_text=True)
    assert "¿A qué hora abren el sábado?" in item_page and "+57 300 123 4567" in item_page
    token = csrf(boss, f"/feedback/items/{uid}")
    res = boss.post(
        f"/feedback/items/{uid}", data={"csrf_token": token, "status": "answered", "assignee_id": "0", "response": ""}
    )
    assert res.status_code == 422 and "Write the answer" in res.get_data(as_text=True)
    assert (
        boss.post(
            f"/feedback/items/{uid}",
            data={"csrf_token": token, "status": "answered", "assignee_id": "0", "response": "De 8 a 12."},
        ).status_code
        == 302
    )
    # The person reads it with the code, and only that.
    res = client.post("/f/status", data={"csrf_token": csrf(client, "/f/status"), "code": code.lower()})
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "Answered" in html and "De 8 a 12." in html
    assert "¿A qué hora" not in html and "+57 300" not in html
    for guess in ("ABCDE-FGHJK", "hola", "<script>"):
        res = client.post("/f/status", data={"csrf_token": csrf(client, "/f/status"), "code": guess})
        assert res.status_code == 404 and "We found nothing with this code" in res.get_data(as_text=True)


@pytest.mark.parametrize(
    "extra,seconds_ago,message",
    [
        ({"website": "http://spam.example"}, 10, "take a moment"),
        ({}, 0, "take a moment"),
        ({"text": "<script>alert(1)</script>"}, 10, "without code"),
        ({"text": ""}, 10, "write your message"),
        ({"kind": "lottery"}, 10, "Not a valid choice"),
    ],
)
def test_robots_and_bad_input_get_a_message_and_keep_what_was_typed(app, make, client, extra, seconds_ago, message):
    make.centre("COL-CUC")
    res = _send(app, client, "suggestion", "Pongan más sillas.", seconds_ago=seconds_ago, extra=extra)
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and message in html
    if "text" not in extra:
        assert "Pongan más sillas." in html
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_a_flood_from_one_address_is_slowed(tmp_path, db_url, keys_file, make):
    import shutil

    own_keys = tmp_path / "flood-keys.json"
    shutil.copyfile(keys_file, own_keys)
    app = _new_app(tmp_path, db_url, own_keys, RATELIMIT_ENABLED=True, FEEDBACK_RATE_LIMIT="3 per hour")
    from tests.conftest import Factory

    Factory(app).centre("COL-CUC")
    client = app.test_client()
    codes = [_send(app, client, "suggestion", f"Idea número {n}.").status_code for n in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    app.extensions["msc.engine"].dispose()


def test_no_centre_staff_role_reaches_a_sensitive_complaint(app, make, client):
    make.centre("COL-CUC")
    _send(app, client, "sea", "El vigilante pidió favores a cambio del kit.")
    with app.app_context():
        uid = session.scalar(sa.select(Feedback.uid))
    focal = _focal(app, make)
    assert "El vigilante" in focal.get(f"/feedback/items/{uid}").get_data(as_text=True)
    assert "Sensitive complaints" in focal.get("/feedback/").get_data(as_text=True)
    for role in ("reception", "caseworker", "centre_manager", "protection_officer", "dpo", "admin"):
        staff = app.test_client()
        login_as(app, staff, make.user(f"u_{role}", role, scope="region" if role in ("dpo", "admin") else "centre"))
        assert staff.get(f"/feedback/items/{uid}").status_code in (403, 404), role
        queue = staff.get("/feedback/")
        assert queue.status_code == 403 or "El vigilante" not in queue.get_data(as_text=True), role
        assert queue.status_code == 403 or uid not in queue.get_data(as_text=True), role


def test_desk_form_and_poster(app, make, client):
    clerk = make.user("clerk", "reception")
    uid = make.person(given_names="Ana", family_names="Rojas")
    login_as(app, client, clerk)
    with app.app_context():
        from msc.beneficiaries.models import Beneficiary

        case_number = session.scalar(sa.select(Beneficiary.case_number).where(Beneficiary.uid == uid))
    token = csrf(client, "/feedback/desk")
    res = client.post(
        "/feedback/desk",
        data={
            "csrf_token": token,
            "kind": "complaint_service",
            "case_number": "COL-CUC-2026-999999",
            "text": "Nadie me atendió.",
        },
    )
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "No one has this case number" in html and "Nadie me atendió." in html
    res = client.post(
        "/feedback/desk",
        data={
            "csrf_token": token,
            "kind": "complaint_service",
            "case_number": case_number.lower(),
            "text": "Nadie me atendió.",
        },
    )
    assert res.status_code == 200 and CODE.search(res.get_data(as_text=True))
    with app.app_context():
        item = session.scalar(sa.select(Feedback))
        assert item.channel == "desk" and item.beneficiary_id is not None
        centre_id = item.centre_id
    boss = app.test_client()
    login_as(app, boss, make.user("boss", "centre_manager"))
    poster = boss.get(f"/feedback/poster/{centre_id}").get_data(as_text=True)
    assert "<svg" in poster and "/f/COL-CUC" in poster
    assert_scalable_qr(poster)
    assert client.get(f"/feedback/poster/{centre_id}").status_code == 403
    # the centre manager reaches the poster from the feedback page; a protection officer is not offered it
    assert f'href="/feedback/poster/{centre_id}"' in boss.get("/feedback/").get_data(as_text=True)
    officer = app.test_client()
    login_as(app, officer, make.user("po", "protection_officer"))
    assert "/feedback/poster/" not in officer.get("/feedback/").get_data(as_text=True)


def test_survey_after_a_service(app, make, client):
    make.centre("COL-CUC")
    page = client.get("/f/COL-CUC/survey?service=nfi").get_data(as_text=True)
    assert 'value="nfi" selected' in page or 'selected value="nfi"' in page
    path = "/f/COL-CUC/survey"
    data = {
        "csrf_token": csrf(client, path),
        "service": "nfi",
        "text": "Rápido y amable.",
        "started": _started(app),
        "website": "",
    }
    res = client.post(path, data=data)
    assert res.status_code == 422 and "Not a valid choice" in res.get_data(as_text=True)
    assert client.post(path, data=data | {"rating": "5"}).status_code == 200
    with app.app_context():
        item = session.scalar(sa.select(Feedback))
        assert (item.kind, item.rating, item.service, item.status) == ("survey", 5, "nfi", "closed")
        assert item.text == "Rápido y amable."


def test_reports_are_aggregates_and_sensitive_counts_stay_with_focal_points(app, make, client):
    from msc.centres.models import Centre
    from msc.feedback import service as feedback

    make.centre("COL-CUC")
    with app.app_context():
        centre = session.scalar(sa.select(Centre))
        for rating in (5, 4, 4, 3, 5, 2):
            feedback.submit(centre, channel="survey", kind="survey", text="", rating=rating, service="nfi")
        feedback.submit(centre, channel="survey", kind="survey", text="", rating=1, service="referral")
        for _ in range(3):
            feedback.submit(centre, channel="self_service", kind="question", text="¿Horario?")
        feedback.submit(centre, channel="self_service", kind="fraud", text="Me cobraron por el kit.")
        session.commit()
    boss = app.test_client()
    login_as(app, boss, make.user("boss", "centre_manager"))
    html = boss.get("/feedback/reports").get_data(as_text=True)
    assert re.search(r"Items handed out</td><td>\d{4}-\d\d</td><td>6</td><td>3\.8</td>", html)
    assert re.search(r"A referral to another service</td><td>\d{4}-\d\d</td><td>&lt;5</td><td>—</td>", html)
    assert "A question" in html and "Someone asked for money" not in html
    focal = _focal(app, make)
    html = focal.get("/feedback/reports").get_data(as_text=True)
    assert "Someone asked for money or favours" in html and "A question" not in html


# ---- the poster's link and QR code never follow the request's Host header -------------------------


def _poster(app, make, host, extra=None):
    """The poster page asked for with this Host, once PUBLIC_URL is configured (after logging in)."""
    from msc.settings import trusted_hosts

    centre_id = make.centre("COL-CUC")
    boss = app.test_client()
    login_as(app, boss, make.user("boss", "centre_manager"))
    app.config.update(PUBLIC_URL="https://msc.example.org", EXTRA_TRUSTED_HOSTS=extra)
    app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config)
    return boss.get(f"/feedback/poster/{centre_id}", headers={"Host": host})


def test_a_forged_host_header_is_refused_when_the_public_url_is_set(app, make):
    """Attack: a Host header naming the attacker's site, hoping the poster prints a link (and a QR code)
    to it. With PUBLIC_URL set (production requires it) the request is refused: a 400 page, no trace."""
    res = _poster(app, make, "evil.example")
    page = res.get_data(as_text=True)
    assert res.status_code == 400
    assert "evil.example" not in page and "Traceback" not in page and "<svg" not in page


def test_the_poster_links_to_the_public_url_whatever_trusted_host_was_used(app, make):
    """Reached through another trusted name (an internal one, here the test client's), the poster still
    prints the public address."""
    from msc.qr import qr_svg

    res = _poster(app, make, "localhost", extra=["localhost"])
    page = res.get_data(as_text=True)
    assert res.status_code == 200
    assert "https://msc.example.org/f/COL-CUC" in page and "//localhost" not in page
    assert qr_svg("https://msc.example.org/f/COL-CUC") in page


def test_a_forged_host_header_is_refused_in_production(monkeypatch, tmp_path):
    """The production configuration itself: the app starts with its hosts from PUBLIC_URL, and a request
    for another host is a 400 before any view runs."""
    from msc import create_app
    from msc.crypto.keys import FileKeyProvider

    keys = tmp_path / "keys.json"
    FileKeyProvider(keys).generate()
    for name, value in {
        "MSC_SECRET_KEY": "kQ7v1xN3c0Zr9TjW5mYbL2pHsE8dFgA4uVwXo6iKyRt",
        "MSC_KEYS_FILE": str(keys),
        "MSC_PUBLIC_URL": "https://msc.example.org",
        "MSC_DATABASE_URL": f"sqlite:///{tmp_path}/p.sqlite3",
        "MSC_RATELIMIT_STORAGE_URI": "memory://",
        "MSC_JOBS_REDIS_URL": "redis://127.0.0.1:6379/9",
        "MSC_AUDIT_WITNESS_FILE": str(tmp_path / "witness" / "audit-witness.log"),
    }.items():
        monkeypatch.setenv(name, value)
    app = create_app("production", {"INSTANCE_PATH": str(tmp_path)})
    client = app.test_client()
    forged = client.get("/login", headers={"Host": "evil.example"}, base_url="https://evil.example")
    assert forged.status_code == 400 and "evil.example" not in forged.get_data(as_text=True)
    assert "Traceback" not in forged.get_data(as_text=True)
    app.extensions["msc.engine"].dispose()


def _limited(tmp_path, db_url, keys_file, **limits):
    """Another app on the test's database with the rate limiter on (the test also takes the `app` fixture,
    whose teardown empties a PostgreSQL database for the next test)."""
    import shutil

    from tests.conftest import Factory

    own_keys = tmp_path / "limited-keys.json"
    shutil.copyfile(keys_file, own_keys)
    app = _new_app(tmp_path, db_url, own_keys, RATELIMIT_ENABLED=True, **limits)
    Factory(app).centre("COL-CUC")
    Factory(app).centre("COL-IPI", "CAM Ipiales", "COL")
    return app


def _without_cookies(app, client, text):
    """A message from a sender that keeps no device id (the page's cookie thrown away)."""
    token = csrf(client, "/f/COL-CUC")
    client.delete_cookie("msc_fb_device")
    data = {"csrf_token": token, "kind": "suggestion", "text": text, "website": "", "started": _started(app)}
    return client.post("/f/COL-CUC", data=data).status_code


def test_one_flooder_does_not_silence_the_others(app, tmp_path, db_url, keys_file):
    """Each device has its own allowance, which its neighbours' floods do not touch; another address is
    untouched; a sender without a device id is counted with its address."""
    app = _limited(tmp_path, db_url, keys_file, FEEDBACK_RATE_LIMIT="2 per hour", FEEDBACK_ADDRESS_LIMIT="5 per hour")
    try:
        flooder, neighbour, third = (app.test_client() for _ in range(3))
        assert [_send(app, flooder, "suggestion", f"Idea {n}.").status_code for n in range(4)] == [200, 200, 429, 429]
        # someone else on the same Wi-Fi still gets through: a device with its id is not held by the address
        assert [_send(app, neighbour, "question", f"Pregunta {n}.").status_code for n in range(2)] == [200, 200]
        assert [_send(app, third, "question", f"Otra {n}.").status_code for n in range(2)] == [200, 200]
        elsewhere = app.test_client()
        elsewhere.environ_base["REMOTE_ADDR"] = "10.20.30.40"
        assert _send(app, elsewhere, "question", "Otra cosa.").status_code == 200
        # a sender that keeps no cookie is counted with its whole address
        bare = app.test_client()
        bare.environ_base["REMOTE_ADDR"] = "10.20.30.41"
        codes = [_without_cookies(app, bare, f"Sin cookie {n}.") for n in range(3)]
        assert codes == [200, 200, 429]
    finally:
        app.extensions["msc.engine"].dispose()


def test_a_centre_kiosk_is_not_stopped_by_the_people_who_use_it(app, tmp_path, db_url, keys_file):
    from tests.conftest import Factory

    app = _limited(
        tmp_path,
        db_url,
        keys_file,
        FEEDBACK_RATE_LIMIT="2 per hour",
        FEEDBACK_ADDRESS_LIMIT="3 per hour",
        FEEDBACK_KIOSK_RATE_LIMIT="6 per hour",
    )
    try:
        boss_id = Factory(app).user("boss", "centre_manager", centres=("COL-CUC",))
        tablet = app.test_client()
        login_as(app, tablet, boss_id)
        with app.app_context():
            from msc.centres.models import Centre

            centre_id = session.scalar(sa.select(Centre.id).where(Centre.code == "COL-CUC"))
        res = tablet.post(f"/feedback/kiosk/{centre_id}", data={"csrf_token": csrf(tablet, "/feedback/")})
        assert res.status_code == 302 and res.headers["Location"].endswith("/f/COL-CUC")
        assert tablet.get("/feedback/").status_code == 302  # the tablet holds no staff session any more
        with app.app_context():
            from msc.security.models import AuditEvent

            made = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "feedback.kiosk_made")).all()
            assert [(e.user_id, e.object_id) for e in made] == [(boss_id, str(centre_id))]
        # people queue at the kiosk: past the device's and the address's limits, up to the kiosk's own
        codes = [_send(app, tablet, "suggestion", f"En el kiosco {n}.").status_code for n in range(7)]
        assert codes == [200] * 6 + [429]
        # at another centre's page the kiosk is an ordinary device
        other = [_send(app, tablet, "question", f"Ipiales {n}.", centre="COL-IPI").status_code for n in range(3)]
        assert other[-1] == 429
        # a forged kiosk cookie is an ordinary device too
        forged = app.test_client()
        forged.environ_base["REMOTE_ADDR"] = "10.9.9.9"
        forged.set_cookie("msc_fb_kiosk", "eyJjZW50cmUiOiJDT0wtQ1VDIiwia2lvc2siOiJ4In0.forged.sig")
        assert [_send(app, forged, "suggestion", f"Falso {n}.").status_code for n in range(3)] == [200, 200, 429]
    finally:
        app.extensions["msc.engine"].dispose()


def test_only_a_centre_manager_of_the_centre_makes_a_kiosk(app, make, client):
    make.centre("COL-CUC")
    make.centre("COL-IPI", "CAM Ipiales", "COL")
    with app.app_context():
        from msc.centres.models import Centre

        ids = dict(session.execute(sa.select(Centre.code, Centre.id)).all())
    login_as(app, client, make.user("clerk", "reception", centres=("COL-CUC",)))
    assert (
        client.post(f"/feedback/kiosk/{ids['COL-CUC']}", data={"csrf_token": csrf(client, "/account")}).status_code
        == 403
    )
    boss = app.test_client()
    login_as(app, boss, make.user("boss", "centre_manager", centres=("COL-CUC",)))
    token = csrf(boss, "/feedback/")
    assert boss.post(f"/feedback/kiosk/{ids['COL-IPI']}", data={"csrf_token": token}).status_code == 404
    assert "msc_fb_kiosk" not in [c.key for c in boss._cookies.values()]


def test_device_ids_made_up_by_a_flooder_give_no_allowance_of_their_own(app, tmp_path, db_url, keys_file):
    import secrets

    app = _limited(tmp_path, db_url, keys_file, FEEDBACK_RATE_LIMIT="2 per hour", FEEDBACK_ADDRESS_LIMIT="5 per hour")
    try:
        flooder, neighbour = app.test_client(), app.test_client()
        assert _send(app, neighbour, "question", "Hola.").status_code == 200  # the neighbour's phone has its id
        sent = 0
        for n in range(10):
            data = {"csrf_token": csrf(flooder, "/f/COL-CUC"), "kind": "suggestion", "text": f"Spam {n}."}
            flooder.set_cookie("msc_fb_device", secrets.token_urlsafe(24))  # an id the server never signed
            sent += flooder.post("/f/COL-CUC", data=data | {"website": "", "started": _started(app)}).status_code == 200
        assert sent == 2  # counted as one sender of the address: the per-device allowance, once
        assert _send(app, neighbour, "complaint_service", "Me trataron mal en la fila.").status_code == 200
    finally:
        app.extensions["msc.engine"].dispose()


def test_an_address_is_handed_few_new_device_ids_and_the_rest_share_its_ceiling(app, tmp_path, db_url, keys_file):
    app = _limited(
        tmp_path,
        db_url,
        keys_file,
        FEEDBACK_RATE_LIMIT="2 per hour",
        FEEDBACK_ADDRESS_LIMIT="3 per hour",
        FEEDBACK_NEW_DEVICES="2 per hour",
    )
    try:
        earlier = app.test_client()
        assert _send(app, earlier, "question", "Hola.").status_code == 200  # its id, handed out first
        minter = app.test_client()
        handed = 0
        for _ in range(5):  # a flooder asking for the page again and again, without its cookie
            minter.delete_cookie("msc_fb_device")
            minter.get("/f/COL-CUC")
            handed += minter.get_cookie("msc_fb_device") is not None
        assert handed == 1  # the address's second and last new id this hour
        minter.delete_cookie("msc_fb_device")
        codes = [_without_cookies(app, app.test_client(), f"Sin id {n}.") for n in range(4)]
        assert codes[:2] == [200, 200] and 429 in codes  # without an id: the address's ceiling (and allowance)
        assert _send(app, earlier, "suggestion", "Otra idea.").status_code == 200  # an id handed out earlier
    finally:
        app.extensions["msc.engine"].dispose()
