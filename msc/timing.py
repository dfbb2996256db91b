"""Where a request's time goes, for the Server-Timing header (config SERVER_TIMING, off by default).

Each segment is timed exclusively: while a nested segment runs (SQL inside the rendering, decryption
inside the audit append, ...), the time counts for the nested one only, so the segments add up to the
total; the rest of the request is `app` (the view's own Python, forms, flashing and so on). A segment
that holds others is also reported with its inclusive time (`desc`). When timing is off, `segment()`
costs one context-variable read.

`sql` is the time inside the driver's execute. PostgreSQL answers a statement whole there; SQLite steps to
the first row only, and the rest of a large result is computed while it is fetched, which counts where the
rows are read (usually `app`).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, before_render_template, template_rendered
from flask.sessions import SecureCookieSessionInterface

#: the segments in the order the header lists them
ORDER = ("session", "sql", "decrypt", "render", "audit", "commit", "app")


class Timing:
    """The segments of one request: exclusive seconds, inclusive seconds and how many times each ran."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.exclusive: dict[str, float] = {}
        self.inclusive: dict[str, float] = {}
        self.count: dict[str, int] = {}
        self._stack: list[list[Any]] = [["app", self.started, self.started]]  # name, started, resumed

    def push(self, name: str) -> None:
        now = time.perf_counter()
        top = self._stack[-1]
        self.exclusive[top[0]] = self.exclusive.get(top[0], 0.0) + now - top[2]
        self._stack.append([name, now, now])

    def pop(self) -> None:
        now = time.perf_counter()
        name, started, resumed = self._stack.pop()
        self.exclusive[name] = self.exclusive.get(name, 0.0) + now - resumed
        if not any(s[0] == name for s in self._stack):  # a segment re-entered counts once inclusively
            self.inclusive[name] = self.inclusive.get(name, 0.0) + now - started
        self.count[name] = self.count.get(name, 0) + 1
        self._stack[-1][2] = now

    def header(self) -> str:
        """The Server-Timing value: each segment's exclusive milliseconds, then the total."""
        now = time.perf_counter()
        exclusive = dict(self.exclusive)
        top = self._stack[-1]  # still running (the request itself, at least)
        exclusive[top[0]] = exclusive.get(top[0], 0.0) + now - top[2]
        parts = []
        for name in (*ORDER, *sorted(set(exclusive) - set(ORDER))):  # then any segment a profiling run adds
            if name not in exclusive:
                continue
            desc = []
            if name in self.count:
                desc.append(f"{self.count[name]}x")
            incl = self.inclusive.get(name, 0.0)
            if incl - exclusive[name] > 0.00005:
                desc.append(f"incl {incl * 1000:.1f}")
            part = f"{name};dur={exclusive[name] * 1000:.2f}"
            parts.append(part + (f';desc="{" ".join(desc)}"' if desc else ""))
        parts.append(f"total;dur={(now - self.started) * 1000:.2f}")
        return ", ".join(parts)


_current: contextvars.ContextVar[Timing | None] = contextvars.ContextVar("msc_timing", default=None)
_OFF = nullcontext()


def current() -> Timing | None:
    """The timing of the request running, if timing is on."""
    return _current.get()


@contextmanager
def _timed(timing: Timing, name: str) -> Iterator[None]:
    timing.push(name)
    try:
        yield
    finally:
        timing.pop()


def segment(name: str) -> Any:
    """A context manager timing one segment of the request (nothing when timing is off)."""
    timing = _current.get()
    return _OFF if timing is None else _timed(timing, name)


def _before_cursor(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, executemany: Any) -> None:
    timing = _current.get()
    if timing is not None:
        timing.push("sql")


def _after_cursor(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, executemany: Any) -> None:
    timing = _current.get()
    if timing is not None and timing._stack[-1][0] == "sql":
        timing.pop()


def _on_error(context: Any) -> None:
    _after_cursor(None, None, None, None, None, None)


def register_sql_listeners() -> None:
    """Time every statement of every engine (once per process; a no-op when no request is timed)."""
    if sa.event.contains(sa.engine.Engine, "before_cursor_execute", _before_cursor):
        return
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", _before_cursor)
    sa.event.listen(sa.engine.Engine, "after_cursor_execute", _after_cursor)
    sa.event.listen(sa.engine.Engine, "handle_error", _on_error)


def _render_started(sender: Flask, **extra: Any) -> None:
    timing = _current.get()
    if timing is not None:
        timing.push("render")


def _render_ended(sender: Flask, **extra: Any) -> None:
    timing = _current.get()
    if timing is not None and timing._stack[-1][0] == "render":
        timing.pop()


class _TimedSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Any) -> Any:
        with segment("session"):
            return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """With SERVER_TIMING on: time each request from the WSGI call (before its session is opened) and
    add the Server-Timing header last, after the commit. Register before the commit's hook: after-request
    functions run in reverse order."""
    if not app.config.get("SERVER_TIMING"):
        return
    register_sql_listeners()
    before_render_template.connect(_render_started, app)
    template_rendered.connect(_render_ended, app)
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = _TimedSessionInterface()
    inner = app.wsgi_app

    def timed_wsgi_app(environ: Any, start_response: Any) -> Any:
        token = _current.set(Timing())
        try:
            return inner(environ, start_response)
        finally:
            _current.reset(token)

    app.wsgi_app = timed_wsgi_app  # type: ignore[method-assign]

    @app.after_request
    def _server_timing(response: Response) -> Response:
        timing = _current.get()
        if timing is not None:
            response.headers["Server-Timing"] = timing.header()
        return response
