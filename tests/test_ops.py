"""Production operations: health checks, the JSON operations log, error reporting, `flask keys init`."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import pytest

from msc.settings import ROOT
from tests.conftest import csrf, limited_app

STRONG = "kQ7v1xN3c0Zr9TjW5mYbL2pHsE8dFgA4uVwXo6iKyRt"


# ---- health checks -------------------------------------------------------------------------------


def test_healthz_answers_without_a_login_and_says_nothing_else(client):
    res = client.get("/healthz")
    assert res.status_code == 200 and res.json == {"status": "ok"}
    assert "Set-Cookie" not in res.headers


def test_readyz_checks_the_database_and_the_keys(client):
    res = client.get("/readyz")
    assert res.status_code == 200
    assert res.json == {"status": "ok", "checks": {"database": "ok", "keys": "ok"}}


def test_readyz_answers_503_naming_the_check_that_failed(app, client, monkeypatch, caplog):
    from msc.ops import health

    def broken():
        raise ConnectionError("could not connect to server at 10.0.0.9 as msc")

    monkeypatch.setattr(health, "_database", broken)
    res = client.get("/readyz")
    assert res.status_code == 503
    assert res.json == {"status": "unavailable", "checks": {"database": "failed", "keys": "ok"}}
    assert "10.0.0.9" not in res.get_data(as_text=True) and "10.0.0.9" not in caplog.text
    assert "readiness check database failed: ConnectionError" in caplog.text


def test_readyz_checks_redis_where_the_configuration_uses_it(app):
    import redis

    def ready(storage: str):
        other = limited_app(app, RATELIMIT_STORAGE_URI=storage)
        try:
            res = other.test_client().get("/readyz")
            return res.status_code, res.json
        finally:
            other.extensions["msc.engine"].dispose()

    status, body = ready("redis://127.0.0.1:1/0")
    assert status == 503 and body["checks"]["redis"] == "failed"
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    assert ready("redis://127.0.0.1:6379/0") == (
        200,
        {"status": "ok", "checks": {"database": "ok", "keys": "ok", "redis": "ok"}},
    )


def test_health_checks_are_never_rate_limited(app):
    limited = limited_app(app, RATELIMIT_DEFAULT="2 per minute")
    try:
        client = limited.test_client()
        assert [client.get("/healthz").status_code for _ in range(5)] == [200] * 5
        assert [client.get("/readyz").status_code for _ in range(5)] == [200] * 5
    finally:
        limited.extensions["msc.engine"].dispose()


# ---- the operations log --------------------------------------------------------------------------


@pytest.fixture
def json_log(app):
    """The app's log as JSON lines, one request line per request."""
    from msc.ops.logs import JsonFormatter

    app.config.update(LOG_REQUESTS=True)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    app.logger.addHandler(handler)
    level = app.logger.level
    app.logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    app.logger.removeHandler(handler)
    app.logger.setLevel(level)


def test_each_request_logs_its_route_status_duration_and_a_pseudonym_never_a_name(app, make, auth, client, json_log):
    uid = make.person(
        given_names="Yorleidys", family_names="Contreras Ardila", document_type="passport", document_number="V-20111222"
    )
    user_id = make.user("recepcion", "reception", centres=("COL-CUC",))
    auth.login("recepcion")
    res = client.post("/search", data={"q": "Yorleidys Contreras", "csrf_token": csrf(client, "/")})
    assert res.status_code in (200, 302)
    assert client.get(f"/b/{uid}").status_code == 200
    lines = json_log()
    raw = json.dumps(lines)
    for secret in ("Yorleidys", "Contreras", "V-20111222", uid, "recepcion", "csrf"):
        assert secret not in raw, secret
    requests = [line for line in lines if line["message"] == "request"]
    profile = next(line for line in requests if line["endpoint"] == "beneficiaries.profile")
    assert profile["route"] == "/b/<uid>" and profile["method"] == "GET" and profile["status"] == 200
    assert isinstance(profile["duration_ms"], float) and len(profile["request_id"]) == 32
    assert len(profile["user"]) == 16 and profile["user"] != str(user_id)
    search = next(line for line in requests if line["endpoint"] == "beneficiaries.search")
    assert search["user"] == profile["user"]  # the same account, followed across requests
    assert all(set(line) >= {"time", "level", "logger", "message"} for line in lines)


def test_each_request_line_carries_the_cpu_time_the_request_took(app, client, json_log, monkeypatch):
    """cpu_ms: the process time spent between the request's start and its line (exact for sync workers)."""
    import itertools

    from msc.ops import logs

    ticks = itertools.chain([10.0], itertools.repeat(10.0375))  # the start of the request, then later
    monkeypatch.setattr(logs.time, "process_time", lambda: next(ticks))
    client.get("/login")
    (line,) = [line for line in json_log() if line["message"] == "request"]
    assert line["cpu_ms"] == 37.5 and line["endpoint"] == "auth.login"
    monkeypatch.undo()
    client.get("/login")
    real = json_log()[-1]
    assert isinstance(real["cpu_ms"], float) and 0 <= real["cpu_ms"] <= real["duration_ms"] + 5


def test_the_request_id_comes_from_the_proxy_when_it_looks_like_one(client, json_log):
    res = client.get("/login", headers={"X-Request-ID": "nginx-4f9a1c2b7d"})
    assert res.headers["X-Request-ID"] == "nginx-4f9a1c2b7d"
    res = client.get("/login", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert res.headers["X-Request-ID"] != "<script>alert(1)</script>" and len(res.headers["X-Request-ID"]) == 32
    assert "<script>" not in json.dumps(json_log())
    assert [line["request_id"] for line in json_log()][0] == "nginx-4f9a1c2b7d"


def test_health_checks_stay_out_of_the_request_log(client, json_log):
    client.get("/healthz")
    client.get("/readyz")
    assert json_log() == []


def test_production_logs_json_lines(tmp_path):
    """LOG_FORMAT=json replaces the app's handler with JSON lines on stderr."""
    from msc import create_app

    app = create_app(
        "testing",
        {"INSTANCE_PATH": str(tmp_path), "GENERATE_KEYS": True, "LOG_FORMAT": "json", "LOG_REQUESTS": True},
    )
    try:
        (handler,) = app.logger.handlers
        record = logging.makeLogRecord({"msg": "unhandled %s at %s", "args": ("KeyError", "x"), "levelname": "ERROR"})
        line = json.loads(handler.formatter.format(record))
        assert line["message"] == "unhandled KeyError at x" and line["level"] == "error"
    finally:
        app.extensions["msc.engine"].dispose()


# ---- error reporting -----------------------------------------------------------------------------


def _capturing_transport():
    """A sentry-sdk transport that keeps the events it would send."""
    from sentry_sdk.transport import Transport

    class Captured(Transport):
        events: list[dict] = []

        def capture_envelope(self, envelope):
            self.events.extend(item.payload.json for item in envelope.items if item.type == "event")

    Captured.events = []
    return Captured({"dsn": "https://public@errors.example.invalid/1"})


def test_error_reports_carry_the_error_type_and_place_never_a_value(tmp_path, keys_file, db_url):
    import shutil

    import sentry_sdk

    from msc.security.policy import public
    from tests.conftest import _new_app

    own_keys = tmp_path / "keys.json"
    shutil.copyfile(keys_file, own_keys)
    captured = _capturing_transport()
    app = _new_app(
        tmp_path,
        db_url,
        own_keys,
        SENTRY_DSN="https://public@errors.example.invalid/1",
        SENTRY_TRANSPORT=captured,
        PROPAGATE_EXCEPTIONS=False,
    )

    @public
    def boom():
        name = "Yorleidys Contreras"  # noqa: F841 - a local a report must not carry
        raise ValueError("duplicate key (document)=(V-20111222) for Yorleidys Contreras")

    app.add_url_rule("/boom", "boom", boom)
    try:
        res = app.test_client().get("/boom?q=Yorleidys", headers={"Cookie": "msc_session=sesion-xyzw"})
        assert res.status_code == 500 and "Yorleidys" not in res.get_data(as_text=True)
        sentry_sdk.flush()
        assert len(captured.events) == 1
        event = json.dumps(captured.events[0])
        assert "ValueError" in event and "boom" in event
        for value in ("Yorleidys", "V-20111222", "msc_session", "sesion-xyzw", "q="):
            assert value not in event, value
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)
        app.extensions["msc.engine"].dispose()


def test_without_a_dsn_nothing_is_reported(app):
    import sentry_sdk

    assert not sentry_sdk.get_client().is_active()


# ---- flask keys init, and production's database -------------------------------------------------


def _flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "msc", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _production(tmp_path) -> dict:
    (tmp_path / "etc").mkdir(mode=0o700)
    return {
        "MSC_CONFIG": "production",
        "MSC_INSTANCE_PATH": str(tmp_path / "instance"),
        "MSC_KEYS_FILE": str(tmp_path / "etc" / "keys.json"),
        "MSC_SECRET_KEY": STRONG,
        "MSC_PUBLIC_URL": "https://msc.example.org",
        "MSC_DATABASE_URL": f"sqlite:///{tmp_path}/msc.sqlite3",
        "MSC_AUDIT_WITNESS_FILE": str(tmp_path / "witness" / "audit.log"),
        "MSC_RATELIMIT_STORAGE_URI": "memory://",
        "MSC_JOBS_REDIS_URL": "redis://127.0.0.1:6379/9",  # the job queue (only named: nothing is queued here)
    }


def test_keys_init_writes_a_private_key_file_once_and_never_overwrites_it(tmp_path):
    env = _production(tmp_path)
    keys = tmp_path / "etc" / "keys.json"
    before = _flask(env, "db", "upgrade")
    assert before.returncode != 0 and "flask keys init" in before.stderr and "Traceback" not in before.stderr
    made = _flask(env, "keys", "init")
    assert made.returncode == 0, made.stderr[-2000:]
    assert oct(keys.stat().st_mode)[-3:] == "600"
    content = keys.read_text()
    assert set(json.loads(content)) >= {"keks", "active_kek", "index_keys", "audit_key"}
    again = _flask(env, "keys", "init")
    assert again.returncode != 0 and "never overwritten" in again.stderr and "Traceback" not in again.stderr
    assert keys.read_text() == content
    upgraded = _flask(env, "db", "upgrade")
    assert upgraded.returncode == 0 and "up to date" in upgraded.stdout, upgraded.stderr[-2000:]


def test_keys_init_needs_to_be_told_where(tmp_path):
    env = {k: v for k, v in _production(tmp_path).items() if k != "MSC_KEYS_FILE"}
    out = _flask(env, "keys", "init")
    assert out.returncode != 0 and "MSC_KEYS_FILE" in out.stderr


def test_a_server_never_starts_without_its_key_file(tmp_path):
    """Only a command may start before the key file exists; the server (wsgi) refuses."""
    env = _production(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True
    )
    assert out.returncode != 0 and "does not exist" in out.stderr


def test_production_refuses_to_start_without_a_database_url(monkeypatch, tmp_path):
    from msc import create_app
    from msc.crypto.keys import FileKeyProvider
    from msc.settings import ConfigurationError

    FileKeyProvider(tmp_path / "keys.json").generate()
    for name, value in {**_production(tmp_path), "MSC_KEYS_FILE": str(tmp_path / "keys.json")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MSC_DATABASE_URL")
    with pytest.raises(ConfigurationError) as err:
        create_app("production", {"INSTANCE_PATH": str(tmp_path)})
    assert "MSC_DATABASE_URL" in str(err.value)
    assert not list(tmp_path.glob("**/*.sqlite3"))


def test_after_a_bulk_write_postgresql_has_fresh_planner_statistics(ctx, make):
    """Search plans depend on them: without them (autovacuum off or not yet round) PostgreSQL guessed one
    row per table and walked every index entry of a name for each typo candidate."""
    import sqlalchemy as sa

    from msc.db import refresh_statistics, session

    make.person(given_names="Yorleidys", family_names="Contreras")
    refresh_statistics()
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: nothing to refresh; the write is committed all the same
    analysed = session.scalar(
        sa.text("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'blind_index_entries'")
    )
    assert analysed


def test_the_demo_load_plans_each_statement_for_its_own_values_until_it_commits(ctx):
    """The demo writes its people in one transaction, on statistics of empty tables: a generic plan made
    for them, kept while the tables filled, made the duplicate check take most of a second a person."""
    import sqlalchemy as sa

    from msc import demo
    from msc.beneficiaries.models import Beneficiary
    from msc.db import session

    demo.load(people=3)
    assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) >= 3
    if session.get_bind().dialect.name != "postgresql":
        session.commit()
        return  # SQLite prepares nothing across statements: there is no plan to keep
    assert session.scalar(sa.text("SHOW plan_cache_mode")) == "force_custom_plan"
    session.commit()
    assert session.scalar(sa.text("SHOW plan_cache_mode")) == "auto"  # requests keep their prepared plans


def test_readyz_checks_a_redis_on_a_socket_as_the_limits_reach_it(app, make):
    """A Redis reached on a local socket (redis+unix://) that is gone: the logins fail, and /readyz says so."""
    limited = limited_app(app, RATELIMIT_STORAGE_URI="redis+unix:///tmp/msc-no-such-redis.sock")
    try:
        res = limited.test_client().get("/readyz")
        assert res.status_code == 503 and res.json["checks"]["redis"] == "failed"
    finally:
        limited.extensions["msc.engine"].dispose()
