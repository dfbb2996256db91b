"""NFI benchmark: stock on hand and a 3-item hand-over with a million ledger rows in one centre.

    python -m bench.nfi [--rows 1000000] [--people 20000] [--samples 200] [--database-url URL]

Builds a fresh database (SQLite under $TMPDIR/msc-bench by default; with --database-url a PostgreSQL
server, on which it creates and drops its own database), registers people with their own data keys
and encrypted names and dates of birth, and measures through the HTTP test client with a real
centre manager's session:

  * GET /nfi/stock/<centre>      the stock on hand of every item, with thresholds and warnings
  * POST /nfi/give/<uid>         a hand-over of 3 items (hygiene kit, blanket, rain poncho) to a person
                                  with two years of history: rules evaluated, stock taken, ledger written
  * stock.levels() alone, and the SUM over the ledger that a derived-on-read design would pay

first on an empty ledger (the baseline, same run), then after bulk-loading the ledger to --rows
movements in one centre: receipts, hand-overs (with their lines, spread over two years, at most
31 days ago so everyone is entitled today), voids, adjustments and transfers, with the running sums
set to the ledger's sums. Targets: stock p95 < 50 ms, hand-over p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench import reception as R  # measurement helpers
from bench.casework import session_client, timed

STOCK_TARGET, HANDOVER_TARGET = 50.0, 100.0
GIVE = ("HYG", "BLK", "PONCHO")


def build(url: str, instance: Path):
    from msc import create_app
    from msc import db as dbmod
    from msc.crypto.keys import FileKeyProvider

    keys = instance / "nfi-bench.keys.json"
    if not keys.exists():
        FileKeyProvider(keys).generate()
    app = create_app(
        "testing",
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": url,
            "KEYS_FILE": str(keys),
            "RATELIMIT_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
        },
    )
    dbmod.upgrade(app)
    return app


def fresh_database(args) -> tuple[str, Path, callable]:
    instance = Path(os.environ.get("TMPDIR", tempfile.gettempdir())) / "msc-bench"
    instance.mkdir(parents=True, exist_ok=True)
    if not args.database_url:
        db = instance / "nfi.sqlite3"
        for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            p.unlink(missing_ok=True)
        return f"sqlite:///{db}", instance, lambda: None
    server = sa.engine.make_url(args.database_url)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text('DROP DATABASE IF EXISTS "msc_bench_nfi" WITH (FORCE)'))
        conn.execute(sa.text('CREATE DATABASE "msc_bench_nfi"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text('DROP DATABASE IF EXISTS "msc_bench_nfi" WITH (FORCE)'))

    return server.set(database="msc_bench_nfi").render_as_string(hide_password=False), instance, drop


def people(app, n: int, rng: random.Random) -> tuple[int, int, list[int], list[str]]:
    """Centres, a centre manager, and n people (each the head of a household of their own)."""
    from msc.beneficiaries import casenumber
    from msc.beneficiaries.models import Beneficiary, Household
    from msc.centres.models import Centre
    from msc.crypto import DataKey
    from msc.db import session
    from msc.nfi import stock
    from msc.security import service as accounts

    with app.app_context():
        cuc = Centre(code="COL-CUC", name="CAM Cúcuta", country="COL", municipality="Cúcuta", kind="border_entry")
        tum = Centre(code="PER-TUM", name="CAM Tumbes", country="PER", municipality="Tumbes", kind="border_entry")
        session.add_all([cuc, tum])
        session.flush()
        boss = accounts.new_user(
            username="bench-boss",
            display_name="Bench Manager",
            role="centre_manager",
            scope="centre",
            locale="en",
            password_hash="!",
        )
        boss.centres = [cuc]
        today = stock.centre_day(cuc)
        ids, uids = [], []
        for i in range(n):
            sex = rng.choice(("female", "male"))
            dob = today - dt.timedelta(days=rng.randrange(18 * 365, 60 * 365))
            household = Household(centre_id=cuc.id)
            key = DataKey.generate()
            person = Beneficiary(
                case_number=casenumber.new("COL-CUC"),
                card_token=f"{i:016d}",
                centre_id=cuc.id,
                data_key=key,
                household=household,
                relationship_to_head="head",
                sex=sex,
                birth_year=dob.year,
                nationality=rng.choice(("VEN", "VEN", "VEN", "COL", "HTI")),
            )
            session.add_all([household, key, person])
            person.given_names, person.family_names, person.date_of_birth = f"Persona{i}", "Prueba", dob
            if i % 1000 == 999:
                session.flush()
        session.flush()
        for p in session.scalars(sa.select(Beneficiary).order_by(Beneficiary.id)):
            ids.append(p.id)
            uids.append(p.uid)
        session.commit()
        return cuc.id, boss.id, ids, uids


def bulk_ledger(
    app, centre_id: int, person_ids: list[int], rows: int, rng: random.Random, measured: set[int]
) -> dict[str, int]:
    """The ledger of one centre grown to `rows` movements, with hand-over lines, written in batches.
    The people measured afterwards have history too, older than the longest period of the items given."""
    from msc.beneficiaries.models import Beneficiary
    from msc.beneficiaries.vocab import age_band
    from msc.centres.models import Centre
    from msc.db import session
    from msc.nfi import stock
    from msc.nfi.models import (
        Distribution,
        DistributionLine,
        NfiItem,
        StockLevel,
        StockMovement,
        StockReceipt,
        StockTransfer,
    )

    with app.app_context():
        items = list(session.scalars(sa.select(NfiItem).order_by(NfiItem.id)))
        other = session.scalar(sa.select(Centre.id).where(Centre.id != centre_id))
        today = stock.centre_day(session.get(Centre, centre_id))
        facts = {
            pid: (sex, nat, by)
            for pid, sex, nat, by in session.execute(
                sa.select(Beneficiary.id, Beneficiary.sex, Beneficiary.nationality, Beneficiary.birth_year)
            )
        }
        households = dict(session.execute(sa.select(Beneficiary.id, Beneficiary.household_id)).all())
        now = dt.datetime.now(dt.UTC)
        conn = session.connection()
        next_id = {
            t: (session.scalar(sa.select(sa.func.max(m.id))) or 0) + 1
            for t, m in (("d", Distribution), ("r", StockReceipt), ("t", StockTransfer))
        }
        moves, lines, dists, receipts, transfers = [], [], [], [], []
        sums = {i.id: 0 for i in items}
        written = (
            session.scalar(
                sa.select(sa.func.count()).select_from(StockMovement).where(StockMovement.centre_id == centre_id)
            )
            or 0
        )

        blank = {
            "reason": None,
            "counted": None,
            "receipt_id": None,
            "transfer_id": None,
            "distribution_id": None,
            "count_id": None,
            "user_id": None,
        }

        def move(**row):
            moves.append({**blank, **row})

        def flush():
            for table, batch in (
                (StockReceipt, receipts),
                (StockTransfer, transfers),
                (Distribution, dists),
                (DistributionLine, lines),
                (StockMovement, moves),
            ):
                if batch:
                    conn.execute(sa.insert(table), batch)
                    batch.clear()

        while written < rows:
            day = today - dt.timedelta(days=rng.randrange(31, 730))
            roll = rng.random()
            if roll < 0.04 or min(sums.values()) < 50:  # a delivery of every item
                rid = next_id["r"]
                next_id["r"] += 1
                receipts.append(
                    {
                        "id": rid,
                        "centre_id": centre_id,
                        "reference": f"B-{rid}",
                        "source": "warehouse",
                        "received_on": day,
                        "user_id": None,
                        "at": now,
                    }
                )
                for item in items:
                    q = rng.randrange(200, 2000)
                    sums[item.id] += q
                    move(
                        **{
                            "centre_id": centre_id,
                            "item_id": item.id,
                            "kind": "receipt",
                            "delta": q,
                            "receipt_id": rid,
                            "day": day,
                            "at": now,
                        }
                    )
            elif roll < 0.96:  # a hand-over of 1 to 3 items
                pid = rng.choice(person_ids)
                if pid in measured:
                    day = today - dt.timedelta(days=rng.randrange(181, 730))
                sex, nat, by = facts[pid]
                did = next_id["d"]
                next_id["d"] += 1
                voided = rng.random() < 0.01
                dists.append(
                    {
                        "id": did,
                        "uid": f"{did:032x}",
                        "centre_id": centre_id,
                        "beneficiary_id": pid,
                        "household_id": households[pid],
                        "collected_by": "self",
                        "ack_method": "thumbprint",
                        "overridden": False,
                        "day": day,
                        "at": now,
                        "voided_at": now if voided else None,
                        "void_reason": "recorded_in_error" if voided else None,
                    }
                )
                for item in rng.sample(items, rng.randint(1, 3)):
                    hh = households[pid] if item.level == "household" else None
                    lines.append(
                        {
                            "distribution_id": did,
                            "item_id": item.id,
                            "quantity": 1,
                            "beneficiary_id": pid,
                            "household_id": hh,
                            "centre_id": centre_id,
                            "day": day,
                            "month": day.strftime("%Y-%m"),
                            "sex": sex,
                            "age_band": age_band(day.year - by),
                            "nationality": nat,
                            "voided": voided,
                        }
                    )
                    sums[item.id] -= 1
                    move(
                        **{
                            "centre_id": centre_id,
                            "item_id": item.id,
                            "kind": "distribution",
                            "delta": -1,
                            "distribution_id": did,
                            "day": day,
                            "at": now,
                        }
                    )
                    if voided:
                        sums[item.id] += 1
                        move(
                            **{
                                "centre_id": centre_id,
                                "item_id": item.id,
                                "kind": "void",
                                "delta": 1,
                                "distribution_id": did,
                                "day": day,
                                "at": now,
                            }
                        )
            elif roll < 0.98:
                item = rng.choice(items)
                q = rng.randrange(1, 5)
                sums[item.id] -= q
                move(
                    **{
                        "centre_id": centre_id,
                        "item_id": item.id,
                        "kind": "adjustment",
                        "delta": -q,
                        "reason": rng.choice(("loss", "damage", "expiry")),
                        "day": day,
                        "at": now,
                    }
                )
            else:
                tid = next_id["t"]
                next_id["t"] += 1
                item = rng.choice(items)
                q = rng.randrange(10, 40)
                sums[item.id] -= q
                transfers.append({"id": tid, "from_centre_id": centre_id, "to_centre_id": other, "at": now})
                move(
                    **{
                        "centre_id": centre_id,
                        "item_id": item.id,
                        "kind": "transfer_out",
                        "delta": -q,
                        "transfer_id": tid,
                        "day": day,
                        "at": now,
                    }
                )
                move(
                    **{
                        "centre_id": other,
                        "item_id": item.id,
                        "kind": "transfer_in",
                        "delta": q,
                        "transfer_id": tid,
                        "day": day,
                        "at": now,
                    }
                )
            if len(moves) >= 20_000:
                written += sum(1 for m in moves if m["centre_id"] == centre_id)
                flush()
        flush()
        if session.get_bind().dialect.name == "postgresql":  # ids were given: move the sequences past them
            for table in ("nfi_distributions", "nfi_receipts", "nfi_transfers"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        # The running sums, as the services keep them, set to the ledger's sums.
        for centre in (centre_id, other):
            ledger = stock.ledger_sums(centre)
            for item in items:
                session.execute(
                    sa.update(StockLevel)
                    .where(StockLevel.centre_id == centre, StockLevel.item_id == item.id)
                    .values(on_hand=ledger.get(item.id, 0))
                )
                if (
                    session.scalar(
                        sa.select(StockLevel.item_id).where(
                            StockLevel.centre_id == centre, StockLevel.item_id == item.id
                        )
                    )
                    is None
                ):
                    session.add(
                        StockLevel(centre_id=centre, item_id=item.id, on_hand=ledger.get(item.id, 0), low_threshold=100)
                    )
        session.commit()
        assert stock.mismatches() == [], "the bench ledger does not add up"
        conn = session.connection()
        conn.exec_driver_sql("ANALYZE")
        session.commit()
        return {
            "movements": session.scalar(sa.select(sa.func.count()).select_from(StockMovement)),
            "centre_movements": session.scalar(
                sa.select(sa.func.count()).select_from(StockMovement).where(StockMovement.centre_id == centre_id)
            ),
            "lines": session.scalar(sa.select(sa.func.count()).select_from(DistributionLine)),
            "hand_overs": session.scalar(sa.select(sa.func.count()).select_from(Distribution)),
        }


def first_stock(app, centre_id: int) -> None:
    """A first delivery so the baseline hand-overs have something to take."""
    from msc.centres.models import Centre
    from msc.db import session
    from msc.nfi import stock
    from msc.security.actor import SYSTEM

    with app.app_context():
        centre = session.get(Centre, centre_id)
        stock.receive(
            SYSTEM,
            centre,
            reference="B-FIRST",
            source="warehouse",
            received_on=stock.centre_day(centre),
            lines={i.id: 100_000 for i in stock.active_items()},
        )
        stock.set_thresholds(SYSTEM, centre, {i.id: 100 for i in stock.active_items()})
        session.commit()


def measure(app, client, centre_id: int, uids: list[str], samples: int) -> dict[str, dict]:
    from msc.db import session
    from msc.nfi import stock
    from msc.nfi.models import StockMovement

    out = {}
    for _ in range(10):
        timed(client, f"/nfi/stock/{centre_id}")
    out["GET /nfi/stock/<centre>"] = R.stats([timed(client, f"/nfi/stock/{centre_id}") for _ in range(samples)])
    with app.app_context():
        ms = []
        for _ in range(samples):
            t0 = time.perf_counter()
            stock.levels(centre_id)
            ms.append((time.perf_counter() - t0) * 1000)
            session.rollback()
        out["stock.levels() (running sums)"] = R.stats(ms)
        ms = []
        for _ in range(min(samples, 30)):
            t0 = time.perf_counter()
            session.execute(
                sa.select(StockMovement.item_id, sa.func.sum(StockMovement.delta))
                .where(StockMovement.centre_id == centre_id)
                .group_by(StockMovement.item_id)
            ).all()
            ms.append((time.perf_counter() - t0) * 1000)
            session.rollback()
        out["SUM over the ledger (for comparison)"] = R.stats(ms)
    token = R.csrf(client, f"/nfi/give/{uids[0]}")
    ms = []
    for uid in uids[:samples]:
        data = {"csrf_token": token, "collected_by": "self", "ack_method": "thumbprint"}
        data.update({f"qty-{uid}:{code}": "1" for code in GIVE})
        t0 = time.perf_counter()
        res = client.post(f"/nfi/give/{uid}", data=data)
        ms.append((time.perf_counter() - t0) * 1000)
        if res.status_code != 302:
            raise SystemExit(f"hand-over refused: HTTP {res.status_code} {res.get_data(as_text=True)[:2000]}")
    out["POST /nfi/give/<uid> (3 items)"] = R.stats(ms)
    return out


def report(title: str, results: dict[str, dict]) -> None:
    print(title)
    for label, st in results.items():
        target = (
            STOCK_TARGET
            if "stock" in label.lower() and "SUM" not in label
            else (HANDOVER_TARGET if "give" in label else None)
        )
        extra = f"  target p95 < {target:.0f} ms: {'met' if st['p95'] < target else 'MISSED'}" if target else ""
        print(R.line(label, st, extra))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--database-url")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    url, instance, drop = fresh_database(args)
    try:
        app = build(url, instance)
        t0 = time.perf_counter()
        centre_id, boss_id, ids, uids = people(app, args.people, rng)
        print(f"database: {app.config['DATABASE_URL'].split('@')[-1]}")
        print(f"{args.people} people registered in {time.perf_counter() - t0:.1f} s")
        first_stock(app, centre_id)
        client = session_client(app, boss_id)
        shuffled = uids[:]
        rng.shuffle(shuffled)
        baseline_people, loaded_people = shuffled[: args.samples], shuffled[args.samples : 2 * args.samples]
        report("baseline (empty ledger):", measure(app, client, centre_id, baseline_people, args.samples))
        t0 = time.perf_counter()
        by_uid = dict(zip(uids, ids))
        sizes = bulk_ledger(app, centre_id, ids, args.rows, rng, {by_uid[u] for u in loaded_people})
        print(f"ledger loaded in {time.perf_counter() - t0:.1f} s: {sizes}")
        report(
            f"with {sizes['centre_movements']:,} ledger rows in the centre:",
            measure(app, client, centre_id, loaded_people, args.samples),
        )
    finally:
        drop()


if __name__ == "__main__":
    main()
