"""The Server-Timing header: off unless configured; when on, where a request's time went."""

from __future__ import annotations

import re
import runpy

import pytest

from msc import create_app, timing
from msc.settings import CONFIG_DIR
from tests.conftest import Auth


def _segments(header: str) -> dict[str, tuple[float, str]]:
    found = {}
    for part in header.split(", "):
        m = re.fullmatch(r'(\w+);dur=([\d.]+)(?:;desc="([^"]*)")?', part)
        assert m, part
        found[m.group(1)] = (float(m.group(2)), m.group(3) or "")
    return found


@pytest.fixture
def timed(app):
    """A second app on the same database and keys, with SERVER_TIMING on."""
    other = create_app(
        "testing",
        {
            "INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": app.config["DATABASE_URL"],
            "KEYS_FILE": app.config["KEYS_FILE"],
            "BABEL_DEFAULT_LOCALE": "en",
            "SERVER_TIMING": True,
        },
    )
    yield other
    other.extensions["msc.engine"].dispose()


def test_off_by_default_and_in_production():
    assert runpy.run_path(str(CONFIG_DIR / "default.py"))["SERVER_TIMING"] is False
    assert "SERVER_TIMING" not in runpy.run_path(str(CONFIG_DIR / "production.example.py"))


def test_no_header_when_off(client, make):
    make.user("clerk", "reception")
    Auth(client).login("clerk")
    assert "Server-Timing" not in client.get("/account").headers


def test_a_profile_tells_where_its_time_went(timed, make):
    make.user("clerk", "reception")
    uid = make.person(given_names="Ana", family_names="Rojas")
    client = timed.test_client()
    Auth(client).login("clerk")
    res = client.get(f"/b/{uid}")
    assert res.status_code == 200
    seg = _segments(res.headers["Server-Timing"])
    assert {"session", "sql", "decrypt", "render", "commit", "audit", "app", "total"} <= set(seg)
    assert re.fullmatch(r"\d+x", seg["sql"][1]) and int(seg["sql"][1][:-1]) > 3  # how many statements
    assert "incl" in seg["commit"][1]  # the commit holds the audit append and its SQL
    parts = sum(dur for name, (dur, _) in seg.items() if name != "total")
    assert parts == pytest.approx(seg["total"][0], abs=0.2)  # exclusive segments add up to the total
    assert timing.current() is None  # nothing is left behind after the request


def test_segments_nest_exclusively():
    t = timing.Timing()
    t.push("render")
    t.push("sql")
    t.pop()
    t.push("decrypt")
    t.pop()
    t.pop()
    seg = _segments(t.header())
    assert seg["sql"][1] == "1x" and seg["render"][1].startswith("1x")
    assert sum(d for n, (d, _) in seg.items() if n != "total") == pytest.approx(seg["total"][0], abs=0.05)
