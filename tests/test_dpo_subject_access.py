"""The subject-access report holds everything held about a person, in their language, in both forms."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa
from babel.dates import format_date
from babel.numbers import format_currency
from flask_babel import force_locale, gettext

from msc import clock
from msc.db import session
from msc.security.models import User
from tests.conftest import REGIONAL_MANAGER
from tests.test_access import login_as
from tests.test_words import KEY, visible_text

# the desks' calendar day in Colombia, not the machine's (UTC is a day ahead in its evening)
TODAY = clock.today("COL")
BEST_INTERESTS = "Niña sin acompañante en la frontera: registrarla es lo que la protege."
TASK = "Llamar a la Defensoría de la niñez"
NOTE = "Llegó con su tía; come y duerme bien."
CORRECTION = "Torres Díaz"
FEEDBACK = "Faltan mantas en la noche."


@pytest.fixture
def everything(app, make) -> str:
    """A child with every kind of record: consents by a best-interests decision, a case at high risk with a
    critical priority, a follow-up task, a note, a referral, a hand-over, a shelter stay, a correction,
    feedback, and a fund application approved and partly paid. Returns the case number."""
    from msc.beneficiaries import corrections
    from msc.beneficiaries.models import Beneficiary
    from msc.beneficiaries.service import ConsentData
    from msc.cases import service as cases
    from msc.centres.models import Centre
    from msc.feedback import service as feedback
    from msc.fund import applications, decisions, disbursements
    from msc.fund.models import FundAllocation
    from msc.referrals import service as referrals
    from msc.shelters import service as shelters
    from msc.shelters.models import Shelter

    cw_id = make.user("cw", "caseworker")
    officer_id = make.user("po", "protection_officer", scope="region")
    _org, service_id = make.partner()
    shelter_id = make.shelter()
    decided = {"given_by": "best_interests", "best_interests_note": BEST_INTERESTS}
    uid = make.person(
        given_names="Mía",
        family_names="Torres",
        date_of_birth=TODAY.replace(year=TODAY.year - 13),
        consents=[
            ConsentData(purpose="registration", status="given", **decided),
            ConsentData(purpose="referral", status="given", **decided),
        ],
    )
    with app.app_context():
        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        cw, officer = session.get(User, cw_id), session.get(User, officer_id)
        centre = session.get(Centre, person.centre_id)
        case = cases.open_case(cw, person)
        cases.set_risk(cw, case, "high")
        cases.override_priority(cw, case, "critical", "Sola en la frontera.")
        cases.add_task(cw, case, TASK, TODAY + dt.timedelta(days=3), cw.id)
        cases.add_note(cw, case, NOTE, sensitive=False)
        referral = referrals.create(cw, case, service_id, "urgent", "Valoración médica", ["identity", "contact"])
        referrals.send(cw, referral)
        make.hand_over(uid)
        shelters.place(REGIONAL_MANAGER, person, session.get(Shelter, shelter_id), check_in_on=TODAY, planned_days=5)
        corrections.record(cw, person, ["family_names"], CORRECTION)
        feedback.submit(centre, channel="desk", kind="suggestion", text=FEEDBACK, user=cw, beneficiary_id=person.id)
        session.add(
            FundAllocation(
                country="COL",
                currency="COP",
                amount=10_000_00,
                disbursed=0,
                starts_on=TODAY - dt.timedelta(days=1),
                ends_on=TODAY + dt.timedelta(days=30),
            )
        )
        application = applications.submit(
            cw,
            case,
            "vulnerable",
            {"indicators": ["violence_survivor", "disability"]},
            None,
            [applications.LineData("basic_needs", 500_00, "COP")],
        )
        decision = decisions.decide(
            officer,
            application,
            "approve",
            {application.lines[0].id: 400_00},
            period_ends_on=TODAY + dt.timedelta(days=10),
        )
        disbursements.disburse(
            officer, decision.lines[0], amount=100_00, paid_on=TODAY, payee="Tienda", reference="R-1"
        )
        session.commit()
        return person.case_number


def _expected(app, language: str) -> dict[str, str]:
    """What each kind of record must show, in the language of the report."""
    from msc.beneficiaries import vocab as people
    from msc.cases import vocab as cases
    from msc.feedback import vocab as feedback
    from msc.fund import vocab as fund
    from msc.nfi import service as nfi
    from msc.referrals import vocab as referrals
    from msc.shelters.vocab import SLOT_LABELS

    with app.test_request_context(), force_locale(language):
        return {
            "best-interests decision": BEST_INTERESTS,
            "consent given by": str(people.CONSENT_GIVEN_BY["best_interests"]),
            "risk level": str(cases.RISK_LEVELS["high"]),
            "priority": str(cases.RISK_LEVELS["critical"]),
            "task": TASK,
            "task due": format_date(TODAY + dt.timedelta(days=3), "long", locale=language),
            "note": NOTE,
            "referral": str(referrals.STATUSES["sent"]),
            "hand-over": f"1 × {nfi.item_by_code('HYG').name_in(language)}",
            "shelter": "Casa de Paso Cúcuta",
            "shelter space": str(SLOT_LABELS["female"]),
            "correction": CORRECTION,
            "correction status": str(people.CORRECTION_STATUSES["pending"]),
            "feedback": FEEDBACK,
            "feedback kind": str(feedback.KINDS["suggestion"]),
            "fund case type": str(fund.CASE_TYPES["vulnerable"]),
            "fund decision": str(fund.DECISION_STATES["approve"]),
            "fund requested": format_currency(500, "COP", locale=language),
            "fund approved": format_currency(400, "COP", locale=language),
            "fund paid": format_currency(100, "COP", locale=language),
            "fund category": str(fund.CATEGORIES["basic_needs"]),
            "route": gettext("Centres that served you"),
            "route how": gettext("Registered there"),
            "route still": gettext("Still served there"),
        }


#: codes the database keeps for this person; none may reach the report (Spanish and Portuguese)
CODES = (
    "best_interests",
    "basic_needs",
    "vulnerable",
    "approve",
    "high",
    "critical",
    "sent",
    "pending",
    "female",
    "given",
    "registration",
    "suggestion",
    "received",
    "caseworker",
    "identity",
    "contact",
    "HYG",
    "True",
    "False",
    "None",
)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _strings(value) -> list[str]:
    """Every key and value of a JSON document, as text."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


@pytest.mark.parametrize("language", ["es", "pt_BR", "en"])
def test_the_report_holds_every_kind_of_record_in_both_forms_in_the_persons_language(app, make, everything, language):
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    login_as(app, client, make.user("dpo", "dpo", scope="region"))
    forms = {}
    for fmt in ("html", "json"):
        res = client.post("/dpo/subject-access", data={"case_number": everything, "language": language, "fmt": fmt})
        assert res.status_code == 200, res.get_data(as_text=True)[:500]
        body = res.get_data(as_text=True)
        text = visible_text(body) if fmt == "html" else " | ".join(_strings(json.loads(body)))
        forms[fmt] = " ".join(text.split())  # no-break spaces (in amounts, dates) as spaces
    for fmt, text in forms.items():
        expected = {kind: " ".join(shown.split()) for kind, shown in _expected(app, language).items()}
        missing = {kind: shown for kind, shown in expected.items() if shown not in text}
        assert missing == {}, (fmt, language)
        assert not ISO_DATE.search(text), (fmt, ISO_DATE.search(text))
        assert not KEY.findall(text), (fmt, KEY.findall(text))
        if language != "en":
            leaked = [code for code in CODES if re.search(rf"\b{re.escape(code)}\b", text)]
            assert leaked == [], (fmt, language)
    # the languages differ in more than their headings
    assert "Alto" in forms["json"] if language == "es" else True


def test_the_three_languages_say_the_values_differently(app, make, everything):
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    login_as(app, client, make.user("dpo", "dpo", scope="region"))
    reports = {}
    for language in ("es", "pt_BR", "en"):
        res = client.post("/dpo/subject-access", data={"case_number": everything, "language": language, "fmt": "json"})
        reports[language] = json.loads(res.get_data(as_text=True))
    cases = {"es": "Casos", "pt_BR": "Casos", "en": "Cases"}
    risks = {language: reports[language][cases[language]][0] for language in reports}
    assert risks["es"]["Nivel de riesgo"] == "Alto" and risks["es"]["Prioridad"] == "Crítico"
    assert risks["pt_BR"]["Nível de risco"] == "Alto" and risks["pt_BR"]["Prioridade"] == "Crítico"
    assert risks["en"]["Risk level"] == "High" and risks["en"]["Priority"] == "Critical"
    fund = {"es": "Fondo de protección", "pt_BR": "Fundo de proteção", "en": "Protection fund"}
    decided = [next(v for k, v in reports[lang][fund[lang]][0].items() if k.startswith("Deci")) for lang in reports]
    assert decided == ["Aprobada", "Aprovada", "Approved"]
