"""Languages: es, pt_BR and en; each user's choice is stored, visitors choose per browser session."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, has_request_context, redirect, request, url_for
from flask import session as flask_session
from flask_login import current_user

from msc import clock
from msc.db import session
from msc.extensions import babel
from msc.security.policy import public
from msc.urls import safe_next

bp = Blueprint("i18n", __name__)

LANGUAGE_NAMES = {"es": "Español", "pt_BR": "Português", "en": "English"}


def select_locale() -> str:
    """The user's stored language, else the visitor's choice, else the browser's, else Spanish. A call to
    the API (msc/api) takes the language its Accept-Language asks for first, then its account's."""
    langs = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]

    def asked() -> str | None:
        best = request.accept_languages.best_match([lang.replace("_", "-") for lang in langs])
        return best.replace("-", "_") if best else None

    if request.blueprint == "api" and (lang := asked()):  # another system's call: the language it asks for
        return lang
    if current_user and current_user.is_authenticated and current_user.locale in langs:
        return current_user.locale
    chosen = flask_session.get("lang")
    if isinstance(chosen, str) and chosen in langs:
        return chosen
    return asked() or current_app.config["BABEL_DEFAULT_LOCALE"]


def install_template_gettext(app: Flask) -> None:
    """The templates' _(), ngettext() and pgettext() read the request's translations straight from the
    domain, which looks them up once per request (msc.extensions.RequestDomain), not through Flask-Babel's
    default domain on every string."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # Jinja's i18n extension adds it
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )


def _translations():
    return babel.domain_instance.get_translations()


def select_timezone() -> str | None:
    """The zone every time is shown in: the viewer's centre's (msc.clock.viewer_zone), else the default zone."""
    if not has_request_context() or not (current_user and current_user.is_authenticated):
        return clock.default_zone().key
    return clock.viewer_zone(current_user).key


@bp.post("/language")
@public
def switch():
    """Switch the interface language (stored on the user when logged in)."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        flask_session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            session.flush()
    return redirect(safe_next(request.form.get("next")) or url_for("beneficiaries.home"))
