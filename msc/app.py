"""The application factory: create_app() reads like a table of contents, one register_* step each."""

from __future__ import annotations

import gc
import io
import logging
import os

import click
import sqlalchemy as sa
from flask import Flask, Request, Response, abort, g, render_template, request
from flask import session as flask_session
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

from msc import db, numbers, sections, signals, timing
from msc.admin.views import bp as admin_bp
from msc.api import errors as api_errors
from msc.api import tasks as api_tasks  # noqa: F401 (the webhooks' job registers itself)
from msc.api import views as api
from msc.api import webhooks
from msc.api.admin_views import bp as api_admin_bp
from msc.beneficiaries import vocab
from msc.beneficiaries.views import bp as beneficiaries_bp
from msc.cases import views as cases
from msc.cases.views import bp as cases_bp
from msc.cli import register as register_cli
from msc.continuity import onward_views as onward
from msc.continuity import tasks as continuity_tasks  # noqa: F401 (its job registers itself)
from msc.continuity import views as continuity
from msc.continuity.onward_views import bp as onward_bp
from msc.continuity.views import bp as continuity_bp
from msc.crypto import keys
from msc.db import session
from msc.dpo import desk as dpo_desk
from msc.dpo import desk_erasure, desk_keys  # noqa: F401 (their routes join the dpo blueprint)
from msc.dpo import tasks as dpo_tasks  # noqa: F401 (its jobs register themselves)
from msc.dpo import views as dpo_views  # noqa: F401 (its routes join the dpo blueprint)
from msc.dpo.blueprint import bp as dpo_bp
from msc.extensions import babel, client_network, csrf, limiter, login_manager
from msc.feedback import views as feedback
from msc.feedback.views import bp as feedback_bp
from msc.fund import views as fund
from msc.fund.views import bp as fund_bp
from msc.i18n import LANGUAGE_NAMES, install_template_gettext, select_locale, select_timezone
from msc.i18n import bp as i18n_bp
from msc.imports import tasks as import_tasks  # noqa: F401 (its jobs register themselves)
from msc.imports import views as imports
from msc.imports.views import bp as imports_bp
from msc.jobs import runner as job_runner
from msc.jobs import schedule as job_schedule
from msc.jobs import tasks as job_tasks  # noqa: F401 (the runner's own task registers itself)
from msc.jobs import views as jobs
from msc.jobs.views import bp as jobs_bp
from msc.jobs.worker import worker as worker_command
from msc.nfi import views as nfi
from msc.nfi.views import bp as nfi_bp
from msc.offline import views as offline
from msc.offline.views import bp as offline_bp
from msc.ops import errors as ops_errors
from msc.ops import health as ops_health
from msc.ops import logs as ops_logs
from msc.partners.views import bp as partners_bp
from msc.referrals import service as referral_service
from msc.referrals import tasks as referrals_tasks  # noqa: F401 (its job registers itself)
from msc.referrals import views as referrals
from msc.referrals.views import bp as referrals_bp
from msc.reports import cube
from msc.reports import tasks as reports_tasks  # noqa: F401 (its job registers itself)
from msc.reports.views import bp as reports_bp
from msc.security import audit, throttle, witness
from msc.security import vocab as security_vocab
from msc.security.policy import enforce, may
from msc.security.sessions import init_login
from msc.security.views import bp as auth_bp
from msc.settings import ROOT, ConfigurationError, load_config
from msc.shelters import views as shelters
from msc.shelters.views import bp as shelters_bp
from msc.urls import IdConverter


class InMemoryRequest(Request):
    """An uploaded file stays in memory, however large (the limits bound it): Werkzeug would write one over
    500 KB to a temporary file on disk, in clear — an imported list is personal data."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> io.BytesIO:
        return io.BytesIO()


def build_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, hooks, error pages, commands."""
    app = Flask(
        "msc",
        template_folder=str(ROOT / "templates"),
        instance_path=(overrides or {}).get("INSTANCE_PATH")
        or os.environ.get("MSC_INSTANCE_PATH")
        or str(ROOT / "instance"),
    )
    app.request_class = InMemoryRequest
    load_config(app, config_name or os.environ.get("MSC_CONFIG", "development"), overrides)
    register_logging(app)
    register_extensions(app)
    register_operations(app)
    # Every `<int:id>` of every route: ASCII digits the database can hold, or 404.
    app.url_map.converters["int"] = IdConverter
    register_blueprints(app)
    register_page_sections(app)
    register_signal_receivers(app)
    timing.init_app(app)  # (SERVER_TIMING) its header is written after the commit below
    register_request_hooks(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    register_jobs(app)
    return app


def freeze_startup_objects() -> None:
    """Move what a long-lived process loaded at start (modules, mappers, metadata) out of the cyclic
    collector's working set, so a full collection during a request no longer walks it. Measured on
    the caseworker home at 100k people: p95 149 ms → 73 ms. Call once, after create_app(), in a
    server process (wsgi.py) — not per app, or test apps would never be collected."""
    gc.freeze()


def register_logging(app: Flask) -> None:
    """Log to stderr; the log never carries personal data (only ids, actions and field names)."""
    if not app.debug and not app.testing:
        app.logger.setLevel(logging.INFO)


def register_operations(app: Flask) -> None:
    """Health checks for the load balancer, the operations log, error reporting (msc/ops)."""
    app.register_blueprint(ops_health.bp)
    ops_logs.init_app(app)
    ops_errors.init_app(app)


def register_extensions(app: Flask) -> None:
    """Database and the report counts kept by its writes, keys, CSRF, translations, rate limits and logins."""

    db.init_app(app)
    cube.register_listeners()  # once per process, however many apps (the tests build one per test)
    audit.register_listeners()  # the audit records join the chain at commit, after the counts (once too)
    witness.register_listeners()  # the audit chain's head, written after commits (once per process too)
    webhooks.register_listeners()  # a referral's move writes its partner's webhook deliveries (once too)
    keys.init_app(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(ROOT / "msc" / "translations"),
    )
    install_template_gettext(app)
    if app.config.get("PROXY_FIX_X_FOR"):
        # behind reverse proxies: the client address (rate limits, login back-off) is the one they pass on
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_FIX_X_FOR"]))  # type: ignore[method-assign]
    limiter.init_app(app)
    init_login(app, login_manager)


def register_blueprints(app: Flask) -> None:
    """One blueprint per feature."""

    app.register_blueprint(auth_bp)
    app.register_blueprint(i18n_bp)
    app.register_blueprint(beneficiaries_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(partners_bp, url_prefix="/partners")
    app.register_blueprint(cases_bp, url_prefix="/cases")
    app.register_blueprint(referrals_bp)
    app.register_blueprint(shelters_bp, url_prefix="/shelters")
    app.register_blueprint(nfi_bp, url_prefix="/nfi")
    app.register_blueprint(fund_bp, url_prefix="/fund")
    app.register_blueprint(feedback_bp)
    app.register_blueprint(reports_bp, url_prefix="/reports")
    app.register_blueprint(dpo_bp)
    app.register_blueprint(jobs_bp, url_prefix="/jobs")
    app.register_blueprint(continuity_bp, url_prefix="/continuity")
    app.register_blueprint(onward_bp, url_prefix="/continuity/onward")
    app.register_blueprint(api_admin_bp, url_prefix="/admin/api")
    app.register_blueprint(imports_bp, url_prefix="/imports")
    app.register_blueprint(offline_bp, url_prefix="/offline")
    api.init_app(app)  # /api/v1 and its document; its token check runs before the access policy


def register_page_sections(app: Flask) -> None:
    """What a feature shows on another feature's page (msc/sections.py): the page's view asks for it."""

    sections.add(app, sections.PROFILE, cases.profile_section, cases.profile_probe)
    sections.add(app, sections.FORMER_PROFILE, cases.former_section)
    sections.add(app, sections.PROFILE, shelters.profile_section, shelters.profile_probe)
    sections.add(app, sections.PROFILE, referrals.profile_section, referrals.profile_probe)
    sections.add(app, sections.PROFILE, continuity.profile_section, continuity.profile_probe)
    sections.add(app, sections.PROFILE, onward.profile_section, onward.profile_probe)
    sections.add(app, sections.CASE, referrals.case_section)
    sections.add(app, sections.CASE, continuity.case_section)
    sections.add(app, sections.CASEWORKER_HOME, referrals.home_section)
    sections.add(app, sections.CASEWORKER_HOME, fund.home_section)
    for feature in (
        cases,
        referrals,
        fund,
        feedback,
        nfi,
        shelters,
        dpo_desk,
        jobs,
        continuity,
        onward,
        imports,
        offline,
    ):
        sections.add(app, sections.HOME, feature.home_sections)


def register_jobs(app: Flask) -> None:
    """The job runner (msc/jobs): jobs reach their backend once the transaction that queued them commits;
    the schedule is checked now. `flask run` with the thread backend in development (JOBS_SCHEDULE_IN_SERVER)
    runs the schedule in a thread, so the demo's audit chain is witnessed; gunicorn and the tests never do
    (the worker service runs it in production)."""
    job_runner.register_listeners()
    try:
        job_schedule.entries(app.config)
    except job_schedule.ScheduleError as err:
        raise ConfigurationError(f"JOBS_SCHEDULE: {err}") from None
    if app.config["JOBS_SCHEDULE_IN_SERVER"] and app.config["JOBS_BACKEND"] == "thread" and not app.testing:
        command = click.get_current_context(silent=True)
        if command is not None and command.info_name == "run":
            job_schedule.start_thread(app)


def register_signal_receivers(app: Flask) -> None:
    """What a feature does when another publishes an event (msc/signals.py). Blinker keeps one connection
    per receiver, however many apps a process builds."""
    signals.consent_withdrawn.connect(referral_service.cancel_on_withdrawal)


def refuse_null_bytes() -> None:
    """An address or query holding a NUL names nothing MSC Case keeps (PostgreSQL cannot even compare a
    text with one): 404 for the address, 400 for the query, before anything looks it up."""
    if "\x00" in request.path:
        abort(404)
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        abort(400)


def register_request_hooks(app: Flask) -> None:
    """Access control before each request; one commit and the security headers after it."""

    # before every other hook: the API's token check reads the address too
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_null_bytes)
    app.before_request(enforce)

    @app.after_request
    def _commit_and_headers(response):
        if "_msc_session" in g:
            if should_commit(response.status_code):
                with timing.segment("commit"):
                    session.commit()
            else:
                session.rollback()
        return security_headers(app, response)


def should_commit(status: int) -> bool:
    """A request commits once, at its end: on success; on 403/404 (to keep the audit record of the
    denial); or when a view that refused input still has something to keep (a failed login's
    counter). A form sent back with errors (422) saves nothing of what it started."""
    return status < 400 or status in (403, 404) or bool(g.get("commit_on_error"))


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def security_headers(app: Flask, response):
    """Headers every response carries; pages are never cached (they may hold personal data)."""
    h = response.headers
    h["Content-Security-Policy"] = CSP
    h["X-Content-Type-Options"] = "nosniff"
    h["X-Frame-Options"] = "DENY"
    # same-origin: no address ever leaves for another site, and the app's own form posts carry the
    # Referer that the CSRF check demands over HTTPS (with no-referrer, every POST in production failed)
    h["Referrer-Policy"] = "same-origin"
    h["Permissions-Policy"] = "camera=(self), geolocation=(), microphone=()"
    if app.config.get("HSTS"):
        h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.endpoint != "static":
        h["Cache-Control"] = "no-store"
        h["Pragma"] = "no-cache"
    return response


def register_errorhandlers(app: Flask) -> None:
    """Every error is a translated page in the layout; never a stack trace."""

    messages = {
        400: lambda: _("The request could not be understood. Go back and try again."),
        403: lambda: _("You do not have permission to do this."),
        404: lambda: _("This page does not exist, or you cannot see it."),
        405: lambda: _("This page cannot be used that way."),
        413: lambda: _("What you sent is too large."),
        429: lambda: _("Too many attempts. Wait a minute and try again."),
        500: lambda: _("Something went wrong on our side. What you did was not saved; please try again."),
    }

    def render(code: int, message: str | None = None):
        text = message or messages.get(code, messages[400])()
        if isinstance(request.routing_exception, SecurityError):
            # A Host the app does not serve (TRUSTED_HOSTS): no URL can be built for it, so no layout,
            # and nothing of the request is echoed back.
            return Response(text, status=code, mimetype="text/plain")
        return render_template("errors/error.html", code=code, message=text), code

    @app.errorhandler(CSRFError)
    def _csrf(err):
        return render(
            400, _("This form expired or was sent twice. Your entries were not saved; please fill it in again.")
        )

    @app.errorhandler(HTTPException)
    def _http(err):
        if err.code in (301, 302, 303, 307, 308):
            return err
        if isinstance(err, RateLimitExceeded):
            g.commit_on_error = throttle.rate_limited(request.endpoint, client_network())
        if api_errors.is_api_request():
            return api_errors.response(err.code or 400, err)
        return render(err.code if err.code in messages else 400)

    @app.errorhandler(sa.exc.DataError)
    def _unstorable(err):
        # a value the database cannot hold (a NUL in a text, a number beyond its column) that no form
        # or schema stopped: the request's fault, refused in words; logged by type only, as below
        app.logger.warning("value refused by the database (%s) at %s", type(err.orig).__name__, request.endpoint)
        session.rollback()
        if api_errors.is_api_request():
            return api_errors.response(400)
        return render(400)

    @app.errorhandler(Exception)
    def _unexpected(err):
        # Type and endpoint only: an exception's text can carry values (SQL parameters, input).
        app.logger.error("unhandled %s at %s", type(err).__name__, request.endpoint, exc_info=app.testing)
        ops_errors.report(err)

        session.rollback()
        if api_errors.is_api_request():
            return api_errors.response(500)
        return render(500)


def register_template_helpers(app: Flask) -> None:
    """Helpers every template may use: permissions, dates, countries, labels, and the filters that write
    numbers in the reader's language (msc/numbers.py: money, number, decimal, percent, cell)."""

    numbers.register(app)

    app.jinja_env.globals.update(
        get_locale=get_locale,
        format_date=format_date,
        format_datetime=format_datetime,
        country_name=vocab.country_name,
        vocab_sex=lambda code: vocab.SEXES.get(code, code),
        field_labels=vocab.field_labels,
        change_label=vocab.change_label,
        LANGUAGE_LABELS=vocab.LANGUAGES,
        role_label=security_vocab.role_label,
        record_type_label=security_vocab.record_type_label,
        action_label=security_vocab.action_label,
    )

    @app.context_processor
    def _helpers():
        return {
            "can": may,
            "LANGUAGE_NAMES": LANGUAGE_NAMES,
            "current_lang": flask_session.get("lang"),
        }


def register_commands(app: Flask) -> None:
    """The flask --app msc command groups, and `flask worker` (the job runner)."""

    register_cli(app)
    app.cli.add_command(worker_command)
