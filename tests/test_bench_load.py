"""The load test's locustfile loads, and its users are mixed as the plan makes accounts for (no load is run
here: `make bench-load` does that, bench/README.md)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(
    importlib.util.find_spec("locust") is None, reason="locust is the bench extra: pip install -e .[bench]"
)
def test_the_locustfile_loads_with_the_region_s_mix_of_desks():
    # its own process: locust patches the standard library with gevent as it is imported
    code = (
        "import json; from bench import locustfile as f; from bench.load_plan import MIX; "
        "users = [f.ReceptionDesk, f.Caseworker, f.HandOverDesk, f.Manager]; "
        "total = sum(u.weight for u in users); "
        "print(json.dumps({'share': [u.weight / total for u in users], 'mix': list(MIX.values()), "
        "'roles': [u.role for u in users]}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["share"] == pytest.approx(seen["mix"])
    assert seen["roles"] == ["desks", "caseworkers", "nfi", "managers"]
