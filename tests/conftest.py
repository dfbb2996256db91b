"""Fixtures: an app per test with its own database, built by running the migrations.

SQLite (default): migrations run once into a template file, copied for each test.
PostgreSQL (MSC_TEST_DATABASE_URL set): migrations run once into a database of the process's own, whose
tables are emptied after each test.
Each pytest-xdist worker (`make test` runs one per core) is a process of its own, with its own template
file or database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from msc import create_app
from msc import db as dbmod
from msc.security.actor import SYSTEM, Actor

# Property tests reuse one app per test function across examples (each example cleans what it needs).
settings.register_profile(
    "msc",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("msc")

PG_URL = os.environ.get("MSC_TEST_DATABASE_URL")  # a server to create a throwaway database on
PASSWORD = "correct horse battery staple"

#: a centre manager across the region, with no account: for setting up records through the services
REGIONAL_MANAGER: Actor = dataclasses.replace(SYSTEM, role="centre_manager")


def _new_app(tmp: Path, url: str, keys_file: Path, **extra):
    # English by default so assertions read naturally; tests of the Spanish default set it back.
    overrides = {
        "INSTANCE_PATH": str(tmp),
        "DATABASE_URL": url,
        "KEYS_FILE": str(keys_file),
        "BABEL_DEFAULT_LOCALE": "en",
    }
    overrides.update(extra)
    return create_app("testing", overrides)


def limited_app(app, **config):
    """Another app on `app`'s database and keys, with the rate limiter on and the limits given."""
    return create_app(
        "testing",
        {
            "INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": app.config["DATABASE_URL"],
            "KEYS_FILE": app.config["KEYS_FILE"],
            "RATELIMIT_ENABLED": True,
            "BABEL_DEFAULT_LOCALE": "en",
            **config,
        },
    )


@pytest.fixture(scope="session")
def keys_file(tmp_path_factory) -> Path:
    from msc.crypto.keys import FileKeyProvider

    path = tmp_path_factory.mktemp("keys") / "keys.json"
    FileKeyProvider(path).generate()
    return path


@pytest.fixture(scope="session")
def pg_url():
    """A database of this test session's own on the PostgreSQL server, dropped at the end."""
    if not PG_URL:
        yield None
        return
    url = sa.engine.make_url(PG_URL)
    name = f"msc_test_{os.getpid()}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory, keys_file, pg_url):
    """A migrated database to start each test from."""
    tmp = tmp_path_factory.mktemp("template")
    if pg_url:
        app = _new_app(tmp, pg_url, keys_file)
        dbmod.upgrade(app)
        _remember_schema(app.extensions["msc.engine"])
        app.extensions["msc.engine"].dispose()
        return pg_url
    path = tmp / "template.sqlite3"
    app = _new_app(tmp, f"sqlite:///{path}", keys_file)
    dbmod.upgrade(app)
    app.extensions["msc.engine"].dispose()  # the last connection to close folds the WAL into the file
    assert not Path(str(path) + "-wal").exists()
    return path


#: rows the migrations themselves write (the standard NFI catalogue), put back after each test on PostgreSQL
_SEED_ROWS: dict[sa.Table, list[dict]] = {}
#: every table but Alembic's, those that refer to others before those they refer to
_PG_TABLES: list[str] = []


def _remember_schema(engine: sa.Engine) -> None:
    """Read the migrated schema once: its tables in the order they are emptied, and the rows the migrations
    wrote."""
    meta = sa.MetaData()
    meta.reflect(engine)
    _PG_TABLES[:] = [t.name for t in reversed(meta.sorted_tables) if t.name != "alembic_version"]
    with engine.connect() as conn:
        for name, table in meta.tables.items():
            if name != "alembic_version":
                rows = [dict(r._mapping) for r in conn.execute(sa.select(table))]
                if rows:
                    _SEED_ROWS[table] = rows


def _empty_pg(engine: sa.Engine) -> None:
    """Empty what the test wrote, as a new database would be: the tables that hold rows are deleted from,
    children first, every sequence drawn from starts again at 1, and the migrations' own rows are put back.
    (A TRUNCATE of every table took 0.7 s a test, most of the suite's time on PostgreSQL: it makes new
    files for every table and index, where a DELETE of the few rows a test writes touches only those.)"""
    with engine.begin() as conn:
        holding = " UNION ALL ".join(
            f'SELECT {i} WHERE EXISTS (SELECT 1 FROM "{name}")' for i, name in enumerate(_PG_TABLES)
        )
        full = {i for (i,) in conn.execute(sa.text(holding))}
        seeded = {table.name for table in _SEED_ROWS}
        for i, name in enumerate(_PG_TABLES):
            if i in full or name in seeded:
                conn.execute(sa.text(f'DELETE FROM "{name}"'))
        conn.execute(
            sa.text(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)"
                " FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"
            )
        )
        for table, rows in _SEED_ROWS.items():
            conn.execute(sa.insert(table), rows)
            if "id" in table.c:
                conn.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), :top)"),
                    {"top": max(row["id"] for row in rows)},
                )


@pytest.fixture
def db_url(template_db, tmp_path, pg_url) -> str:
    if pg_url:
        return pg_url
    path = tmp_path / "msc.sqlite3"
    shutil.copyfile(template_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(db_url, tmp_path, keys_file):
    own_keys = tmp_path / "keys.json"
    shutil.copyfile(keys_file, own_keys)
    application = _new_app(tmp_path, db_url, own_keys)
    yield application
    engine = application.extensions["msc.engine"]
    if PG_URL:
        _empty_pg(engine)
    engine.dispose()


@pytest.fixture
def ctx(app):
    """An application context: services can be called directly."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


# ---- factories ---------------------------------------------------------------------------


class Factory:
    """Builds centres, users and beneficiaries through the real services."""

    def __init__(self, app):
        self.app = app

    def _ctx(self):
        """The current app context if a test already pushed one (so it sees what we write)."""
        from contextlib import nullcontext

        from flask import has_app_context

        return nullcontext() if has_app_context() else self.app.app_context()

    def centre(self, code="COL-CUC", name="CAM Cúcuta", country="COL"):
        from msc.centres.models import Centre
        from msc.db import session

        with self._ctx():
            centre = session.scalar(sa.select(Centre).where(Centre.code == code))
            if centre is None:
                centre = Centre(
                    code=code, name=name, country=country, municipality=name.split()[-1], kind="border_entry"
                )
                session.add(centre)
                session.commit()
            return centre.id

    def user(
        self,
        username,
        role,
        centres=("COL-CUC",),
        scope="centre",
        country=None,
        locale="en",
        password=PASSWORD,
        mfa_secret=None,
    ):
        from msc.centres.models import Centre
        from msc.db import session
        from msc.security import service

        with self._ctx():
            ids = [self.centre(code, f"CAM {code}", code[:3]) for code in centres] if scope == "centre" else []
            user = service.new_user(
                username=username,
                display_name=username.title(),
                role=role,
                scope=scope,
                country=country,
                locale=locale,
                password_hash=_cached_hash(password),
            )
            user.centres = list(session.scalars(sa.select(Centre).where(Centre.id.in_(ids or [-1]))))
            if mfa_secret:
                user.mfa_secret = mfa_secret
            session.commit()
            return user.id

    def token(self, username, role, centres=("COL-CUC",), scope="centre", country=None, days=90, organisation_id=None):
        """A service account of this role and reach, with a token; returns the token's secret."""
        from msc.admin import service as admin_service
        from msc.api import tokens
        from msc.db import session

        with self._ctx():
            ids = [self.centre(code, f"CAM {code}", code[:3]) for code in centres] if scope == "centre" else []
            account = admin_service.save_user(
                SYSTEM,
                None,
                username=username,
                display_name=f"{username} system",
                role=role,
                scope=scope,
                country=country,
                centre_ids=ids,
                locale="en",
                password=None,
                organisation_id=organisation_id,
                service_account=True,
            )
            issued = tokens.issue(SYSTEM, account, label=f"{username} token", days=days)
            session.commit()
            return issued.secret

    def entry_point(
        self, name="Puente Internacional Simón Bolívar", country="COL", kind="border_crossing", active=True
    ):
        """An entry point of a country; returns what a form sends for it (its id as text)."""
        from msc.centres.models import EntryPoint
        from msc.db import session

        with self._ctx():
            place = session.scalar(sa.select(EntryPoint).where(EntryPoint.country == country, EntryPoint.name == name))
            if place is None:
                place = EntryPoint(country=country, name=name, kind=kind, active=active)
                session.add(place)
                session.commit()
            return str(place.id)

    def person(self, user_id=None, centre="COL-CUC", acknowledge=True, **fields):
        """Register a person as `user_id` (or as the system) and return its uid."""
        from msc.beneficiaries import service
        from msc.centres.models import Centre
        from msc.db import session
        from msc.security.models import User

        with self._ctx():
            self.centre(centre, f"CAM {centre}", centre[:3])
            c = session.scalar(sa.select(Centre).where(Centre.code == centre))
            user = session.get(User, user_id) if user_id else SYSTEM
            consents = fields.pop("consents", None) or [
                service.ConsentData(
                    purpose="registration",
                    status="given",
                    given_by=fields.pop("given_by", "self"),
                    guardian_name=fields.pop("guardian_name", None),
                    best_interests_note=fields.pop("best_interests_note", None),
                )
            ]
            household = fields.pop("household", None) or service.HouseholdChoice()
            data = service.PersonData(
                **{"sex": "female", "nationality": "VEN", "date_of_birth": dt.date(1990, 5, 17), **fields}
            )
            try:
                person = service.register(user, c, data, consents, household)
            except service.PossibleDuplicates as dup:
                if not acknowledge:
                    raise
                person = service.register(
                    user, c, data, consents, household, {x.beneficiary.id for x in dup.candidates}
                )
            session.commit()
            return person.uid

    def partner(
        self,
        name="Cruz Roja Colombiana",
        kind="ngo",
        country="COL",
        centres=("COL-CUC",),
        sector="health",
        until=None,
        categories=("identity", "contact"),
    ):
        """An organisation with one service for the given centres; returns (organisation id, service id)."""
        import datetime as dt

        from msc import clock
        from msc.db import session
        from msc.partners import service

        with self._ctx():
            ids = [self.centre(code, f"CAM {code}", code[:3]) for code in centres]
            # until=False: no agreement at all
            until = until if until is not None else clock.today(country) + dt.timedelta(days=365)
            org = service.save_organisation(
                SYSTEM,
                None,
                name=name,
                kind=kind,
                country=country,
                contact="referencias@example.org",
                agreement_until=until or None,
                categories=list(categories) if until else [],
                active=True,
            )
            svc = service.save_service(
                SYSTEM,
                org,
                None,
                name=f"{sector} service",
                sector=sector,
                centre_ids=ids,
                municipalities=None,
                eligibility="Todas las personas",
                languages=["es"],
                opening_hours="L-V 8-17",
                contact="312 000 0000",
                active=True,
            )
            session.commit()
            return org.id, svc.id

    def case(self, person_uid, caseworker_id):
        """Open a case for a person with one task; returns (case uid, task uid)."""

        from msc import clock
        from msc.beneficiaries.models import Beneficiary
        from msc.cases import service
        from msc.db import session
        from msc.security.models import User

        with self._ctx():
            cw = session.get(User, caseworker_id)
            person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == person_uid))
            case = service.open_case(cw, person)
            task = service.add_task(cw, case, "Llamar", clock.today_at(person.centre), cw.id)
            session.commit()
            return case.uid, task.uid

    def referral(self, caseworker_id, service_id, partner_user_id=None, centre="COL-CUC", **person):
        """A person with consent to referral, a case, and a referral sent to a service; returns its uid."""
        from msc.beneficiaries import service as reception
        from msc.beneficiaries.models import Beneficiary
        from msc.cases import service as cases
        from msc.db import session
        from msc.partners.models import PartnerService
        from msc.referrals import service as referrals
        from msc.security.models import User

        consents = [
            reception.ConsentData(purpose="registration", status="given"),
            reception.ConsentData(purpose="referral", status="given"),
        ]
        uid = self.person(centre=centre, consents=consents, **person)
        with self._ctx():
            cw = session.get(User, caseworker_id)
            person_row = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
            case = cases.open_case(cw, person_row)
            referral = referrals.create(cw, case, service_id, "urgent", "Valoración médica", ["identity", "contact"])
            referrals.send(cw, referral)
            if partner_user_id:
                session.get(User, partner_user_id).organisation_id = session.get(
                    PartnerService, service_id
                ).organisation_id
            session.commit()
            return referral.uid

    def hand_over(self, person_uid, code="HYG", received=5):
        """Receive `received` units of an item at the person's centre and hand one to the person (thumbprint)."""
        from msc.beneficiaries.models import Beneficiary
        from msc.centres.models import Centre
        from msc.db import session
        from msc.nfi import service as nfi
        from msc.nfi import stock

        with self._ctx():
            person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == person_uid))
            centre = session.get(Centre, person.centre_id)
            item = nfi.item_by_code(code)
            stock.receive(
                REGIONAL_MANAGER,
                centre,
                reference="GR-1",
                source="warehouse",
                received_on=stock.centre_day(centre),
                lines={item.id: received},
            )
            nfi.hand_over(
                REGIONAL_MANAGER, centre, person, {f"{person_uid}:{code}": 1}, nfi.Acknowledgement(method="thumbprint")
            )
            session.commit()

    def shelter(self, name="Casa de Paso Cúcuta", centre="COL-CUC", female=2, male=2, mode="beds", units=0):
        """A shelter of a centre; returns its id."""
        from msc.db import session
        from msc.shelters import service

        with self._ctx():
            centre_id = self.centre(centre, f"CAM {centre}", centre[:3])
            shelter = service.save_shelter(
                SYSTEM,
                None,
                name=name,
                centre_id=centre_id,
                mode=mode,
                beds_female=female,
                beds_male=male,
                family_units=units,
                active=True,
            )
            session.commit()
            return shelter.id


_HASHES: dict[str, str] = {}


def _cached_hash(password: str) -> str:
    from msc.security import passwords

    if password not in _HASHES:
        _HASHES[password] = passwords.hash_password(password)
    return _HASHES[password]


@pytest.fixture
def make(app) -> Factory:
    return Factory(app)


class Auth:
    """Logs a test client in and out through the real forms."""

    def __init__(self, client):
        self.client = client

    def login(self, username, password=PASSWORD, follow=False):
        self.client.get("/login")
        return self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": csrf(self.client, "/login")},
            follow_redirects=follow,
        )

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": csrf(self.client, "/account")})


_CSRF = re.compile(
    r'name="(?:[\w-]*-)?csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


@contextmanager
def statements_run(engine: sa.Engine) -> Iterator[list[str]]:
    """The SQL statements the engine sends while the block runs, in order (how many times a page reads)."""
    seen: list[str] = []

    def collect(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", collect)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", collect)


def csrf(client, path: str) -> str:
    """The CSRF token of the form on a page."""
    html = client.get(path).get_data(as_text=True)
    m = _CSRF.search(html)
    assert m, f"no CSRF token on {path}"
    return m.group(1) or m.group(2)


@pytest.fixture
def auth(client) -> Auth:
    return Auth(client)
