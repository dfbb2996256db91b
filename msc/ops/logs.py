"""The operations log: one JSON object a line on stderr (LOG_FORMAT = "json"), and one line per request
with its id, route, status, duration, CPU time and a pseudonym of the staff account. Never a path, a query
string, a form value or a name: a route is the rule (/b/<uid>), not the address that was asked for."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import uuid

from flask import Flask, Response, g, has_request_context, request
from flask_login import current_user

from msc.crypto import log_pseudonym

REQUEST_ID_HEADER = "X-Request-ID"
#: a request id a proxy passes on is kept only if it looks like one (nothing else reaches the log)
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
#: the record attributes every log record has; anything else was passed with `extra=` and is logged
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, the request's id, and the fields passed with `extra=`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__  # its type: the text can carry values
        return json.dumps(entry, default=str, ensure_ascii=False)


def init_app(app: Flask) -> None:
    """JSON lines when LOG_FORMAT is "json"; a request id on every request (X-Request-ID, passed on by the
    proxy when it sets one); a line per request when LOG_REQUESTS is on."""
    if app.config.get("LOG_FORMAT") == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        app.logger.handlers[:] = [handler]
        app.logger.propagate = False

    @app.before_request
    def _start() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()
        g.request_cpu_started = time.process_time()

    # registered before the hook that commits, so it runs after it (Flask runs them in reverse)
    @app.after_request
    def _log(response: Response) -> Response:
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
        if app.config.get("LOG_REQUESTS") and not g.get("skip_request_log"):
            app.logger.info("request", extra=request_fields(response.status_code))
        return response


def request_fields(status: int) -> dict[str, object]:
    """What the request line says: method, route (the rule, never the address), endpoint, status,
    milliseconds, CPU milliseconds, and the account's pseudonym.

    cpu_ms is the process's CPU time (user and system) while the request ran: exact under gunicorn's sync
    workers, which serve one request at a time in a process; with threads it counts the others' too."""
    started = g.get("request_started")
    cpu_started = g.get("request_cpu_started")
    fields: dict[str, object] = {
        "method": request.method,
        "route": request.url_rule.rule if request.url_rule is not None else None,
        "endpoint": request.endpoint,
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        "cpu_ms": round((time.process_time() - cpu_started) * 1000, 1) if cpu_started is not None else None,
    }
    try:
        if current_user and current_user.is_authenticated:
            fields["user"] = log_pseudonym(current_user.id)
    except Exception:  # the log line never fails a request (keys not loaded, session gone)
        fields["user"] = None
    return fields
