"""Fund pages: apply from a case, decide with four eyes, disburse and void, the audit pages."""

import csv
import datetime as dt
import io
import re

import sqlalchemy as sa

from msc import clock
from msc.db import session
from msc.fund.models import Application, Decision, DecisionLine, FundAllocation
from msc.security.models import AuditEvent
from tests.conftest import csrf
from tests.test_access import login_as


def _world(app, make):
    today = clock.today("COL")
    child = make.person(
        given_names="Mía",
        family_names="Rojas",
        date_of_birth=today.replace(year=today.year - 15),
        given_by="best_interests",
        best_interests_note="Llegó sola al puente.",
    )
    users = {
        role: make.user(name, role, **kw)
        for name, role, kw in (
            ("cw", "caseworker", {}),
            ("po1", "protection_officer", {}),
            ("dpo", "dpo", {"scope": "region"}),
            ("clerk", "reception", {}),
        )
    }
    case_uid, _ = make.case(child, users["caseworker"])
    with app.app_context():
        session.add(
            FundAllocation(
                country="COL",
                currency="COP",
                amount=5_000_000_00,
                disbursed=0,
                starts_on=today,
                ends_on=today + dt.timedelta(days=365),
            )
        )
        session.commit()
    return users, case_uid, today


def _client(app, user_id):
    client = app.test_client()
    login_as(app, client, user_id)
    return client


def test_apply_decide_disburse_and_audit(app, make):
    users, case_uid, today = _world(app, make)
    cw = _client(app, users["caseworker"])
    path = f"/fund/apply/{case_uid}"
    assert "Apply to the protection fund" in cw.get(f"/cases/{case_uid}").get_data(as_text=True)
    form = {
        "csrf_token": csrf(cw, path),
        "case_type": "uasc",
        "asked": "uasc",
        "separated_from_parents": "yes",
        "adult_relative_caring": "no",
        "evidence": "Llegó sola; la madre está en Caracas.",
        "line1_category": "shelter",
        "line1_amount": "tres mil",
        "line1_provider": "Hogar Luz",
        "line2_category": "medical",
        "line2_amount": "800,000",
        "line2_provider": "",
    }
    res = cw.post(path, data=form)
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "for example 1,500.50" in html and 'value="tres mil"' in html
    # "800.000" on an English page is not guessed to be eight hundred thousand: it is refused, as typed
    res = cw.post(path, data=form | {"line1_amount": "1000", "line2_amount": "800.000"})
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "at most two decimals" in html and 'value="800.000"' in html
    res = cw.post(path, data=form | {"line1_amount": "0"})
    assert res.status_code == 422 and "more than zero" in res.get_data(as_text=True)
    res = cw.post(path, data=form | {"line1_amount": "1,200,000.50"})
    assert res.status_code == 302
    page = cw.get(res.headers["Location"]).get_data(as_text=True)
    assert "Eligible" in page and "unaccompanied" in page and "COP1,200,000.50" in page
    assert "Under 18 (an estimated or doubtful age counts as under 18)" in page and "met" in page
    assert "Record the decision" not in page  # caseworkers do not decide
    with app.app_context():
        application = session.scalar(sa.select(Application))
        shelter_line, medical_line = (line.id for line in application.lines)
        uid = application.uid
    assert cw.post(f"/fund/applications/{uid}/decide", data={"csrf_token": csrf(cw, "/")}).status_code == 403
    # The protection officer approves part of it.
    po = _client(app, users["protection_officer"])
    token = csrf(po, f"/fund/applications/{uid}")
    decide = {
        "csrf_token": token,
        "outcome": "approve",
        "period_ends_on": (today + dt.timedelta(days=60)).isoformat(),
        f"approve-{shelter_line}": "1,000,000",
        f"approve-{medical_line}": "",
    }
    res = po.post(f"/fund/applications/{uid}/decide", data=decide | {f"approve-{shelter_line}": "9,000,000"})
    assert res.status_code == 422 and "never raised above" in res.get_data(as_text=True)
    assert po.post(f"/fund/applications/{uid}/decide", data=decide).status_code == 302
    with app.app_context():
        line_id = session.scalar(sa.select(DecisionLine.id).where(DecisionLine.approved > 0))
    pay = {
        "csrf_token": token,
        f"pay{line_id}-kind": "payment",
        f"pay{line_id}-paid_on": today.isoformat(),
        f"pay{line_id}-payee": "Hogar Luz",
        f"pay{line_id}-reference": "FAC-001",
    }
    res = po.post(f"/fund/lines/{line_id}/disburse", data=pay | {f"pay{line_id}-amount": "1,500,000"})
    assert res.status_code == 422 and "more than is left on this approved line" in res.get_data(as_text=True)
    assert po.post(f"/fund/lines/{line_id}/disburse", data=pay | {f"pay{line_id}-amount": "400,000"}).status_code == 302
    page = po.get(f"/fund/applications/{uid}").get_data(as_text=True)
    assert "FAC-001" in page and "COP400,000" in page and "COP600,000 left" in page
    # The caseworker sees the outcome on their home page.
    assert "Approved" in cw.get("/cases/").get_data(as_text=True)
    # The audit pages show it.
    register = po.get("/fund/register?outcome=approve&centre=col-cuc&decider=po1").get_data(as_text=True)
    assert "Unaccompanied or separated child" in register and "COL-CUC" in register
    assert "No decisions match." in po.get("/fund/register?centre=PER-TUM").get_data(as_text=True)
    assert "No decisions match." in po.get("/fund/register?decider=cw").get_data(as_text=True)
    consistency = po.get("/fund/consistency").get_data(as_text=True)
    assert "COL-CUC" in consistency and "&lt;5" in consistency
    rows = list(csv.reader(io.StringIO(po.get("/fund/consistency.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1][:4] == ["centre", "COL-CUC", "<5", "<5"] and "Mía" not in str(rows)
    index = po.get("/fund/").get_data(as_text=True)
    assert "COP5,000,000" in index and "COP4,000,000" in index  # allocated; remaining after 1M approved
    # The DPO reads the metadata, not the evidence; every read is audited.
    dpo = _client(app, users["dpo"])
    page = dpo.get(f"/fund/applications/{uid}").get_data(as_text=True)
    assert "Eligible" in page and "Caracas" not in page and "Hogar Luz" not in page
    with app.app_context():
        reads = session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "fund.application.view")
        )
        assert reads >= 4
    assert _client(app, users["reception"]).get("/fund/").status_code == 403


def test_an_officer_involved_in_the_case_cannot_decide(app, make):
    """Attack: a caseworker assigned to the case becomes a protection officer and decides on its application
    through the page, and by posting the form directly. Refused with the reason; not offered in the queue."""
    from msc.cases import service as cases
    from msc.cases.models import Case
    from msc.fund import applications
    from msc.fund.applications import LineData
    from msc.security.models import User

    users, case_uid, today = _world(app, make)
    insider = make.user("cw2", "caseworker")
    with app.app_context():
        cw = session.get(User, users["caseworker"])
        case = session.scalar(sa.select(Case).where(Case.uid == case_uid))
        cases.assign(cw, case, [cw.id, insider])
        answers = {"separated_from_parents": "yes", "adult_relative_caring": "no"}
        uid = applications.submit(cw, case, "uasc", answers, None, [LineData("shelter", 100_000_00, "COP")]).uid
        session.get(User, insider).role = "protection_officer"
        session.commit()
    po = _client(app, insider)
    assert uid not in po.get("/fund/").get_data(as_text=True)
    page = po.get(f"/fund/applications/{uid}").get_data(as_text=True)
    assert "Record the decision" not in page and "You are involved in this case" in page
    token = csrf(po, f"/fund/applications/{uid}")
    res = po.post(
        f"/fund/applications/{uid}/decide", data={"csrf_token": token, "outcome": "reject", "justification": "No."}
    )
    assert res.status_code == 422 and "You work or worked on this case" in res.get_data(as_text=True)
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count(Decision.id))) == 0
    # A protection officer not involved is offered the decision.
    other = _client(app, users["protection_officer"])
    assert uid in other.get("/fund/").get_data(as_text=True)
    assert "Record the decision" in other.get(f"/fund/applications/{uid}").get_data(as_text=True)


def test_void_sample_and_finding(app, make):
    users, case_uid, today = _world(app, make)
    cw = _client(app, users["caseworker"])
    path = f"/fund/apply/{case_uid}"
    cw.post(
        path,
        data={
            "csrf_token": csrf(cw, path),
            "case_type": "uasc",
            "asked": "uasc",
            "separated_from_parents": "yes",
            "adult_relative_caring": "yes",
            "line1_category": "basic_needs",
            "line1_amount": "100000",
        },
    )
    po = _client(app, users["protection_officer"])
    with app.app_context():
        application = session.scalar(sa.select(Application))
        uid, line = application.uid, application.lines[0].id
    token = csrf(po, f"/fund/applications/{uid}")
    res = po.post(f"/fund/applications/{uid}/decide", data={"csrf_token": token, "outcome": "reject"})
    assert res.status_code == 422 and "goes against the recommendation" in res.get_data(as_text=True)
    po.post(
        f"/fund/applications/{uid}/decide",
        data={
            "csrf_token": token,
            "outcome": "approve",
            f"approve-{line}": "100000",
            "period_ends_on": (today + dt.timedelta(days=5)).isoformat(),
        },
    )
    with app.app_context():
        dl = session.scalar(sa.select(DecisionLine))
        dl_id = dl.id
    po.post(
        f"/fund/lines/{dl_id}/disburse",
        data={
            "csrf_token": token,
            f"pay{dl_id}-kind": "in_kind",
            f"pay{dl_id}-amount": "50000",
            f"pay{dl_id}-paid_on": today.isoformat(),
            f"pay{dl_id}-payee": "Supermercado",
            f"pay{dl_id}-reference": "T-9",
        },
    )
    with app.app_context():
        from msc.fund.models import Disbursement

        payment = session.scalar(sa.select(Disbursement))
        p_uid = payment.uid
    po.post(f"/fund/disbursements/{p_uid}/void", data={"void-csrf_token": token, "void-reason": "Duplicado"})
    page = po.get(f"/fund/applications/{uid}").get_data(as_text=True)
    assert "voided" in page and "Duplicado" in page
    assert "To re-assess" in po.get("/fund/").get_data(as_text=True)  # the approval ends within 30 days
    # A second officer draws a sample and records a finding; the officer who decided may not.
    po2 = _client(app, make.user("po2", "protection_officer"))
    token2 = csrf(po2, "/fund/samples")
    res = po2.post(
        "/fund/samples",
        data={"csrf_token": token2, "start": today.isoformat(), "end": today.isoformat(), "percent": "0"},
    )
    assert res.status_code == 422 and "percentage from 1 to 100" in res.get_data(as_text=True)
    res = po2.post(
        "/fund/samples",
        data={
            "csrf_token": token2,
            "start": today.isoformat(),
            "end": today.isoformat(),
            "percent": "100",
            "seed": "5",
        },
    )
    assert res.status_code == 302
    sample_path = res.headers["Location"]
    with app.app_context():
        from msc.fund.models import AuditFinding

        finding_uid = session.scalar(sa.select(AuditFinding.uid))
    po.post(f"/fund/findings/{finding_uid}", data={"csrf_token": token, "finding": "agrees"})
    assert "You made this decision" in po.get(sample_path).get_data(as_text=True)
    po2.post(
        f"/fund/findings/{finding_uid}",
        data={"csrf_token": token2, "finding": "follow_up", "note": "Confirmar la tutela."},
    )
    page = po2.get(sample_path).get_data(as_text=True)
    assert "Needs follow-up: Confirmar la tutela." in page
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 1


def test_set_up_allocations_caps_and_criteria(app, make):
    import json

    import pyotp

    from msc.fund.criteria import VERSION_1
    from msc.fund.models import CategoryCap, CriteriaSet

    today = clock.today("COL")
    admin = _client(app, make.user("root", "admin", scope="region", mfa_secret=pyotp.random_base32()))
    token = csrf(admin, "/fund/setup")
    alloc = {
        "csrf_token": token,
        "country": "per",
        "currency": "pen",
        "amount": "250000",
        "starts_on": today.isoformat(),
        "ends_on": (today + dt.timedelta(days=90)).isoformat(),
    }
    res = admin.post("/fund/allocations", data=alloc | {"currency": "USD"})
    assert res.status_code == 422 and "pays in PEN" in res.get_data(as_text=True)
    res = admin.post("/fund/allocations", data=alloc | {"amount": "-5"})
    assert res.status_code == 422 and "cannot be negative" in res.get_data(as_text=True)
    assert admin.post("/fund/allocations", data=alloc).status_code == 302
    assert "PEN250,000.00" in admin.get("/fund/setup").get_data(as_text=True)
    assert (
        admin.post(
            "/fund/caps", data={"csrf_token": token, "category": "legal", "currency": "PEN", "amount": "3000"}
        ).status_code
        == 302
    )
    with app.app_context():
        assert session.get(CategoryCap, ("legal", "PEN")).amount == 300000
    # Draft a stricter version, preview it on sample answers, save it; only a regional officer publishes.
    stricter = json.loads(json.dumps(VERSION_1))
    stricter["vulnerable"]["rule"]["score"]["threshold"] = 7
    draft = {
        "csrf_token": csrf(admin, "/fund/criteria/new"),
        "effective_on": today.isoformat(),
        "definition": json.dumps(stricter),
        "preview_case_type": "vulnerable",
        "preview_answers": json.dumps({"indicators": ["violence_survivor", "disability"]}),
        "preview_age": "30",
    }
    res = admin.post("/fund/criteria/new", data=draft | {"action": "preview"})
    assert res.status_code == 200 and "Not eligible" in res.get_data(as_text=True)
    res = admin.post("/fund/criteria/new", data=draft | {"action": "save", "definition": '{"trafficking": '})
    assert res.status_code == 422 and "not valid JSON" in res.get_data(as_text=True)
    res = admin.post(
        "/fund/criteria/new", data=draft | {"action": "save", "definition": json.dumps({"vulnerable": {"rule": {}}})}
    )
    assert res.status_code == 422 and "cannot be used" in res.get_data(as_text=True)
    assert admin.post("/fund/criteria/new", data=draft | {"action": "save"}).status_code == 302
    assert admin.post("/fund/criteria/2/publish", data={"csrf_token": token}).status_code == 403
    officer = _client(
        app, make.user("regional", "protection_officer", scope="region", mfa_secret=pyotp.random_base32())
    )
    res = officer.post("/fund/criteria/2/publish", data={"csrf_token": csrf(officer, "/fund/setup")})
    assert res.status_code == 302
    with app.app_context():
        assert session.scalar(sa.select(CriteriaSet.status).where(CriteriaSet.version == 2)) == "published"


def test_apply_in_two_steps_without_javascript(app, make):
    """Choose the case type, then answer: the first send brings back only that type's questions, keeps what
    was typed and shows no error for questions not asked yet; a new choice asks its questions again."""
    users, case_uid, _ = _world(app, make)
    cw = _client(app, users["caseworker"])
    path = f"/fund/apply/{case_uid}"
    first = cw.get(path).get_data(as_text=True)
    assert 'id="fund-answers" hidden' in first and 'id="fund-send" hidden' in first
    token = csrf(cw, path)
    res = cw.post(path, data={"csrf_token": token, "asked": "", "case_type": "trafficking", "evidence": "Lo trajeron"})
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "Please check the form" not in html and 'class="error"' not in html
    assert 'name="asked" type="hidden" value="trafficking"' in html and "Lo trajeron" in html
    assert '<fieldset class="group" data-case-types="trafficking">' in html  # shown
    assert 'data-case-types="uasc" hidden' in html and 'data-case-types="vulnerable" hidden' in html
    assert 'data-case-types="trafficking uasc">' in html  # the age question both ask
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count(Application.id))) == 0
    # Changing the type on the second step asks the new type's questions, still without errors.
    res = cw.post(
        path, data={"csrf_token": token, "asked": "trafficking", "case_type": "vulnerable", "act": ["recruitment"]}
    )
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and 'class="error"' not in html
    assert '<fieldset class="group" data-case-types="vulnerable">' in html and re.search(
        r'<input checked[^>]*value="recruitment"', html
    )
    # Sending the answered page checks it; with the type missing it says so.
    res = cw.post(path, data={"csrf_token": token, "asked": "vulnerable"})
    assert res.status_code == 422 and "Please check the form" in res.get_data(as_text=True)
    res = cw.post(
        path,
        data={
            "csrf_token": token,
            "asked": "vulnerable",
            "case_type": "vulnerable",
            "indicators": ["violence_survivor", "no_shelter"],
            "line1_category": "basic_needs",
            "line1_amount": "100000",
        },
    )
    assert res.status_code == 302
