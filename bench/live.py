"""Pages through a real server: a gunicorn in production configuration answering a plain HTTP client,
on SQLite or PostgreSQL. Each figure stands beside the trivial authenticated page (/account), measured
in the same run.

Start the server first (a throwaway key file and database; the demo data):

    export MSC_CONFIG=production MSC_DATABASE_URL=... MSC_KEYS_FILE=/tmp/b/keys.json (mode 0600) \\
      MSC_SECRET_KEY=<32 random bytes> MSC_PUBLIC_URL=https://msc.example.org \\
      MSC_EXTRA_TRUSTED_HOSTS=127.0.0.1:5101 MSC_AUDIT_WITNESS_FILE=/tmp/b/w/audit.log \\
      MSC_RATELIMIT_STORAGE_URI=memory:// MSC_RATELIMIT_ENABLED=false
    flask --app msc db upgrade && flask --app msc demo load
    gunicorn -w 2 -b 127.0.0.1:5101 wsgi:app

then: python -m bench.live --port 5101 --database-url "$MSC_DATABASE_URL"

With --keys-file (the server's), it also times the search box for real people of the database (as
bench.people loads them): two words, one typo, a common surname alone, a document, a phone.
"""

from __future__ import annotations

import argparse
import http.client
import re
import statistics
import time
import urllib.parse
from pathlib import Path

import sqlalchemy as sa

PASSWORD = "msc-demo-Cucuta-26"


class Client:
    """One keep-alive connection and its cookies (sent by hand: the cookies are Secure, the link is not)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, data: dict[str, str] | None = None) -> tuple[int, str, float]:
        body = urllib.parse.urlencode(data) if data else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        res = self.conn.getresponse()
        text = res.read().decode()
        took = time.perf_counter() - started
        for name, value in res.getheaders():
            if name.lower() == "set-cookie":
                key, val = value.split(";")[0].split("=", 1)
                self.cookies[key] = val
        return res.status, text, took

    def login(self, username: str) -> float:
        self.cookies.clear()
        _, page, _ = self.send("GET", "/login")
        status, _, took = self.send(
            "POST", "/login", {"csrf_token": csrf(page), "username": username, "password": PASSWORD, "next": ""}
        )
        assert status == 302, status
        return took


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def timed(client: Client, n: int, method: str, path: str, data: dict[str, str] | None = None) -> tuple[float, float]:
    """Median and p95 in milliseconds."""
    took = sorted(client.send(method, path, data)[2] for _ in range(n))
    return statistics.median(took) * 1000, took[int(0.95 * n) - 1] * 1000


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of the values, in milliseconds."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))] * 1000


def search_queries(database_url: str, keys_file: str, username: str, n: int, seed: int) -> dict[str, list[str]]:
    """What the desk types, from n random people the user reaches (decrypted with the server's key file):
    given name and first surname; the same with one typo; their document; their phone as stored."""
    import random

    from bench.people import build_app
    from bench.reception import first_tokens, mutate
    from msc.beneficiaries.models import Beneficiary
    from msc.db import session
    from msc.security.models import User
    from msc.security.policy import scope_filter

    rng = random.Random(seed)
    app = build_app(database_url, Path(keys_file))
    with app.app_context():
        user = session.scalar(sa.select(User).where(User.username == username))
        ids = list(session.scalars(sa.select(Beneficiary.id).where(scope_filter(user, Beneficiary.centre_id))))
        people = session.scalars(
            sa.select(Beneficiary).where(Beneficiary.id.in_(rng.sample(ids, min(len(ids), 8 * n))))
        )
        out: dict[str, list[str]] = {"two": [], "typo": [], "document": [], "phone": []}
        for person in people:
            g_raw, f_raw, g, f = first_tokens(person.given_names, person.family_names)
            if len(out["two"]) < n:
                out["two"].append(f"{g_raw} {f_raw}")
                which = rng.randrange(2)
                typo = mutate((g, f)[which], rng)[0]
                out["typo"].append(f"{typo} {f}" if which == 0 else f"{g} {typo}")
            if person.document_number and len(out["document"]) < n:
                out["document"].append(person.document_number)
            if person.phone and len(out["phone"]) < n:
                out["phone"].append(person.phone)
        session.rollback()
    app.extensions["msc.engine"].dispose()
    return out


def search_speed(client: Client, token: str, queries: dict[str, list[str]], common: str = "García") -> None:
    """The search box against the trivial page, request after request in turn (so both see the same machine):
    p50 and p95 of each kind of query, and its p95 over the trivial page's p95."""
    import os

    n = len(queries["two"])
    kinds = [
        ("two-word name (given name + first surname)", lambda i: queries["two"][i]),
        ("one typo in one of the two words", lambda i: queries["typo"][i]),
        (f"common surname alone ({common!r})", lambda i: common),
        ("document number", lambda i: queries["document"][i % len(queries["document"])]),
        ("phone as stored (with spaces)", lambda i: queries["phone"][i % len(queries["phone"])]),
    ]
    baseline: list[float] = []
    took: dict[str, list[float]] = {name: [] for name, _ in kinds}
    load = os.getloadavg()[0]
    for i in range(-5, n):  # five rounds of warm-up
        status, _, ms = client.send("GET", "/account")
        assert status == 200, status
        if i >= 0:
            baseline.append(ms)
        for name, query in kinds:
            status, _, ms = client.send("POST", "/search", {"csrf_token": token, "q": query(max(i, 0))})
            assert status in (200, 302), (name, status)
            if i >= 0:
                took[name].append(ms)
    base95 = percentile(baseline, 95)
    print(f"search through the server, {n} rounds (load average {load:.2f} before, {os.getloadavg()[0]:.2f} after)")
    print(f"  trivial page (/account), baseline: p50 {percentile(baseline, 50):.1f} ms, p95 {base95:.1f} ms")
    for name, _ in kinds:
        p95 = percentile(took[name], 95)
        print(f"  {name}: p50 {percentile(took[name], 50):.1f} ms, p95 {p95:.1f} ms = {p95 / base95:.2f}x the baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5101)
    parser.add_argument("--database-url", required=True, help="the server's database, to pick a person")
    parser.add_argument("-n", type=int, default=40)
    parser.add_argument("--keys-file", help="the server's key file: also time searches for real people in it")
    parser.add_argument("--search-only", action="store_true", help="with --keys-file: only the searches")
    parser.add_argument("--search-rounds", type=int, default=200, help="queries of each kind (default 200)")
    parser.add_argument("--search-user", default="gestora", help="who searches (default gestora)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.keys_file:
        queries = search_queries(args.database_url, args.keys_file, args.search_user, args.search_rounds, args.seed)
        searcher = Client(args.port)
        searcher.login(args.search_user)
        search_speed(searcher, csrf(searcher.send("GET", "/search")[1]), queries)
        if args.search_only:
            return
    client = Client(args.port)
    logins = [client.login("gestora") for _ in range(10)]
    client.login("gestora")
    with sa.create_engine(args.database_url).connect() as db:
        uid = db.execute(
            sa.text(
                "SELECT b.uid FROM beneficiaries b JOIN centres c ON c.id = b.centre_id"
                " WHERE c.code = 'COL-CUC' LIMIT 1"
            )
        ).scalar()
    token = csrf(client.send("GET", "/search")[1])
    rows = [
        ("trivial authenticated page (/account), baseline", timed(client, args.n, "GET", "/account")),
        ("caseworker home (/: tasks, referrals, cases by risk, possible UASC)", timed(client, args.n, "GET", "/")),
        ("cases list (/cases/)", timed(client, args.n, "GET", "/cases/")),
        ("profile (/b/<uid>)", timed(client, args.n, "GET", f"/b/{uid}")),
        (
            "name search (POST /search)",
            timed(client, args.n, "POST", "/search", {"csrf_token": token, "q": "Maria Perez"}),
        ),
        (
            "phone typed with spaces (POST /search)",
            timed(client, args.n, "POST", "/search", {"csrf_token": token, "q": "+57 300 123 4567"}),
        ),
    ]
    login_ms = statistics.median(logins) * 1000
    print(f"login, password step (argon2 and the back-off's bookkeeping): median {login_ms:.1f} ms")
    for name, (median, p95) in rows:
        print(f"{name}: median {median:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
