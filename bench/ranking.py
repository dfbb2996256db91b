"""The search's ranking alone, with and without its spelt-alike shortcut, on a database from bench.people.

    python -m bench.ranking --database-url URL --keys-file PATH [-n 200] [--user gestora]

For n real people the user reaches (as bench.live picks them: given name and first surname, and the same
with one typo), it calls search.rank() for the first page (SEARCH_PAGE_SIZE + CONFIRM_SPARE ids) twice per
query: as it is, and with `_spelt_alike_first` switched off (the leading-names shortcut, then the full
grouping), alternating which goes first. Every query's two pages are compared (they must be equal), and it
prints p50 / p95 of each, how often the shortcut was tried and how often it filled the page, and the
slowest queries' times (never the queries themselves). A first pass warms the caches and is not counted.

In one process, without HTTP: the cost of the ranking statements themselves. bench.live gives the figures
through a real server.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from bench.live import percentile, search_queries
from bench.people import build_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--keys-file", required=True)
    parser.add_argument("-n", type=int, default=200, help="queries of each kind")
    parser.add_argument("--user", default="gestora")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from msc.beneficiaries import search
    from msc.db import session
    from msc.security.models import User

    queries = search_queries(args.database_url, args.keys_file, args.user, args.n, args.seed)
    app = build_app(args.database_url, Path(args.keys_file))
    shortcut = search._spelt_alike_first
    tried: list[bool] = []  # per call of the shortcut: did it fill the page

    def counted(*a: object, **kw: object) -> list[int]:
        found = shortcut(*a, **kw)
        tried.append(len(found) >= a[5])
        return found

    def skipped(*a: object, **kw: object) -> list[int]:
        return []

    with app.test_request_context():
        user = session.scalar(sa.select(User).where(User.username == args.user))
        limit = app.config["SEARCH_PAGE_SIZE"] + search.CONFIRM_SPARE

        def timed(variant: Callable[..., list[int]], parsed: search.ParsedQuery) -> tuple[list[int], float]:
            search._spelt_alike_first = variant
            start = time.perf_counter()
            ids = search.rank(user, parsed, limit)
            took = time.perf_counter() - start
            session.rollback()
            return ids, took

        try:
            for kind, label in (("two", "two words"), ("typo", "one typo")):
                before: list[float] = []
                after: list[float] = []
                differ = 0
                tried.clear()
                for counting in (False, True):
                    for i, query in enumerate(queries[kind]):
                        parsed = search.parse(query)
                        if i % 2:
                            (old, t_old), (new, t_new) = timed(skipped, parsed), timed(counted, parsed)
                        else:
                            (new, t_new), (old, t_old) = timed(counted, parsed), timed(skipped, parsed)
                        differ += old != new
                        if counting:
                            before.append(t_old)
                            after.append(t_new)
                    if not counting:
                        tried.clear()
                slowest = sorted(zip(before, after, strict=True), reverse=True)[:5]
                print(
                    f"{label}: {len(before)} queries; without the shortcut {percentile(before, 50):.1f} / "
                    f"{percentile(before, 95):.1f} ms, with it {percentile(after, 50):.1f} / "
                    f"{percentile(after, 95):.1f} ms; tried {len(tried)}, filled the page {sum(tried)}; "
                    f"pages that differ: {differ}"
                )
                print(
                    "  slowest without -> with: " + ", ".join(f"{a * 1000:.1f} -> {b * 1000:.1f}" for a, b in slowest)
                )
        finally:
            search._spelt_alike_first = shortcut
    app.extensions["msc.engine"].dispose()


if __name__ == "__main__":
    main()
