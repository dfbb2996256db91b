#!/usr/bin/env python
"""Time the blind-index ranking SQL of search.rank() and alternative shapes on a loaded bench database.

    python bench/rank_variants.py --db /tmp/msc-bench/reception-100000.sqlite3 [--queries 150]

Works on a temporary copy of the database (the original is never changed). Every variant is checked
to return exactly the ids, in the same order, that the current query returns. See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402

import reception as R  # noqa: E402

LIMIT = 30  # what _ranked() asks rank() for on page 1: page_size + 2 * page_size
JOIN = "JOIN beneficiaries ON beneficiaries.id = b.beneficiary_id \nWHERE 1 = 1 "


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))]


def captured_rank_sql(app, queries: list[str]) -> list[tuple[str, tuple]]:
    """The exact SQL and parameters search.rank() sends for each query (regional scope)."""
    from msc.beneficiaries import search as S
    engine = app.extensions["msc.engine"]
    out: list[tuple[str, tuple]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if "GROUP BY" in statement:
            out.append((statement, tuple(parameters)))
    sa.event.listen(engine, "before_cursor_execute", grab)
    try:
        with app.test_request_context():
            for q in queries:
                S.rank(R.Actor(None), S.parse(q), limit=LIMIT)
    finally:
        sa.event.remove(engine, "before_cursor_execute", grab)
    return out


def token_hashes(app, queries: list[str]) -> list[list[tuple[int, list[int], int]]]:
    from msc.beneficiaries import search as S
    from msc.crypto import blind_indexer
    with app.test_request_context():
        idx = blind_indexer()
        return [[idx.query_token(t) for t in S.parse(q).names] for q in queries]


def parts_of(h) -> list[tuple[int, list[int], int, int]]:
    return [p for i, (e, typos, ph) in enumerate(h) for p in ((1, [e], i, 3), (2, [ph], i, 2), (3, typos, i, 1))]


def one_group_by(h) -> tuple[str, list[int]]:
    """Per-token best match by conditional aggregation: one GROUP BY, no join."""
    sels, params = [], []
    for kind, hs, q, w in parts_of(h):
        sels.append(f"SELECT beneficiary_id, {q} AS q, {w} AS w FROM blind_index_entries "
                    f"WHERE kind = ? AND hash IN ({','.join('?' * len(hs))})")
        params += [kind, *hs]
    score = " + ".join(f"coalesce(max(CASE WHEN q = {i} THEN w END), 0)" for i in range(len(h)))
    return (f"SELECT beneficiary_id, {score} AS score FROM (" + " UNION ALL ".join(sels) +
            f") GROUP BY beneficiary_id ORDER BY score DESC, beneficiary_id DESC LIMIT {LIMIT}"), params


def exact_first(conn: sqlite3.Connection, h) -> tuple[list[int], bool]:
    """If at least LIMIT people match every query word exactly, they are the page (same order as
    rank(): top score, then id descending). Otherwise run the full ranking."""
    inter = " INTERSECT ".join("SELECT beneficiary_id FROM blind_index_entries WHERE kind = 1 AND hash = ?"
                               for _ in h)
    ids = [r[0] for r in conn.execute(f"SELECT beneficiary_id FROM ({inter}) ORDER BY beneficiary_id DESC "
                                      f"LIMIT {LIMIT}", [e for e, _, _ in h])]
    if len(ids) >= LIMIT:
        return ids, True
    s, p = one_group_by(h)
    return [r[0] for r in conn.execute(s, p)], False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="a database loaded by bench/reception.py")
    ap.add_argument("--queries", type=int, default=150)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    src = R.paths_for(args.db.resolve())
    meta = json.loads(src["meta"].read_text())

    tmp = Path(tempfile.mkdtemp(prefix="msc-rank-"))
    try:
        db = tmp / "copy.sqlite3"
        print(f"copying {src['db']} to {db} ...", flush=True)
        shutil.copyfile(src["db"], db)
        if Path(f"{src['db']}-wal").exists():
            shutil.copyfile(f"{src['db']}-wal", f"{db}-wal")
        shutil.copyfile(src["keys"], tmp / "copy.keys.json")
        paths = R.paths_for(db)
        app = R.build_app(paths)

        rng = random.Random(args.seed)
        people = R.sample_people(app, args.queries, rng, meta["people"])
        exact_q, typo_q = [], []
        for _, given, family, _ in people:
            g_raw, f_raw, g, f = R.first_tokens(given, family)
            exact_q.append(f"{g_raw} {f_raw}")
            toks = [g, f]
            i = rng.randrange(2)
            toks[i] = R.mutate(toks[i], rng)[0]
            typo_q.append(" ".join(toks))
        sets = {"two-word": exact_q, "two-word, one typo": typo_q, "García": ["García"] * 30}
        current = {name: captured_rank_sql(app, qs) for name, qs in sets.items()}
        hashes = {name: token_hashes(app, qs) for name, qs in sets.items()}
        app.extensions["msc.engine"].dispose()

        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        print(f"{meta['people']:,} people; {len(exact_q)} queries per set; LIMIT {LIMIT} (page 1)\n")
        reference: dict[str, list[list[int]]] = {}

        def run(label: str, fn) -> None:
            cells = []
            for name in sets:
                items = list(range(len(sets[name])))
                for i in items[:10]:
                    fn(name, i)
                ms, same, short = [], 0, 0
                for i in items:
                    t0 = time.perf_counter()
                    ids, sc = fn(name, i)
                    ms.append((time.perf_counter() - t0) * 1000)
                    short += sc
                    if name not in reference or len(reference[name]) < len(items):
                        reference.setdefault(name, []).append(ids)
                    same += ids == reference[name][i]
                extra = f", short-cut {short}" if short else ""
                cells.append(f"{name}: p50 {pct(ms, 50):6.2f} p95 {pct(ms, 95):6.2f} mean {statistics.fmean(ms):6.2f}"
                             f" (same ids {same}/{len(items)}{extra})")
            print(f"{label}\n    " + "\n    ".join(cells), flush=True)

        def current_sql(name, i, drop_join=False):
            s, p = current[name][i]
            if drop_join:
                s = s.replace(JOIN, "")
            return [r[0] for r in conn.execute(s, p)], False

        run("A. rank() as now (index kind, hash)", current_sql)
        run("B. as now, without the join to beneficiaries (regional scope)",
            lambda n, i: current_sql(n, i, True))
        t0 = time.perf_counter()
        conn.execute("CREATE INDEX ix_cover ON blind_index_entries (kind, hash, beneficiary_id)")
        conn.execute("DROP INDEX ix_blind_index_kind_hash")
        print(f"   (covering index built in {time.perf_counter() - t0:.1f} s)")
        run("C. covering index (kind, hash, beneficiary_id)", current_sql)
        run("D. covering index, no join", lambda n, i: current_sql(n, i, True))
        run("E. covering index, no join, one GROUP BY",
            lambda n, i: ([r[0] for r in conn.execute(*one_group_by(hashes[n][i]))], False))
        run("F. E + exact-first short cut", lambda n, i: exact_first(conn, hashes[n][i]))
        conn.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
