"""Saturated throughput through real servers: many desks at once, no pause, at 1, 2 and 4 gunicorn workers
(and two gunicorn instances on one database). Requests per second must grow with the workers.

Each desk is a thread with one keep-alive connection, logged in as a demo user, searching a name and
opening a profile from the results, over and over; every search and every profile view writes an audit
record. The trivial authenticated page (/account, no audit record) runs the same way first, as the
baseline of what the server and the machine give.

The servers are started by the script, in production configuration, from the environment bench/live.py
describes (MSC_CONFIG=production, MSC_DATABASE_URL, MSC_KEYS_FILE, ... with the demo data loaded; add
each port to MSC_EXTRA_TRUSTED_HOSTS):

    python -m bench.saturate --workers 1 2 4 --instances 1 --desks 50 --seconds 20
    python -m bench.saturate --workers 2 --instances 2      # two servers on the same database

--app-dir runs the servers from another checkout (to compare with an earlier version).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from bench.live import Client, csrf

CHAIN_LOCK = 727_401  # msc.security.audit's advisory lock id
NAMES = ["Maria", "Jose", "Perez", "Rodriguez", "Garcia", "Gonzalez", "Silva", "Martinez", "Lopez", "Rojas"]


@dataclass
class Tally:
    """What the desks saw: each request's time, and the failures."""

    took: list[float] = field(default_factory=list)
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, took: list[float], failed: int) -> None:
        with self.lock:
            self.took += took
            self.failed += failed


def serve(app_dir: Path, port: int, workers: int) -> subprocess.Popen:
    """A gunicorn in production configuration, answering once it does."""
    env = {**os.environ, "PYTHONPATH": str(app_dir)}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=app_dir,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status = Client(port).send("GET", "/login")[0]
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    stop(proc)
    raise SystemExit(f"the server on port {port} did not answer")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


def desk_trivial(client: Client, _uids: list[str], _rng: random.Random) -> list[float]:
    status, _, took = client.send("GET", "/account")
    assert status == 200, status
    return [took]


def desk_casework(client: Client, uids: list[str], rng: random.Random) -> list[float]:
    """A search, then a profile: as a desk does, over and over."""
    token = client.token  # type: ignore[attr-defined]
    status, page, took_search = client.send("POST", "/search", {"csrf_token": token, "q": rng.choice(NAMES)})
    assert status == 200, status
    found = re.findall(r'href="/b/([^"/]+)"', page)
    status, _, took_profile = client.send("GET", f"/b/{rng.choice(found or uids)}")
    assert status == 200, status
    return [took_search, took_profile]


class LockSampler(threading.Thread):
    """On PostgreSQL, look at the audit chain's writer lock every 20 ms: how often someone holds it, and
    how many connections wait for it."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = sa.create_engine(url)
        self.samples: list[tuple[int, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        stmt = sa.text(
            "SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted) FROM pg_locks"
            " WHERE locktype = 'advisory' AND classid = 0 AND objid = :k AND objsubid = 1"
        )
        with self.engine.connect() as conn:
            while not self.done.wait(0.02):
                held, waiting = conn.execute(stmt, {"k": CHAIN_LOCK}).one()
                conn.rollback()
                self.samples.append((held, waiting))

    def summary(self) -> str:
        self.done.set()
        self.join()
        n = len(self.samples) or 1
        held = sum(1 for h, _ in self.samples if h) / n
        waiting = sum(w for _, w in self.samples) / n
        return f"chain lock held in {held:.0%} of {len(self.samples)} samples, {waiting:.1f} waiting on average"


def log_in(ports: list[int], desks: int, user: str) -> list[Client]:
    """One logged-in client per desk, spread over the servers."""
    clients = []
    for i in range(desks):
        client = Client(ports[i % len(ports)])
        client.login(user)
        client.token = csrf(client.send("GET", "/")[1])  # type: ignore[attr-defined]
        clients.append(client)
    return clients


def run(clients: list[Client], seconds: float, uids: list[str], work: Callable, url: str | None = None) -> tuple:
    """The desks all working at once for a while: requests/s, p50, p95 (ms), failures, and what a lock
    sampler saw (PostgreSQL, when `url` is given)."""
    tally = Tally()
    start = threading.Barrier(len(clients) + 1)
    stop_at: list[float] = []

    def desk(client: Client, seed: int) -> None:
        rng = random.Random(seed)
        took: list[float] = []
        failed = 0
        start.wait()
        while time.perf_counter() < stop_at[0]:
            try:
                took += work(client, uids, rng)
            except (AssertionError, OSError):
                failed += 1
        tally.add(took, failed)

    threads = [threading.Thread(target=desk, args=(c, i)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    sampler = LockSampler(url) if url and url.startswith("postgresql") else None
    began = time.perf_counter()
    stop_at.append(began + seconds)
    if sampler:
        sampler.start()
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    locks = sampler.summary() if sampler else ""
    took = sorted(tally.took)
    p95 = took[max(0, int(0.95 * len(took)) - 1)] * 1000 if took else 0.0
    return len(took) / elapsed, statistics.median(took) * 1000 if took else 0.0, p95, tally.failed, locks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--instances", type=int, default=1, help="gunicorn servers on the same database")
    parser.add_argument("--port", type=int, default=5101, help="the first server's port (the next ones follow)")
    parser.add_argument("--desks", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--user", default="gestora")
    parser.add_argument("--app-dir", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--sample-locks", action="store_true", help="PostgreSQL: sample the chain's writer lock")
    args = parser.parse_args()
    with sa.create_engine(os.environ["MSC_DATABASE_URL"]).connect() as db:
        uids = list(
            db.execute(
                sa.text(
                    "SELECT b.uid FROM beneficiaries b JOIN centres c ON c.id = b.centre_id"
                    " WHERE c.code IN ('COL-CUC', 'COL-IPI') ORDER BY b.id LIMIT 500"
                )
            ).scalars()
        )
    for workers in args.workers:
        ports = [args.port + i for i in range(args.instances)]
        servers = [serve(args.app_dir, port, workers) for port in ports]
        try:
            label = f"{args.instances} x {workers} worker(s)" if args.instances > 1 else f"{workers} worker(s)"
            pages = [] if args.skip_baseline else [("trivial page (/account)", desk_trivial)]
            clients = log_in(ports, args.desks, args.user)
            for name, work in [*pages, ("search -> profile", desk_casework)]:
                url = os.environ["MSC_DATABASE_URL"] if args.sample_locks else None
                rps, p50, p95, failed, locks = run(clients, args.seconds, uids, work, url)
                print(
                    f"{label}, {args.desks} desks, {name}: {rps:.1f} requests/s, p50 {p50:.0f} ms, "
                    f"p95 {p95:.0f} ms, {failed} failed" + (f"; {locks}" if locks else ""),
                    flush=True,
                )
        finally:
            for proc in servers:
                stop(proc)


if __name__ == "__main__":
    main()
