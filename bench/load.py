"""Under a region's load: locust desks against gunicorn (production configuration) on PostgreSQL, with the
rate limiter on Redis, as in production. One command runs it all and prints the tables (bench/README.md):

    make bench-load                      # = python -m bench.load (installs the bench extra first)
    python -m bench.load --prepare demo --people 3000      # a fresh database of demo data first

What it does, in order:

1. the environment a server needs (production configuration; a key file, a secret and a witness file kept
   under --home so the database stays readable between runs; the limiter on Redis --redis, its keys under
   their own prefix; PROXY_FIX_X_FOR=1 so each simulated desk is counted on its own X-Forwarded-For);
2. with --prepare demo: `flask db upgrade` and `flask demo load --people N` into --database-url (a database
   of 100k people comes from the people loader instead, run with the same environment: see the README);
3. the bench's accounts, cases and stock (bench.locustfile's plan, idempotent): reception desks (one
   account per 10 desks), caseworkers with cases of their own, hand-over desks, centre managers;
4. realistic desks (one action every 5-15 s) stepped up (--steps) on --workers workers until the p95 of
   the actions reaches 300 ms or a request fails;
5. saturated (no pause) at 1, 2 and 4 workers, and two servers of 2 workers each on the same database;
6. after each run: the server's CPU-ms and milliseconds per endpoint from its JSON request log (cpu_ms is
   the worker's process time during the request: exact for gunicorn's sync workers, which serve one
   request at a time), and each worker's resident memory (VmRSS) before it is stopped.

Locust runs on the same machine (and the same cores) as the servers and the database: its own CPU time
is printed beside each run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PUBLIC_URL = "https://msc.example.org"
TARGET_P95_MS = 300.0


# ---- the environment ------------------------------------------------------------------------------


def environment(home: Path, database_url: str, redis_url: str, ports: list[int]) -> dict[str, str]:
    """A production environment (config/deploy/msc.env.example) with its secrets kept under `home`."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / "witness").mkdir(exist_ok=True, mode=0o700)
    secret_file = home / "secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(32))
        secret_file.chmod(0o600)
    hosts = ["127.0.0.1"] + [f"127.0.0.1:{p}" for p in ports]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MSC_")},
        "PYTHONPATH": str(ROOT),
        "MSC_CONFIG": "production",
        "MSC_INSTANCE_PATH": str(home / "instance"),
        "MSC_DATABASE_URL": database_url,
        "MSC_SECRET_KEY": secret_file.read_text().strip(),
        "MSC_KEYS_FILE": str(home / "keys.json"),
        "MSC_PUBLIC_URL": PUBLIC_URL,
        "MSC_EXTRA_TRUSTED_HOSTS": ",".join(hosts),
        "MSC_AUDIT_WITNESS_FILE": str(home / "witness" / "audit-witness.log"),
        "MSC_RATELIMIT_STORAGE_URI": redis_url,
        "MSC_RATELIMIT_KEY_PREFIX": "msc-bench-load",
        "MSC_PROXY_FIX_X_FOR": "1",
        "MSC_LOG_FORMAT": "json",
        "MSC_LOG_REQUESTS": "true",
    }
    if not (home / "keys.json").exists():
        flask(env, "keys", "init")
    return env


def flask(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [str(BIN / "flask"), "--app", "msc", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def ensure_database(database_url: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare_plan(env: dict[str, str], desks: int, plan_file: Path) -> dict:
    """Run the plan's setup in a process of its own, with the server's environment."""
    code = (
        "import json, sys; from bench.load_plan import setup_plan; "
        f"json.dump(setup_plan(desks={desks}), open({str(plan_file)!r}, 'w'))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"the bench's accounts could not be made:\n{out.stderr[-3000:]}")
    return json.loads(plan_file.read_text())


# ---- servers -------------------------------------------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def rss_mb(self) -> list[float]:
        """Each worker's resident memory (VmRSS), in MB."""
        sizes = []
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)


def serve(env: dict[str, str], port: int, workers: int, log: Path) -> Server:
    """gunicorn as config/deploy/msc-web.service starts it (sync workers), on a TCP port; the app's JSON
    lines go to `log`."""
    import http.client

    out = log.open("w")
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--timeout", "60"]
        + ["--forwarded-allow-ips", "127.0.0.1", "--no-control-socket", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(proc, port, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200 and len(server.workers()) == workers:
                return server
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    server.stop()
    raise SystemExit(f"the server on port {port} did not start:\n{log.read_text()[-3000:]}")


def pg_cpu(database_url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the database (this machine's /proc)."""
    import psycopg

    parts = urllib.parse.urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))]
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


# ---- locust --------------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    users: int
    seconds: float
    samples: list[dict]
    ramp_end: float
    locust_cpu_s: float
    rss_mb: list[float]
    server_lines: list[dict]
    pg_cpu_s: float = 0.0

    def steady(self) -> list[dict]:
        """The requests sent after the last desk logged in (the login wave is reported on its own)."""
        return [s for s in self.samples if s["t"] >= self.ramp_end and s["name"] != "login"]

    def actions(self) -> list[dict]:
        return [s for s in self.steady() if not s["name"].startswith("(")]


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))]


def locust(
    env: dict[str, str], plan_file: Path, ports: list[int], users: int, seconds: float, wait: str, out_dir: Path
) -> tuple[list[dict], float, float]:
    """One headless locust run: every request's time, when the last desk had logged in, locust's CPU s."""
    samples_file = out_dir / "samples.jsonl"
    run_env = {
        **env,
        "MSC_LOAD_PLAN": str(plan_file),
        "MSC_LOAD_HOSTS": ",".join(f"http://127.0.0.1:{p}" for p in ports),
        "MSC_LOAD_WAIT": wait,
        "MSC_LOAD_SAMPLES": str(samples_file),
    }
    spawn_rate = max(5.0, users / 30)  # the desks log in over at most 30 s, as a morning does
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--only-summary"]
        + ["-u", str(users), "-r", f"{spawn_rate:.1f}", "-t", f"{int(seconds)}s", "--stop-timeout", "20"]
        + ["--host", f"http://127.0.0.1:{ports[0]}", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    (out_dir / "locust.log").write_text(out.stdout + out.stderr)
    if not samples_file.exists():
        raise SystemExit(f"locust wrote no samples:\n{(out.stdout + out.stderr)[-3000:]}")
    lines = [json.loads(line) for line in samples_file.read_text().splitlines()]
    meta = next((x for x in lines if x.get("kind") == "meta"), {})
    samples = [x for x in lines if x.get("kind") == "request"]
    return samples, float(meta.get("ramp_end", 0.0)), cpu


def start(env: dict[str, str], workers: int, instances: int, base_port: int, out_dir: Path) -> list[Server]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [serve(env, base_port + i, workers, out_dir / f"server-{base_port + i}.log") for i in range(instances)]


def stop_all(servers: list[Server]) -> None:
    for s in servers:
        s.stop()


def warm_up(env: dict[str, str], plan_file: Path, servers: list[Server], out_dir: Path) -> None:
    """Every page once in every worker before measuring (templates compiled, connections open)."""
    warm = out_dir / "warm-up"
    warm.mkdir(parents=True, exist_ok=True)
    locust(env, plan_file, [s.port for s in servers], 8 * len(servers), 20, "none", warm)


def measure(
    label: str,
    env: dict[str, str],
    plan_file: Path,
    servers: list[Server],
    users: int,
    seconds: float,
    wait: str,
    out_root: Path,
) -> Run:
    """One locust run against running servers; their request lines of that run; the workers' memory after."""
    out_dir = out_root / label.replace(" ", "_").replace("/", "-")
    out_dir.mkdir(parents=True, exist_ok=True)
    offsets = [s.log.stat().st_size for s in servers]
    database_url = env["MSC_DATABASE_URL"]
    pg_before = pg_cpu(database_url)
    samples, ramp_end, cpu = locust(env, plan_file, [s.port for s in servers], users, seconds, wait, out_dir)
    pg_after = pg_cpu(database_url)
    pg_used = sum(t - pg_before.get(pid, 0.0) for pid, t in pg_after.items())
    rss = [mb for s in servers for mb in s.rss_mb()]
    lines = []
    for s, offset in zip(servers, offsets, strict=True):
        with s.log.open() as f:
            f.seek(offset)
            for line in f:
                if line.startswith("{") and '"message": "request"' in line:
                    lines.append(json.loads(line))
    return Run(label, users, seconds, samples, ramp_end, cpu, rss, lines, pg_used)


# ---- reports -------------------------------------------------------------------------------------


def summary(run: Run) -> dict[str, float]:
    steady = run.steady()
    actions = run.actions()
    t0 = min((s["t"] for s in steady), default=0.0)
    t1 = max((s["t"] for s in steady), default=0.0)
    took = [s["ms"] for s in actions]
    return {
        "requests": len(steady),
        "rps": len(steady) / (t1 - t0) if t1 > t0 else 0.0,
        "p50": pct(took, 50),
        "p95": pct(took, 95),
        "errors": sum(1 for s in run.samples if s["error"]),
        "logins": sum(1 for s in run.samples if s["name"] == "login"),
        "login_p95": pct([s["ms"] for s in run.samples if s["name"] == "login"], 95),
    }


def print_run(run: Run) -> dict[str, float]:
    s = summary(run)
    rss = ", ".join(f"{mb:.0f}" for mb in run.rss_mb)
    print(
        f"{run.label}: {run.users} desks, {s['rps']:.1f} requests/s, actions p50 {s['p50']:.0f} ms, "
        f"p95 {s['p95']:.0f} ms, {int(s['errors'])} errors; {int(s['logins'])} logins (p95 "
        f"{s['login_p95']:.0f} ms); locust used {run.locust_cpu_s:.0f} CPU-s and PostgreSQL {run.pg_cpu_s:.0f} "
        f"in {run.seconds:.0f} s; "
        f"worker RSS MB: {rss}; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return s


def print_actions(run: Run) -> None:
    by: dict[str, list[dict]] = defaultdict(list)
    for s in run.steady():
        by[s["name"]].append(s)
    print(f"  per action ({run.label}):")
    for name in sorted(by):
        ms = [s["ms"] for s in by[name]]
        bad = sum(1 for s in by[name] if s["error"])
        print(f"    {name:<34} n={len(ms):>5}  p50 {pct(ms, 50):>6.0f} ms  p95 {pct(ms, 95):>6.0f} ms  errors {bad}")


def print_cpu(run: Run) -> None:
    """CPU-ms and milliseconds per endpoint, from the server's request lines."""
    by: dict[str, list[dict]] = defaultdict(list)
    for line in run.server_lines:
        by[f"{line['method']} {line.get('endpoint')}"].append(line)
    total = sum(line.get("cpu_ms") or 0.0 for line in run.server_lines) / 1000
    steady = run.steady()
    span = (max(s["t"] for s in steady) - min(s["t"] for s in run.samples)) if steady else run.seconds
    cores = (total + run.pg_cpu_s) / span
    per_request = (total + run.pg_cpu_s) / len(run.server_lines) * 1000 if run.server_lines else 0.0
    print(
        f"  server workers: {total:.0f} CPU-s and PostgreSQL's backends {run.pg_cpu_s:.0f} CPU-s over {span:.0f} s "
        f"of the run: {cores:.2f} cores on average, {len(run.server_lines)} requests, {per_request:.0f} CPU-ms each"
    )
    print(f"  server CPU per request type ({run.label}; cpu_ms from the request log):")
    print(f"    {'endpoint':<40} {'n':>6} {'cpu ms mean':>12} {'cpu p95':>8} {'ms mean':>8} {'ms p95':>7}")
    for key in sorted(by, key=lambda k: -len(by[k])):
        rows = by[key]
        cpu = [r["cpu_ms"] for r in rows if r.get("cpu_ms") is not None]
        wall = [r["duration_ms"] for r in rows if r.get("duration_ms") is not None]
        if not cpu:
            continue
        print(
            f"    {key:<40} {len(rows):>6} {statistics.fmean(cpu):>12.1f} {pct(cpu, 95):>8.1f}"
            f" {statistics.fmean(wall):>8.1f} {pct(wall, 95):>7.1f}"
        )


def estimate(runs: list[Run]) -> None:
    """What the CPU says: the requests a desk sends when nothing queues (the first step's rate, per desk) times
    the CPU a request costs (the servers' workers and PostgreSQL's backends, each step's own figure)."""
    first = runs[0]
    span = max(s["t"] for s in first.samples) - min(s["t"] for s in first.samples)
    rate = len(first.server_lines) / span / first.users
    for run in runs:
        if not run.server_lines:
            continue
        cpu = (sum(line.get("cpu_ms") or 0.0 for line in run.server_lines) / 1000 + run.pg_cpu_s) / len(
            run.server_lines
        )
        print(
            f"CPU-bound estimate from {run.label}: {cpu * 1000:.0f} CPU-ms a request (workers + PostgreSQL), "
            f"{rate:.3f} requests/s a desk ({first.label}): 2 cores at 70 % serve about {1.4 / (cpu * rate):.0f} "
            "desks (locust, the rest of the machine and the network stack not counted)",
            flush=True,
        )


# ---- the run -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/msc_load")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="the rate limiter's storage")
    parser.add_argument("--home", type=Path, default=ROOT / "instance" / "bench-load", help="keys, secret, witness")
    parser.add_argument("--port", type=int, default=5240, help="the first server's port (a second one: +1)")
    parser.add_argument("--prepare", choices=["none", "demo"], default="none")
    parser.add_argument("--people", type=int, default=3000, help="with --prepare demo")
    parser.add_argument("--workers", type=int, default=8, help="workers for the realistic steps (msc-web.service's)")
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 200, 300, 400, 500, 600, 800])
    parser.add_argument("--step-seconds", type=float, default=100)
    parser.add_argument("--saturate-workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--saturate-users", type=int, default=24)
    parser.add_argument("--saturate-seconds", type=float, default=40)
    parser.add_argument("--all-steps", action="store_true", help="run every step even past the target")
    parser.add_argument("--skip-realistic", action="store_true")
    parser.add_argument("--skip-saturated", action="store_true")
    parser.add_argument("--skip-instances", action="store_true", help="no run of two servers on one database")
    parser.add_argument("--out", type=Path, default=None, help="logs and samples (default: a temporary folder)")
    args = parser.parse_args()

    ensure_database(args.database_url)
    env = environment(args.home, args.database_url, args.redis, [args.port, args.port + 1])
    if args.prepare == "demo":
        flask(env, "db", "upgrade")
        print(flask(env, "demo", "load", "--people", str(args.people)).strip(), flush=True)
    else:
        flask(env, "db", "upgrade")
    out_root = args.out or Path(tempfile.mkdtemp(prefix="msc-load-"))
    out_root.mkdir(parents=True, exist_ok=True)
    plan_file = out_root / "plan.json"
    plan = prepare_plan(env, max([*args.steps, args.saturate_users]), plan_file)
    print(
        f"database {urllib.parse.urlsplit(args.database_url).path.lstrip('/')}: {plan['people']} people, "
        f"{plan['cases']} cases; {len(plan['desks'])} reception, {len(plan['caseworkers'])} caseworker, "
        f"{len(plan['nfi'])} hand-over and {len(plan['managers'])} manager accounts; {os.cpu_count()} cores; "
        f"logs in {out_root}",
        flush=True,
    )

    if not args.skip_realistic:
        print(f"\n== Realistic desks (one action every 5-15 s), {args.workers} workers, {args.step_seconds:.0f} s each")
        served = 0
        last = None
        runs: list[Run] = []
        servers = start(env, args.workers, 1, args.port, out_root / "realistic")
        try:
            warm_up(env, plan_file, servers, out_root / "realistic")
            for users in args.steps:
                run = measure(
                    f"realistic {users}", env, plan_file, servers, users, args.step_seconds, "realistic", out_root
                )
                s = print_run(run)
                runs.append(run)
                if s["p95"] >= TARGET_P95_MS or s["errors"]:
                    print_actions(run)
                    print_cpu(run)
                    if args.all_steps:
                        continue
                    break
                served, last = users, run
        finally:
            stop_all(servers)
        print(f"realistic: {served} desks served with p95 < {TARGET_P95_MS:.0f} ms and no error", flush=True)
        if runs:
            estimate(runs)
        if last is not None:
            print_actions(last)
            print_cpu(last)

    if not args.skip_saturated:
        print(f"\n== Saturated (no pause), {args.saturate_users} desks, {args.saturate_seconds:.0f} s each")
        configs = [(w, 1) for w in args.saturate_workers] + ([] if args.skip_instances else [(2, 2)])
        for workers, instances in configs:
            label = f"saturated {instances}x{workers}" if instances > 1 else f"saturated {workers}w"
            servers = start(env, workers, instances, args.port, out_root / label.replace(" ", "_"))
            try:
                warm_up(env, plan_file, servers, out_root / label.replace(" ", "_"))
                run = measure(
                    label, env, plan_file, servers, args.saturate_users, args.saturate_seconds, "none", out_root
                )
            finally:
                stop_all(servers)
            print_run(run)
            if workers == 2 and instances == 1:
                print_actions(run)
                print_cpu(run)


if __name__ == "__main__":
    main()
