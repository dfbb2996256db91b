"""One access policy: every endpoint declares a permission; every role is checked against every endpoint."""

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Blueprint, render_template_string

from msc import clock
from msc.db import session
from msc.security import service
from msc.security.models import User
from msc.security.policy import AUTHENTICATED, PERMISSIONS, PUBLIC, ROLES, SERVICE_ROLES, declared_permission
from tests.conftest import REGIONAL_MANAGER

NO_5XX = "no endpoint may answer 5xx"


def login_as(app, client, user_id: int) -> None:
    """Open a real server-side session and put it in the client's cookie (skips password and MFA)."""
    with app.test_request_context():
        user = session.get(User, user_id)
        token = service.start_session(user)
        session.commit()
    with client.session_transaction() as s:
        s["_user_id"] = f"{user_id}:{token}"
        s["_fresh"] = True


@pytest.fixture
def world(app, make):
    app.config["WTF_CSRF_ENABLED"] = False
    users = {role: make.user(f"u_{role}", role) for role in ROLES}
    victim = make.user("victim", "reception")
    here = make.person(given_names="Ana", family_names="Rojas")
    here2 = make.person(given_names="Luz", family_names="Marín", date_of_birth=dt.date(1970, 1, 1))
    there = make.person(given_names="Eva", family_names="Quispe", centre="PER-TUM")
    centre_id = make.centre("COL-CUC")
    org_id, service_id = make.partner()
    case_uid, task_uid = make.case(here2, users["caseworker"])
    referral = make.referral(
        users["caseworker"],
        service_id,
        users["partner"],
        given_names="Rosa",
        family_names="Peña",
        date_of_birth=dt.date(1960, 2, 2),
    )
    there_service = make.partner(name="Albergue Tumbes", country="PER", centres=("PER-TUM",))[1]
    there_referral = make.referral(
        make.user("cw_tumbes", "caseworker", centres=("PER-TUM",)),
        there_service,
        centre="PER-TUM",
        given_names="Eva",
        family_names="Luna",
        date_of_birth=dt.date(1961, 3, 3),
    )
    there_case, there_task = make.case(there, make.user("cw_peru", "caseworker", centres=("PER-TUM",)))
    shelter = make.shelter()
    regional_officer = make.user("po_region", "protection_officer", scope="region")
    there_shelter = make.shelter(name="Albergue Tumbes", centre="PER-TUM")
    with app.app_context():
        from msc.beneficiaries.models import Beneficiary
        from msc.shelters import service as shelters
        from msc.shelters.models import Shelter

        guest = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == here2))
        placement = shelters.place(
            REGIONAL_MANAGER, guest, session.get(Shelter, shelter), check_in_on=clock.today("COL"), planned_days=5
        ).uid
        session.commit()
        handover, there_handover, item_id, there_centre = _handovers(here, there)
        fund = _fund(case_uid, there_case, users, session.get(User, regional_officer))
        fund.update(_feedback())
        fund["grant"] = _glass(users["caseworker"], there)
        fund["correction"] = _correction(users["reception"], here)
        fund["export"] = _export(users["protection_officer"])
        fund["job"] = _job()
        fund.update(_reminders(referral, there_referral))
        fund.update(_transfers(here, there, users["caseworker"]))
        fund.update(_onward(here, there, users["caseworker"]))
    # one service account of each role a service account may have, with a token (the API's side of the walk)
    tokens = {
        role: make.token(f"svc_{role}", role, organisation_id=org_id if role == "partner" else None)
        for role in SERVICE_ROLES
    }
    spare = make.token("svc_spare", "reception")  # the one the walk's admin revokes (the others must keep working)
    with app.app_context():
        token_uid = _token_uid(spare)
        delivery_uid = _webhook_delivery(org_id)
        offline = _offline_desks()
    return {
        **fund,
        **offline,
        "tokens": tokens,
        "token_uid": token_uid,
        "delivery_uid": delivery_uid,
        "entry_point": make.entry_point(),
        "handover": handover,
        "there_handover": there_handover,
        "item": item_id,
        "there_centre": there_centre,
        "shelter": shelter,
        "there_shelter": there_shelter,
        "placement": placement,
        "users": users,
        "victim": victim,
        "here": here,
        "here2": here2,
        "there": there,
        "centre": centre_id,
        "org": org_id,
        "service": service_id,
        "case": case_uid,
        "task": task_uid,
        "there_case": there_case,
        "there_task": there_task,
        "referral": referral,
        "there_referral": there_referral,
    }


def _handovers(here_uid: str, there_uid: str):
    """A hygiene kit handed over at each centre (stock received first)."""
    from msc.beneficiaries.models import Beneficiary
    from msc.centres.models import Centre
    from msc.nfi import service as nfi
    from msc.nfi import stock

    uids = []
    for uid in (here_uid, there_uid):
        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        centre = session.get(Centre, person.centre_id)
        item = nfi.item_by_code("HYG")
        stock.receive(
            REGIONAL_MANAGER,
            centre,
            reference=f"GR-{uid[:6]}",
            source="warehouse",
            received_on=stock.centre_day(centre),
            lines={item.id: 10},
        )
        uids.append(
            nfi.hand_over(
                REGIONAL_MANAGER, centre, person, {f"{uid}:HYG": 1}, nfi.Acknowledgement(method="thumbprint")
            ).uid
        )
    session.commit()
    there_centre = session.scalar(sa.select(Centre.id).where(Centre.code == "PER-TUM"))
    return uids[0], uids[1], item.id, there_centre


def _glass(caseworker_id: int, there_uid: str) -> str:
    """The caseworker's emergency access to the person registered in Tumbes, already ended."""
    from msc.beneficiaries.models import Beneficiary
    from msc.dpo import glass

    person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == there_uid))
    caseworker = session.get(User, caseworker_id)
    grant = glass.open_record(
        caseworker,
        glass.Proof(person.case_number, person.date_of_birth),
        "transfer",
        "Traslado desde Tumbes: necesito su registro para continuar la atención.",
    )
    glass.end(caseworker, grant)  # ended, so that the record of Tumbes is out of reach again
    session.commit()
    return grant.uid


def _correction(clerk_id: int, here_uid: str) -> str:
    """A correction request for the person registered in Cúcuta."""
    from msc.beneficiaries import corrections
    from msc.beneficiaries.models import Beneficiary

    person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == here_uid))
    request = corrections.record(session.get(User, clerk_id), person, ["family_names"], "Rojas Díaz")
    session.commit()
    return request.uid


def _export(officer_id: int) -> str:
    """An encrypted personal-data export waiting to be downloaded."""
    from msc.dpo import exports

    export, _secret = exports.create(session.get(User, officer_id), "internal_audit")
    session.commit()
    return export.uid


def _job() -> int:
    from msc.jobs import runner

    job = runner.enqueue("audit.verify")
    session.commit()
    return job.id


def _reminders(referral_uid: str, there_referral_uid: str) -> dict:
    """The daily run, four days on: a reminder of each referral, to the caseworker who sent it."""
    from msc.db import utcnow
    from msc.referrals import reminders
    from msc.referrals.models import Referral, ReferralReminder

    reminders.send_due(utcnow() + dt.timedelta(days=4))
    session.commit()
    out = {}
    for key, uid in (("reminder", referral_uid), ("there_reminder", there_referral_uid)):
        out[key] = session.scalar(
            sa.select(ReferralReminder.uid)
            .join(Referral, Referral.id == ReferralReminder.referral_id)
            .where(Referral.uid == uid)
        )
    return out


def _transfers(here_uid: str, there_uid: str, caseworker_id: int) -> dict:
    """A request from Tumbes for the record held in Cúcuta, and one from Cúcuta for the record held in Tumbes."""
    from msc.centres.models import Centre
    from msc.continuity import service as continuity

    def centre(code):
        return session.scalar(sa.select(Centre).where(Centre.code == code))

    tumbes = session.get(User, session.scalar(sa.select(User.id).where(User.username == "cw_tumbes")))
    here = continuity.request_record(tumbes, centre("PER-TUM"), here_uid)
    there = continuity.request_record(session.get(User, caseworker_id), centre("COL-CUC"), there_uid)
    session.commit()
    return {"transfer": here.uid, "there_transfer": there.uid}


def _onward(here_uid: str, there_uid: str, caseworker_id: int) -> dict:
    """A journey planned in Cúcuta for the person registered there, and one planned in Tumbes (to a city
    that is not a centre: neither person consents to continuity)."""
    from msc.beneficiaries.models import Beneficiary
    from msc.continuity import onward

    def person(uid):
        return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))

    tumbes = session.get(User, session.scalar(sa.select(User.id).where(User.username == "cw_tumbes")))
    out = {}
    for key, uid, planner in (
        ("movement", here_uid, session.get(User, caseworker_id)),
        ("there_movement", there_uid, tumbes),
    ):
        found = person(uid)
        journey = onward.Journey("other", "Lima", planned_on=clock.today_at(found.centre), transport="bus")
        out[key] = onward.plan(planner, found, journey).uid
    session.commit()
    return out


def _feedback() -> dict:
    """A suggestion left at each centre's public page."""
    from msc.centres.models import Centre
    from msc.feedback import service as feedback

    out = {}
    for key, code in (("feedback", "COL-CUC"), ("there_feedback", "PER-TUM")):
        centre = session.scalar(sa.select(Centre).where(Centre.code == code))
        out[key] = feedback.submit(centre, channel="self_service", kind="suggestion", text="Más sillas.").item.uid
    session.commit()
    return out


def _fund(case_uid: str, there_case: str, users: dict, officer) -> dict:
    """An approved, partly paid application at each centre, and an audit sample."""
    from msc import clock
    from msc.cases.models import Case
    from msc.fund import applications, decisions, disbursements, oversight
    from msc.fund.models import FundAllocation

    out = {}
    for key, uid, country, currency in (("", case_uid, "COL", "COP"), ("there_", there_case, "PER", "PEN")):
        case = session.scalar(sa.select(Case).where(Case.uid == uid))
        today = clock.today(country)
        session.add(
            FundAllocation(
                country=country,
                currency=currency,
                amount=10_000_00,
                disbursed=0,
                starts_on=today,
                ends_on=today + dt.timedelta(days=30),
            )
        )
        submitter = case.caseworkers[0] if case.caseworkers else session.get(User, users["caseworker"])
        application = applications.submit(
            submitter,
            case,
            "vulnerable",
            {"indicators": ["violence_survivor", "disability"]},
            None,
            [applications.LineData("basic_needs", 500_00, currency)],
        )
        decision = decisions.decide(
            officer,
            application,
            "approve",
            {application.lines[0].id: 400_00},
            period_ends_on=today + dt.timedelta(days=10),
        )
        line = decision.lines[0]
        payment = disbursements.disburse(officer, line, amount=100_00, paid_on=today, payee="Tienda", reference="R-1")
        out.update({f"{key}application": application.uid, f"{key}line": line.id, f"{key}payment": payment.uid})
    sample = oversight.draw_sample(
        officer, clock.today("COL") - dt.timedelta(days=1), clock.today("COL") + dt.timedelta(days=1), 100, seed=1
    )
    out.update({"sample": sample.id, "finding": sample.items[0].uid})
    session.commit()
    return out


def _token_uid(secret: str) -> str:
    from msc.api import tokens
    from msc.api.models import ApiToken

    return session.scalar(sa.select(ApiToken.uid).where(ApiToken.token_hash == tokens.digest(secret)))


def _offline_desks() -> dict[str, str]:
    """An offline desk device at each centre, each with a refused record (the walk's manager revokes here)."""
    from msc.centres.models import Centre
    from msc.offline.models import OfflineDevice, OfflineRecord

    found = {}
    for key, code in (("", "COL-CUC"), ("there_", "PER-TUM")):
        centre = session.scalar(sa.select(Centre).where(Centre.code == code))
        device = OfflineDevice(centre_id=centre.id, label=f"Tablet {code}")
        record = OfflineRecord(
            device=device, centre_id=centre.id, client_id="walk-record-1", kind="registration", state="refused"
        )
        session.add_all([device, record])
        session.flush()
        found[f"{key}device"], found[f"{key}offline_record"] = device.uid, record.uid
    session.commit()
    return found


def _webhook_delivery(org_id: int) -> str:
    """A partner's webhook subscription with one failed delivery (the one the walk's admin sends again)."""
    from msc.api import webhooks
    from msc.api.models import WebhookDelivery
    from msc.partners.models import Organisation

    created = webhooks.subscribe(
        REGIONAL_MANAGER, session.get(Organisation, org_id), "https://crc.example.org/hook", ["referral.sent"]
    )
    delivery = WebhookDelivery(
        subscription_id=created.subscription.id, event="referral.sent", body="{}", state="failed"
    )
    session.add(delivery)
    session.commit()
    return delivery.uid


def _endpoints(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(app, rule, world, uid_key="here"):
    values = {}
    far = uid_key == "there"
    if far and "centre_id" in rule.arguments:
        values["centre_id"] = world["there_centre"]
    for arg in rule.arguments:
        if arg in values:
            continue
        if arg == "uid" and rule.endpoint.startswith("referrals."):
            values[arg] = world["there_referral" if far else "referral"]
            continue
        values[arg] = {
            "uid": world[uid_key],
            "other_uid": world["here2"],
            "centre_id": world["centre"],
            "user_id": world["victim"],
            "org_id": world["org"],
            "service_id": world["service"],
            "case_uid": world["there_case" if far else "case"],
            "task_uid": world["there_task" if far else "task"],
            "to": "accepted",
            "risk": "high",
            "shelter_id": world["there_shelter" if far else "shelter"],
            "placement_uid": world["placement"],
            "handover_uid": world["there_handover" if far else "handover"],
            "item_id": world["item"],
            "table": "distributions",
            "fmt": "csv",
            "application_uid": world["there_application" if far else "application"],
            "line_id": world["there_line" if far else "line"],
            "disbursement_uid": world["there_payment" if far else "payment"],
            "sample_id": world["sample"],
            "finding_uid": world["finding"],
            "version": 1,
            "action": "retire",
            "code": "COL-CUC",
            "feedback_uid": world["there_feedback" if far else "feedback"],
            "grant_uid": world["grant"],
            "correction_uid": world["correction"],
            "export_uid": world["export"],
            "kind": "kek",
            "entry_point_id": world["entry_point"],
            "job_id": world["job"],
            "name": "audit.verify",
            "reminder_uid": world["there_reminder" if far else "reminder"],
            "transfer_uid": world["there_transfer" if far else "transfer"],
            "movement_uid": world["there_movement" if far else "movement"],
            "token_uid": world["token_uid"],
            "delivery_uid": world["delivery_uid"],
            "device_uid": world["there_device" if far else "device"],
            "record_uid": world["there_offline_record" if far else "offline_record"],
        }[arg]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_every_endpoint_declares_a_permission(app):
    undeclared = [
        rule.endpoint
        for rule, _ in _endpoints(app)
        if app.view_functions[rule.endpoint].__dict__.get("msc_permission") is None
    ]
    assert undeclared == []


def test_an_undeclared_endpoint_is_denied(app, make, client):
    bp = Blueprint("probe", __name__)

    @bp.get("/probe")
    def probe():
        return "should never be served"

    app.register_blueprint(bp)
    uid = make.user("clerk", "reception")
    login_as(app, client, uid)
    assert client.get("/probe").status_code == 403
    assert app.test_client().get("/probe").status_code == 403


def test_every_role_against_every_endpoint(app, world):
    anonymous = app.test_client()
    checked = 0
    for rule, method in _endpoints(app):
        with app.app_context():
            needed = declared_permission(rule.endpoint)
        url = _url(app, rule, world)
        res = anonymous.open(url, method=method)
        assert res.status_code < 500, (NO_5XX, rule.endpoint, method)
        if rule.endpoint.startswith("api.") and needed != PUBLIC:
            checked += _walk_api(app, world, rule, method, url, needed, res)
            continue
        if needed != PUBLIC:
            assert res.status_code in (302, 403), (rule.endpoint, "anonymous", res.status_code)
            if res.status_code == 302:
                assert res.headers["Location"].startswith("/login")
        for role, permissions in ROLES.items():
            client = app.test_client()
            login_as(app, client, world["users"][role])
            res = client.open(url, method=method)
            allowed = needed in (PUBLIC, AUTHENTICATED) or needed in permissions
            assert res.status_code < 500, (NO_5XX, rule.endpoint, method, role, res.get_data(as_text=True)[:500])
            if allowed:
                assert res.status_code != 403, (rule.endpoint, method, role, "should be allowed")
            else:
                assert res.status_code == 403, (rule.endpoint, method, role, res.status_code, "should be denied")
            checked += 1
    assert checked > 100


def _walk_api(app, world, rule, method, url, needed, anonymous) -> int:
    """An API endpoint: 401 without a token and for every person's session (a cookie never reaches the
    API); for each service account's token, what its role allows, and a JSON 403 for the rest."""
    assert anonymous.status_code == 401 and anonymous.is_json, (rule.endpoint, "anonymous", anonymous.status_code)
    body = {"query": "Ana Rojas"} if method == "POST" else None
    for role in ROLES:
        client = app.test_client()
        login_as(app, client, world["users"][role])
        res = client.open(url, method=method, json=body)
        assert res.status_code == 401, (rule.endpoint, method, role, "a session cookie must not reach the API")
    for role, secret in world["tokens"].items():
        res = app.test_client().open(url, method=method, json=body, headers={"Authorization": f"Bearer {secret}"})
        assert res.status_code < 500 and res.is_json, (NO_5XX, rule.endpoint, method, role, res.status_code)
        if needed in (AUTHENTICATED,) or needed in ROLES[role]:
            assert res.status_code != 403, (rule.endpoint, method, role, "should be allowed")
        else:
            assert res.status_code == 403, (rule.endpoint, method, role, res.status_code, "should be denied")
            assert res.get_json()["error"]["code"] == "forbidden"
    return len(ROLES) + len(world["tokens"])


def test_records_of_another_centre_answer_404(app, world):
    for rule, method in _endpoints(app):
        if not {
            "uid",
            "case_uid",
            "task_uid",
            "shelter_id",
            "handover_uid",
            "centre_id",
            "application_uid",
            "line_id",
            "disbursement_uid",
            "feedback_uid",
            "reminder_uid",
            "transfer_uid",
            "movement_uid",
            "device_uid",
            "record_uid",
        } & set(rule.arguments):
            continue
        url = _url(app, rule, world, uid_key="there")
        for role in ("reception", "caseworker", "centre_manager"):
            client = app.test_client()
            if rule.endpoint.startswith("api."):
                client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {world['tokens'][role]}"
            else:
                login_as(app, client, world["users"][role])
            res = client.open(url, method=method)
            assert res.status_code in (403, 404), (rule.endpoint, role, res.status_code)


def test_regional_scope_reaches_every_centre(app, make, world):
    officer = make.user("regional", "protection_officer", scope="region")
    client = app.test_client()
    login_as(app, client, officer)
    assert client.get(f"/b/{world['there']}").status_code == 200


def test_country_scope_reaches_only_that_country(app, make, world):
    officer = make.user("peru", "protection_officer", scope="country", country="PER")
    client = app.test_client()
    login_as(app, client, officer)
    assert client.get(f"/b/{world['there']}").status_code == 200
    assert client.get(f"/b/{world['here']}").status_code == 404


def test_denials_are_audited(app, world):
    client = app.test_client()
    login_as(app, client, world["users"]["admin"])
    assert client.get(f"/b/{world['here']}").status_code == 403
    from msc.security.models import AuditEvent

    with app.app_context():
        ev = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
        assert ev and "beneficiaries.profile" in ev[-1].detail


TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_every_permission_a_template_names_exists():
    """can('…') in a template names a real permission: a typo would hide a button from everyone."""
    named = {
        name
        for page in TEMPLATES.rglob("*.html")
        for name in re.findall(r"""\bcan\(\s*['"]([^'"]+)['"]\s*\)""", page.read_text(encoding="utf-8"))
    }
    assert len(named) >= 20  # the pattern still finds the templates' checks
    assert named - set(PERMISSIONS) == set()


def test_a_template_naming_an_unknown_permission_fails_loudly(app):
    """The template helper refuses a name that is not a permission instead of answering no."""
    with app.test_request_context(), pytest.raises(ValueError, match="unknown permission"):
        render_template_string("{{ can('case.veiw') }}")
