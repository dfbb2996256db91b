"""Erasure and retention: after crypto-shredding nobody finds the person by any search, no field of
theirs decrypts, the audit chain verifies and the reports still add up."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc.beneficiaries import search as finder
from msc.beneficiaries.models import Beneficiary, BlindIndexEntry, Consent
from msc.cases import service as cases
from msc.cases.models import Case
from msc.db import session, utcnow
from msc.dpo import erasure
from msc.dpo.models import Erasure
from msc.reports import cube
from msc.reports.people import needs
from msc.reports.scope import Filters, scope
from msc.security import audit
from msc.security.models import AuditEvent, User
from tests.test_access import login_as


def person(uid: str) -> Beneficiary:
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))


@pytest.fixture
def people(ctx, make):
    ana = person(
        make.person(
            given_names="Ana María",
            family_names="Rojas Peña",
            date_of_birth=dt.date(1988, 3, 14),
            document_type="passport",
            document_number="V12345678",
            phone="+57 310 555 1234",
            needs=["single_caregiver", "trafficking"],
        )
    )
    luis = person(make.person(given_names="Luis", family_names="Gómez", sex="male", date_of_birth=dt.date(1979, 2, 2)))
    return {
        "ana": ana,
        "luis": luis,
        "dpo": session.get(User, make.user("dpo", "dpo", scope="region")),
        "cw": session.get(User, make.user("cw", "caseworker")),
    }


def searches(user, *queries) -> list[set[str]]:
    return [{hit.person.uid for hit in finder.search(user, q).hits} for q in queries]


def test_erasure_leaves_nothing_to_find_or_decrypt_and_keeps_the_figures(people):
    ana, dpo, cw = people["ana"], people["dpo"], people["cw"]
    case = cases.open_case(cw, ana)
    session.commit()
    month = cube.local_month("COL", utcnow())
    regional = User(
        username="x", display_name="x", role="protection_officer", scope="region", password_hash="x", active=True
    )
    before = needs(scope(regional, Filters(month, month)))
    queries = (ana.case_number, "Ana María Rojas", "V12345678", "14/03/1988", ana.card_token)
    assert all(ana.uid in found for found in searches(cw, *queries))
    assert erasure.held(ana).cases == 1 and erasure.held(ana).consents == 1

    record = erasure.erase(dpo, ana, "subject_request")
    session.commit()
    assert record.reason == "subject_request" and ana.is_erased
    assert not any(ana.uid in found for found in searches(cw, *queries))
    assert (
        session.scalar(
            sa.select(sa.func.count()).select_from(BlindIndexEntry).where(BlindIndexEntry.beneficiary_id == ana.id)
        )
        == 0
    )
    session.expire_all()
    ana = session.get(Beneficiary, ana.id)
    assert ana.given_names is None and ana.date_of_birth is None and ana.document_number is None
    assert ana.phone is None and ana.sensitive_needs is None and ana.birth_year == 1988
    assert all(
        c.guardian_name is None for c in session.scalars(sa.select(Consent).where(Consent.beneficiary_id == ana.id))
    )
    assert session.get(Case, case.id).beneficiary_id == ana.id  # the case stays, unreadable
    assert audit.verify().ok
    assert cube.check(session) == []
    after = needs(scope(regional, Filters(month, month)))
    assert after.cells == before.cells  # the figures still add up, sensitive needs included
    assert people["luis"].given_names == "Luis"  # nobody else touched


def test_erasure_removes_the_kept_duplicate_pairs(people, make):
    from msc.beneficiaries.models import DuplicateCandidate

    ana, dpo = people["ana"], people["dpo"]
    make.person(given_names="Ana Maria", family_names="Rojas Pena", date_of_birth=dt.date(1988, 3, 14))
    session.commit()
    pairs = sa.select(sa.func.count()).select_from(DuplicateCandidate)
    assert session.scalar(pairs.where(DuplicateCandidate.first_id == ana.id)) == 1
    erasure.erase(dpo, ana, "duplicate")
    assert session.scalar(pairs) == 0


def test_erasure_is_refused_in_words(people):
    ana, dpo, cw = people["ana"], people["dpo"], people["cw"]
    with pytest.raises(erasure.ErasureError, match="Only the data protection officer"):
        erasure.erase(cw, ana, "subject_request")
    with pytest.raises(erasure.ErasureError, match="Choose why"):
        erasure.erase(dpo, ana, "because")
    with pytest.raises(erasure.ErasureError, match="No record has that case number"):
        erasure.find("COL-CUC-1999-000001")
    erasure.erase(dpo, ana, "duplicate")
    with pytest.raises(erasure.ErasureError, match="already erased"):
        erasure.erase(dpo, ana, "duplicate")


def test_retention_lists_first_then_anonymises_only_closed_cases_past_their_period(people):
    ana, luis, dpo, cw = people["ana"], people["luis"], people["dpo"], people["cw"]
    opened = {}
    for p in (ana, luis):
        case = opened[p.id] = cases.open_case(cw, p)
        cases.change_status(cw, case, "closed", "needs_met")
        case.closed_at = utcnow() - dt.timedelta(days=365 * 3)  # closed three years ago
    session.commit()
    assert erasure.due() == []  # 5 years by default
    with pytest.raises(erasure.ErasureError, match="between 1 and 100"):
        erasure.set_policy(dpo, "COL", "0")
    with pytest.raises(erasure.ErasureError, match="whole years"):
        erasure.set_policy(dpo, "COL", "dos")
    erasure.set_policy(dpo, "COL", "2")
    session.commit()
    listed = erasure.due()
    assert {d.person.id for d in listed} == {ana.id, luis.id}
    assert not any(p.is_erased for p in (ana, luis))  # a dry run changes nothing
    cases.change_status(cw, opened[luis.id], "open")  # Luis is back: an open case keeps his data
    session.commit()
    assert {d.person.id for d in erasure.due()} == {ana.id}
    run = erasure.run(dpo)
    session.commit()
    assert run.erased == 1 and ana.is_erased and not luis.is_erased
    assert session.scalar(sa.select(Erasure.reason).where(Erasure.beneficiary_id == ana.id)) == "retention"
    assert erasure.due() == [] and audit.verify().ok and cube.check(session) == []


def test_http_erasure_shows_what_it_will_do_before_doing_it(app, make):
    app.config["WTF_CSRF_ENABLED"] = False
    uid = make.person(given_names="Carla", family_names="Ibáñez", date_of_birth=dt.date(1991, 9, 9))
    with app.app_context():
        number = person(uid).case_number
    client = app.test_client()
    login_as(app, client, make.user("dpo", "dpo", scope="region"))
    res = client.post("/dpo/erase", data={"case_number": number, "reason": "subject_request"})
    page = res.get_data(as_text=True)
    assert res.status_code == 200 and "Carla" not in page and number in page and "cannot be undone" in page
    with app.app_context():
        assert not person(uid).is_erased
    res = client.post("/dpo/erase", data={"case_number": number, "reason": "subject_request", "confirm": "y"})
    assert res.status_code == 302
    with app.app_context():
        assert person(uid).is_erased
    res = client.post("/dpo/erase", data={"case_number": "", "reason": ""})
    assert res.status_code == 422 and "Give the case number of the record." in res.get_data(as_text=True)
    page = client.get("/dpo/retention").get_data(as_text=True)
    assert "Nobody is due" in page
    res = client.post("/dpo/retention/policy", data={"country": "COL", "years": "abc"})
    assert res.status_code == 422 and "Give the number of whole years." in res.get_data(as_text=True)
    assert client.post("/dpo/retention/policy", data={"country": "COL", "years": "7"}).status_code == 302
    assert client.post("/dpo/retention", data={"confirm": "y"}).status_code == 302


def test_a_caseworker_cannot_erase_or_run_retention(app, make):
    client = app.test_client()
    login_as(app, client, make.user("cw", "caseworker"))
    for url in ("/dpo/erase", "/dpo/retention", "/dpo/audit", "/dpo/"):
        assert client.get(url).status_code == 403


def test_the_retention_command_lists_first_and_applies_only_when_asked(app, make):
    uid = make.person(given_names="Nadia", family_names="Ortiz", date_of_birth=dt.date(1980, 4, 4))
    with app.app_context():
        cw = session.get(User, make.user("cw", "caseworker"))
        case = cases.open_case(cw, person(uid))
        cases.change_status(cw, case, "closed", "needs_met")
        case.closed_at = utcnow() - dt.timedelta(days=365 * 6)
        session.commit()
        number = person(uid).case_number
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["dpo", "retention"])
    assert listed.exit_code == 0 and number in listed.output and "1 due (dry run" in listed.output
    with app.app_context():
        assert not person(uid).is_erased
    applied = runner.invoke(args=["dpo", "retention", "--apply"])
    assert applied.exit_code == 0 and "1 anonymised" in applied.output
    with app.app_context():
        assert person(uid).is_erased
    assert "0 due" in runner.invoke(args=["dpo", "retention"]).output


def test_subject_access_report_in_the_persons_language_and_as_json_is_audited(app, make):
    import json

    from msc.referrals import service as referrals

    app.config["WTF_CSRF_ENABLED"] = False
    cw_id = make.user("cw", "caseworker")
    _org, svc = make.partner()
    ref_uid = make.referral(cw_id, svc, given_names="Paula", family_names="Vargas", date_of_birth=dt.date(1992, 2, 2))
    with app.app_context():
        from msc.referrals.models import Referral

        ref = session.scalar(sa.select(Referral).where(Referral.uid == ref_uid))
        cw = session.get(User, cw_id)
        cases.add_note(cw, ref.case, "Necesita control prenatal.", sensitive=False)
        cases.add_note(cw, ref.case, "Relata amenazas de su expareja.", sensitive=True)
        session.commit()
        number = ref.beneficiary.case_number
    client = app.test_client()
    login_as(app, client, make.user("dpo", "dpo", scope="region"))
    res = client.post("/dpo/subject-access", data={"case_number": number, "language": "es", "fmt": "html"})
    page = res.get_data(as_text=True)
    assert res.status_code == 200 and "Lo que guardamos sobre usted" in page
    assert "Paula" in page and "Necesita control prenatal." in page and "amenazas" not in page
    assert "1 nota se reserva" in page and "Cruz Roja Colombiana" in page
    res = client.post("/dpo/subject-access", data={"case_number": number, "language": "en", "fmt": "json"})
    data = json.loads(res.get_data(as_text=True))
    # the JSON copy is in the person's language too: labels for keys, words for values
    assert data["Your record"][0]["Given names"] == "Paula"
    assert data["Case notes"][-1]["Note"].startswith("1 note is withheld")
    assert data["Referrals and what each organisation saw"][0]["What was shared"] == "Name, Contact (phone)"
    assert any(t["Action"] == "Person registered" for t in data["Who viewed or changed your record"])
    with app.app_context():
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "dpo.subject_access")
            )
            == 2
        )
    res = client.post("/dpo/subject-access", data={"case_number": "", "language": "es", "fmt": "html"})
    assert res.status_code == 422 and "Give the case number of the record." in res.get_data(as_text=True)
    assert referrals  # the referral above went through the service


def test_the_dpo_cannot_read_case_notes_and_staff_cannot_rotate_keys(app, make):
    app.config["WTF_CSRF_ENABLED"] = False  # so that a refused POST is refused for the permission
    cw = make.user("cw", "caseworker")
    uid = make.person(given_names="Nadia", family_names="Ortiz")
    case_uid, _ = make.case(uid, cw)
    with app.app_context():
        case = session.scalar(sa.select(Case).where(Case.uid == case_uid))
        cases.add_note(session.get(User, cw), case, "Relata amenazas del grupo armado en su municipio.", False)
        session.commit()
    dpo = app.test_client()
    login_as(app, dpo, make.user("dpo", "dpo", scope="region"))
    for url in (f"/cases/{case_uid}", f"/b/{uid}", "/cases/"):
        with dpo.get(url) as res:
            assert res.status_code == 403 and "amenazas" not in res.get_data(as_text=True)
    staff = app.test_client()
    login_as(app, staff, cw)
    for method, url in (("GET", "/dpo/keys"), ("POST", "/dpo/keys/kek/start"), ("POST", "/dpo/keys/index/step")):
        with staff.open(url, method=method) as res:
            assert res.status_code == 403


def _person_with_a_hand_over(app, make) -> str:
    uid = make.person(given_names="Rosa", family_names="Peña")
    make.hand_over(uid)
    with app.app_context():
        return session.scalar(sa.select(Beneficiary.case_number).where(Beneficiary.uid == uid))


def _reports_audited(app) -> int:
    with app.app_context():
        return session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "dpo.subject_access")
        )


@pytest.mark.parametrize("language", ["es", "pt_BR", "en"])
def test_the_printable_report_of_someone_who_received_items_is_shown_and_audited(app, make, language):
    app.config["WTF_CSRF_ENABLED"] = False
    number = _person_with_a_hand_over(app, make)
    client = app.test_client()
    login_as(app, client, make.user("dpo", "dpo", scope="region"))
    res = client.post("/dpo/subject-access", data={"case_number": number, "language": language, "fmt": "html"})
    assert res.status_code == 200, res.get_data(as_text=True)[:300]
    page = res.get_data(as_text=True)
    assert "1 ×" in page
    assert _reports_audited(app) == 1
    # Labels in the person's language, not the codes the database keeps.
    for code in ("False", "True", "registered_at", "card_token", "followup_contact", "registration —", "dob_estimated"):
        assert code not in page, code
    assert {"es": "Fecha de registro", "pt_BR": "Data do cadastro", "en": "Date of registration"}[language] in page


def test_the_report_is_audited_even_when_showing_it_fails(app, make, monkeypatch):
    from msc.dpo import desk_erasure

    app.config["WTF_CSRF_ENABLED"] = False
    number = _person_with_a_hand_over(app, make)
    client = app.test_client()
    login_as(app, client, make.user("dpo", "dpo", scope="region"))

    def broken(*a, **kw):
        raise RuntimeError("a template that cannot be shown")

    monkeypatch.setattr(desk_erasure, "render_template", broken)
    res = client.post("/dpo/subject-access", data={"case_number": number, "language": "es", "fmt": "html"})
    assert res.status_code == 500
    assert _reports_audited(app) == 1
