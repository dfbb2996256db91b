"""/healthz (the process answers) and /readyz (it can serve: database, keys, Redis). Neither carries
data: the checks' names and ok/failed, nothing of what failed or why (that goes to the log)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import cast

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify
from limits.storage import Storage, storage_from_string

from msc.crypto.keys import keyring
from msc.db import session
from msc.extensions import limiter
from msc.security.policy import public

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@limiter.exempt
@public
def healthz():
    """Alive: the process answers. A load balancer restarts it when this stops answering."""
    g.skip_request_log = True
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
@public
def readyz():
    """Ready: the database answers, the keys load, Redis answers (where the configuration uses it).
    503 with the failed check's name while any fails, so a balancer sends no traffic here."""
    g.skip_request_log = True
    results = {name: _passes(name, check) for name, check in checks().items()}
    ready = all(results.values())
    answers = {name: "ok" if passed else "failed" for name, passed in results.items()}
    return jsonify(status="ok" if ready else "unavailable", checks=answers), 200 if ready else 503


def checks() -> dict[str, Callable[[], object]]:
    found: dict[str, Callable[[], object]] = {"database": _database, "keys": _keys}
    if str(current_app.config.get("RATELIMIT_STORAGE_URI", "")).startswith("redis"):  # rediss, redis+unix, …
        found["redis"] = _redis
    return found


def _passes(name: str, check: Callable[[], object]) -> bool:
    try:
        return check() is not False
    except Exception as err:  # a failed check is an answer, never a 500
        current_app.logger.error("readiness check %s failed: %s", name, type(err).__name__)
        session.rollback()
        return False


def _database() -> None:
    session.execute(sa.text("SELECT 1"))
    session.rollback()


def _keys() -> bool:
    ring = keyring()
    return bool(ring.keks.get(ring.active_kek)) and bool(ring.audit_key)


def _redis() -> bool:
    """The rate limits' Redis answers, by the same storage the limits use: any address they accept (a
    socket, TLS, Sentinel, a cluster), so a Redis the logins need is never left unchecked."""
    return bool(_storage(str(current_app.config["RATELIMIT_STORAGE_URI"])).check())


@lru_cache(maxsize=4)
def _storage(uri: str) -> Storage:
    return cast(Storage, storage_from_string(uri, socket_timeout=1))  # a synchronous storage: no async+ scheme
