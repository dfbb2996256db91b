"""Key rotation benchmark: how fast a KEK rotation re-wraps data keys and an index-key rotation
rebuilds the blind index, and what searches cost before, during and after it.

    python -m bench.rotation [--people N] [--queries Q]

Loads N synthetic people through the real encryption path (bench/reception.py's loader) into a fresh
SQLite database, then, in one run:
  1. name searches at the service layer before any rotation (the baseline);
  2. a KEK rotation through the same steps the DPO's page runs (data keys per second);
  3. an index-key rotation: half the people built, searches measured while two generations are live,
     the rest built, the switch, searches measured, the old generation removed (people per second);
and checks that every query finds the same person first before, during and after.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench import reception


def _searches(actor, queries: list[str]) -> tuple[list[float], list[int | None]]:
    from msc.beneficiaries import search

    times, firsts = [], []
    for q in queries:
        t0 = time.perf_counter()
        hits = search.search(actor, q).hits
        times.append((time.perf_counter() - t0) * 1000)
        firsts.append(hits[0].person.id if hits else None)
    return times, firsts


def _p(times: list[float]) -> str:
    q = statistics.quantiles(times, n=20)
    return f"p50 {statistics.median(times):6.1f} ms  p95 {q[18]:6.1f} ms"


def _run_steps(kind: str, until) -> tuple[float, int]:
    """Run rotation steps until `until(job)`; returns (seconds, steps)."""
    from msc.crypto import rotation
    from msc.dpo import keys
    from msc.security.actor import SYSTEM

    t0, steps = time.perf_counter(), 0
    job = rotation.running(kind)
    while job is not None and not until(job):
        job = keys.step(SYSTEM, kind, seconds=0)  # one batch a step: stop exactly where asked
        steps += 1
    return time.perf_counter() - t0, steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)
    from msc import db as dbmod
    from msc.beneficiaries.models import Beneficiary, BlindIndexEntry, NameVocabulary
    from msc.crypto import rotation
    from msc.crypto.fields import DataKey
    from msc.crypto.keys import FileKeyProvider
    from msc.db import session
    from msc.dpo import keys
    from msc.security.actor import SYSTEM

    work = Path(tempfile.mkdtemp(prefix="msc-bench-rotation-"))
    paths = reception.paths_for(work / "rotation.sqlite3")
    FileKeyProvider(paths["keys"]).generate()
    app = reception.build_app(paths)
    print(f"MSC Case key-rotation benchmark  people={args.people:,}  db={paths['db']}")
    print(
        f"python {sys.version.split()[0]}, SQLite {__import__('sqlite3').sqlite_version}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    dbmod.upgrade(app)
    reception.create_plain_table(app)  # the loader fills reception's plaintext comparison table too
    user_id = reception.setup(app)
    seconds, index_rows = reception.load(app, args.people, user_id, args.seed)
    print(f"  loaded {args.people:,} people ({index_rows:,} index entries) in {seconds:.1f} s")
    actor = reception.Actor(user_id)
    rng = random.Random(args.seed)

    with app.app_context():
        ids = rng.sample(range(1, args.people + 1), args.queries)
        people = session.scalars(sa.select(Beneficiary).where(Beneficiary.id.in_(ids))).all()
        queries = [f"{p.given_names.split()[0]} {p.family_names}" for p in people]
        session.rollback()

        print("\n== Searches before any rotation (baseline)")
        base, base_first = _searches(actor, queries)
        print(f"  {len(queries)} name searches: {_p(base)}")
        spent = []
        for _ in range(1000):
            t0 = time.perf_counter()
            rotation.index_state()
            spent.append((time.perf_counter() - t0) * 1_000_000)
        print(f"  of which reading which generation to search (once per search): p50 {statistics.median(spent):.0f} µs")

        print("\n== KEK rotation (the DPO page's steps)")
        live = session.scalar(sa.select(sa.func.count()).select_from(DataKey).where(DataKey.wrapped.is_not(None)))
        keys.start(SYSTEM, rotation.KEK)
        took, steps = _run_steps(rotation.KEK, lambda job: keys.phase(job) == "done")
        print(f"  re-wrapped {live:,} data keys in {took:.1f} s ({live / took:,.0f} keys/s, {steps} steps)")
        assert rotation.check().failed == []

        print("\n== Index-key rotation")
        keys.start(SYSTEM, rotation.INDEX)
        half = args.people // 2
        t_half, _ = _run_steps(rotation.INDEX, lambda j: j.done >= half)
        during, during_first = _searches(actor, queries)
        print(f"  searches with two generations live (after {half:,} people built): {_p(during)}")
        t_rest, _ = _run_steps(rotation.INDEX, lambda j: keys.phase(j) != "building")
        build = t_half + t_rest
        print(f"  built {args.people:,} people in {build:.1f} s ({args.people / build:,.0f} people/s), switched")
        entries = session.scalar(sa.select(sa.func.count()).select_from(BlindIndexEntry))
        vocab = session.scalar(sa.select(sa.func.count()).select_from(NameVocabulary))
        print(f"  rows at the switch (both generations): {entries:,} index entries, {vocab:,} vocabulary pairs")
        after_switch, switch_first = _searches(actor, queries)
        print(f"  searches right after the switch (old generation still present): {_p(after_switch)}")
        t_clean, _ = _run_steps(rotation.INDEX, lambda j: keys.phase(j) == "done")
        print(f"  old generation removed in {t_clean:.1f} s")
        after, after_first = _searches(actor, queries)
        print(f"  searches after the rotation: {_p(after)}")
        same = sum(
            a is not None and a == b == c == d
            for a, b, c, d in zip(base_first, during_first, switch_first, after_first)
        )
        print(
            f"\n  SAME PERSON FIRST before, during, at the switch and after: {same} of {len(queries)} "
            f"(a person was found first for {sum(a is not None for a in base_first)} before)"
        )
        total = build + t_clean
        print(
            f"  INDEX ROTATION TOTAL: {total:.1f} s for {args.people:,} people "
            f"(~{total * 1_000_000 / args.people / 3600:.1f} h per million at this rate)"
        )


if __name__ == "__main__":
    main()
