"""Break-the-glass cannot harvest a region: each test performs an attack and fails if it works again.

The attack reported: a receptionist opened twelve records of another country in under a second, with
sequential case numbers and a boilerplate explanation, and could then edit them, print cards, hand out
stock and place people in shelters."""

import datetime as dt
import logging
import threading

import pytest
import sqlalchemy as sa

from msc.beneficiaries.models import Beneficiary
from msc.db import session
from msc.dpo import erasure, glass
from msc.security.actor import SYSTEM
from msc.security.emergency import BreakGlass, GlassStatus
from msc.security.models import AuditEvent, User
from tests.conftest import limited_app
from tests.test_access import login_as

BOILERPLATE = "Emergencia médica, necesito ver el registro ahora."


@pytest.fixture
def brazil(make):
    """Twelve people registered in Pacaraima (another country for a clerk of Cúcuta)."""
    make.centre("BRA-PAC", "CAM Pacaraima", "BRA")
    return [
        make.person(
            centre="BRA-PAC", given_names=f"Pessoa{i}", family_names="Silva", date_of_birth=dt.date(1980, 1, 1 + i)
        )
        for i in range(12)
    ]


def _people(uids):
    return [session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == u)) for u in uids]


def _form(client, **data):
    return client.post("/access/break-glass", data={"reason": "medical_emergency", "explanation": BOILERPLATE, **data})


def _count(action: str, **where) -> int:
    stmt = sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    for column, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, column) == value)
    return session.scalar(stmt) or 0


def test_harvesting_loop_opens_at_most_the_quota_and_alerts_the_dpo(app, make, brazil, caplog):
    app.config["WTF_CSRF_ENABLED"] = False
    clerk_id = make.user("recepcion", "reception")
    client = app.test_client()
    login_as(app, client, clerk_id)
    with app.app_context():
        known = [(p.uid, p.case_number, p.date_of_birth.isoformat()) for p in _people(brazil)]
    # Even knowing every date of birth, the loop opens three records; the rest wait for an officer.
    with caplog.at_level(logging.WARNING):
        codes = [_form(client, case_number=n, date_of_birth=d).status_code for _, n, d in known]
    assert codes == [302] * 12
    opened = [uid for uid, *_ in known if client.get(f"/b/{uid}").status_code == 200]
    assert len(opened) == 3
    with app.app_context():
        states = list(session.scalars(sa.select(BreakGlass.status).where(BreakGlass.user_id == clerk_id)))
        assert states.count(GlassStatus.GRANTED) == 3 and states.count(GlassStatus.PENDING) == 9
        assert _count("access.break_glass_burst", user_id=clerk_id) == 1  # once per window, not per request
    assert "break-the-glass burst" in caplog.text and "Pessoa" not in caplog.text and "Silva" not in caplog.text
    page = client.get("/access/break-glass").get_data(as_text=True)
    assert "Your requests waiting for a protection officer" in page

    dpo = app.test_client()
    login_as(app, dpo, make.user("dpo", "dpo", scope="region"))
    home = dpo.get("/dpo/").get_data(as_text=True)
    assert 'role="alert"' in home and "Alert: a burst of emergency accesses" in home and "recepcion" in home
    assert home.count("Awaiting a protection officer") == 9 and home.count(">Running<") == 3
    assert "Pessoa" not in home  # the DPO sees who and why, not the people


def test_harvesting_with_case_numbers_alone_opens_nothing_and_is_cut_off(app, make, brazil):
    app.config["WTF_CSRF_ENABLED"] = False
    clerk_id = make.user("recepcion", "reception")
    client = app.test_client()
    login_as(app, client, clerk_id)
    with app.app_context():
        numbers = [p.case_number for p in _people(brazil)]
    answers = [_form(client, case_number=n, date_of_birth="1990-01-01") for n in numbers]
    assert [r.status_code for r in answers] == [422] * 12
    texts = [r.get_data(as_text=True) for r in answers]
    assert all("No record matches this case number and date of birth" in t for t in texts[:5])
    assert all("Too many attempts that did not match today" in t for t in texts[5:])
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(BreakGlass)) == 0
        assert _count("access.break_glass_failed", user_id=clerk_id) == 5  # kept although the answer was 422
        assert _count("access.break_glass_blocked", user_id=clerk_id) == 7
        assert _count("access.break_glass_burst", user_id=clerk_id) == 1
    # blocked even with the right date of birth now
    with app.app_context():
        first = _people(brazil)[0]
        right = (first.case_number, first.date_of_birth.isoformat())
    res = _form(client, case_number=right[0], date_of_birth=right[1])
    assert res.status_code == 422 and "Too many attempts" in res.get_data(as_text=True)


def _refusal(res) -> str:
    text = res.get_data(as_text=True)
    start = text.index('class="error-summary"')
    return text[start : text.index("</div>", start)]


def test_answers_do_not_reveal_whether_a_case_number_exists(app, make, brazil):
    """Enumeration: an existing number with a wrong date of birth, a number nobody has, an erased
    person's old number, sequential guesses: one answer, one status."""
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    login_as(app, client, make.user("recepcion", "reception"))
    with app.app_context():
        people = _people(brazil)
        real = people[0].case_number
        gone = people[1]
        gone_number, gone_dob = gone.case_number, gone.date_of_birth.isoformat()
        erasure.erase(session.get(User, make.user("dpo", "dpo", scope="region")), gone, "duplicate")
        session.commit()
        from msc.beneficiaries import casenumber

        body = real.split("-", 2)[2].replace("-", "")[:8]
        guesses = []
        for step in (1, 2):
            nxt = body[:-1] + casenumber.ALPHABET[(casenumber.ALPHABET.index(body[-1]) + step) % 32]
            guesses.append(f"BRA-PAC-{nxt[:4]}-{nxt[4:]}-{casenumber.check_character(nxt)}")
    answers = [
        _form(client, case_number=real, date_of_birth="1990-06-06"),  # exists, wrong date of birth
        _form(client, case_number=gone_number, date_of_birth=gone_dob),  # erased, right date of birth
        *(_form(client, case_number=g, date_of_birth="1980-01-01") for g in guesses),  # sequential guesses
    ]
    assert {r.status_code for r in answers} == {422}
    assert len({_refusal(r) for r in answers}) == 1
    assert "No record matches" in _refusal(answers[0])


def test_a_grant_cannot_edit_print_hand_over_place_or_open_a_case(app, make, brazil):
    app.config["WTF_CSRF_ENABLED"] = False
    make.shelter()
    cw = make.user("gestora", "caseworker")
    client = app.test_client()
    login_as(app, client, cw)
    with app.app_context():
        p = _people(brazil)[0]
        uid = p.uid
        res = _form(client, case_number=p.case_number, date_of_birth=p.date_of_birth.isoformat())
    assert res.status_code == 302 and client.get(f"/b/{uid}").status_code == 200
    with app.test_request_context():
        from flask import url_for

        attempts = [
            ("GET", url_for("beneficiaries.edit", uid=uid)),
            ("POST", url_for("beneficiaries.edit", uid=uid)),
            ("POST", url_for("beneficiaries.consent", uid=uid)),
            ("GET", url_for("beneficiaries.card", uid=uid)),
            ("GET", url_for("nfi.give", uid=uid)),
            ("POST", url_for("nfi.give", uid=uid)),
            ("GET", url_for("shelters.place", uid=uid)),
            ("POST", url_for("shelters.place", uid=uid)),
            ("POST", url_for("cases.open_case", uid=uid)),
            ("GET", url_for("dpo.corrections_page", uid=uid)),
        ]
    for method, url in attempts:
        assert client.open(url, method=method).status_code == 404, (method, url)
    page = client.get(f"/b/{uid}").get_data(as_text=True)
    for button in ("/edit", "/card", "/give/", "/place/", "/consent", "Open a case"):
        assert button not in page


def test_the_emergency_view_shows_only_what_the_reason_needs(app, make):
    app.config["WTF_CSRF_ENABLED"] = False
    there = make.person(
        centre="PER-TUM",
        given_names="Rosa",
        family_names="Huamán",
        date_of_birth=dt.date(1987, 8, 8),
        document_type="passport",
        document_number="PX123456",
        phone="51987654321",
        needs=["serious_medical", "trafficking"],
    )
    client = app.test_client()
    login_as(app, client, make.user("gestora", "caseworker"))
    with app.app_context():
        p = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == there))
        card = p.card_token

    def view(reason):
        res = _form(client, card_token=card, reason=reason)
        assert res.status_code == 302
        page = client.get(f"/b/{there}").get_data(as_text=True)
        with app.app_context():
            for g in session.scalars(sa.select(BreakGlass)):
                glass.end(g.user, g)
            session.commit()
        return page

    other = view("other")
    assert "Rosa" in other and "PX123456" not in other and "Serious medical condition" not in other
    medical = view("medical_emergency")
    assert "Serious medical condition" in medical and "PX123456" not in medical
    transfer = view("transfer")
    assert "PX123456" in transfer and "Serious medical condition" not in transfer
    for page in (other, medical, transfer):
        assert "51987654321" not in page and "trafficking" not in page.lower()  # never the phone or sensitive needs


def test_past_the_quota_a_protection_officer_other_than_the_requester_approves(ctx, make, brazil):
    make.centre("COL-CUC")
    po = session.get(User, make.user("po_col", "protection_officer", scope="country", country="COL"))
    other_po = session.get(User, make.user("po_col2", "protection_officer", scope="country", country="COL"))
    far_po = session.get(User, make.user("po_per", "protection_officer", centres=("PER-TUM",)))
    people = _people(brazil)
    grants = [
        glass.open_record(po, glass.Proof(p.case_number, p.date_of_birth), "transfer", BOILERPLATE) for p in people[:4]
    ]
    session.commit()
    assert [g.status for g in grants] == ["granted"] * 3 + ["pending"]
    waiting = grants[3]
    assert waiting.started_at is None and not waiting.open_at(dt.datetime.now(dt.UTC))
    with pytest.raises(glass.GlassError, match="Nobody approves their own"):
        glass.decide(po, waiting, "approve", "Es urgente.")
    with pytest.raises(glass.GlassError, match="Only a protection officer who covers"):
        glass.decide(far_po, waiting, "approve", "Es urgente.")
    assert glass.awaiting_approval(po) == [] and glass.awaiting_approval(other_po) == [waiting]
    with pytest.raises(glass.GlassError, match="Write a note"):
        glass.decide(other_po, waiting, "approve", "")
    glass.decide(other_po, waiting, "approve", "Llamé a la colega: la persona está en urgencias.")
    session.commit()
    assert waiting.status == "granted" and waiting.open_at(dt.datetime.now(dt.UTC))
    assert waiting.decided_by_id == other_po.id and waiting.decision_note.startswith("Llamé")
    with pytest.raises(glass.GlassError, match="already decided"):
        glass.decide(other_po, waiting, "refuse", "No.")
    fifth = glass.open_record(po, glass.Proof(people[4].case_number, people[4].date_of_birth), "other", BOILERPLATE)
    glass.decide(other_po, fifth, "refuse", "No hay urgencia que lo justifique.")
    assert fifth.status == "refused" and not fifth.open_at(dt.datetime.now(dt.UTC))
    assert _count("access.break_glass_approve") == 1 and _count("access.break_glass_refuse") == 1


def test_http_self_approval_is_refused_and_another_officer_approves(app, make, brazil):
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["BREAK_GLASS_DAILY_QUOTA"] = 0
    make.centre("COL-CUC")
    po_id = make.user("po_col", "protection_officer", scope="country", country="COL")
    client = app.test_client()
    login_as(app, client, po_id)
    with app.app_context():
        p = _people(brazil)[0]
        res = _form(client, case_number=p.case_number, date_of_birth=p.date_of_birth.isoformat())
        grant_uid = session.scalar(sa.select(BreakGlass.uid))
    assert res.status_code == 302 and "/access/break-glass" in res.headers["Location"]
    assert client.get(f"/b/{p.uid}").status_code == 404  # not before the approval
    res = client.post(f"/access/break-glass/requests/{grant_uid}", data={"decision": "approve", "note": "Yo mismo."})
    assert res.status_code == 422 and "Nobody approves their own" in res.get_data(as_text=True)
    other = app.test_client()
    login_as(app, other, make.user("po_col2", "protection_officer", scope="country", country="COL"))
    assert grant_uid in other.get("/access/break-glass/requests").get_data(as_text=True)
    res = other.post(f"/access/break-glass/requests/{grant_uid}", data={"decision": "refuse", "note": ""})
    assert res.status_code == 422 and "Write a note on your decision" in res.get_data(as_text=True)
    res = other.post(f"/access/break-glass/requests/{grant_uid}", data={"decision": "approve", "note": "Confirmado."})
    assert res.status_code == 302
    assert client.get(f"/b/{p.uid}").status_code == 200


def test_a_wrong_check_character_is_said_before_any_lookup_and_costs_no_attempt(app, make, brazil):
    app.config["WTF_CSRF_ENABLED"] = False
    clerk_id = make.user("recepcion", "reception")
    client = app.test_client()
    login_as(app, client, clerk_id)
    with app.app_context():
        number = _people(brazil)[0].case_number
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    res = _form(client, case_number=wrong, date_of_birth="1980-01-01")
    assert res.status_code == 422 and "a character is wrong" in res.get_data(as_text=True)
    with app.app_context():
        assert _count("access.break_glass_failed") == 0


def test_requests_are_rate_limited(app, make, brazil):
    limited = limited_app(app, WTF_CSRF_ENABLED=False, BREAK_GLASS_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    login_as(limited, client, make.user("recepcion", "reception"))
    codes = [_form(client, case_number="BRA-PAC-0000-0000-0", date_of_birth="1980-01-01").status_code for _ in range(3)]
    limited.extensions["msc.engine"].dispose()
    assert codes == [422, 422, 429]


def test_the_system_actor_cannot_open_records(ctx, make, brazil):
    p = _people(brazil)[0]
    with pytest.raises(glass.GlassError, match="Your role cannot"):
        glass.open_record(SYSTEM, glass.Proof(p.case_number, p.date_of_birth), "other", BOILERPLATE)


def test_a_burst_across_the_region_alerts_the_dpo(app, make, brazil):
    """Several clerks each staying under their own limits, together probing the region."""
    app.config.update(BREAK_GLASS_REGION_BURST_COUNT=3, BREAK_GLASS_BURST_COUNT=99)
    with app.app_context():
        number = _people(brazil)[0].case_number
        for i in range(3):
            clerk = session.get(User, make.user(f"clerk{i}", "reception"))
            with pytest.raises(glass.GlassError, match="No record matches"):
                glass.open_record(clerk, glass.Proof(number, dt.date(2000, 1, 1)), "other", BOILERPLATE)
        session.commit()
        assert [a.user for a in glass.alerts()] == [None] and glass.alerts()[0].count == 3


def _race(app, jobs) -> list[str]:
    """Run each job in its own thread and app context, all released at once (real parallel connections
    on PostgreSQL when MSC_TEST_DATABASE_URL is set); collect the outcomes."""
    barrier = threading.Barrier(len(jobs), timeout=20)
    outcomes: list[str] = []

    def run(job):
        with app.app_context():
            act = job()
            session.rollback()  # each request has read its user and proof; no transaction is open yet
            barrier.wait()
            try:
                outcomes.append(act().status)
            except glass.GlassError as err:
                outcomes.append(f"refused: {err.message}")
            session.commit()  # a refusal keeps its audit record, as the page does

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def _opening(user_id: int, person_uid: str, date_of_birth: dt.date | None = None):
    def prepare():
        user = session.get(User, user_id)
        p = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == person_uid))
        proof = glass.Proof(p.case_number, date_of_birth or p.date_of_birth)
        return lambda: glass.open_record(user, proof, "transfer", BOILERPLATE)

    return prepare


def test_parallel_requests_cannot_open_more_than_the_quota(app, make, brazil):
    """The attack: one user sends several requests at the same moment, each with a right proof, so that
    each counts the accesses already granted before any of the others is written."""
    app.config["BREAK_GLASS_DAILY_QUOTA"] = 1
    clerk_id = make.user("recepcion", "reception")
    outcomes = _race(app, [_opening(clerk_id, uid) for uid in brazil[:4]])
    assert sorted(outcomes) == ["granted", "pending", "pending", "pending"], outcomes
    with app.app_context():
        assert glass.granted_since(clerk_id, dt.datetime.now(dt.UTC) - glass.DAY) == 1


def test_parallel_wrong_proofs_cannot_exceed_the_daily_allowance(app, make, brazil):
    """The attack: guesses at dates of birth sent at the same moment, each counting the failures made
    before any of the others is written."""
    app.config["BREAK_GLASS_FAILED_PROOFS"] = 1
    clerk_id = make.user("recepcion", "reception")
    outcomes = _race(app, [_opening(clerk_id, uid, dt.date(2001, 2, 3)) for uid in brazil[:4]])
    assert sum(o.startswith("refused: No record matches") for o in outcomes) == 1, outcomes
    assert sum(o.startswith("refused: Too many attempts") for o in outcomes) == 3, outcomes
    with app.app_context():
        assert _count(glass.FAILED, user_id=clerk_id) == 1
