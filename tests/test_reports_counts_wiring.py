"""How the running report counts are wired: importing the cube hooks nothing, create_app registers its
listeners once per process however many apps it builds, the writers that bypass the ORM reach the counts
only through msc.signals, and what they announce inside a rolled-back savepoint is dropped with it."""

import ast
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from msc import create_app, signals
from msc.beneficiaries.models import Beneficiary
from msc.db import session
from msc.nfi import service as nfi
from msc.nfi import stock
from msc.nfi.models import Distribution
from msc.referrals import service as referrals
from msc.referrals.models import Referral
from msc.reports import cube
from msc.security.models import User

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter: in this one, create_app has registered the listeners already.
FRESH_IMPORT = """
import json
import sqlalchemy as sa
import sqlalchemy.orm as so

import msc.reports.cube as cube
from msc import signals
from msc.beneficiaries.models import Beneficiary


def session_listeners():
    events = so.Session().dispatch
    names = [n for n in dir(so.SessionEvents) if not n.startswith("_") and n != "dispatch"]
    return {name: len(getattr(events, name)) for name in names if len(getattr(events, name))}


def state():
    return {
        "session": session_listeners(),
        "attribute": sa.event.contains(Beneficiary.sex, "set", cube._keep_previous_value),
        "signals": [len(signals.referral_status_moved.receivers), len(signals.hand_over_voided.receivers)],
    }


imported = state()
cube.register_listeners()
cube.register_listeners()
print(json.dumps({"imported": imported, "registered": state()}))
"""


def test_importing_the_cube_hooks_no_session():
    out = subprocess.run([sys.executable, "-c", FRESH_IMPORT], cwd=ROOT, capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout)
    assert seen["imported"] == {"session": {}, "attribute": False, "signals": [0, 0]}
    # registered twice, listening once
    assert seen["registered"] == {
        "session": {"after_flush": 1, "before_commit": 1, "after_soft_rollback": 1, "after_transaction_end": 1},
        "attribute": True,
        "signals": [1, 1],
    }


def test_a_second_app_in_the_same_process_counts_a_registration_once(ctx, make):
    # Every test builds its own app (and the exact figures of test_reports_service.py would double
    # otherwise); here a second one is built next to this test's on purpose.
    keep = ("DATABASE_URL", "KEYS_FILE", "BABEL_DEFAULT_LOCALE")
    second = create_app("testing", {"INSTANCE_PATH": ctx.instance_path, **{k: ctx.config[k] for k in keep}})
    second.extensions["msc.engine"].dispose()
    assert list(so.Session().dispatch.after_flush).count(cube._after_flush) == 1
    make.person(given_names="Lucía", family_names="Vega", date_of_birth=dt.date(1988, 8, 8))
    people = [cell for key, cell in cube.stored(session).items() if key[0] == "people"]
    assert people == [[1, 0]] and cube.check(session) == []


@pytest.mark.parametrize("feature", ["nfi", "referrals"])
def test_writers_do_not_import_the_reports(feature):
    imported = set()
    for path in (ROOT / "msc" / feature).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
    assert not {name for name in imported if name == "msc.reports" or name.startswith("msc.reports.")}


def test_a_referral_moved_in_a_rolled_back_savepoint_leaves_the_counts(ctx, make):
    cw = make.user("cw", "caseworker")
    partner = make.user("socio", "partner")
    _org, svc = make.partner(sector="health")
    uid = make.referral(cw, svc, partner, given_names="Rosa", family_names="Díaz", date_of_birth=dt.date(1981, 1, 1))
    referral = session.scalar(sa.select(Referral).where(Referral.uid == uid))
    before = cube.stored(session)
    with session.begin_nested():
        referrals.answer(session.get(User, partner), referral, "accepted")
        session.flush()
        session.get_nested_transaction().rollback()
    session.commit()
    assert cube.stored(session) == before and cube.check(session) == []
    session.refresh(referral)
    referrals.answer(session.get(User, partner), referral, "accepted")
    session.commit()
    assert cube.stored(session) != before and cube.check(session) == []


def test_a_hand_over_voided_in_a_rolled_back_savepoint_leaves_the_counts(ctx, make):
    boss = session.get(User, make.user("boss", "centre_manager"))
    centre = boss.centres[0]
    hygiene = nfi.item_by_code("HYG").id
    stock.receive(
        boss, centre, reference="GR-1", source="warehouse", received_on=stock.centre_day(centre), lines={hygiene: 5}
    )
    uid = make.person(given_names="Ana", family_names="Rojas", date_of_birth=dt.date(1991, 2, 1))
    person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
    given = nfi.hand_over(boss, centre, person, {f"{uid}:HYG": 1}, nfi.Acknowledgement(method="thumbprint"))
    session.commit()
    before = cube.stored(session)
    with session.begin_nested():
        nfi.void(boss, given, "recorded_in_error")
        session.get_nested_transaction().rollback()
    session.commit()
    assert cube.stored(session) == before and cube.check(session) == []
    given = session.get(Distribution, given.id)
    session.refresh(given)
    nfi.void(boss, given, "recorded_in_error")
    session.commit()
    assert not any(key[0] == "nfi" for key in cube.stored(session)) and cube.check(session) == []


FRESH_RECEIVERS = """
import msc.referrals.service
from msc import signals

print(len(signals.consent_withdrawn.receivers))
"""


def test_importing_a_service_connects_no_receiver_create_app_does_once(app):
    """The referral service follows consent withdrawals only once create_app connects it, and only once."""
    out = subprocess.run([sys.executable, "-c", FRESH_RECEIVERS], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
    create_app("testing", {"INSTANCE_PATH": str(app.instance_path), "DATABASE_URL": app.config["DATABASE_URL"]})
    assert list(signals.consent_withdrawn.receivers_for(object())) == [referrals.cancel_on_withdrawal]
