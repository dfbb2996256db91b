"""Casework benchmark: the caseworker home page and the partner's referral list at scale.

    python -m bench.casework [--people 100000] [--cases 30000] [--referrals 300000] [--reuse]

Starts from the reception bench's database at the same size when there is one (copied, never
changed), else loads people the way bench/reception.py does. It then adds caseworkers (one
centre each), partner organisations with services and a partner user each, cases with assigned
caseworkers and follow-up tasks, and referrals with a realistic spread of statuses and dates.
Task titles and referral reasons go through the real encryption path (the models' encrypted
fields). It then times GET /cases/ (caseworker home) and GET /portal/ (partner list, both tabs)
through the HTTP test client with real server-side sessions, printing p50/p95 against 150 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from bench import reception as R  # the reception bench: app, keys, people

TARGET_MS = 150.0
SECTORS = ["health", "mhpss", "shelter", "livelihoods", "education", "legal", "protection"]
STATUS_SPREAD = [("completed", 60), ("declined", 10), ("sent", 10), ("accepted", 10), ("cancelled", 5), ("no_show", 5)]
DEADLINE_HOURS = {"emergency": 24, "urgent": 72, "routine": 168}


def _weighted(rng: random.Random, spread):
    return rng.choices([v for v, _ in spread], weights=[w for _, w in spread])[0]


def load_casework(app, rng: random.Random, n_cases: int, n_referrals: int, n_caseworkers: int, n_orgs: int) -> dict:
    """Caseworkers, partners, cases, tasks and referrals; returns the ids the measurements need."""
    from msc.beneficiaries.models import Beneficiary
    from msc.cases.models import Case, CaseStatus, Task, case_assignments
    from msc.centres.models import Centre
    from msc.db import session, utcnow
    from msc.partners.models import Organisation, PartnerService
    from msc.referrals.models import Referral, ReferralStatus
    from msc.security import service as accounts

    now = utcnow()
    today = now.date()
    with app.app_context():
        centres = list(session.scalars(sa.select(Centre).order_by(Centre.id)))
        workers: dict[int, list[int]] = {c.id: [] for c in centres}
        for i in range(n_caseworkers):
            centre = centres[i % len(centres)]
            u = accounts.new_user(
                username=f"cw{i:03d}",
                display_name=f"Caseworker {i}",
                role="caseworker",
                scope="centre",
                locale="es",
                password_hash="!",
            )
            u.centres = [centre]
            session.flush()
            workers[centre.id].append(u.id)
        services, partner_users = [], []
        for i in range(n_orgs):
            org = Organisation(
                name=f"Organización {i:02d}",
                kind="ngo",
                country="COL",
                contact="x@example.org",
                agreement_until=today + dt.timedelta(days=365),
                agreement_categories="identity,contact",
            )
            session.add(org)
            session.flush()
            for sector in rng.sample(SECTORS, 2):
                svc = PartnerService(organisation=org, name=f"Servicio {sector} {i}", sector=sector, languages="es")
                svc.centres = rng.sample(centres, 3)
                session.add(svc)
                session.flush()
                services.append((svc.id, org.id))
            pu = accounts.new_user(
                username=f"socio{i:02d}",
                display_name=f"Socio {i}",
                role="partner",
                scope="centre",
                locale="es",
                password_hash="!",
                organisation_id=org.id,
            )
            session.flush()
            partner_users.append(pu.id)
        session.commit()

        people = list(session.execute(sa.select(Beneficiary.id, Beneficiary.centre_id)))
        chosen = rng.sample(people, n_cases)
        t0 = time.perf_counter()
        case_rows, assign_rows = [], []
        for k, (bid, centre_id) in enumerate(chosen, start=1):
            status = _weighted(rng, [(CaseStatus.OPEN, 20), (CaseStatus.ACTIVE, 50), (CaseStatus.CLOSED, 30)])
            opened = now - dt.timedelta(days=rng.randint(0, 365))
            case_rows.append(
                {
                    "id": k,
                    "uid": os.urandom(16).hex(),
                    "beneficiary_id": bid,
                    "centre_id": centre_id,
                    "status": status,
                    "risk_level": rng.choice(["low", "medium", "high", "critical"]),
                    "opened_at": opened,
                    "closed_at": opened if status == CaseStatus.CLOSED else None,
                    "close_reason": "needs_met" if status == CaseStatus.CLOSED else None,
                }
            )
            assign_rows.append({"case_id": k, "user_id": rng.choice(workers[centre_id])})
        session.execute(sa.insert(Case), case_rows)
        session.execute(sa.insert(case_assignments), assign_rows)
        session.commit()
        print(f"  {n_cases:,} cases in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        per_case = max(1, n_referrals // n_cases)
        tasks = referrals = 0
        batch = 2000
        for start in range(1, n_cases + 1, batch):
            cases = list(session.scalars(sa.select(Case).where(Case.id.between(start, start + batch - 1))))
            for case in cases:
                owner = assign_rows[case.id - 1]["user_id"]
                if case.status != CaseStatus.CLOSED:
                    for _ in range(2):
                        task = Task(
                            case=case,
                            case_id=case.id,
                            assignee_id=owner,
                            created_by_id=owner,
                            due_on=today + dt.timedelta(days=rng.randint(-10, 20)),
                        )
                        task.title = rng.choice(
                            [
                                "Llamar para seguimiento",
                                "Acompañar a cita médica",
                                "Revisar documentos",
                                "Visita al albergue",
                            ]
                        )
                        session.add(task)
                        tasks += 1
                for _ in range(per_case):
                    svc_id, org_id = rng.choice(services)
                    status = _weighted(rng, STATUS_SPREAD)
                    urgency = rng.choice(list(DEADLINE_HOURS))
                    sent = now - dt.timedelta(hours=rng.randint(1, 24 * 180))
                    r = Referral(
                        case=case,
                        case_id=case.id,
                        beneficiary=case.beneficiary,
                        beneficiary_id=case.beneficiary_id,
                        centre_id=case.centre_id,
                        service_id=svc_id,
                        organisation_id=org_id,
                        urgency=urgency,
                        status=status,
                        shared="identity,contact",
                        created_by_id=owner,
                        created_at=sent,
                        sent_at=sent,
                        deadline_at=sent + dt.timedelta(hours=DEADLINE_HOURS[urgency]),
                        answered_at=None if status == ReferralStatus.SENT else sent + dt.timedelta(hours=5),
                    )
                    r.reason = rng.choice(
                        [
                            "Control prenatal",
                            "Valoración médica",
                            "Orientación legal",
                            "Cupo en albergue",
                            "Apoyo psicosocial",
                        ]
                    )
                    session.add(r)
                    referrals += 1
            session.commit()
            session.expunge_all()
        print(f"  {tasks:,} tasks and {referrals:,} referrals in {time.perf_counter() - t0:.1f} s")
        busiest = max(workers.values(), key=len)
        return {
            "caseworkers": [u for ids in workers.values() for u in ids],
            "partners": partner_users,
            "referrals": referrals,
            "tasks": tasks,
            "busiest": busiest[0],
        }


def session_client(app, user_id: int):
    """A test client holding a real server-side session of this user."""
    from msc.db import session
    from msc.security import service as accounts
    from msc.security.models import User

    with app.test_request_context():
        token = accounts.start_session(session.get(User, user_id))
        session.commit()
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = f"{user_id}:{token}"
        s["_fresh"] = True
    return client


def timed(client, path: str) -> float:
    t0 = time.perf_counter()
    res = client.get(path)
    ms = (time.perf_counter() - t0) * 1000
    if res.status_code != 200:
        raise SystemExit(f"GET {path} answered {res.status_code}")
    return ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--cases", type=int, default=30_000)
    ap.add_argument("--referrals", type=int, default=300_000)
    ap.add_argument("--caseworkers", type=int, default=150)
    ap.add_argument("--organisations", type=int, default=20)
    ap.add_argument("--requests", type=int, default=200, help="timed requests per page")
    ap.add_argument("--reuse", action="store_true", help="keep a database this script loaded before")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()

    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)
    from msc import db as dbmod

    root = Path(os.environ.get("TMPDIR", "/tmp")) / "msc-bench"
    root.mkdir(parents=True, exist_ok=True)
    db = root / f"casework-{args.people}.sqlite3"
    paths = R.paths_for(db)
    rng = random.Random(args.seed)
    print(
        f"MSC Case casework benchmark  people={args.people:,} cases={args.cases:,} "
        f"referrals={args.referrals:,}  db={db}"
    )
    print(
        f"python {sys.version.split()[0]}, SQLAlchemy {sa.__version__}, SQLite "
        f"{__import__('sqlite3').sqlite_version}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )

    if args.reuse and db.exists() and paths["meta"].exists():
        meta = json.loads(paths["meta"].read_text())
        app = R.build_app(paths)
        print("\n== Reusing the loaded database")
    else:
        R.remove_db(paths)
        base = R.paths_for(root / f"reception-{args.people}.sqlite3")
        print("\n== Load")
        t0 = time.perf_counter()
        if base["db"].exists() and base["keys"].exists():
            shutil.copyfile(base["db"], paths["db"])
            shutil.copyfile(base["keys"], paths["keys"])
            app = R.build_app(paths)
            dbmod.upgrade(app)
            print(f"  people copied from {base['db'].name}")
        else:
            from msc.crypto.keys import FileKeyProvider

            FileKeyProvider(paths["keys"]).generate()
            app = R.build_app(paths)
            dbmod.upgrade(app)
            R.create_plain_table(app)
            user_id = R.setup(app)
            seconds, _ = R.load(app, args.people, user_id, args.seed)
            print(f"  {args.people:,} people in {seconds:.1f} s")
        meta = load_casework(app, rng, args.cases, args.referrals, args.caseworkers, args.organisations)
        meta["load_seconds"] = time.perf_counter() - t0
        R.checkpoint(app)
        paths["meta"].write_text(json.dumps(meta))
        print(f"  total {meta['load_seconds']:.1f} s")

    with app.app_context():
        from msc.db import session

        counts = {
            t: session.scalar(sa.text(f"SELECT COUNT(*) FROM {t}"))
            for t in ("beneficiaries", "cases", "case_tasks", "referrals", "disclosures")
        }
    print("\n== Data\n  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    from msc import freeze_startup_objects

    freeze_startup_objects()  # as wsgi.py does in production
    workers = meta["caseworkers"]
    partners = meta["partners"]
    results = {}
    print(f"\n== Caseworker home, GET /cases/ ({args.requests} requests, random caseworkers)")
    clients = {u: session_client(app, u) for u in rng.sample(workers, min(40, len(workers)))}
    for c in clients.values():
        timed(c, "/cases/")  # warm up
    ms = [timed(clients[rng.choice(list(clients))], "/cases/") for _ in range(args.requests)]
    results["caseworker home"] = R.stats(ms)
    print(R.line("GET /cases/", results["caseworker home"]))
    busy = session_client(app, meta["busiest"])
    results["home, busiest caseworker"] = R.stats([timed(busy, "/cases/") for _ in range(50)])
    print(R.line("GET /cases/ (busiest caseworker)", results["home, busiest caseworker"]))

    print(f"\n== Partner referral list ({args.requests} requests per tab, random partner users)")
    pclients = {u: session_client(app, u) for u in partners}
    for c in pclients.values():
        timed(c, "/portal/")
    results["partner list, waiting"] = R.stats(
        [timed(pclients[rng.choice(partners)], "/portal/") for _ in range(args.requests)]
    )
    print(R.line("GET /portal/ (waiting for us)", results["partner list, waiting"]))
    results["partner list, answered"] = R.stats(
        [
            timed(pclients[rng.choice(partners)], f"/portal/?view=answered&page={rng.randint(1, 50)}")
            for _ in range(args.requests)
        ]
    )
    print(R.line("GET /portal/?view=answered (pages 1-50)", results["partner list, answered"]))

    print(f"\n== Summary (load average now {os.getloadavg()[0]:.2f})")
    for label, st in results.items():
        print(
            f"  {label:<34} p95 {st['p95']:7.1f} ms   target < {TARGET_MS:.0f} ms   "
            f"{'PASS' if st['p95'] < TARGET_MS else 'MISS'}"
        )


if __name__ == "__main__":
    main()
