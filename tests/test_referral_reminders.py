"""Reminders of referrals past their deadline: the daily run, the caseworker's home, the partner's list, the
command line."""

import datetime as dt

import pytest
import sqlalchemy as sa
from babel.dates import format_date

from msc import clock
from msc.db import session, utcnow
from msc.referrals import reminders
from msc.referrals import service as referrals
from msc.referrals.models import Referral, ReferralReminder, ReminderRecipient
from msc.security.models import AuditEvent, User
from tests.conftest import csrf
from tests.test_access import login_as

#: a day some weeks ago, at the referrals' centre (Cúcuta, Colombia)
DAY = clock.today("COL") - dt.timedelta(days=30)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A moment of a calendar day at the centre, in UTC."""
    return clock.start_of(day, "COL") + dt.timedelta(hours=hour, minutes=minute)


#: every referral of these tests is due at 10:00 on DAY
DEADLINE = at(DAY, 10)


def _due_on_day(referral_uid: str) -> None:
    session.execute(sa.update(Referral).where(Referral.uid == referral_uid).values(deadline_at=DEADLINE))
    session.commit()


def _referral(uid: str) -> Referral:
    return session.scalar(sa.select(Referral).where(Referral.uid == uid))


def _reminders(uid: str) -> list[ReferralReminder]:
    return list(
        session.scalars(
            sa.select(ReferralReminder)
            .join(Referral, Referral.id == ReferralReminder.referral_id)
            .where(Referral.uid == uid)
            .order_by(ReferralReminder.round)
        )
    )


@pytest.fixture
def late(ctx, make):
    """A caseworker's referral to a partner, due at 10:00 on DAY, and the partner's user."""
    cw = make.user("cw", "caseworker")
    org_id, svc_id = make.partner()
    partner = make.user("socio", "partner", centres=())
    uid = make.referral(cw, svc_id, partner, given_names="Ana", family_names="Rojas")
    _due_on_day(uid)
    return {"cw": cw, "partner": partner, "org": org_id, "svc": svc_id, "uid": uid}


# ---- the daily run ----------------------------------------------------------------------------


def test_nothing_is_due_before_the_deadline(late):
    assert reminders.send_due(DEADLINE - dt.timedelta(minutes=1)) == 0
    assert reminders.send_due(DEADLINE) == 0
    assert _reminders(late["uid"]) == []


def test_a_referral_past_its_deadline_is_reminded_to_its_caseworker_and_audited(late):
    assert reminders.send_due(DEADLINE + dt.timedelta(hours=1)) == 1
    session.commit()
    [reminder] = _reminders(late["uid"])
    assert reminder.round == 1 and reminder.made_at == DEADLINE + dt.timedelta(hours=1)
    assert [r.user_id for r in reminder.recipients] == [late["cw"]]
    [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "referral.reminder"))
    assert event.object_id == str(_referral(late["uid"]).id) and event.user_id is None  # the system
    assert event.detail == f"round 1; staff {late['cw']}; organisation"


def test_running_twice_the_same_day_reminds_once(late):
    assert reminders.send_due(at(DAY, 11)) == 1
    session.commit()
    assert reminders.send_due(at(DAY, 11)) == 0
    assert reminders.send_due(at(DAY, 23, 59)) == 0
    session.commit()
    assert len(_reminders(late["uid"])) == 1


def test_a_referral_still_late_is_reminded_again_after_the_days_set(app, late):
    assert reminders.send_due(at(DAY, 23)) == 1
    # the days are the centre's calendar days, not 72 hours: early on the third day counts
    for day, hour in ((1, 8), (2, 23)):
        assert reminders.send_due(at(DAY + dt.timedelta(days=day), hour)) == 0
    assert reminders.send_due(at(DAY + dt.timedelta(days=3), 6)) == 1
    assert reminders.send_due(at(DAY + dt.timedelta(days=4), 6)) == 0
    assert [r.round for r in _reminders(late["uid"])] == [1, 2]
    app.config["REFERRAL_REMINDER_DAYS"] = 1
    assert reminders.send_due(at(DAY + dt.timedelta(days=4), 7)) == 1
    assert reminders.send_due(at(DAY + dt.timedelta(days=4), 8)) == 0


@pytest.mark.parametrize("outcome", ["accepted", "declined", "cancelled"])
def test_an_answered_or_cancelled_referral_gets_no_reminder(late, outcome):
    assert reminders.send_due(at(DAY, 11)) == 1
    referral = _referral(late["uid"])
    if outcome == "cancelled":
        referrals.cancel(session.get(User, late["cw"]), referral)
    else:
        referrals.answer(session.get(User, late["partner"]), referral, outcome, "Sin cupo esta semana.")
    session.commit()
    later = at(DAY + dt.timedelta(days=6), 9)
    assert reminders.send_due(later) == 0
    assert reminders.standing_for(session.get(User, late["cw"]), later) == []
    assert reminders.reminded_for_partner(session.get(User, late["partner"]), [referral]) == {}


def test_each_late_referral_counts_once_and_those_not_late_do_not(make, late):
    other = make.referral(late["cw"], late["svc"], given_names="Luz", family_names="Marín")  # due in 72 hours
    third = make.referral(late["cw"], late["svc"], given_names="Eva", family_names="Luna")
    _due_on_day(third)
    assert reminders.send_due(at(DAY, 12)) == 2
    assert _reminders(other) == [] and len(_reminders(third)) == 1


def test_the_reminder_goes_to_the_assigned_caseworkers_and_the_creator_who_still_reach_the_case(make, late):
    from msc.centres.models import Centre

    colleague = session.get(User, make.user("colega", "caseworker"))
    moved = session.get(User, make.user("trasladada", "caseworker", centres=("PER-TUM",)))
    gone = session.get(User, make.user("ya_no", "caseworker"))
    gone.active = False
    referral = _referral(late["uid"])
    referral.case.caseworkers = [colleague, gone]  # the creator is no longer assigned but works at the centre
    session.commit()
    assert reminders.send_due(at(DAY, 11)) == 1
    [reminder] = _reminders(late["uid"])
    assert sorted(r.user_id for r in reminder.recipients) == sorted([colleague.id, late["cw"]])
    # the creator moves to another centre: the next reminder is not theirs, and the standing one leaves their home
    creator = session.get(User, late["cw"])
    creator.centres = [session.scalar(sa.select(Centre).where(Centre.code == "PER-TUM"))]
    referral.case.caseworkers = [colleague, moved]  # assigned from afar: reaches the case through the assignment
    session.commit()
    assert reminders.standing_for(creator, at(DAY, 12)) == []
    assert reminders.send_due(at(DAY + dt.timedelta(days=3), 11)) == 1
    newest = _reminders(late["uid"])[-1]
    assert sorted(r.user_id for r in newest.recipients) == sorted([colleague.id, moved.id])
    assert [m.uid for m in reminders.standing_for(moved, at(DAY + dt.timedelta(days=3), 12))] == [newest.uid]


def test_a_user_sees_only_the_newest_reminder_of_a_referral_addressed_to_them(make, late):
    colleague = session.get(User, make.user("colega", "caseworker"))  # same centre, not following the case
    cw = session.get(User, late["cw"])
    reminders.send_due(at(DAY, 11))
    reminders.send_due(at(DAY + dt.timedelta(days=3), 11))
    later = at(DAY + dt.timedelta(days=3), 12)
    assert [m.round for m in reminders.standing_for(cw, later)] == [2]
    assert reminders.standing_for(colleague, later) == []
    first = _reminders(late["uid"])[0]
    assert reminders.addressed_to(colleague, first.uid) is None
    assert reminders.addressed_to(cw, "no-such-reminder") is None


def test_dismissing_takes_it_off_the_home_until_the_next_reminder(late):
    cw = session.get(User, late["cw"])
    reminders.send_due(at(DAY, 11))
    [reminder] = _reminders(late["uid"])
    found = reminders.addressed_to(cw, reminder.uid)
    reminders.dismiss(cw, found, at(DAY, 12))
    reminders.dismiss(cw, found, at(DAY, 13))  # a second click changes nothing
    session.commit()
    assert found.recipient.dismissed_at == at(DAY, 12)
    assert reminders.standing_for(cw, at(DAY, 14)) == []
    dismissed = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "referral.reminder_dismissed"))
    assert [e.user_id for e in dismissed] == [cw.id]
    reminders.send_due(at(DAY + dt.timedelta(days=3), 11))
    assert [m.round for m in reminders.standing_for(cw, at(DAY + dt.timedelta(days=3), 12))] == [2]


def test_a_partner_sees_only_their_organisations_reminders(make, late):
    other_org, _svc = make.partner(name="Otra ONG")
    stranger = session.get(User, make.user("otro_socio", "partner", centres=()))
    stranger.organisation_id = other_org
    session.commit()
    referral = _referral(late["uid"])
    assert reminders.reminded_for_partner(session.get(User, late["partner"]), [referral]) == {}
    reminders.send_due(at(DAY, 11))
    assert reminders.reminded_for_partner(session.get(User, late["partner"]), [referral]) == {referral.id: at(DAY, 11)}
    assert reminders.reminded_for_partner(stranger, [referral]) == {}


def test_reminders_hold_no_personal_data(late):
    reminders.send_due(at(DAY, 11))
    session.commit()
    conn = session.connection()
    for table in ("referral_reminders", "referral_reminder_recipients"):
        for row in conn.execute(sa.text(f"SELECT * FROM {table}")):
            assert not any(isinstance(v, str) and ("Valoración" in v or "Ana" in v) for v in row)
    assert {c.name for c in ReminderRecipient.__table__.columns} == {"reminder_id", "user_id", "dismissed_at"}


# ---- over HTTP --------------------------------------------------------------------------------


@pytest.fixture
def reminded(app, make):
    """A caseworker's referral past its deadline since yesterday, reminded of by the daily run."""
    cw = make.user("cw", "caseworker")
    org_id, svc_id = make.partner()
    partner = make.user("socio", "partner", centres=())
    uid = make.referral(cw, svc_id, partner, given_names="Ana", family_names="Rojas")
    with app.app_context():
        deadline = utcnow() - dt.timedelta(days=1)
        session.execute(sa.update(Referral).where(Referral.uid == uid).values(deadline_at=deadline))
        assert reminders.send_due(utcnow()) == 1
        session.commit()
        reminder_uid = _reminders(uid)[0].uid
        case_number = _referral(uid).beneficiary.case_number
    since = format_date(clock.day_of(deadline, "COL"), "medium", locale="en")
    return {
        "cw": cw,
        "partner": partner,
        "uid": uid,
        "reminder": reminder_uid,
        "case_number": case_number,
        "text": f"Reminder: referral to Cruz Roja Colombiana past its deadline since {since}",
    }


#: a page with a form for every role (for its CSRF token)
ACCOUNT = "/account"


def _client(app, user_id):
    client = app.test_client()
    login_as(app, client, user_id)
    return client


def test_the_caseworkers_homes_show_the_reminder_with_its_link_and_a_dismiss_button(app, reminded):
    client = _client(app, reminded["cw"])
    for page in ("/", "/cases/"):
        html = client.get(page).get_data(as_text=True)
        assert reminded["text"] in html, page
        assert f'href="/referrals/{reminded["uid"]}"' in html
        assert f'action="/referrals/reminders/{reminded["reminder"]}/dismiss' in html
    home = client.get("/").get_data(as_text=True)
    assert home.count(reminded["case_number"]) == 1  # the reminder stands in for the overdue line


def test_dismissing_needs_the_csrf_token_and_is_audited(app, reminded):
    client = _client(app, reminded["cw"])
    url = f"/referrals/reminders/{reminded['reminder']}/dismiss"
    assert client.post(url).status_code == 400
    assert reminded["text"] in client.get("/").get_data(as_text=True)
    res = client.post(url + "?back=cases", data={"csrf_token": csrf(client, ACCOUNT)})
    assert res.status_code == 302 and res.headers["Location"].endswith("/cases/")
    home = client.get("/").get_data(as_text=True)
    assert reminded["text"] not in home and reminded["case_number"] in home  # still overdue, no longer a reminder
    assert reminded["text"] not in client.get("/cases/").get_data(as_text=True)
    res = client.post(url, data={"csrf_token": csrf(client, ACCOUNT)})
    assert res.status_code == 302 and res.headers["Location"].endswith("/")
    with app.app_context():
        events = list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "referral.reminder_dismissed")))
        assert [e.user_id for e in events] == [reminded["cw"]]


def test_another_users_reminder_cannot_be_dismissed(app, make, reminded):
    colleague = make.user("colega", "caseworker")
    client = _client(app, colleague)
    url = f"/referrals/reminders/{reminded['reminder']}/dismiss"
    assert client.post(url, data={"csrf_token": csrf(client, ACCOUNT)}).status_code == 404
    assert reminded["text"] not in client.get("/").get_data(as_text=True)
    for role in ("partner", "reception", "centre_manager", "protection_officer"):
        other = make.user(f"u_{role}", role, centres=() if role == "partner" else ("COL-CUC",))
        theirs = _client(app, other)
        res = theirs.post(url, data={"csrf_token": csrf(theirs, ACCOUNT)})
        assert res.status_code == 403, role
    assert reminded["text"] in _client(app, reminded["cw"]).get("/").get_data(as_text=True)


def test_a_reminder_of_a_case_out_of_reach_is_not_found(app, make, reminded):
    from msc.centres.models import Centre

    tumbes = make.centre("PER-TUM", "CAM Tumbes", "PER")
    with app.app_context():
        session.get(User, reminded["cw"]).centres = [session.get(Centre, tumbes)]
        _referral(reminded["uid"]).case.caseworkers = []
        session.commit()
    client = _client(app, reminded["cw"])
    assert reminded["text"] not in client.get("/cases/").get_data(as_text=True)
    url = f"/referrals/reminders/{reminded['reminder']}/dismiss"
    assert client.post(url, data={"csrf_token": csrf(client, ACCOUNT)}).status_code == 404


def test_the_partner_sees_the_referrals_it_was_reminded_about_highlighted(app, reminded):
    client = _client(app, reminded["partner"])
    portal = client.get("/portal/").get_data(as_text=True)
    assert 'class="reminded"' in portal and "Reminder sent" in portal
    assert "Reminder sent" in client.get(f"/portal/{reminded['uid']}").get_data(as_text=True)
    assert "reminder sent" in client.get("/").get_data(as_text=True)
    client.post(f"/portal/{reminded['uid']}/accepted", data={"csrf_token": csrf(client, f"/portal/{reminded['uid']}")})
    portal = client.get("/portal/").get_data(as_text=True)
    assert 'class="reminded"' not in portal and "Reminder sent" not in portal
    assert reminded["text"] not in _client(app, reminded["cw"]).get("/").get_data(as_text=True)


def test_the_referral_page_lists_its_reminders(app, reminded):
    html = _client(app, reminded["cw"]).get(f"/referrals/{reminded['uid']}").get_data(as_text=True)
    assert "reminder that the referral is past its deadline" in html


# ---- the command line -------------------------------------------------------------------------


def test_the_command_reminds_once_a_day(app, make):
    cw = make.user("cw", "caseworker")
    _org, svc = make.partner()
    uid = make.referral(cw, svc, given_names="Ana", family_names="Rojas")
    runner = app.test_cli_runner()
    res = runner.invoke(args=["referrals", "remind"])
    assert res.exit_code == 0 and "0 referral reminders made" in res.output
    with app.app_context():
        session.execute(
            sa.update(Referral).where(Referral.uid == uid).values(deadline_at=utcnow() - dt.timedelta(hours=1))
        )
        session.commit()
    res = runner.invoke(args=["referrals", "remind"])
    assert res.exit_code == 0 and "1 referral reminders made" in res.output
    res = runner.invoke(args=["referrals", "remind"])
    assert res.exit_code == 0 and "0 referral reminders made" in res.output
    with app.app_context():
        assert len(_reminders(uid)) == 1


def test_two_runs_at_once_make_one_reminder(app, make):
    import threading

    cw = make.user("cw", "caseworker")
    _org, svc = make.partner()
    uid = make.referral(cw, svc, given_names="Rosa", family_names="Peña")
    with app.app_context():
        _due_on_day(uid)
    barrier = threading.Barrier(2, timeout=20)
    made: list[int] = []

    def run() -> None:
        with app.app_context():
            barrier.wait()
            made.append(reminders.send_due(at(DAY, 11)))
            session.commit()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(made) == [0, 1]
    with app.app_context():
        assert len(_reminders(uid)) == 1


def test_the_worker_reminds_each_morning_as_a_job(app, make):
    """The schedule names the daily job; run by the worker, it makes the reminders and says how many."""
    from msc.jobs import runner
    from msc.jobs.models import Job, JobState

    assert app.config["JOBS_SCHEDULE"]["referrals.remind"].startswith("daily at")
    cw = make.user("cw", "caseworker")
    _org, svc = make.partner()
    uid = make.referral(cw, svc, given_names="Ana", family_names="Rojas")
    with app.app_context():
        session.execute(
            sa.update(Referral).where(Referral.uid == uid).values(deadline_at=utcnow() - dt.timedelta(hours=1))
        )
        job_id = runner.enqueue("referrals.remind").id
        session.commit()
        runner.run_queued()
        session.expire_all()
        job = session.get(Job, job_id)
        assert job.state == JobState.DONE and (job.outcome, job.outcome_count) == ("made", 1)
        assert len(_reminders(uid)) == 1
