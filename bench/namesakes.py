"""Finding the person among namesakes: first-page recall of a two-word search with one typo, and recall
within one narrowing step (date of birth or second surname) when the page says it is crowded.

    python -m bench.namesakes [--people N] [--db PATH] [--recall K]

Uses the database bench.reception loads (the same default path, so `python -m bench.reception --people
N` first, or let this script load it: same people, same seed). For K random loaded people it searches
"given name + first surname" with one typo (a letter dropped, doubled or two swapped, on one of the two
words, as bench.reception's recall does) at the service layer, and counts:

* on the first page (the search as it was before narrowing existed);
* how deep the person is when not on it (first 100 results or not);
* whether a page that missed the person said it was crowded (only equally good matches, more after);
* on the first page after one narrowing step, by date of birth, and by second surname (date of birth
  for a person with one surname), and first after it.

This is a script, not a test; it never touches the development database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

from bench import reception as rb

DEPTH_PAGES = 10  # how far to look for a person the first page missed (10 pages of 10)


def _search(app, actor, query: str, page: int = 1):
    """(ids on the page, crowded) of one service-layer search; the audit record is rolled back."""
    from msc.beneficiaries.search import search
    from msc.db import session

    with app.test_request_context():
        result = search(actor, query, page=page)
        ids = [h.person.id for h in result.hits]
        session.rollback()
    return ids, result.crowded, result.has_more


def _narrowed(query: str, narrowing: str) -> str:
    from msc.beneficiaries.search import narrowed

    return narrowed(query, narrowing)


def _depth(app, actor, query: str, pid: int) -> int | None:
    """The person's rank within the first DEPTH_PAGES pages, or None."""
    for page in range(1, DEPTH_PAGES + 1):
        ids, _, more = _search(app, actor, query, page)
        if pid in ids:
            return (page - 1) * 10 + ids.index(pid) + 1
        if not more:
            return None
    return None


def _prepare(args):
    """The loaded benchmark database (loading it as bench.reception does when it is not there)."""
    from msc import db as dbmod

    db = args.db or Path(os.environ.get("TMPDIR", "/tmp")) / "msc-bench" / f"reception-{args.people}.sqlite3"
    db = db.resolve()
    db.parent.mkdir(parents=True, exist_ok=True)
    paths = rb.paths_for(db)
    if db.exists() and paths["keys"].exists() and paths["meta"].exists():
        meta = json.loads(paths["meta"].read_text())
        app = rb.build_app(paths)
        dbmod.upgrade(app)
        print(f"== Reusing {db} ({meta['people']:,} people)")
        return app, meta["people"]
    rb.remove_db(paths)
    from msc.crypto.keys import FileKeyProvider

    FileKeyProvider(paths["keys"]).generate()
    app = rb.build_app(paths)
    dbmod.upgrade(app)
    rb.create_plain_table(app)
    user_id = rb.setup(app)
    seconds, index_rows = rb.load(app, args.people, user_id, args.seed)
    rb.checkpoint(app)
    meta = {"people": args.people, "load_seconds": seconds, "index_rows": index_rows}
    meta |= {"size_after_load": rb.db_size(paths), "loaded_at": dt.datetime.now().isoformat(timespec="seconds")}
    paths["meta"].write_text(json.dumps(meta, indent=2))
    print(f"== Loaded {args.people:,} people in {seconds:.0f} s")
    return app, args.people


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=20_000, help="beneficiaries (default 20000)")
    ap.add_argument("--db", type=Path, help="SQLite file (default: bench.reception's for --people)")
    ap.add_argument("--recall", type=int, default=300, help="people searched for (default 300)")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()

    import logging

    import sqlalchemy as sa

    logging.getLogger("alembic").setLevel(logging.WARNING)
    print(
        f"MSC Case namesakes benchmark  people={args.people:,}  recall={args.recall}  "
        f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f} at {dt.datetime.now():%H:%M}"
    )
    app, loaded = _prepare(args)
    from msc.crypto import blind
    from msc.db import session
    from msc.security.models import User

    with app.app_context():
        actor = rb.Actor(session.scalar(sa.select(User.id).where(User.username == rb.USERNAME)))
    rng = random.Random(f"namesakes-{args.seed}")
    people = rb.sample_people(app, args.recall, rng, loaded)

    n = len(people)
    first_page = within_100 = offered = 0
    by_dob = by_second = first_by_dob = first_by_second = 0
    narrowed_first_dob = narrowed_first_second = 0  # of the people narrowing found, first on the page
    missed_not_offered: list[str] = []
    t0 = time.perf_counter()
    for pid, given, family, dob in people:
        g_raw, f_raw, g, f = rb.first_tokens(given, family)
        which = rng.randrange(2)
        mutated, _ = rb.mutate((g, f)[which], rng)
        query = f"{mutated} {f}" if which == 0 else f"{g} {mutated}"
        ids, crowded, _ = _search(app, actor, query)
        seconds = [w for w in family.split() if blind.name_tokens(w) and w != f_raw]
        if pid in ids:
            first_page += 1
            within_100 += 1
            by_dob += 1
            by_second += 1
            first_by_dob += ids[0] == pid
            first_by_second += ids[0] == pid
            continue
        depth = _depth(app, actor, query, pid)
        within_100 += depth is not None
        if not crowded:
            missed_not_offered.append(f"{query!r} (rank {depth})")
            continue
        offered += 1
        ids, _, _ = _search(app, actor, _narrowed(query, f"{dob:%d/%m/%Y}"))
        by_dob += pid in ids
        first_by_dob += bool(ids) and ids[0] == pid
        narrowed_first_dob += bool(ids) and ids[0] == pid
        if seconds:
            ids, _, _ = _search(app, actor, _narrowed(query, seconds[0]))
        by_second += pid in ids
        first_by_second += bool(ids) and ids[0] == pid
        narrowed_first_second += bool(ids) and ids[0] == pid
    elapsed = time.perf_counter() - t0

    def pct(k: int) -> str:
        return f"{100 * k / n:5.1f} %  ({k}/{n})"

    print(f"\n== {n} people, given name + first surname with one typo, service layer ({elapsed:.0f} s)")
    print(f"  RECALL first page (before narrowing):             {pct(first_page)}")
    print(f"  within the first 100 results:                     {pct(within_100)}")
    print(f"  missed on the first page, page said crowded:      {offered} of {n - first_page}")
    print(f"  RECALL within one narrowing step, date of birth:  {pct(by_dob)}   (first: {pct(first_by_dob)})")
    print(f"  RECALL within one narrowing step, second surname: {pct(by_second)}   (first: {pct(first_by_second)})")
    print("    (second surname: the date of birth for a person with one surname)")
    print(
        f"  of the {offered} narrowed, first on the page: by date of birth {narrowed_first_dob}, "
        f"by second surname {narrowed_first_second}"
    )
    if missed_not_offered:
        print(f"  missed and not offered narrowing: {', '.join(missed_not_offered)}")


if __name__ == "__main__":
    main()
