"""The accounts, cases and stock the load test's desks work with (bench.load, bench.locustfile), made once
in the server's database and then reused: the plan says who logs in where and what they look for.

Kept apart from the locustfile, which gevent patches: this runs in a plain process with the server's
environment (production configuration, the same keys), through the services, as `flask` commands do.
"""

from __future__ import annotations

import math
import random

#: the password of every bench account (made here, never in a real database)
PASSWORD = "bench-Load-desk-2026-frontera"
#: how the simulated users are shared out, and how many of them share one account
MIX = {"desk": 0.6, "caseworker": 0.25, "nfi": 0.1, "manager": 0.05}
PER_ACCOUNT = 10
CASES_PER_CASEWORKER = 10
SAMPLE_PER_CENTRE = 300
STOCK_FLOOR = 50_000


def setup_plan(desks: int, seed: int = 2026) -> dict:
    """Make what `desks` simulated users need (missing accounts, cases, stock) and say who they are."""
    import sqlalchemy as sa

    from msc import create_app
    from msc.beneficiaries.models import Beneficiary
    from msc.cases import service as cases
    from msc.cases.models import Case, case_assignments
    from msc.centres.models import Centre
    from msc.db import session
    from msc.nfi import stock
    from msc.security import passwords
    from msc.security import service as accounts
    from msc.security.actor import SYSTEM

    rng = random.Random(seed)
    app = create_app("production")
    with app.app_context():
        counts = dict(
            session.execute(sa.select(Beneficiary.centre_id, sa.func.count()).group_by(Beneficiary.centre_id)).all()
        )
        centres = [c for c in session.scalars(sa.select(Centre).order_by(Centre.id)) if counts.get(c.id)]
        if not centres:
            raise SystemExit("no people in the database: load the demo data or the people first")
        password_hash = passwords.hash_password(PASSWORD)

        def account(username: str, role: str, centre: Centre) -> object:
            user = accounts.find_user(username)
            if user is None:
                user = accounts.new_user(
                    username=username,
                    display_name=f"Bench {role} {username[-3:]}",
                    role=role,
                    scope="centre",
                    locale="es",
                    password_hash=password_hash,
                )
                user.centres = [centre]
                session.flush()
            return user

        def n_accounts(role: str) -> int:
            return max(1, math.ceil(desks * MIX[role] / PER_ACCOUNT))

        plan: dict = {"password": PASSWORD, "per_account": PER_ACCOUNT, "centres": {}}
        for centre in centres:
            people = [
                p
                for p in session.scalars(
                    sa.select(Beneficiary)
                    .where(Beneficiary.centre_id == centre.id)
                    .order_by(sa.func.md5(sa.cast(Beneficiary.id, sa.String) + str(seed)))
                    .limit(SAMPLE_PER_CENTRE)
                )
                if not p.is_erased and p.given_names and p.family_names
            ]
            plan["centres"][centre.code] = {
                "id": centre.id,
                "uids": [p.uid for p in people],
                "names": [[(p.given_names or "").split()[0], (p.family_names or "").split()[0]] for p in people],
            }
        plan["desks"] = [
            {"username": u.username, "centre": centres[i % len(centres)].code}
            for i in range(n_accounts("desk"))
            if (u := account(f"loaddesk{i:03d}", "reception", centres[i % len(centres)]))
        ]
        plan["nfi"] = [
            {"username": u.username, "centre": centres[i % len(centres)].code}
            for i in range(n_accounts("nfi"))
            if (u := account(f"loadnfi{i:03d}", "reception", centres[i % len(centres)]))
        ]
        plan["managers"] = [
            {"username": u.username, "centre": centres[i % len(centres)].code}
            for i in range(n_accounts("manager"))
            if (u := account(f"loadmgr{i:03d}", "centre_manager", centres[i % len(centres)]))
        ]
        plan["caseworkers"] = []
        for i in range(n_accounts("caseworker")):
            centre = centres[i % len(centres)]
            user = account(f"loadcw{i:03d}", "caseworker", centre)
            mine = list(
                session.scalars(
                    sa.select(Case.uid)
                    .join(case_assignments, case_assignments.c.case_id == Case.id)
                    .where(case_assignments.c.user_id == user.id)  # type: ignore[attr-defined]
                )
            )
            candidates = session.scalars(
                sa.select(Beneficiary)
                .outerjoin(Case, Case.beneficiary_id == Beneficiary.id)
                .where(Beneficiary.centre_id == centre.id, Case.id.is_(None))
                .order_by(Beneficiary.id.desc())
                .limit(CASES_PER_CASEWORKER * 2)
            )
            for person in candidates:
                if len(mine) >= CASES_PER_CASEWORKER or person.is_erased:
                    break
                try:
                    mine.append(cases.open_case(user, person).uid)  # type: ignore[arg-type]
                except cases.CaseError:
                    continue
            plan["caseworkers"].append({"username": user.username, "centre": centre.code, "cases": mine})  # type: ignore[attr-defined]
        items = stock.active_items()
        for n, centre in enumerate(centres):
            low = [i for i in items if stock.on_hand(centre.id, i.id) < STOCK_FLOOR]
            if low:
                stock.receive(
                    SYSTEM,
                    centre,
                    reference=f"BENCH-LOAD-{rng.randrange(10**8):08d}-{n}",
                    source="warehouse",
                    received_on=stock.centre_day(centre),
                    lines={i.id: 2 * STOCK_FLOOR for i in low},
                )
        session.commit()
        plan["people"] = sum(counts.values())
        plan["cases"] = session.scalar(sa.select(sa.func.count()).select_from(Case))
    app.extensions["msc.engine"].dispose()
    return plan
