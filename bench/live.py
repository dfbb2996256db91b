"""Pages through a real server: a gunicorn in production configuration answering a plain HTTP client,
on SQLite or PostgreSQL. Each figure stands beside the trivial authenticated page (/account), measured
in the same run.

Start the server first (a throwaway key file and database; the demo data):

    export MSC_CONFIG=production MSC_DATABASE_URL=... MSC_KEYS_FILE=/tmp/b/keys.json (mode 0600) \\
      MSC_SECRET_KEY=<32 random bytes> MSC_PUBLIC_URL=https://msc.example.org \\
      MSC_EXTRA_TRUSTED_HOSTS=127.0.0.1:5101 MSC_AUDIT_WITNESS_FILE=/tmp/b/w/audit.log \\
      MSC_RATELIMIT_STORAGE_URI=memory:// MSC_LOGIN_RATE_LIMIT="10000 per minute" \\
      MSC_API_RATE_LIMIT="100000 per minute" MSC_API_ADDRESS_RATE_LIMIT="100000 per minute"
    flask --app msc db upgrade && flask --app msc demo load
    gunicorn -w 2 -b 127.0.0.1:5101 wsgi:app

then: python -m bench.live --port 5101 --database-url "$MSC_DATABASE_URL"

With --keys-file (the server's), it also times the search box for real people of the database (as
bench.people loads them): two words, one typo, a common surname alone, a document, a phone.

With MSC_SERVER_TIMING=true in the server's environment, each page's line carries the medians of its
Server-Timing segments (SQL time and statement count, decryption, rendering, the audit append, the
session and user load, the commit, the view's own Python, the server's total). Registrations
(`--registrations N`, as the reception clerk `recepcion`) are timed per request and per person: the form,
the first POST, and when it stops on possible duplicates the POST that confirms (both POSTs make the
person's figure). New names register at once; "María García" with a random date of birth stops on the
duplicate step wherever such people exist.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import statistics
import time
import urllib.parse
from pathlib import Path

import sqlalchemy as sa

from bench.desk_form import NEW_HEAD_CONSENTED

PASSWORD = "msc-demo-Cucuta-26"


class Client:
    """One keep-alive connection and its cookies (sent by hand: the cookies are Secure, the link is not)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.cookies: dict[str, str] = {}
        self.timings: list[str] = []  # the Server-Timing header of each response, when the server sends it

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
            if name.lower() == "server-timing":
                self.timings.append(value)
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


class Figures(tuple):
    """(median, p95) in milliseconds; `.breakdown` holds the medians of the Server-Timing segments."""

    breakdown: dict[str, float]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(0.95 * len(ordered)) - 1)]


def segments(header: str) -> dict[str, float]:
    """A Server-Timing value as {segment: ms}, with `sql_n` the statement count."""
    found: dict[str, float] = {}
    for part in header.split(", "):
        m = re.match(r'(\w+);dur=([\d.]+)(?:;desc="(\d+)x)?', part)
        if m:
            found[m.group(1)] = float(m.group(2))
            if m.group(1) == "sql" and m.group(3):
                found["sql_n"] = float(m.group(3))
    return found


def breakdown(headers: list[str]) -> dict[str, float]:
    """The median of each segment over the requests (0 where a request had none of it)."""
    parsed = [segments(h) for h in headers]
    names = {name for p in parsed for name in p}
    return {name: statistics.median(p.get(name, 0.0) for p in parsed) for name in names} if parsed else {}


def figures(took: list[float], headers: list[str]) -> Figures:
    out = Figures((statistics.median(took) * 1000, p95(took) * 1000))
    out.breakdown = breakdown(headers)
    return out


#: the gunicorn master whose workers' CPU time is read around each measurement (--server-pid)
SERVER_PID: int | None = None


def server_cpu_ms() -> float:
    """CPU time (user + system) the server's workers have used so far, from /proc (Linux): a figure the
    other processes on a busy machine disturb far less than wall-clock time. SQLite runs inside the
    workers and counts; PostgreSQL's own processes do not."""
    if SERVER_PID is None:
        return 0.0
    ticks = 0
    for task in os.listdir(f"/proc/{SERVER_PID}/task"):
        with open(f"/proc/{SERVER_PID}/task/{task}/children") as f:
            for child in f.read().split():
                with open(f"/proc/{child}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def timed(client: Client, n: int, method: str, path: str, data: dict[str, str] | None = None) -> tuple[float, float]:
    """Median and p95 in milliseconds (with the Server-Timing medians as `.breakdown`, and the server's
    mean CPU milliseconds per request as `.breakdown["cpu_mean"]` with --server-pid)."""
    client.timings.clear()
    cpu = server_cpu_ms()
    answers = [client.send(method, path, data) for _ in range(n)]
    failed = [status for status, _, _ in answers if status >= 500]
    # a figure of error pages is no figure: say so rather than time them
    assert not failed, f"{method} {path} answered {len(failed)} of {n} times with a server error ({failed[0]})"
    took = [ms for _, _, ms in answers]
    out = figures(took, list(client.timings))
    if SERVER_PID is not None:
        out.breakdown["cpu_mean"] = (server_cpu_ms() - cpu) / n
    return out


SEGMENTS = ("session", "sql", "decrypt", "render", "audit", "commit", "app")


def describe(parts: dict[str, float]) -> str:
    """One line of segment medians: where the server's time went."""
    cpu = f"server CPU {parts['cpu_mean']:.1f} ms per request (mean); " if "cpu_mean" in parts else ""
    if not set(parts) - {"cpu_mean"}:
        return cpu + "(no Server-Timing: start the server with MSC_SERVER_TIMING=true)"
    shown = [f"{name} {parts[name]:.1f}" for name in SEGMENTS if name in parts]
    if "sql" in parts:
        shown[[s.split()[0] for s in shown].index("sql")] += f" ({parts.get('sql_n', 0):.0f} q)"
    return cpu + "server ms (medians): " + ", ".join(shown) + f"; total {parts.get('total', 0):.1f}"


REGISTRATION = {
    "sex": "female",
    "nationality": "VEN",
    "document_type": "none",
    **NEW_HEAD_CONSENTED,
    "languages": "es",
    "arrival_date": "2026-01-10",
    "entry_point": "other",
}


def register(client: Client, given: str, family: str, born: str) -> tuple[float, list[float], list[str], bool]:
    """One person through the desk's flow: the form, the POST, and the confirming POST when the first
    stops on possible duplicates. (form ms, [POST ms], [their Server-Timing], stopped on duplicates)."""
    client.timings.clear()
    _, page, form_took = client.send("GET", "/register")
    data = {**REGISTRATION, "csrf_token": csrf(page), "given_names": given, "family_names": family}
    data["date_of_birth"] = born
    client.timings.clear()
    status, page, took = client.send("POST", "/register", data)
    posts, stopped = [took], status == 422
    if stopped:
        found = re.search(r'name="acknowledged" type="hidden" value="([^"]*)"', page)
        assert found, "the duplicate step has no acknowledged field"
        data["acknowledged"] = found.group(1)
        seen = re.search(r'name="hints_seen" type="hidden" value="([^"]*)"', page)
        if seen:  # records at other centres were shown as hints: the desk goes on
            data["hints_seen"] = seen.group(1)
        status, page, took = client.send("POST", "/register", data)
        posts.append(took)
    assert status == 302, (status, page[:500])
    return form_took, posts, list(client.timings), stopped


def registrations(client: Client, n: int, common: bool, rng: random.Random) -> dict[str, object]:
    forms, per_request, per_person, headers, stopped = [], [], [], [], 0
    cpu_person: list[float] = []  # the server's CPU per person: the form and the POSTs
    letters = "bcdfghjklmnprstvz"
    for _ in range(n):
        if common:
            given, family = "María", "García"
        else:
            given = "".join(rng.choice(letters) + rng.choice("aeiou") for _ in range(3)).title()
            family = "".join(rng.choice(letters) + rng.choice("aeiou") for _ in range(4)).title()
        born = f"{rng.randint(1960, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        cpu = server_cpu_ms()
        form_took, posts, timings, dup = register(client, given, family, born)
        cpu_person.append(server_cpu_ms() - cpu)
        forms.append(form_took)
        per_request.extend(posts)
        per_person.append(sum(posts))
        headers.extend(timings)
        stopped += dup
    request = figures(per_request, headers)
    if SERVER_PID is not None:
        request.breakdown["cpu_mean"] = statistics.mean(cpu_person)  # per person (form and POSTs) here
    return {
        "form": figures(forms, []),
        "request": request,
        "person": figures(per_person, []),
        "stopped": stopped,
        "n": n,
    }


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
    headers: dict[str, list[str]] = {name: [] for name in ["/account", *took]}
    load = os.getloadavg()[0]
    for i in range(-5, n):  # five rounds of warm-up
        client.timings.clear()
        status, _, ms = client.send("GET", "/account")
        assert status == 200, status
        if i >= 0:
            baseline.append(ms)
            headers["/account"].extend(client.timings)
        for name, query in kinds:
            client.timings.clear()
            status, _, ms = client.send("POST", "/search", {"csrf_token": token, "q": query(max(i, 0))})
            assert status in (200, 302), (name, status)
            if i >= 0:
                took[name].append(ms)
                headers[name].extend(client.timings)
    base95 = percentile(baseline, 95)
    print(f"search through the server, {n} rounds (load average {load:.2f} before, {os.getloadavg()[0]:.2f} after)")
    print(f"  trivial page (/account), baseline: p50 {percentile(baseline, 50):.1f} ms, p95 {base95:.1f} ms")
    if headers["/account"]:
        print(f"      {describe(breakdown(headers['/account']))}")
    for name, _ in kinds:
        p95 = percentile(took[name], 95)
        print(f"  {name}: p50 {percentile(took[name], 50):.1f} ms, p95 {p95:.1f} ms = {p95 / base95:.2f}x the baseline")
        if headers[name]:
            print(f"      {describe(breakdown(headers[name]))}")


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
    parser.add_argument("--registrations", type=int, default=0, help="people to register per kind of name")
    parser.add_argument("--server-pid", type=int, help="the gunicorn master: also read its workers' CPU time")
    args = parser.parse_args()
    global SERVER_PID
    SERVER_PID = args.server_pid
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start; n={args.n}")
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
        case_uid = db.execute(
            sa.text(
                "SELECT c.uid FROM cases c JOIN case_assignments a ON a.case_id = c.id"
                " JOIN users u ON u.id = a.user_id WHERE u.username = 'gestora' ORDER BY c.id LIMIT 1"
            )
        ).scalar()
    token = csrf(client.send("GET", "/search")[1])
    rows = [
        ("trivial authenticated page (/account), baseline", timed(client, args.n, "GET", "/account")),
        ("caseworker home (/: tasks, referrals, cases by risk, possible UASC)", timed(client, args.n, "GET", "/")),
        ("cases list (/cases/)", timed(client, args.n, "GET", "/cases/")),
        ("profile (/b/<uid>)", timed(client, args.n, "GET", f"/b/{uid}")),
        *([("a case of hers (/cases/<uid>)", timed(client, args.n, "GET", f"/cases/{case_uid}"))] if case_uid else []),
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
    base_p95 = rows[0][1][1]
    home_p95 = next((fig[1] for name, fig in rows if name.startswith("caseworker home")), base_p95)
    for name, fig in rows:
        median, p95_ms = fig
        ratio = f"{p95_ms / base_p95:.2f}x /account, {p95_ms / home_p95:.2f}x home"
        print(f"{name}: median {median:.1f} ms, p95 {p95_ms:.1f} ms ({ratio} at p95)")
        if isinstance(fig, Figures):
            print(f"    {describe(fig.breakdown)}")
    if args.registrations:
        rng = random.Random()  # names never registered before in this database
        desk = Client(args.port)
        desk.login("recepcion")
        for common, label in ((False, "new name"), (True, '"María García", random date of birth')):
            got = registrations(desk, args.registrations, common, rng)
            form, request, person = got["form"], got["request"], got["person"]
            assert isinstance(form, Figures) and isinstance(request, Figures) and isinstance(person, Figures)
            print(
                f"registration, {label} ({got['n']} people, {got['stopped']} stopped on possible duplicates):"
                f" form (GET) p95 {form[1]:.1f} ms; per request (POST) median {request[0]:.1f} ms,"
                f" p95 {request[1]:.1f} ms ({request[1] / base_p95:.2f}x /account);"
                f" per person (the POSTs) median {person[0]:.1f} ms, p95 {person[1]:.1f} ms"
            )
            cpu = request.breakdown.pop("cpu_mean", None)
            if cpu is not None:
                print(f"    server CPU per person (the form and the POSTs), mean {cpu:.1f} ms")
            print(f"    {describe(request.breakdown)}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
