"""Demo data: the region's centres, one user per role, and synthetic families (never real people)."""

from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa
from faker import Faker

from msc import clock
from msc.beneficiaries import service as reception
from msc.beneficiaries.models import Beneficiary, ConsentStatus
from msc.cases import service as cases
from msc.cases.models import Case
from msc.centres.models import Centre, EntryPoint
from msc.crypto import rotation
from msc.db import plan_each_statement, session, utcnow
from msc.dpo import glass
from msc.errors import RuleError
from msc.feedback import service as feedback
from msc.fund import allocations, applications, decisions, disbursements
from msc.fund.common import currency_of
from msc.fund.models import Application, DecisionOutcome
from msc.nfi import rules, stock
from msc.nfi import service as nfi
from msc.nfi.models import StockMovement
from msc.partners import service as directory
from msc.referrals import reminders
from msc.referrals import service as referrals
from msc.security import passwords
from msc.security import service as accounts
from msc.security.actor import SYSTEM
from msc.security.models import User
from msc.security.policy import MFA_REQUIRED

DEMO_PASSWORD = "msc-demo-Cucuta-26"

CENTRES = [
    ("COL-CUC", "CAM Cúcuta", "COL", "Cúcuta", "border_entry"),
    ("COL-IPI", "CAM Ipiales", "COL", "Ipiales", "border_entry"),
    ("ECU-HUA", "CAM Huaquillas", "ECU", "Huaquillas", "border_entry"),
    ("PER-TUM", "CAM Tumbes", "PER", "Tumbes", "border_entry"),
    ("PER-LIM", "CAM Lima", "PER", "Lima", "receiving"),
    ("BRA-PAC", "Centro de Apoio Pacaraima", "BRA", "Pacaraima", "border_entry"),
    ("BRA-BVB", "Centro de Apoio Boa Vista", "BRA", "Boa Vista", "receiving"),
    ("CHL-ARI", "CAM Arica", "CHL", "Arica", "border_entry"),
]

# username, role, scope, centres, locale, display name
DEMO_USERS = [
    ("recepcion", "reception", "centre", ["COL-CUC"], "es", "Laura Recepción"),
    ("gestora", "caseworker", "centre", ["COL-CUC", "COL-IPI"], "es", "Andrea Gestora"),
    ("proteccion", "protection_officer", "region", [], "es", "Mateo Protección"),
    ("coordinador", "centre_manager", "centre", ["COL-CUC"], "es", "Julián Coordinador"),
    ("dpo", "dpo", "region", [], "es", "Sofía Datos"),
    ("admin", "admin", "region", [], "es", "Admin Sistema"),
    ("socio", "partner", "centre", [], "es", "Fundación Manos Abiertas (demo)"),
    ("recepcao", "reception", "centre", ["BRA-PAC"], "pt_BR", "Ana Recepção"),
]
DEMO_USERS_TABLE = [
    (u, role, ("MFA, " if role in MFA_REQUIRED else "") + ("/".join(c) if c else scope))
    for u, role, scope, c, _, _ in DEMO_USERS
]

NEEDS_WEIGHTS = [
    ("pregnant_lactating", 0.06),
    ("disability", 0.04),
    ("serious_medical", 0.05),
    ("older_at_risk", 0.03),
    ("single_caregiver", 0.08),
    ("indigenous", 0.03),
    ("no_documents", 0.2),
    ("gbv_survivor", 0.02),
    ("trafficking", 0.01),
    ("lgbtiq", 0.02),
]
# country, name, kind: real entry points on the route (administrators keep the list: /admin/entry-points)
ENTRY_POINTS = [
    ("COL", "Puente Internacional Simón Bolívar", "border_crossing"),
    ("COL", "Puente Internacional Francisco de Paula Santander", "border_crossing"),
    ("COL", "Puente Internacional de Rumichaca", "border_crossing"),
    ("COL", "Aeropuerto Internacional El Dorado", "airport"),
    ("ECU", "Puente Internacional de Rumichaca", "border_crossing"),
    ("ECU", "Puente Internacional de Huaquillas", "border_crossing"),
    ("ECU", "Terminal Terrestre Quitumbe", "bus_terminal"),
    ("PER", "CEBAF Tumbes", "border_crossing"),
    ("PER", "Aeropuerto Internacional Jorge Chávez", "airport"),
    ("BRA", "Pacaraima (BR-174)", "border_crossing"),
    ("BRA", "Terminal Rodoviário de Boa Vista", "bus_terminal"),
    ("CHL", "Complejo Fronterizo Chacalluta", "border_crossing"),
    ("CHL", "Colchane", "border_crossing"),
]
#: where the people a centre registers came in (the centres of a receiving city: "other")
CENTRE_ENTRY_POINT = {
    "COL-CUC": "Puente Internacional Simón Bolívar",
    "COL-IPI": "Puente Internacional de Rumichaca",
    "ECU-HUA": "Puente Internacional de Huaquillas",
    "PER-TUM": "CEBAF Tumbes",
    "BRA-PAC": "Pacaraima (BR-174)",
    "CHL-ARI": "Complejo Fronterizo Chacalluta",
}


def _account(username: str) -> User:
    """One of the demo accounts made first (the rest of the demo needs them)."""
    user = accounts.find_user(username)
    if user is None:
        raise LookupError(f"demo account {username} is missing")
    return user


# Fictional organisations: a demo must not suggest that a real one holds an agreement.
# name, kind, country, agreement days left (None: no agreement), categories, services (name, sector, centres)
DEMO_PARTNERS = [
    (
        "Fundación Manos Abiertas",
        "ngo",
        "COL",
        300,
        ["identity", "contact", "demographics"],
        [("Atención primaria en salud", "health", ["COL-CUC", "COL-IPI"]), ("Apoyo psicosocial", "mhpss", ["COL-CUC"])],
    ),
    (
        "Secretaría Municipal de Salud (demo)",
        "government",
        "COL",
        120,
        ["identity", "contact", "date_of_birth", "document"],
        [("Vacunación y control prenatal", "health", ["COL-CUC"])],
    ),
    (
        "Casa de Paso Esperanza",
        "ngo",
        "COL",
        -10,
        ["identity", "contact"],
        [("Alojamiento temporal", "shelter", ["COL-CUC"])],
    ),
    (
        "Red de Empleo Andina",
        "private_sector",
        "ECU",
        None,
        [],
        [("Orientación laboral y emprendimiento", "livelihoods", ["ECU-HUA"])],
    ),
    (
        "Clínica Jurídica Frontera",
        "ngo",
        "PER",
        500,
        ["identity", "contact", "document"],
        [("Asesoría migratoria y documentación", "legal", ["PER-TUM", "PER-LIM"])],
    ),
    (
        "Associação Acolher Roraima",
        "ngo",
        "BRA",
        200,
        ["identity", "contact", "demographics", "household"],
        [("Abrigo temporário", "shelter", ["BRA-PAC", "BRA-BVB"]), ("Matrícula escolar", "education", ["BRA-BVB"])],
    ),
]


def already_loaded() -> bool:
    """Whether the demo centres exist already."""
    return session.scalar(sa.select(Centre.id).where(Centre.code == "COL-CUC")) is not None


def load(people: int = 300, seed: int = 2026) -> None:
    """Create centres, users and about `people` beneficiaries in households (in one transaction: the
    caller commits)."""
    plan_each_statement()
    rotation.start_on_key_file()  # a key file whose first index key was retired: start on its newest
    rng = random.Random(seed)
    centres = {}
    for code, name, country, municipality, kind in CENTRES:
        centre = Centre(code=code, name=name, country=country, municipality=municipality, kind=kind)
        session.add(centre)
        centres[code] = centre
    places = {}
    for country, name, kind in ENTRY_POINTS:
        place = EntryPoint(country=country, name=name, kind=kind)
        session.add(place)
        places[(country, name)] = place
    session.flush()
    entry_codes = {}  # centre code -> the entry point its people came through, as the form sends it
    for centre in centres.values():
        came_through = places.get((centre.country, CENTRE_ENTRY_POINT.get(centre.code, "")))
        entry_codes[centre.code] = str(came_through.id) if came_through else "other"
    for username, role, scope, codes, locale, name in DEMO_USERS:
        user = accounts.new_user(
            username=username,
            display_name=name,
            role=role,
            scope=scope,
            locale=locale,
            password_hash=passwords.hash_password(DEMO_PASSWORD),
        )
        user.centres = [centres[c] for c in codes]
    session.flush()
    first_partner = _partners(centres)
    _account("socio").organisation_id = first_partner.id
    clerk = _account("recepcion")
    clerk_br = _account("recepcao")
    fakers = {"es": Faker(["es_CO", "es_MX", "es_ES"]), "pt": Faker("pt_BR")}
    for f in fakers.values():
        f.seed_instance(seed)
    made = 0
    arrivals = random.Random(seed + 1)  # registration days over the last six months, for the dashboards
    while made < people:
        centre = rng.choice(list(centres.values()))
        registered_at = utcnow() - dt.timedelta(days=arrivals.randint(0, 175), minutes=arrivals.randint(0, 600))
        clerk_here = clerk_br if centre.country == "BRA" else clerk
        made += _household(rng, fakers, centre, clerk_here, registered_at, entry_codes[centre.code])
    _casework(rng, centres["COL-CUC"], first_partner)
    _nfi(rng, centres)
    _fund(centres)
    _feedback(centres)
    _emergency_access(centres)


def _partners(centres: dict):
    """The demo directory; returns the first organisation (the demo partner user works there)."""

    first = None
    for name, kind, country, days, categories, services in DEMO_PARTNERS:
        today = clock.today(country)
        org = directory.save_organisation(
            SYSTEM,
            None,
            name=name,
            kind=kind,
            country=country,
            contact="contacto@example.org",
            agreement_until=today + dt.timedelta(days=days) if days is not None else None,
            categories=categories,
            active=True,
        )
        first = first or org
        for service_name, sector, codes in services:
            directory.save_service(
                SYSTEM,
                org,
                None,
                name=service_name,
                sector=sector,
                centre_ids=[centres[c].id for c in codes],
                municipalities=None,
                eligibility=None,
                languages=["es"] if country != "BRA" else ["pt", "es"],
                opening_hours="L-V 8:00-17:00",
                contact="+57 300 000 0000",
                active=True,
            )
    return first


def _casework(rng: random.Random, centre: Centre, partner_org) -> None:
    """A few open cases for the demo caseworker, with tasks, and referrals sent to the demo partner (one past
    its deadline since two days, and reminded of)."""

    caseworker = _account("gestora")
    adults = [
        b
        for b in session.scalars(
            sa.select(Beneficiary).where(Beneficiary.centre_id == centre.id).order_by(Beneficiary.id)
        )
        if (b.age_on(clock.today_at(centre)) or 0) >= 18
    ]
    health = next(s for s in partner_org.services if s.sector == "health")
    sent = 0
    for i, person in enumerate(adults[:8]):
        case = cases.open_case(caseworker, person)
        cases.assess(caseworker, case, {"health": rng.choice(["some", "severe"]), "shelter": "some"}, person.need_codes)
        today = clock.today_at(centre)
        due = today + dt.timedelta(days=i - 1)
        task = cases.add_task(caseworker, case, "Llamar para seguimiento", max(due, today), caseworker.id)
        task.due_on = due  # the first is left over from yesterday (a new task cannot be due in the past)
        if reception.has_consent(person, "referral") and i % 2 == 0:
            referral = referrals.create(
                caseworker,
                case,
                health.id,
                rng.choice(["urgent", "routine"]),
                "Valoración médica general",
                ["identity", "contact"],
            )
            referrals.send(caseworker, referral)
            if not sent and referral.sent_at and referral.deadline_at:  # the first was sent days ago, unanswered
                late = referral.deadline_at - referral.sent_at + dt.timedelta(days=2)
                referral.sent_at, referral.deadline_at = referral.sent_at - late, referral.deadline_at - late
            sent += 1
    reminders.send_due(utcnow())  # the daily run: the late referral is reminded of


def _nfi(rng: random.Random, centres: dict) -> None:
    """Stock at every centre (low at one), and hand-overs of the last weeks in Cúcuta."""

    manager = _account("coordinador")
    items = {i.code: i for i in stock.active_items()}
    for n, centre in enumerate(centres.values()):
        stock.receive(
            SYSTEM,
            centre,
            reference=f"GR-2026-{n + 1:04d}",
            source="warehouse",
            received_on=stock.centre_day(centre),
            lines={i.id: rng.randrange(40, 200) for i in items.values()},
        )
        stock.set_thresholds(SYSTEM, centre, {i.id: 25 for i in items.values()})
    cucuta = centres["COL-CUC"]
    stock.adjust(
        SYSTEM,
        cucuta,
        items["DIG"],
        reason="damage",
        direction="remove",
        quantity=stock.on_hand(cucuta.id, items["DIG"].id) - 20,
    )  # the manager's page shows it low
    people = list(
        session.scalars(
            sa.select(Beneficiary).where(Beneficiary.centre_id == cucuta.id).order_by(Beneficiary.id).limit(40)
        )
    )
    for person in people[8:30]:
        view = rules.desk_view(person, list(items.values()), stock.centre_day(cucuta))
        wanted = {v.key: 1 for v in view.own + view.household if v.entitled and v.item.code in ("HYG", "DIG", "BABY")}
        if wanted:
            given = nfi.hand_over(manager, cucuta, person, wanted, nfi.Acknowledgement(method="thumbprint"))
            given.day = given.day - dt.timedelta(days=rng.randrange(1, 40))  # spread over the last weeks
            for line in given.lines:
                line.day, line.month = given.day, given.day.strftime("%Y-%m")
            session.execute(
                sa.update(StockMovement).where(StockMovement.distribution_id == given.id).values(day=given.day)
            )


def _fund(centres: dict) -> None:
    """Allocations for each country; gestora's applications: two awaiting a decision, one approved and paid."""

    admin, officer, caseworker = (_account(u) for u in ("admin", "proteccion", "gestora"))
    for country in sorted({c.country for c in centres.values()}):
        today = clock.today(country)
        allocations.save_allocation(
            admin,
            None,
            country=country,
            currency=currency_of(country),
            amount=50_000 * {"COP": 4000, "PEN": 4, "BRL": 5, "CLP": 950}.get(currency_of(country), 1) * 100,
            starts_on=today.replace(month=1, day=1),
            ends_on=today.replace(month=12, day=31),
        )
    cases = list(session.scalars(sa.select(Case).where(Case.centre_id == centres["COL-CUC"].id).order_by(Case.id)))
    answers = [
        (
            "trafficking",
            {"act": ["recruitment", "transportation"], "purpose": ["forced_labour"], "means": ["deception"]},
        ),
        ("vulnerable", {"indicators": ["violence_survivor", "single_caregiver"]}),
        ("vulnerable", {"indicators": ["no_documents"]}),
    ]
    for case, (case_type, given) in zip(cases, answers):
        applications.submit(
            caseworker,
            case,
            case_type,
            given,
            "Entrevista de la gestora (datos de demostración).",
            [
                applications.LineData("shelter", 800_000_00, "COP", "Casa de Paso (demo)"),
                applications.LineData("medical", 400_000_00, "COP", None),
            ],
        )
    first = session.scalar(sa.select(Application).order_by(Application.id))
    if first is not None:
        today = clock.today("COL")
        decision = decisions.decide(
            officer,
            first,
            DecisionOutcome.APPROVE,
            {first.lines[0].id: 600_000_00},
            period_ends_on=today + dt.timedelta(days=60),
        )
        disbursements.disburse(
            officer,
            decision.lines[0],
            amount=300_000_00,
            paid_on=today,
            payee="Casa de Paso (demo)",
            reference="DEMO-0001",
        )


def _feedback(centres: dict) -> None:
    """proteccion is the PSEA focal point; a few messages at Cúcuta, one of them sensitive."""

    _account("proteccion").psea_focal_point = True
    cucuta = centres["COL-CUC"]
    for kind, text in (
        ("suggestion", "Pongan un toldo en la fila: el sol es muy fuerte al mediodía."),
        ("question", "¿Dónde puedo cargar el celular?"),
        ("misconduct", "Un guardia gritó a una señora mayor en la fila (datos de demostración)."),
    ):
        feedback.submit(cucuta, channel="self_service", kind=kind, text=text)
    for rating in (5, 4, 5, 3, 4, 5):
        feedback.submit(cucuta, channel="survey", kind="survey", text="", rating=rating, service="nfi")


def _emergency_access(centres: dict) -> None:
    """The demo caseworker opened a record of Tumbes in an emergency: the DPO has it to review."""

    caseworker = _account("gestora")
    person = session.scalar(
        sa.select(Beneficiary).where(Beneficiary.centre_id == centres["PER-TUM"].id).order_by(Beneficiary.id).limit(1)
    )
    if person is None:
        return
    grant = glass.open_record(
        caseworker,
        glass.Proof(case_number=person.case_number, date_of_birth=person.date_of_birth),
        "transfer",
        "Llegó a Cúcuta desde Tumbes y necesito su registro de salud para continuar la atención.",
    )
    glass.end(caseworker, grant)


def _household(
    rng: random.Random, fakers: dict, centre: Centre, clerk, registered_at: dt.datetime, entry_point: str
) -> int:
    fake = fakers["pt"] if centre.country == "BRA" and rng.random() < 0.3 else fakers["es"]
    family = f"{fake.last_name()} {fake.last_name()}"
    today = clock.today_at(centre)
    size = rng.choices([1, 2, 3, 4, 5], weights=[35, 20, 20, 15, 10])[0]
    nationality = rng.choices(["VEN", "COL", "HTI", "ECU", "PER"], weights=[80, 8, 5, 4, 3])[0]
    head_case = None
    unaccompanied = size == 1 and rng.random() < 0.08
    for i in range(size):
        adult = i == 0 and not unaccompanied or (i == 1 and rng.random() < 0.6)
        age = rng.randint(18, 70) if adult else rng.randint(0, 17)
        sex = rng.choice(["female", "male"]) if rng.random() > 0.01 else "other"
        given = fake.first_name_female() if sex == "female" else fake.first_name_male()
        if rng.random() < 0.4:
            given += " " + (fake.first_name_female() if sex == "female" else fake.first_name_male())
        known_dob = rng.random() < 0.75
        dob = today - dt.timedelta(days=age * 365 + rng.randint(0, 364))
        has_doc = rng.random() < 0.6
        needs = [
            code
            for code, p in NEEDS_WEIGHTS
            if rng.random() < p and (code != "pregnant_lactating" or (sex == "female" and 15 <= age <= 45))
        ]
        data = reception.PersonData(
            given_names=given,
            family_names=family if i == 0 or rng.random() < 0.8 else f"{fake.last_name()} {fake.last_name()}",
            sex=sex,
            nationality=nationality,
            date_of_birth=dob if known_dob else None,
            estimated_age=None if known_dob else age,
            document_type=rng.choice(["passport", "national_id"]) if has_doc else "none",
            document_number=f"V{rng.randint(10_000_000, 32_000_000)}" if has_doc else None,
            phone=f"+57 3{rng.randint(10, 29)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
            if adult and rng.random() < 0.7
            else None,
            arrival_date=today - dt.timedelta(days=rng.randint(0, 400)),
            entry_point=entry_point,
            languages=["es"] + (["pt"] if rng.random() < 0.1 else []),
            needs=needs + (["no_documents"] if not has_doc and "no_documents" not in needs else []),
        )
        consent = [
            reception.ConsentData(
                purpose=p,
                status=ConsentStatus.GIVEN
                if p in ("registration", "referral") or rng.random() < 0.5
                else ConsentStatus.REFUSED,
                given_by="self" if age >= 18 else ("best_interests" if unaccompanied else "guardian"),
                guardian_name=None if age >= 18 or unaccompanied else f"{fake.first_name()} {family}",
                best_interests_note="Niño sin acompañante; registro para protección."
                if unaccompanied and age < 18
                else None,
            )
            for p in ("registration", "referral", "government_sharing", "followup_contact", "photo")
        ]
        if head_case is None:
            relationship = "head"
        elif age < 18:
            relationship = rng.choice(["child", "child", "child", "grandchild", "sibling"])
        else:
            relationship = rng.choice(["spouse", "spouse", "sibling", "parent", "other_relative"])
        choice = reception.HouseholdChoice(join_case_number=head_case, relationship=relationship)
        try:
            person = reception.register(SYSTEM, centre, data, consent, choice, acknowledged=None)
        except reception.PossibleDuplicates as dup:
            person = reception.register(
                SYSTEM, centre, data, consent, choice, acknowledged={c.beneficiary.id for c in dup.candidates}
            )
        except RuleError:
            continue
        person.registered_by_id = clerk.id
        person.registered_at = registered_at
        if head_case is None:
            head_case = person.case_number
            if person.household is not None:
                person.household.created_at = registered_at
    return size
