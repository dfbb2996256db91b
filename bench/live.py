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
"""

from __future__ import annotations

import argparse
import http.client
import re
import statistics
import time
import urllib.parse

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5101)
    parser.add_argument("--database-url", required=True, help="the server's database, to pick a person")
    parser.add_argument("-n", type=int, default=40)
    args = parser.parse_args()
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
