"""The API's search beside the search page, through a real server: the same queries, request after request in
turn, with the trivial page (/account) as the baseline of the same run.

Start a server as bench/live.py says (production configuration, a database from bench.people), then:

    python -m bench.api --port 5101 --database-url URL --keys-file /tmp/b/keys.json

It makes (once) a service account `bench_api` with the reach of the page's user (`--user`, default
gestora) and a token for it, then sends each query to POST /search (the page, logged in as the user) and
to POST /api/v1/search (the token): two words, one typo, a common surname, a document, a phone.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import sqlalchemy as sa

from bench.live import Client, csrf, percentile, search_queries


def bench_token(database_url: str, keys_file: str, username: str) -> str:
    """A token of a service account with the user's role and reach (made once; a new token each run)."""
    from bench.people import build_app
    from msc.admin import service as admin_service
    from msc.api import tokens
    from msc.db import session
    from msc.security.actor import SYSTEM
    from msc.security.models import User

    app = build_app(database_url, Path(keys_file))
    with app.app_context():
        user = session.scalar(sa.select(User).where(User.username == username))
        account = session.scalar(sa.select(User).where(User.username == "bench_api"))
        if account is None:
            account = admin_service.save_user(
                SYSTEM,
                None,
                username="bench_api",
                display_name="bench.api",
                role="reception" if user.role not in ("caseworker", "centre_manager") else user.role,
                scope=user.scope,
                country=user.country,
                centre_ids=[c.id for c in user.centres],
                locale="en",
                password=None,
                service_account=True,
            )
        secret = tokens.issue(SYSTEM, account, label="bench.api", days=1).secret
        session.commit()
    app.extensions["msc.engine"].dispose()
    return secret


class ApiClient(Client):
    def call(self, path: str, body: dict[str, object], token: str) -> tuple[int, str, float]:
        started = time.perf_counter()
        self.conn.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        res = self.conn.getresponse()
        text = res.read().decode()
        return res.status, text, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5101)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--keys-file", required=True, help="the server's key file")
    parser.add_argument("--user", default="gestora", help="who searches on the page (the account's reach)")
    parser.add_argument("-n", type=int, default=100, help="queries of each kind")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    queries = search_queries(args.database_url, args.keys_file, args.user, args.n, args.seed)
    secret = bench_token(args.database_url, args.keys_file, args.user)
    page = Client(args.port)
    page.login(args.user)
    _, html, _ = page.send("GET", "/search")
    form_token = csrf(html)
    api = ApiClient(args.port)
    kinds = {
        "two-word name": queries["two"],
        "one typo": queries["typo"],
        "'García' alone": ["García"] * args.n,
        "document number": queries["document"],
        "phone as stored": queries["phone"],
    }
    baseline: list[float] = []
    took: dict[tuple[str, str], list[float]] = {}
    load = os.getloadavg()[0]
    for i in range(-5, args.n):
        status, _, ms = page.send("GET", "/account")
        assert status == 200, status
        if i >= 0:
            baseline.append(ms)
        for kind, texts in kinds.items():
            text = texts[max(i, 0) % len(texts)]
            status, _, page_ms = page.send("POST", "/search", {"csrf_token": form_token, "q": text})
            assert status in (200, 302), (kind, status)
            status, _, api_ms = api.call("/api/v1/search", {"query": text}, secret)
            assert status == 200, (kind, status)
            if i >= 0:
                took.setdefault((kind, "page"), []).append(page_ms)
                took.setdefault((kind, "api"), []).append(api_ms)
    base95 = percentile(baseline, 95)
    print(
        f"the API's search beside the page's, {args.n} rounds (load average {load:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after)"
    )
    print(f"  /account (baseline): p50 {percentile(baseline, 50):.1f} ms, p95 {base95:.1f} ms")
    for kind in kinds:
        pg, ap = took[(kind, "page")], took[(kind, "api")]
        print(
            f"  {kind}: page p50 {percentile(pg, 50):.1f} / p95 {percentile(pg, 95):.1f} ms; "
            f"API p50 {percentile(ap, 50):.1f} / p95 {percentile(ap, 95):.1f} ms "
            f"(API p95 / page p95 = {percentile(ap, 95) / percentile(pg, 95):.2f})"
        )


if __name__ == "__main__":
    main()
