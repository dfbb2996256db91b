"""Load N synthetic people into a database a production server can open, through the real encryption path.

    python -m bench.people --database-url URL --people N --keys-file PATH [--fresh] [--workers 2]

Runs the migrations, loads the demo (centres, one user per role with the demo password, a few hundred
demo families: `flask demo load`), then N people in households as bench.reception builds them: a data
key each (DataKey.generate(), wrapped by the KEK), the EncryptedField descriptors through
service._apply, consents, the blind-index rows from index.index_entries and the name vocabulary.
Rows are written in bulk (COPY on PostgreSQL, one executemany per table and batch on SQLite), the
PostgreSQL indexes and foreign keys of the loaded tables are built after the load, then VACUUM and
ANALYZE. Prints the time of each phase. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import random
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace as Namespace
from typing import Any

import sqlalchemy as sa

from bench import reception

CHUNK = 5_000  # people per task (and per transaction)
DOCUMENTS_PER_CHUNK = 3 * CHUNK  # each chunk draws its document numbers from its own range
#: the five decisions of bench.reception, and continuity of care between centres for CONTINUITY_SHARE of people
CONSENTS_EACH = len(reception.CONSENT_PURPOSES) + 1
CONTINUITY_SHARE = 0.3
LOADED_TABLES = ("households", "data_keys", "beneficiaries", "consents", "specific_needs", "blind_index_entries")
#: primary keys kept during the load (numbered in order, they grow at the end of their index; others
#: reference them); every other index and constraint of the loaded tables is built after the load
KEPT_KEYS = {"pk_households", "pk_data_keys", "pk_beneficiaries", "pk_consents", "pk_specific_needs"}


def build_app(database_url: str, keys_file: Path):
    from msc import create_app

    return create_app(
        "testing",
        {
            "INSTANCE_PATH": str(keys_file.parent),
            "DATABASE_URL": database_url,
            "KEYS_FILE": str(keys_file),
            "GENERATE_KEYS": False,
            "RATELIMIT_ENABLED": False,
        },
    )


def fresh_database(url: str) -> None:
    """Drop and create the database (PostgreSQL) or remove the file (SQLite)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    admin.dispose()


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database when it does not exist."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": parsed.database}).scalar()
        if not found:
            conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    admin.dispose()


# ---- rows from transient model objects ----------------------------------------------------------------


class Columns:
    """A model's columns in table order, read off an object's attributes; unset ones take their
    Python-side default, as a flush would give them."""

    def __init__(self, model: type) -> None:
        mapper = sa.inspect(model)
        self.table = model.__table__  # type: ignore[attr-defined]
        by_column = {prop.columns[0].name: prop.key for prop in mapper.column_attrs}
        self.names = [c.name for c in self.table.columns]
        self.spec = [(by_column[c.name], c.default) for c in self.table.columns]

    def row(self, obj: Any) -> tuple:
        out = []
        for key, default in self.spec:
            value = obj.__dict__.get(key)
            if value is None and default is not None:
                value = default.arg(None) if default.is_callable else default.arg
            out.append(value)
        return tuple(out)


class Row:
    """A plain stand-in for a model's row: the model's own EncryptedField descriptors (so every value is
    encrypted as the model encrypts it, with the same associated data), plain attributes for the rest.
    Building a million rows through the ORM's instrumented attributes and cascades took most of the load."""

    data_key: Any

    def crypto_key(self) -> Any:
        return self.data_key


def stand_in(model: type) -> type:
    """A Row class with the model's table name and encrypted fields."""
    fields = {name: model.__dict__[name] for name in model.__encrypted_fields__}  # type: ignore[attr-defined]
    return type(f"Bulk{model.__name__}", (Row,), {"__tablename__": model.__tablename__, **fields})


class Worker:
    """One loading process: its app, the demo's centres and clerks, and what it has put in the vocabulary."""

    def __init__(self, database_url: str, keys_file: str, seed: int) -> None:
        from msc.beneficiaries.models import Beneficiary, BlindIndexEntry, Consent, Household, SpecificNeed
        from msc.centres.models import Centre, EntryPoint
        from msc.crypto import DataKey, blind_indexer
        from msc.crypto.rotation import index_state
        from msc.db import session
        from msc.security.models import User

        self.seed = seed
        self.app = build_app(database_url, Path(keys_file))
        self.ctx = self.app.app_context()
        self.ctx.push()
        self.dialect = self.app.extensions["msc.engine"].dialect.name
        self.names = reception.NameModel()
        # copies outside the session, read by the people built here (never written, never expired)
        self.centres = {
            c.code: Centre(
                id=c.id, code=c.code, name=c.name, country=c.country, municipality=c.municipality, kind=c.kind
            )
            for c in session.scalars(sa.select(Centre))
        }
        places = {(p.country, p.name): p.id for p in session.scalars(sa.select(EntryPoint))}
        self.entry = {country: places.get((country, name)) for country, name in reception.ENTRY_POINTS.items()}
        users = {name: uid for name, uid in session.execute(sa.select(User.username, User.id))}
        self.clerk, self.clerk_br = users["recepcion"], users["recepcao"]
        session.rollback()
        gen = index_state().search
        self.generation, self.idx = gen.generation, blind_indexer(gen.key_id)
        self.columns = {m.__tablename__: Columns(m) for m in (Household, DataKey, Beneficiary, Consent)}
        self.Person, self.Consent = stand_in(Beneficiary), stand_in(Consent)
        self.entry_columns = ["generation", "kind", "hash", "beneficiary_id"]
        assert {c.name for c in BlindIndexEntry.__table__.columns} == set(self.entry_columns)
        assert {c.name for c in SpecificNeed.__table__.columns} == {"beneficiary_id", "code"}
        self.spelled: set[str] = set()  # words whose vocabulary this process has already sent

    def build(self, chunk: int, count: int, bases: dict[str, int]) -> tuple[dict[str, list[tuple]], set, float]:
        """The rows of one chunk of people, the new vocabulary pairs, and the seconds it took."""
        from msc.beneficiaries import casenumber, index, service
        from msc.crypto import DataKey
        from msc.db import session

        started = time.perf_counter()
        rng = random.Random(f"{self.seed}-{chunk}")
        today = dt.date.today()
        now = dt.datetime.now(dt.UTC)
        first = chunk * CHUNK
        households = reception.households_of(
            count,
            rng,
            self.names,
            today,
            range(10_000_000 + chunk * DOCUMENTS_PER_CHUNK, 10_000_000 + (chunk + 1) * DOCUMENTS_PER_CHUNK),
        )
        rows: dict[str, list[tuple]] = {name: [] for name in LOADED_TABLES}
        cols = self.columns
        vocabulary: set[tuple[int, int]] = set()
        made = 0
        for n_households, (ci, members) in enumerate(households):
            code = reception.CENTRES[ci][0]
            centre = self.centres[code]
            household_id = bases["households"] + first + n_households
            # registered over the last two years, the household together
            registered = now - dt.timedelta(days=rng.randint(0, 730), minutes=rng.randint(0, 600))
            has_adult = any(age >= 18 for *_, age in members)
            rows["households"].append(
                cols["households"].row(
                    Namespace(id=household_id, centre_id=centre.id, created_at=registered, no_adult=not has_adult)
                )
            )
            for rel, data, consents, age in members:
                number = first + made
                made += 1
                dob, estimated = data.birth_date(today)
                key = DataKey.generate()  # a data key of its own, wrapped by the KEK
                key.id = bases["data_keys"] + number
                key.created_at = registered
                person = self.Person()
                person.__dict__.update(
                    id=bases["beneficiaries"] + number,
                    data_key=key,
                    data_key_id=key.id,
                    centre=centre,
                    centre_id=centre.id,
                    registered_centre_id=centre.id,
                    case_number=casenumber.new(code),
                    card_token=service._new_card_token(),
                    registered_by_id=self.clerk_br if centre.country == "BRA" else self.clerk,
                    registered_at=registered,
                    household_id=household_id,
                    relationship_to_head=rel,
                )
                # what register() writes, through the same function and the model's encrypted fields
                service._apply(person, data, dob, estimated, (self.entry.get(centre.country), False))
                person.possible_uasc = not has_adult and age < 18
                rows["data_keys"].append(cols["data_keys"].row(key))
                rows["beneficiaries"].append(cols["beneficiaries"].row(person))
                if (number * 7919) % 1000 < CONTINUITY_SHARE * 1000:  # a fixed 30 %, whatever the seed
                    consents = [*consents, replace(consents[0], purpose="continuity")]
                for j, c in enumerate(consents):  # as service._add_consent records them
                    consent = self.Consent()
                    consent.__dict__.update(
                        data_key=key,
                        id=bases["consents"] + number * CONSENTS_EACH + j,
                        beneficiary_id=person.id,
                        purpose=c.purpose,
                        status=c.status,
                        legal_basis=c.legal_basis,
                        method=c.method,
                        given_by=c.given_by,
                        recorded_by_id=person.registered_by_id,
                        recorded_at=registered,
                    )
                    consent.guardian_name = c.guardian_name if c.given_by == "guardian" else None
                    consent.best_interests_note = c.best_interests_note if c.given_by == "best_interests" else None
                    rows["consents"].append(cols["consents"].row(consent))
                for need in person.needs:
                    rows["specific_needs"].append((person.id, need.code))
                rows["blind_index_entries"].extend(
                    (self.generation, kind, h, person.id) for kind, h in sorted(index.index_entries(person, self.idx))
                )
                # the vocabulary of each word once per process: a name's pairs are those of its words
                for word in f"{data.given_names} {data.family_names}".split():
                    if word not in self.spelled:
                        self.spelled.add(word)
                        vocabulary |= self.idx.vocabulary_entries(word)
        session.rollback()  # whatever the key ring read
        return rows, vocabulary, time.perf_counter() - started

    def write(self, rows: dict[str, list[tuple]]) -> float:
        """Write one chunk's rows in one transaction; returns the seconds it took."""
        started = time.perf_counter()
        engine: sa.Engine = self.app.extensions["msc.engine"]
        order = ["households", "data_keys", "beneficiaries", "consents", "specific_needs", "blind_index_entries"]
        names = {t: self.columns[t].names for t in self.columns} | {
            "specific_needs": ["beneficiary_id", "code"],
            "blind_index_entries": self.entry_columns,
        }
        if self.dialect == "postgresql":
            raw = engine.raw_connection()
            try:
                conn = raw.driver_connection
                with conn.cursor() as cur:  # type: ignore[union-attr]
                    cur.execute("SET LOCAL synchronous_commit = off")
                    for table in order:
                        columns = ", ".join(f'"{n}"' for n in names[table])
                        with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                            for row in rows[table]:
                                copy.write_row(row)
                raw.commit()
            finally:
                raw.close()
        else:
            with engine.begin() as conn:
                for table in order:
                    if rows[table]:
                        stmt = sa.table(table, *(sa.column(n) for n in names[table])).insert()
                        conn.execute(stmt, [dict(zip(names[table], row, strict=True)) for row in rows[table]])
        return time.perf_counter() - started


_worker: Worker | None = None


def _start_worker(database_url: str, keys_file: str, seed: int) -> None:
    global _worker
    _worker = Worker(database_url, keys_file, seed)


def _load_chunk(task: tuple[int, int, dict[str, int]]) -> tuple[int, set, float, float, int]:
    assert _worker is not None
    chunk, count, bases = task
    rows, vocabulary, built = _worker.build(chunk, count, bases)
    wrote = _worker.write(rows)
    return count, vocabulary, built, wrote, len(rows["blind_index_entries"])


# ---- PostgreSQL: indexes and constraints after the load -------------------------------------------------


def set_aside_indexes(engine: sa.Engine) -> list[str]:
    """Drop the loaded tables' indexes and constraints (but the kept keys); returns what rebuilds them."""
    with engine.begin() as conn:
        constraints = conn.execute(
            sa.text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype FROM pg_constraint"
                " WHERE conrelid = ANY(CAST(:t AS regclass[])) AND contype IN ('f', 'u', 'p')"
            ),
            {"t": list(LOADED_TABLES)},
        ).all()
        dropped = [(t, name, definition, kind) for t, name, definition, kind in constraints if name not in KEPT_KEYS]
        backing = {name for _, name, _, _ in constraints}
        indexes = conn.execute(
            sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(:t)"),
            {"t": list(LOADED_TABLES)},
        ).all()
        plain = [(name, definition) for name, definition in indexes if name not in backing]
        for table, name, _, _ in sorted(dropped, key=lambda c: c[3] != "f"):  # foreign keys first
            conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in plain:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    rebuild = [definition for _, definition in plain]
    rebuild += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, k in dropped if k != "f"]
    rebuild += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, k in dropped if k == "f"]
    return rebuild


def reissue_duplicate_case_numbers(conn: sa.Connection) -> int:
    """Case numbers are 40 random bits, drawn in several processes with nothing to check them against
    while the unique constraint is set aside: among a million people two meet in a few loads out of a
    hundred. The later record gets a new number before the constraint is built again."""
    from msc.beneficiaries import casenumber

    later = conn.exec_driver_sql(
        "SELECT id, case_number FROM beneficiaries b"
        " WHERE EXISTS (SELECT 1 FROM beneficiaries c WHERE c.case_number = b.case_number AND c.id < b.id)"
    ).all()
    for person_id, number in later:
        while True:
            fresh = casenumber.new(number.rsplit("-", 3)[0])
            if conn.exec_driver_sql("SELECT 1 FROM beneficiaries WHERE case_number = %s", (fresh,)).first() is None:
                break
        conn.exec_driver_sql("UPDATE beneficiaries SET case_number = %s WHERE id = %s", (fresh, person_id))
    return len(later)


def rebuild_indexes(engine: sa.Engine, statements: list[str]) -> None:
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
        if reissued := reissue_duplicate_case_numbers(conn):
            print(f"    {reissued} case number(s) drawn twice: reissued", flush=True)
        for statement in statements:
            t0 = time.perf_counter()
            conn.exec_driver_sql(statement)
            print(f"    {time.perf_counter() - t0:6.1f} s  {statement[:110]}", flush=True)


def reset_sequences(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for table in ("households", "data_keys", "beneficiaries", "consents"):
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )


# ---- the load -------------------------------------------------------------------------------------------


def tasks(n: int, bases: dict[str, int]) -> Iterator[tuple[int, int, dict[str, int]]]:
    for chunk in range(-(-n // CHUNK)):
        yield chunk, min(CHUNK, n - chunk * CHUNK), bases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", required=True, help="postgresql+psycopg://… or sqlite:///…")
    ap.add_argument("--people", type=int, default=100_000, help="people to load besides the demo's (default 100000)")
    ap.add_argument("--keys-file", type=Path, required=True, help="the key file (made, mode 0600, when missing)")
    ap.add_argument("--fresh", action="store_true", help="drop the database (or remove the file) first")
    ap.add_argument("--workers", type=int, default=2, help="loading processes on PostgreSQL (SQLite: one)")
    ap.add_argument("--demo-people", type=int, default=300, help="the demo's own families (default 300)")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    from msc import db as dbmod
    from msc import demo
    from msc.crypto.keys import FileKeyProvider
    from msc.db import session

    phases: list[tuple[str, float]] = []
    started = time.perf_counter()

    def phase(name: str, since: float) -> float:
        now = time.perf_counter()
        phases.append((name, now - since))
        print(f"== {name}: {now - since:.1f} s (load average {os.getloadavg()[0]:.2f})", flush=True)
        return now

    t = time.perf_counter()
    if args.fresh:
        fresh_database(args.database_url)
    else:
        ensure_database(args.database_url)
    if not args.keys_file.exists():
        if not args.fresh and sa.engine.make_url(args.database_url).get_backend_name() != "sqlite":
            print("  (a new key file: the database must hold nothing encrypted under another)")
        FileKeyProvider(args.keys_file).generate()
        os.chmod(args.keys_file, 0o600)
    app = build_app(args.database_url, args.keys_file)
    engine: sa.Engine = app.extensions["msc.engine"]
    postgres = engine.dialect.name == "postgresql"
    dbmod.upgrade(app)
    t = phase("migrations", t)

    with app.app_context():
        if demo.already_loaded():
            print("  demo data already there: people are added after them")
        else:
            demo.load(args.demo_people)
            session.commit()
        from msc.beneficiaries.models import Beneficiary, Consent, Household
        from msc.crypto import DataKey

        bases = {
            m.__tablename__: (session.scalar(sa.select(sa.func.max(m.id))) or 0) + 1
            for m in (Household, DataKey, Beneficiary, Consent)
        }
        session.rollback()
    t = phase(f"demo (centres, users, {args.demo_people} demo people)", t)

    rebuild: list[str] = []
    if postgres:
        rebuild = set_aside_indexes(engine)
        t = phase(f"indexes and constraints of the loaded tables set aside ({len(rebuild)})", t)
    engine.dispose()

    workers = max(1, args.workers) if postgres else 1
    print(f"== loading {args.people:,} people, {workers} process(es), {CHUNK:,} per transaction", flush=True)
    loaded = entries = 0
    vocabulary: set[tuple[int, int]] = set()
    build_s = write_s = 0.0
    last = time.perf_counter()
    try:
        if workers == 1:
            _start_worker(args.database_url, str(args.keys_file), args.seed)
            results: Iterator = map(_load_chunk, tasks(args.people, bases))
            pool = None
        else:
            pool = multiprocessing.get_context("spawn").Pool(
                workers, initializer=_start_worker, initargs=(args.database_url, str(args.keys_file), args.seed)
            )
            results = pool.imap_unordered(_load_chunk, tasks(args.people, bases))
        for count, pairs, built, wrote, n_entries in results:
            loaded += count
            entries += n_entries
            vocabulary |= pairs
            build_s += built
            write_s += wrote
            now = time.perf_counter()
            if now - last > 15 or loaded == args.people:
                rate = loaded / (now - t)
                print(
                    f"  {loaded:>9,} / {args.people:,}  ({rate:,.0f} people/s; building {build_s:.0f} s,"
                    f" writing {write_s:.0f} s in all processes; load average {os.getloadavg()[0]:.2f})",
                    flush=True,
                )
                last = now
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        if rebuild and loaded < args.people:
            print("  the load stopped: rebuilding the indexes before leaving")
            rebuild_indexes(engine, rebuild)
    t = phase(f"people ({loaded:,}; {entries:,} blind-index rows)", t)

    with app.app_context():
        from msc.beneficiaries import index
        from msc.crypto.rotation import index_state

        index.add_to_vocabulary(index_state().search.generation, vocabulary)
        session.commit()
    t = phase(f"name vocabulary ({len(vocabulary):,} pairs offered)", t)

    if postgres:
        rebuild_indexes(engine, rebuild)
        reset_sequences(engine)
        t = phase("indexes and constraints built", t)
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in LOADED_TABLES:
                conn.exec_driver_sql(f"VACUUM {table}")  # sets the visibility map: index-only scans
        t = phase("VACUUM of the loaded tables", t)
    with app.app_context():
        dbmod.refresh_statistics()
    t = phase("ANALYZE (msc.db.refresh_statistics)", t)

    total = time.perf_counter() - started
    print(f"\nloaded {loaded:,} people in {total:.1f} s ({total / 60:.1f} min); phases:")
    for name, seconds in phases:
        print(f"  {seconds:8.1f} s  {name}")
    if postgres:
        with engine.connect() as conn:
            size = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() or 0
        print(f"database size {size / 2**30:.2f} GB")
    print(f"key file {args.keys_file}; demo logins (password {demo.DEMO_PASSWORD}): gestora, recepcion, proteccion …")


if __name__ == "__main__":
    main()
