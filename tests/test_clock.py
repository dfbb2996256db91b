"""One "today": the calendar day is the centre's whatever the hour in UTC, and every time a person reads is in
their centre's zone. Each test runs with the clock frozen at 23:30 and at 00:30 at a centre in Colombia
(America/Bogota, UTC-5) and one in Brazil (America/Boa_Vista, UTC-4): at 23:30 the UTC date is already
tomorrow."""

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from babel.dates import format_datetime

from msc import clock
from msc.beneficiaries.models import Beneficiary
from msc.cases import service as cases
from msc.cases.models import Case, Task
from msc.db import session, utcnow
from msc.dpo import glass
from msc.fund import applications, decisions
from msc.fund.applications import LineData
from msc.fund.models import FundAllocation
from msc.referrals.models import Referral
from msc.security.models import AuditEvent, User
from tests.conftest import csrf
from tests.test_access import login_as

DAY = dt.date(2026, 3, 10)
ZONES = {"COL": "America/Bogota", "BRA": "America/Boa_Vista"}
CENTRES = {"COL": "COL-CUC", "BRA": "BRA-PAC"}
CURRENCIES = {"COL": "COP", "BRA": "BRL"}
DESKS = [(country, hour) for country in ZONES for hour in (dt.time(23, 30), dt.time(0, 30))]


@pytest.fixture(params=DESKS, ids=[f"{c}-{h:%H%M}" for c, h in DESKS])
def desk(request):
    """The clock frozen (and ticking from there) at an hour of DAY at a centre of a country."""
    country, hour = request.param
    moment = dt.datetime.combine(DAY, hour, ZoneInfo(ZONES[country]))
    with time_machine.travel(moment, tick=True):
        yield SimpleNamespace(country=country, centre=CENTRES[country], zone=ZoneInfo(ZONES[country]), hour=hour)


def _client(app, user_id):
    client = app.test_client()
    login_as(app, client, user_id)
    return client


def _shown(moment: dt.datetime, zone: ZoneInfo) -> str:
    """A stored moment as format_datetime shows it to an English reader in a zone."""
    return format_datetime(moment, "medium", tzinfo=zone, locale="en")


def _field_value(html: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert tag, f"no field {name}"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def test_today_is_the_centres_day_whatever_the_utc_date(desk, ctx):
    assert clock.today(desk.country) == DAY
    assert clock.day_of(utcnow(), desk.country) == DAY
    assert utcnow().date() == (DAY + dt.timedelta(days=1) if desk.hour.hour == 23 else DAY)
    assert clock.start_of(DAY, desk.country) <= utcnow() < clock.start_of(DAY + dt.timedelta(days=1), desk.country)
    assert clock.now(desk.country).strftime("%H:%M") == desk.hour.strftime("%H:%M")


def test_viewer_zone_first_centre_then_country_then_partner_then_default(ctx, make):
    staff = session.get(User, make.user("staff", "caseworker", centres=("BRA-PAC", "COL-CUC")))
    national = session.get(User, make.user("national", "protection_officer", scope="country", country="PER"))
    regional = session.get(User, make.user("regional", "dpo", scope="region"))
    org_id, _ = make.partner(name="Cáritas Brasil", country="BRA", centres=("BRA-PAC",))
    partner = session.get(User, make.user("socio", "partner", centres=()))
    partner.organisation_id = org_id
    session.commit()
    assert clock.viewer_zone(staff).key == "America/Boa_Vista"  # BRA-PAC comes first by code
    assert clock.viewer_zone(national).key == "America/Lima"
    assert clock.viewer_zone(session.get(User, partner.id)).key == "America/Boa_Vista"
    assert clock.viewer_zone(regional).key == "America/Bogota"  # the configured BABEL_DEFAULT_TIMEZONE
    ctx.config["BABEL_DEFAULT_TIMEZONE"] = "America/Santiago"
    assert clock.viewer_zone(regional).key == "America/Santiago"


def _case(make, desk, cw):
    uid = make.person(centre=desk.centre, given_names="Ana", family_names="Rojas")
    case_uid, _ = make.case(uid, cw)  # with a task "Llamar" due today
    return case_uid


def test_caseworker_home_sorts_tasks_by_the_centres_day(desk, app, make):
    cw = make.user("cw", "caseworker", centres=(desk.centre,))
    case_uid = _case(make, desk, cw)
    with app.app_context():
        case = session.scalar(sa.select(Case).where(Case.uid == case_uid))
        user = session.get(User, cw)
        left = cases.add_task(user, case, "Ayer", DAY, cw)
        left.due_on = DAY - dt.timedelta(days=1)  # left over from yesterday
        cases.add_task(user, case, "Mañana", DAY + dt.timedelta(days=1), cw)
        session.commit()
        assert session.scalar(sa.select(Task.due_on).where(Task.id != left.id).order_by(Task.id)) == DAY
    page = _client(app, cw).get("/cases/").get_data(as_text=True)
    overdue = page.split("<h3>Overdue</h3>")[1].split("<h3>Due today</h3>")[0]
    due_today = page.split("<h3>Due today</h3>")[1].split("</section>")[0]
    assert "Ayer" in overdue and "Llamar" not in overdue and "Mañana" not in overdue
    assert "Llamar" in due_today and "Ayer" not in due_today and "Mañana" not in due_today
    case_page = _client(app, cw).get(f"/cases/{case_uid}").get_data(as_text=True)
    assert len(re.findall(r'<li class="overdue">', case_page)) == 1  # only yesterday's task


def test_a_task_due_yesterday_is_refused_and_today_accepted_at_any_hour(desk, app, make):
    cw = make.user("cw", "caseworker", centres=(desk.centre,))
    case_uid = _case(make, desk, cw)
    client = _client(app, cw)
    url = f"/cases/{case_uid}"
    form = {"task-csrf_token": csrf(client, url), "task-title": "Visita", "task-assignee": str(cw)}
    yesterday = (DAY - dt.timedelta(days=1)).isoformat()
    res = client.post(url + "/tasks", data=form | {"task-due_on": yesterday})
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "The due date is in the past." in html and yesterday in html
    res = client.post(url + "/tasks", data=form | {"task-due_on": DAY.isoformat()})
    assert res.status_code == 302
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Task).where(Task.due_on == DAY)) == 2
        case = session.scalar(sa.select(Case).where(Case.uid == case_uid))
        with pytest.raises(cases.CaseError, match="in the past"):
            cases.add_task(session.get(User, cw), case, "Otra", DAY - dt.timedelta(days=1), cw)


def test_shelter_check_in_and_fund_payment_default_to_the_same_day(desk, app, make):
    cw = make.user("cw", "caseworker", centres=(desk.centre,))
    officer = make.user("po", "protection_officer", centres=(desk.centre,))
    make.shelter(name="Casa de Paso", centre=desk.centre)
    uid = make.person(centre=desk.centre, given_names="Rosa", family_names="Peña")
    case_uid, _ = make.case(uid, cw)
    with app.app_context():
        session.add(
            FundAllocation(
                country=desk.country,
                currency=CURRENCIES[desk.country],
                amount=10_000_000_00,
                starts_on=DAY.replace(day=1),
                ends_on=DAY + dt.timedelta(days=365),
            )
        )
        case = session.scalar(sa.select(Case).where(Case.uid == case_uid))
        application = applications.submit(
            session.get(User, cw),
            case,
            "trafficking",
            {"act": ["recruitment"], "purpose": ["forced_labour"], "means": ["deception"]},
            "Relato coherente.",
            [LineData("medical", 5_000_00, CURRENCIES[desk.country], "Clínica")],
        )
        line = application.lines[0]
        decision = decisions.decide(
            session.get(User, officer),
            application,
            "approve",
            {line.id: 2_000_00},
            period_ends_on=DAY + dt.timedelta(days=60),
        )
        session.commit()
        application_uid, decision_line = application.uid, decision.lines[0].id
    place = _client(app, cw).get(f"/shelters/place/{uid}").get_data(as_text=True)
    fund_page = _client(app, officer).get(f"/fund/applications/{application_uid}").get_data(as_text=True)
    assert _field_value(place, "check_in_on") == DAY.isoformat()
    assert _field_value(fund_page, f"pay{decision_line}-paid_on") == DAY.isoformat()


def test_the_registration_form_ends_its_dates_today_at_the_desk(desk, app, make):
    clerk = make.user("clerk", "reception", centres=(desk.centre,))
    page = _client(app, clerk).get("/register").get_data(as_text=True)
    for name in ("date_of_birth", "arrival_date"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
        assert tag and f'max="{DAY.isoformat()}"' in tag.group(0)


def test_times_are_shown_in_the_viewers_zone(desk, app, make):
    """The partner portal, the audit log and the emergency-access queue show the centre's time, not UTC."""
    cw = make.user("cw", "caseworker", centres=(desk.centre,))
    org_id, svc_id = make.partner(name="Socio", country=desk.country, centres=(desk.centre,))
    partner = make.user("socio", "partner", centres=())
    ref_uid = make.referral(
        cw, svc_id, partner_user_id=partner, centre=desk.centre, given_names="Ana", family_names="Mora"
    )
    make.person(centre="PER-TUM", given_names="Rosa", family_names="Huamán", date_of_birth=dt.date(1987, 8, 8))
    dpo = make.user("dpo", "dpo", scope="country", country=desk.country)
    regional_dpo = make.user("rdpo", "dpo", scope="region")
    with app.app_context():
        rosa = session.scalar(sa.select(Beneficiary).where(Beneficiary.centre.has(code="PER-TUM")))
        grant = glass.open_record(
            session.get(User, cw),
            glass.Proof(rosa.case_number, rosa.date_of_birth),
            "transfer",
            "Llegó herida a urgencias; necesito sus alergias.",
        )
        session.commit()
        sent_at = session.scalar(sa.select(Referral.sent_at).where(Referral.uid == ref_uid))
        started, until = grant.started_at, grant.expires_at
        audited = session.scalar(sa.select(AuditEvent.at).where(AuditEvent.action == "access.break_glass"))
    hour = re.compile(r"11:3\d:\d\d\W?PM" if desk.hour.hour == 23 else r"12:3\d:\d\d\W?AM")  # never UTC's
    portal = _client(app, partner).get("/portal/").get_data(as_text=True)
    assert _shown(sent_at, desk.zone) in portal and hour.search(portal)
    queue = _client(app, dpo).get("/dpo/break-glass").get_data(as_text=True)
    assert _shown(started, desk.zone) in queue and _shown(until, desk.zone) in queue and hour.search(queue)
    log = _client(app, dpo).get(f"/dpo/audit?action=access.&start={DAY.isoformat()}&end={DAY.isoformat()}")
    assert _shown(audited, desk.zone) in log.get_data(as_text=True)  # DAY is the centre's day: the event is in it
    regional = _client(app, regional_dpo).get("/dpo/break-glass").get_data(as_text=True)
    assert _shown(started, ZoneInfo("America/Bogota")) in regional  # no centre, no country: the default zone


# ---- the clock is read in one place -------------------------------------------------------------

#: what reads the system clock or cuts a UTC moment to a date; only msc/clock.py and msc/db.py may
FORBIDDEN = re.compile(
    r"date\.today\(|datetime\.utcnow|datetime\.now\(|utcnow\(\)\.date\(|timezone\.utc|strftime\([^)]*UTC|"
    r"_at\.date\(\)|\bnow\.date\(\)"
)


def test_nothing_else_reads_the_clock_for_a_calendar_day():
    root = Path(__file__).resolve().parents[1]
    offenders = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for folder in ("msc", "templates")
        for path in sorted((root / folder).rglob("*"))
        if path.suffix in {".py", ".html"} and path.relative_to(root).as_posix() not in {"msc/clock.py", "msc/db.py"}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert offenders == [], "use msc.clock (today, today_at, viewer_today, day_of) instead:\n" + "\n".join(offenders)
