"""The region's desks as locust users, against servers in production configuration (bench.load starts
them and runs this file; see bench/README.md, "Under a region's load").

- reception desks (6 in 10): log in once, then over and over: search a name, open a profile from the
  results, and every 5th time register a newcomer through the form, acknowledging possible duplicates
  when the form shows them (half the newcomers share a name with someone already registered);
- caseworkers (2.5 in 10): their home, one of their cases, a note on it;
- hand-over desks (1 in 10): find a person, open what they may receive today, hand over what they may;
- centre managers (1 in 20): the dashboard and the vulnerability table.

Realistic desks think 5-15 s before each action (a page, a search, a form sent); saturated ones never.
Each simulated user has its own address (X-Forwarded-For, from the benchmarking range 198.18.0.0/15; the
servers trust one proxy), so the rate limits count desks as in production; ten users share an account.
The plan (accounts, names, cases) comes from bench.load_plan, in the file MSC_LOAD_PLAN names.

Environment: MSC_LOAD_PLAN, MSC_LOAD_HOSTS (comma-separated base URLs: users are spread over them),
MSC_LOAD_WAIT ("realistic": 5-15 s between actions; "none": no pause), MSC_LOAD_SAMPLES (a file that
gets every request's time, as JSON lines, when the run stops).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

from locust import between, constant, events, task
from locust.contrib.fasthttp import ErrorResponse, FastHttpUser
from locust.exception import StopUser

from bench.desk_form import NEW_HEAD_CONSENTED

PLAN: dict[str, Any] = (
    json.loads(Path(os.environ["MSC_LOAD_PLAN"]).read_text()) if os.environ.get("MSC_LOAD_PLAN") else {}
)
HOSTS = [h for h in os.environ.get("MSC_LOAD_HOSTS", "").split(",") if h]
WAIT = between(5, 15) if os.environ.get("MSC_LOAD_WAIT", "realistic") == "realistic" else constant(0)

_CSRF = re.compile(r'name="(?:[a-z]+-)?csrf_token" type="hidden" value="([^"]+)"')
_PROFILE = re.compile(r'href="/b/([A-Za-z0-9_-]+)"')
_GIVE = re.compile(r"/nfi/give/([A-Za-z0-9_-]+)")
_ACK = re.compile(r'name="acknowledged" type="hidden" value="([^"]*)"')
_HINTS_SEEN = re.compile(r'name="hints_seen" type="hidden" value="([^"]*)"')
_ERRORS = re.compile(r'class="[^"]*error[^"]*"[^>]*>([^<]+)<')
_ENTITLED = re.compile(r'<tr class="entitled[^"]*">.*?name="(qty-[^"]+)"', re.S)

_addresses = itertools.count()
_per_class: dict[str, itertools.count] = {}
_samples: list[dict] = []
_started = {"ramp_end": 0.0}


def csrf(page: str) -> str:
    found = _CSRF.search(page)
    if not found:
        raise AssertionError("no CSRF token on the page")
    return found.group(1)


class Desk(FastHttpUser):
    """A browser behind the proxy: its own address, an account shared with nine others, cookies kept."""

    abstract = True
    wait_time = WAIT
    role = ""
    network_timeout = 60.0
    connection_timeout = 60.0

    def __init__(self, environment: Any) -> None:
        n = next(_addresses)
        if HOSTS:
            self.host = HOSTS[n % len(HOSTS)]
        super().__init__(environment)
        self.address = f"198.18.{n // 250}.{n % 250 + 1}"
        i = next(_per_class.setdefault(self.role, itertools.count()))
        accounts = PLAN[self.role]
        self.account = accounts[(i // PLAN["per_account"]) % len(accounts)]
        self.centre = PLAN["centres"][self.account["centre"]]
        self.rng = random.Random(f"{n}-{time.time_ns()}")  # new people each run: new document numbers
        self.iteration = self.rng.randrange(5)  # the desks do not all register on the same round
        self.token = ""
        self.location = ""
        self.last_page = "/"
        self.cookies: dict[str, str] = {}
        self.client.client.cookiejar = None  # the cookies are Secure and the link is not: kept by hand

    def keep_cookies(self, res: Any) -> None:
        for name, value in res.headers.items():
            if name.lower() == "set-cookie":
                key, val = value.split(";")[0].split("=", 1)
                self.cookies[key] = val

    def headers(self) -> dict[str, str]:
        headers = {"X-Forwarded-For": self.address, "X-Forwarded-Proto": "https", "Accept-Language": "es"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def send(self, method: str, path: str, data: dict | None = None) -> tuple[int, str]:
        """One request, not followed, not counted: the status and the page."""
        headers = self.headers()
        if method == "POST":  # what a browser sends under Referrer-Policy: same-origin (checked over HTTPS)
            headers["Referer"] = f"https://{urllib.parse.urlsplit(self.host).netloc}{self.last_page}"
        else:
            self.last_page = path
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        agent = self.client.client
        codes, agent.redirect_response_codes = agent.redirect_response_codes, frozenset()
        try:
            res = self.client._send_request_safe_mode(
                method, self.client._build_url(path), payload=body, headers=headers
            )
        finally:
            agent.redirect_response_codes = codes
        if isinstance(res, ErrorResponse):  # no answer: refused, reset, timed out
            raise res.error
        self.keep_cookies(res)
        self.location = res.headers.get("Location") or ""
        return res.status_code, res.text or ""

    def act(self, method: str, path: str, name: str, data: dict | None = None, expect: tuple = (200,)) -> str:
        """One action as a person sees it: the request and the page a redirect leads to, timed and counted
        as one. A final status outside `expect` is a failure (a 429 from a rate limit too)."""
        began, started = time.time(), time.perf_counter()
        text, error = "", None
        try:
            status, text = self.send(method, path, data)
            for _ in range(3):
                if status not in (301, 302, 303) or 302 in expect:
                    break
                target = urllib.parse.urlsplit(self.location)
                status, text = self.send("GET", target.path + (f"?{target.query}" if target.query else ""))
            if status not in expect:
                error = AssertionError(f"HTTP {status}")
        except Exception as err:  # a refused or broken connection: counted, and the action ends
            error = err
        self.environment.events.request.fire(
            request_type=method,
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=len(text),
            exception=error,
            context={},
            response=None,
            start_time=began,
            url=path,
        )
        if error is not None:
            raise _Stop
        return text

    def on_start(self) -> None:
        """Log in once; a desk that cannot stops (the failure is counted)."""
        try:
            page = self.act("GET", "/login", "(login page)")
            form = {"csrf_token": csrf(page), "username": self.account["username"], "password": PLAN["password"]}
            self.act("POST", "/login", "login", {**form, "next": ""}, expect=(302,))
            self.token = csrf(self.act("GET", "/account", "(account)"))
        except _Stop:
            raise StopUser() from None

    def person(self) -> tuple[str, list[str]]:
        i = self.rng.randrange(len(self.centre["uids"]))
        return self.centre["uids"][i], self.centre["names"][i]


class _Stop(Exception):
    """A request failed: this iteration ends (locust counted the failure)."""


class ReceptionDesk(Desk):
    weight = 12
    role = "desks"

    @task
    def visit(self) -> None:
        try:
            self.iteration += 1
            uid, (given, family) = self.person()
            page = self.act("POST", "/search", "search", {"csrf_token": self.token, "q": f"{given} {family}"})
            found = _PROFILE.findall(page)
            self.wait()
            self.act("GET", f"/b/{self.rng.choice(found) if found else uid}", "profile")
            if self.iteration % 5 == 0:
                self.wait()
                self.register(given, family)
        except _Stop:
            pass

    def register(self, given: str, family: str) -> None:
        """The registration form, as a clerk fills it; a second send when it shows possible duplicates."""
        token = csrf(self.act("GET", "/register", "register form"))
        self.wait()  # the form filled in
        if self.rng.random() < 0.5:  # a namesake of someone already here, or a relative
            given = self.rng.choice(self.centre["names"])[0]
        else:
            given, family = self.rng.choice(self.centre["names"])[0], self.rng.choice(self.centre["names"])[1]
        today = dt.date.today()
        form = {
            "csrf_token": token,
            "given_names": given,
            "family_names": family,
            "sex": self.rng.choice(["female", "male"]),
            "date_of_birth": (today - dt.timedelta(days=self.rng.randint(18 * 365, 60 * 365))).isoformat(),
            "estimated_age": "",
            "nationality": "VEN",
            "document_type": "passport",
            "document_number": f"L{self.rng.randrange(10**9):09d}",
            "phone": f"+58 41{self.rng.randint(2, 6)} {self.rng.randint(100, 999)} {self.rng.randint(1000, 9999)}",
            "arrival_date": (today - dt.timedelta(days=self.rng.randint(0, 20))).isoformat(),
            "entry_point": "other",
            "languages": "es",
            **NEW_HEAD_CONSENTED,
            "acknowledged": "",
        }
        page = self.act("POST", "/register", "register", form, expect=(302, 422))
        if "acknowledged" in page:  # 422: possible duplicates, looked at, then registered anyway
            # (in reach, acknowledged; records at other centres shown as hints, seen: the desk goes on)
            found, hints = _ACK.search(page), _HINTS_SEEN.search(page)
            seen = hints.group(1) if hints else ""
            if not found or not (found.group(1) or seen):
                problems = "; ".join(p.strip() for p in _ERRORS.findall(page))[:200]
                self.environment.events.request.fire(
                    request_type="POST",
                    name="register (refused)",
                    response_time=0,
                    response_length=0,
                    exception=AssertionError(f"refused without duplicates: {problems}"),
                    context={},
                )
                return
            again = {**form, "acknowledged": found.group(1)}
            if seen:
                again["hints_seen"] = seen
            self.act("POST", "/register", "register (duplicates acknowledged)", again, expect=(302,))


class Caseworker(Desk):
    weight = 5
    role = "caseworkers"

    @task
    def visit(self) -> None:
        try:
            self.act("GET", "/cases/", "caseworker home")
            if not self.account["cases"]:
                return
            case = self.rng.choice(self.account["cases"])
            self.wait()
            page = self.act("GET", f"/cases/{case}", "case")
            self.wait()
            note = {"note-csrf_token": csrf(page), "note-body": "Llamada de seguimiento; sin novedades."}
            self.act("POST", f"/cases/{case}/notes", "case note", note)
        except _Stop:
            pass


class HandOverDesk(Desk):
    weight = 2
    role = "nfi"

    @task
    def visit(self) -> None:
        try:
            uid, (given, family) = self.person()
            query = {"csrf_token": self.token, "q": f"{given} {family}"}
            page = self.act("POST", "/nfi/find", "hand-over search", query, expect=(200, 302))
            found = _GIVE.findall(self.location or page)
            uid = self.rng.choice(found) if found else uid
            self.wait()
            page = self.act("GET", f"/nfi/give/{uid}", "hand-over form")
            rows = _ENTITLED.findall(page)[:2]
            if not rows:
                return
            data = {"csrf_token": csrf(page), "collected_by": "self", "ack_method": "thumbprint"}
            data.update({row: "1" for row in rows})
            self.wait()
            self.act("POST", f"/nfi/give/{uid}", "hand-over", data)
        except _Stop:
            pass


class Manager(Desk):
    weight = 1
    role = "managers"

    @task
    def visit(self) -> None:
        try:
            self.act("GET", "/reports/", "dashboard")
            self.wait()
            self.act("GET", "/reports/vulnerability", "vulnerability table")
        except _Stop:
            pass


@events.request.add_listener
def _keep(request_type: str, name: str, response_time: float, exception: Any = None, **_kw: Any) -> None:
    _samples.append({"kind": "request", "t": time.time(), "name": name, "ms": response_time, "error": bool(exception)})


@events.spawning_complete.add_listener
def _spawned(user_count: int, **_kw: Any) -> None:
    _started["ramp_end"] = time.time() + 10.0  # the last desks log in


@events.quitting.add_listener
def _write(**_kw: Any) -> None:
    target = os.environ.get("MSC_LOAD_SAMPLES")
    if target:
        with open(target, "w") as out:
            out.write(json.dumps({"kind": "meta", "ramp_end": _started["ramp_end"]}) + "\n")
            for sample in _samples:
                out.write(json.dumps(sample) + "\n")
