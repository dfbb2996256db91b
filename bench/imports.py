"""Importing a list of N rows with its duplicate checks, as the import's jobs run it in a worker.

    python -m bench.imports --database-url URL --keys-file PATH [--rows 100000] [--keep]

The database is one bench.people made (the registry the duplicates are checked against). A centre
manager of COL-CUC imports a CSV of N generated rows (households of one to five, 1 % repeating a person
of the registry, 0.5 % repeating a row of the file, 0.5 % refused), through the same service the pages
call: read and held encrypted, mapped, the preview job (every row checked, duplicates found in the file,
in the reach and beyond it, 500 rows at a time), then the import job (the rows registered by the
registration service's rules 500 at a time, each chunk committed). Rows per second of each phase, beside
the baseline of the same run: the same rows written in clear, one INSERT per row, committed every 100
(what the database alone costs). The people imported are removed at the end (the undo), so the database
can be used again; `--keep` keeps them.

The jobs run in this process, as `flask worker` runs them: no web server is involved.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import time
from pathlib import Path

import sqlalchemy as sa

GIVEN = [
    "Ana",
    "Luis",
    "Marta",
    "Pedro",
    "Rosa",
    "Juan",
    "Elena",
    "Carlos",
    "Lucía",
    "Jorge",
    "Sofía",
    "Diego",
    "Valentina",
    "Andrés",
    "Camila",
    "Miguel",
]
GIVEN += [
    "Isabel",
    "Rafael",
    "Daniela",
    "Tomás",
    "Yolimar",
    "Yusmary",
    "Oriana",
    "Wilmer",
    "Deivis",
    "Yorman",
    "Keiber",
    "Yeferson",
    "Mariángel",
]
FAMILY = [
    "Quispe",
    "Mendoza",
    "Salas",
    "Ibarra",
    "Vega",
    "Torres",
    "Duarte",
    "Castillo",
    "Rangel",
    "Bolívar",
    "Urdaneta",
    "Paredes",
    "Zambrano",
]
FAMILY += [
    "Briceño",
    "Guerrero",
    "Colmenares",
    "Ochoa",
    "Peña",
    "Sifontes",
    "Yépez",
    "Marcano",
    "Añez",
    "Chirinos",
    "Villalobos",
    "Pirela",
]
RELATIONS = ["hijo", "hija", "esposa", "esposo", "madre", "hermano"]
HEADER = (
    "nombres;apellidos;sexo;fecha_nacimiento;nacionalidad;tipo_documento;documento;telefono;hogar;parentesco;"
    "consentimiento"
)


def generate(rows: int, registry: list[tuple[str, str, dt.date]], seed: int) -> bytes:
    rng = random.Random(seed)
    lines = [HEADER]
    n = household = 0
    while n < rows:
        household += 1
        family = f"{rng.choice(FAMILY)} {rng.choice(FAMILY)}"
        for member in range(rng.randint(1, 5)):
            if n >= rows:
                break
            n += 1
            roll = rng.random()
            if roll < 0.01 and registry:
                given, fam, born = rng.choice(registry)
                lines.append(f"{given};{fam};F;{born:%d/%m/%Y};VEN;;;;;;si")
                continue
            if roll < 0.015 and len(lines) > 2:
                lines.append(lines[rng.randint(1, len(lines) - 1)])
                continue
            if roll < 0.02:
                lines.append(f"{rng.choice(GIVEN)};{family};??;31/02/1990;VEN;;;;;;si")
                continue
            adult = member == 0 or rng.random() < 0.4
            born = dt.date(1950, 1, 1) + dt.timedelta(
                days=rng.randint(0, 365 * 50 if adult else 365 * 17) + (0 if adult else 365 * 57)
            )
            given = f"{rng.choice(GIVEN)} {rng.choice(GIVEN)}"
            doc = f"V-{30_000_000 + n}" if adult else ""
            phone = f"+57 3{rng.randint(0, 99):02d} {rng.randint(0, 9_999_999):07d}" if member == 0 else ""
            relation = "jefe" if member == 0 else rng.choice(RELATIONS)
            lines.append(
                f"{given};{family};{rng.choice('FM')};{born:%d/%m/%Y};VEN;{'cedula' if doc else 'ninguno'};{doc};"
                f"{phone};B{seed}-{household};{relation};si"
            )
    return ("\n".join(lines) + "\n").encode()


def baseline(engine: sa.Engine, data: bytes) -> float:
    """Seconds to write the same rows in clear, one INSERT per row, a commit every 100."""
    rows = [line.split(";") for line in data.decode().splitlines()[1:]]
    table = sa.Table(
        "bench_import_plain",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        *[sa.Column(f"c{i}", sa.String(200)) for i in range(11)],
    )
    table.drop(engine, checkfirst=True)
    table.create(engine)
    started = time.perf_counter()
    with engine.connect() as conn:
        for start in range(0, len(rows), 100):
            for row in rows[start : start + 100]:
                conn.execute(table.insert().values({f"c{i}": v for i, v in enumerate(row[:11])}))
            conn.commit()
    elapsed = time.perf_counter() - started
    table.drop(engine)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--keys-file", type=Path, required=True)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the people imported (no undo at the end)")
    args = ap.parse_args()

    from bench.people import build_app
    from msc.beneficiaries.models import Beneficiary
    from msc.centres.models import Centre
    from msc.db import session
    from msc.imports import service
    from msc.jobs import runner
    from msc.security import service as accounts
    from msc.security.models import User

    app = build_app(args.database_url, args.keys_file)
    app.config["IMPORT_MAX_ROWS"] = max(args.rows, app.config["IMPORT_MAX_ROWS"])
    engine: sa.Engine = app.extensions["msc.engine"]
    with app.app_context():
        centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
        user = session.scalar(sa.select(User).where(User.username == "bench_import"))
        if user is None:
            user = accounts.new_user(
                username="bench_import",
                display_name="bench.imports",
                role="centre_manager",
                scope="centre",
                country=None,
                locale="es",
                password_hash="!",
            )
            user.centres = [centre]
            session.commit()
        people = session.scalar(sa.select(sa.func.count()).select_from(Beneficiary))
        sample = list(session.scalars(sa.select(Beneficiary).where(Beneficiary.centre_id == centre.id).limit(300)))
        registry = [(p.given_names, p.family_names, p.date_of_birth) for p in sample if p.date_of_birth]
        session.rollback()
    data = generate(args.rows, registry, args.seed)
    print(
        f"== {engine.dialect.name}, registry of {people} people; a list of {args.rows} rows, {len(data) / 1e6:.1f} MB"
    )
    print(f"   machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)

    plain = baseline(engine, data)
    print(f"   baseline, the rows in clear: {plain:.1f} s, {args.rows / plain:.0f} rows/s", flush=True)

    with app.test_request_context():
        user = session.scalar(sa.select(User).where(User.username == "bench_import"))
        centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
        t = time.perf_counter()
        batch = service.upload(user, centre, "bench.csv", data, None)
        service.set_mapping(user, batch, batch.settings["columns"], {}, "%d/%m/%Y", None)
        session.commit()
        read = time.perf_counter() - t
        print(f"   read, held encrypted, mapped: {read:.1f} s", flush=True)
        t = time.perf_counter()
        service.start_check(user, batch)
        session.commit()
        runner.run_queued()
        check = time.perf_counter() - t
        session.refresh(batch)
        counts = service.summary(batch)
        print(f"   preview: {check:.1f} s, {args.rows / check:.0f} rows/s — {counts}", flush=True)
        t = time.perf_counter()
        service.start(user, batch)
        session.commit()
        runner.run_queued()
        run = time.perf_counter() - t
        session.refresh(batch)
        print(
            f"   import: {run:.1f} s, {args.rows / run:.0f} rows/s — imported {batch.imported}, linked {batch.linked}, "
            f"skipped {batch.skipped}, refused {batch.refused}",
            flush=True,
        )
        total = read + check + run
        print(f"== in all: {total:.1f} s, {args.rows / total:.0f} rows/s (baseline {args.rows / plain:.0f} rows/s)")
        if not args.keep:
            t = time.perf_counter()
            service.undo(user, batch)
            session.commit()
            print(f"   undo: {time.perf_counter() - t:.1f} s", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
