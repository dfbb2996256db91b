"""`make prod-check`: the production runbook (README, "Production runbook"), followed by a script against
this machine's PostgreSQL and Redis, from nothing to a working desk and back to nothing.

It creates a database of its own and a private folder, writes the environment an administrator writes
(production configuration, one trusted proxy), runs `flask keys init`, `flask db upgrade` and
`flask users create` for the first admin, starts gunicorn, and then, sending what nginx sends
(Host, X-Forwarded-For, X-Forwarded-Proto, X-Request-ID): checks /readyz, logs the admin in with the
authenticator, creates a centre and a reception account on the admin pages, logs the clerk in, searches,
registers a person and finds them; checks that one address's flood of failed logins does not stop another
address; starts the job runner (`flask worker`, RQ on Redis) and checks that its schedule ran the minute's
jobs (witness, export expiry); the admin runs the audit chain check from the jobs page and follows it to
its end through the status the page polls; runs `audit verify` from the command line too; reads the
server's log (JSON lines, no name, no search); then stops the worker and the server and drops the database.

    python config/deploy/prod_check.py [--pg postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOST = "msc.example.org"
#: processes started here, stopped whatever happens
PROCESSES: list[subprocess.Popen] = []
ADMIN_PASSWORD = "Frontera-" + secrets.token_urlsafe(12)
CLERK_PASSWORD = "Pacaraima-" + secrets.token_urlsafe(12)
PERSON = ("Yuliannys Andreína", "Marcano Betancourt")


class Form(HTMLParser):
    """The fields a page's form would send as the browser fills it by default."""

    def __init__(self, html: str, page: str, action: str):
        super().__init__()
        self._page = page
        self.fields: dict[str, list[str]] = {}
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False
        self._in_form = False
        self._action = action
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":  # only the form that posts to `action` (a page may hold a language switcher too)
            target = urllib.parse.urlsplit(a.get("action") or self._page).path
            self._in_form = a.get("method", "get").lower() == "post" and target == self._action
        if not self._in_form:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button"):
                self.fields.setdefault(a["name"], []).append(a.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select":
            self._select, self._first_option, self._selected = a.get("name"), None, False
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self.fields[self._select] = [a.get("value", "")]
                self._selected = True
        elif tag == "textarea" and a.get("name"):
            self.fields.setdefault(a["name"], [""])

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            if not self._selected and self._first_option is not None:
                self.fields[self._select] = [self._first_option]
            self._select = None
        if tag == "form":
            self._in_form = False


class Desk:
    """A browser behind nginx: keep-alive, cookies by hand (they are Secure; nginx speaks plain HTTP to
    gunicorn), and the headers the proxy adds."""

    def __init__(self, port: int, address: str):
        self.port, self.address = port, address
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.last_page = "/"

    def send(self, method: str, path: str, data: dict | None = None) -> tuple[int, str, dict[str, str]]:
        body = urllib.parse.urlencode(data, doseq=True) if data is not None else None
        headers = {
            "Host": HOST,
            "X-Forwarded-For": self.address,
            "X-Forwarded-Proto": "https",
            "X-Request-ID": "prodcheck-" + uuid.uuid4().hex[:12],
            "Accept-Language": "es",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if method == "POST":  # what a browser sends under Referrer-Policy: same-origin
            headers["Referer"] = f"https://{HOST}{self.last_page}"
        else:
            self.last_page = path
        self.conn.request(method, path, body=body, headers=headers)
        res = self.conn.getresponse()
        text = res.read().decode()
        for name, value in res.getheaders():
            if name.lower() == "set-cookie":
                key, val = value.split(";")[0].split("=", 1)
                self.cookies[key] = val
        return res.status, text, {k.lower(): v for k, v in res.getheaders()}

    def get(self, path: str) -> str:
        status, text, _ = self.send("GET", path)
        check(status == 200, f"GET {path} answered {status}")
        return text

    def submit(self, path: str, changes: dict, action: str | None = None, expect=(302, 303)) -> tuple[int, str, dict]:
        form = Form(self.get(path), path, action or path)
        fields = {**form.fields, **{k: v if isinstance(v, list) else [v] for k, v in changes.items()}}
        status, text, headers = self.send("POST", action or path, fields)
        check(status in expect, f"POST {action or path} answered {status}: {errors_of(text)}")
        return status, text, headers

    def login(self, username: str, password: str) -> str:
        self.cookies.clear()
        _, _, headers = self.submit("/login", {"username": username, "password": password})
        return urllib.parse.urlsplit(headers.get("location", "")).path


def errors_of(page: str) -> str:
    found = re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)<', page)
    return "; ".join(f.strip() for f in found)[:300] or page[:200]


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"prod-check FAILED: {what}")


def step(text: str) -> None:
    print(f"-- {text}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flask(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "flask"), "--app", "msc", *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True
    )


def must(out: subprocess.CompletedProcess, what: str) -> str:
    check(out.returncode == 0, f"{what}: {out.stderr.strip()[-600:]}")
    return out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("MSC_PRODCHECK_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis", default=os.environ.get("MSC_PRODCHECK_REDIS", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    started = time.monotonic()
    import psycopg

    name = f"msc_prodcheck_{os.getpid()}"
    admin_url = args.pg
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urllib.parse.urlsplit(admin_url)
    database_url = urllib.parse.urlunsplit(("postgresql+psycopg", parts.netloc, f"/{name}", "", ""))
    home = Path(tempfile.mkdtemp(prefix="msc-prodcheck-"))
    try:
        run(home, database_url, args.redis)
    finally:
        for process in PROCESSES:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        shutil.rmtree(home, ignore_errors=True)
        from redis import Redis
        from rq import Queue

        with Redis.from_url(args.redis) as redis:
            Queue(f"msc-prodcheck-{os.getpid()}", connection=redis).delete(delete_jobs=True)
    print(f"prod-check passed in {time.monotonic() - started:.0f} s")


def run(home: Path, database_url: str, redis_url: str) -> None:
    step("environment, as config/deploy/msc.env.example has it")
    (home / "etc").mkdir(mode=0o700)
    (home / "witness").mkdir(mode=0o700)
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "MSC_CONFIG": "production",
        "MSC_INSTANCE_PATH": str(home / "instance"),
        "MSC_DATABASE_URL": database_url,
        "MSC_SECRET_KEY": secrets.token_urlsafe(32),
        "MSC_KEYS_FILE": str(home / "etc" / "keys.json"),
        "MSC_PUBLIC_URL": f"https://{HOST}",
        "MSC_AUDIT_WITNESS_FILE": str(home / "witness" / "audit-witness.log"),
        "MSC_RATELIMIT_STORAGE_URI": redis_url,
        "MSC_RATELIMIT_KEY_PREFIX": f"msc-prodcheck-{os.getpid()}",
        "MSC_JOBS_REDIS_URL": redis_url,
        "MSC_JOBS_QUEUE": f"msc-prodcheck-{os.getpid()}",
        "MSC_PROXY_FIX_X_FOR": "1",
    }
    step("the server refuses to start before the key file exists")
    refused = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True)
    check(refused.returncode != 0 and "does not exist" in refused.stderr, "a server started without its key file")

    step("flask keys init (once; a second run refuses)")
    must(flask(env, "keys", "init"), "keys init")
    check(oct((home / "etc" / "keys.json").stat().st_mode)[-3:] == "600", "the key file is not 0600")
    again = flask(env, "keys", "init")
    check(again.returncode != 0 and "never overwritten" in again.stderr, "keys init overwrote the key file")

    step("flask db upgrade, the first admin")
    must(flask(env, "db", "upgrade"), "db upgrade")
    must(
        flask(env, "users", "create", "admin", "--role", "admin", "--name", "Admin", "--password", ADMIN_PASSWORD),
        "users create",
    )

    step(f"gunicorn, production configuration, port {port}")
    log = open(home / "server.log", "w")  # noqa: SIM115 - kept open for the server's life
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    PROCESSES.append(server)
    desk = Desk(port, "203.0.113.10")
    for _ in range(100):
        try:
            status, body, _ = desk.send("GET", "/readyz")
            break
        except OSError:
            desk = Desk(port, "203.0.113.10")
            time.sleep(0.2)
    else:
        raise SystemExit("prod-check FAILED: gunicorn did not answer: " + (home / "server.log").read_text()[-2000:])
    check(status == 200, f"/readyz answered {status}: {body}")
    check(json.loads(body)["checks"] == {"database": "ok", "keys": "ok", "redis": "ok"}, f"/readyz: {body}")
    status, body, _ = desk.send("GET", "/healthz")
    check(status == 200 and json.loads(body) == {"status": "ok"}, f"/healthz: {status} {body}")
    other = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    other.request("GET", "/login", headers={"Host": "evil.example.net", "X-Request-ID": "prodcheck-unknown-host"})
    check(other.getresponse().status == 400, "a request naming an unknown host was served")

    step("the admin logs in and enrols the authenticator")
    import pyotp

    where = desk.login("admin", ADMIN_PASSWORD)
    check(where == "/login/enrol", f"the admin was sent to {where}, not to the authenticator enrolment")
    page = desk.get("/login/enrol")
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page)
    check(secret is not None, "no authenticator key on the enrolment page")
    totp = pyotp.TOTP(secret.group(1).replace(" ", ""))  # type: ignore[union-attr]
    desk.submit("/login/enrol", {"code": totp.now()})

    step("the admin creates a centre and a reception account")
    desk.submit(
        "/admin/centres/new",
        {"code": "COL-CUC", "name": "CAM Cúcuta", "country": "COL", "municipality": "Cúcuta", "active": "y"},
    )
    centre_id = re.search(r'name="centres" type="checkbox" value="(\d+)"', desk.get("/admin/users/new"))
    check(centre_id is not None, "the new centre is not offered on the account form")
    desk.submit(
        "/admin/users/new",
        {
            "username": "recepcion",
            "display_name": "Laura Recepción",
            "role": "reception",
            "scope": "centre",
            "centres": centre_id.group(1),  # type: ignore[union-attr]
            "locale": "es",
            "password": CLERK_PASSWORD,
        },
    )

    step("the clerk logs in, searches, registers a person and finds them")
    clerk = Desk(port, "198.51.100.20")
    where = clerk.login("recepcion", CLERK_PASSWORD)
    check(where == "/", f"the clerk landed on {where!r}, not on the search page")
    given, family = PERSON
    status, page, _ = clerk.submit("/", {"q": f"{given} {family}"}, action="/search", expect=(200,))
    _, _, headers = clerk.submit(
        "/register",
        {
            "given_names": given,
            "family_names": family,
            "sex": "female",
            "date_of_birth": "1994-03-08",
            "nationality": "VEN",
            **{f"consent_{p}": "given" for p in ("registration", "referral", "followup_contact")},
            **{f"consent_{p}": "refused" for p in ("government_sharing", "photo")},
        },
    )
    profile = urllib.parse.urlsplit(headers["location"]).path
    check(profile.startswith("/b/"), f"registration went to {profile}")
    check(given.split()[0] in clerk.get(profile), "the profile does not show the person's name")
    words = f"{given.split()[0]} {family.split()[0]}"
    status, page, headers = clerk.submit("/", {"q": words}, action="/search", expect=(200, 302))
    found = urllib.parse.urlsplit(headers.get("location", "")).path == profile or profile in page
    check(found, "the search did not find the person just registered")

    step("one address's flood of failed logins does not stop another address")
    flooder = Desk(port, "192.0.2.66")
    codes = [
        flooder.submit("/login", {"username": f"guess{i}", "password": "x" * 12}, expect=(200, 422, 429))[0]
        for i in range(14)
    ]
    check(429 in codes, f"the flooding address was never limited: {codes}")
    check(Desk(port, "198.51.100.21").login("recepcion", CLERK_PASSWORD) == "/", "another address was blocked")

    step("the job runner: flask worker (RQ on Redis) runs the schedule's minute jobs")
    worker_log = open(home / "worker.log", "w")  # noqa: SIM115 - kept open for the worker's life
    worker = subprocess.Popen(
        [str(BIN / "flask"), "--app", "msc", "worker"], cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT
    )
    PROCESSES.append(worker)
    import psycopg

    plain_url = database_url.replace("postgresql+psycopg://", "postgresql://")
    minute = {}
    for _ in range(150):
        with psycopg.connect(plain_url) as conn:
            minute = dict(conn.execute("SELECT kind, state FROM jobs WHERE slot IS NOT NULL").fetchall())
        if minute.get("audit.anchor") == "done" and minute.get("exports.purge") == "done":
            break
        check(worker.poll() is None, "the worker stopped: " + (home / "worker.log").read_text()[-2000:])
        time.sleep(0.2)
    else:
        raise SystemExit(f"prod-check FAILED: the schedule's minute jobs did not run: {minute}")
    check((home / "witness" / "audit-witness.log").stat().st_size > 0, "nothing witnessed the audit chain")

    step("the admin runs the audit chain check from the jobs page and follows it to its end")
    clicked = time.monotonic()
    _, _, headers = desk.submit("/jobs/", {}, action="/jobs/run/audit.verify")
    job_page = urllib.parse.urlsplit(headers["location"]).path
    check(re.fullmatch(r"/jobs/\d+", job_page) is not None, f"run now went to {job_page}")
    desk.get(job_page)
    state: dict = {}
    for _ in range(150):
        status, body, _ = desk.send("GET", f"{job_page}/status")
        check(status == 200, f"{job_page}/status answered {status}")
        state = json.loads(body)
        if state["finished"]:
            break
        time.sleep(0.2)
    check(state.get("state") == "done" and state.get("percent") == 100, f"the audit chain check: {state}")
    print(f"   done {time.monotonic() - clicked:.1f} s after the click (the page polls every 0.2 s here)", flush=True)
    check("audit.verify" not in desk.get(job_page), "the job page shows the task's code, not its name")

    step("the command line still checks the chain")
    verified = must(flask(env, "audit", "verify"), "audit verify")
    check("intact" in verified, f"audit verify: {verified}")

    step("the worker stops on SIGTERM")
    worker.send_signal(signal.SIGTERM)
    check(worker.wait(timeout=60) == 0, "the worker did not stop cleanly: " + (home / "worker.log").read_text()[-1500:])
    worker_text = (home / "worker.log").read_text()
    for secret_text in (*given.split(), *family.split(), CLERK_PASSWORD):
        check(secret_text not in worker_text, f"the worker's log carries {secret_text!r}")

    step("the server's log: JSON lines, request ids, nothing personal")
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    lines = [line for line in (home / "server.log").read_text().splitlines() if line.startswith("{")]
    requests = [json.loads(line) for line in lines if '"message": "request"' in line]
    check(len(requests) > 10, f"only {len(requests)} request lines in the log")
    check(all(r["request_id"].startswith("prodcheck-") for r in requests), "a request line lost nginx's request id")
    text = "\n".join(lines)
    for secret_text in (*given.split(), *family.split(), "recepcion", "203.0.113", CLERK_PASSWORD):
        check(secret_text not in text, f"the log carries {secret_text!r}")


if __name__ == "__main__":
    main()
