"""Error reporting to Sentry (or a compatible service): off unless SENTRY_DSN is set. What is sent is the
error's type, where it happened (file, function, line), the route and the request id — never a value:
no request data, query string, cookies, headers, form fields, local variables, exception text or log
breadcrumbs, any of which could carry a person's name or a search."""

from __future__ import annotations

from typing import Any

from flask import Flask

#: the parts of a request that may be sent (everything else of the event's request is dropped)
_REQUEST_KEPT = ("method",)


def init_app(app: Flask) -> None:
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=app.config.get("ENV_NAME"),
        release=app.config.get("RELEASE"),
        # errors are sent by report(); log lines are neither events nor breadcrumbs
        integrations=[FlaskIntegration(transaction_style="url"), LoggingIntegration(level=None, event_level=None)],
        max_breadcrumbs=0,  # personal data is not collected by default; scrub() drops the rest
        traces_sample_rate=0.0,
        before_send=scrub,
        transport=app.config.get("SENTRY_TRANSPORT"),  # tests capture the events here
    )


def scrub(event: Any, hint: Any = None) -> Any:
    """Keep the error's type and stack positions; drop every value."""
    request = event.get("request") or {}
    event["request"] = {k: request[k] for k in _REQUEST_KEPT if k in request}
    for key in ("user", "breadcrumbs", "extra", "server_name"):
        event.pop(key, None)
    contexts = event.get("contexts") or {}
    event["contexts"] = {k: v for k, v in contexts.items() if k in ("runtime", "os", "trace")}
    for exc in (event.get("exception") or {}).get("values", []):
        exc["value"] = ""  # an exception's text can carry SQL parameters or input
        for frame in (exc.get("stacktrace") or {}).get("frames", []):
            for key in ("vars", "pre_context", "context_line", "post_context"):
                frame.pop(key, None)
    if "logentry" in event:  # the format string only, never its arguments
        event["logentry"] = {"message": (event["logentry"] or {}).get("message", "")}
    return event


def report(err: BaseException) -> None:
    """Send an error the app's error page caught (Flask no longer sees it as unhandled)."""
    import sentry_sdk

    if sentry_sdk.get_client().is_active():
        sentry_sdk.capture_exception(err)
