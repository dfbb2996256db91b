"""Login with back-off and TOTP, logout, and the user's own account page."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask import session as flask_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from msc.errors import show_on_form
from msc.extensions import limiter
from msc.forms import form_status, rule_on_form
from msc.security import devices, service
from msc.security.forms import CodeForm, LanguageForm, LoginForm, PasswordChangeForm
from msc.security.models import User
from msc.security.policy import authenticated, public
from msc.urls import safe_next

bp = Blueprint("auth", __name__)

#: the cookie key of a half-done login: a random token naming a server-side login challenge
CHALLENGE = "login_challenge"


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _known_login() -> bool:
    """The login rate limit per address does not hold up a browser that logged in to the typed name."""
    return devices.knows(request.form.get("username"))


def _known_code_step() -> bool:
    """Nor, at the code step, one that logged in to the name of its pending login."""
    stage = "enrol" if request.endpoint == "auth.mfa_enrol" else "verify"
    challenge = service.pending_login(flask_session.get(CHALLENGE), stage)
    return challenge is not None and devices.knows(challenge.user.username)


def _source() -> str:
    """The client address failures are counted under (the one the rate limiter counts too)."""
    return get_remote_address()


def _refused(err: service.AccountError) -> int:
    """The status of a page that refused an attempt: 429 inside a back-off wait, 422 otherwise. The
    failure count and its audit record are kept either way."""
    g.commit_on_error = True
    return 429 if isinstance(err, service.Throttled) else 422


def _with_retry_after(response: ResponseReturnValue, err: service.AccountError | None) -> ResponseReturnValue:
    if isinstance(err, service.Throttled) and err.retry_after:
        page = make_response(response)
        page.headers["Retry-After"] = str(err.retry_after)
        return page
    return response


def _finish_login(user: User, next_url: str | None) -> ResponseReturnValue:
    service.start_session(user)
    login_user(user)
    flask_session.pop(CHALLENGE, None)
    flask_session["lang"] = user.locale
    return devices.remember(redirect(safe_next(next_url) or url_for("beneficiaries.home")), user.username)


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], exempt_when=_known_login)
def login() -> ResponseReturnValue:
    """Username and password; then a TOTP code, or enrolment for roles that need one."""
    if current_user.is_authenticated:
        return redirect(url_for("beneficiaries.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if form.validate_on_submit():
        service.end_challenge(flask_session.pop(CHALLENGE, None))
        try:
            known = devices.knows(form.username.data)
            user = service.authenticate(form.username.data, form.password.data, _source(), known)
        except service.AccountError as err:
            status = _refused(err)
            form.password.errors = [err.message]
            return _with_retry_after((render_template("auth/login.html", form=form), status), err)
        next_url = safe_next(form.next.data)
        if service.needs_second_step(user):
            flask_session[CHALLENGE] = service.start_challenge(user, next_url)
            return redirect(url_for("auth.mfa_verify" if user.mfa_enabled else "auth.mfa_enrol"))
        return _finish_login(user, next_url)
    return render_template("auth/login.html", form=form), form_status(form)


@bp.route("/login/code", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], exempt_when=_known_code_step)
def mfa_verify() -> ResponseReturnValue:
    """The second step of login: a TOTP code that works once."""
    return _code_step("verify", "auth/mfa_verify.html")


@bp.route("/login/enrol", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], exempt_when=_known_code_step)
def mfa_enrol() -> ResponseReturnValue:
    """First login of a role that needs MFA (or after an administrator reset the second factor): scan the
    QR code, then confirm with a code."""
    return _code_step("enrol", "auth/mfa_enrol.html")


def _log_in_again() -> ResponseReturnValue:
    flask_session.pop(CHALLENGE, None)
    flash(_("Please log in again."), "info")
    return redirect(url_for("auth.login"))


def _code_step(stage: str, template: str) -> ResponseReturnValue:
    """Ask for a TOTP code for the login challenge the cookie names; finish the login when it is right."""
    challenge = service.pending_login(flask_session.get(CHALLENGE), stage)
    if challenge is None:
        return _log_in_again()
    form = CodeForm()
    status, refusal = 422, None
    if form.validate_on_submit():
        try:
            known = devices.knows(challenge.user.username)
            user = service.complete_challenge(challenge, form.code.data, _source(), known)
        except service.AccountError as err:
            status, refusal = _refused(err), err
            show_on_form(form, err)
        else:
            return _finish_login(user, challenge.next_url)
    extra = {}
    if stage == "enrol":
        try:
            extra["secret"], extra["qr_svg"] = service.begin_mfa_enrolment(challenge.user)
        except service.AccountError:
            g.commit_on_error = True  # keep the audit record of the refusal
            return _log_in_again()
    page = render_template(template, form=form, **extra)
    return _with_retry_after((page, status if refusal else form_status(form)), refusal)


@bp.post("/logout")
@authenticated
def logout() -> ResponseReturnValue:
    """End this session on the server, then forget the cookie."""
    service.end_session(current_user._get_current_object())
    logout_user()
    service.end_challenge(flask_session.pop(CHALLENGE, None))
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@authenticated
def account() -> ResponseReturnValue:
    """The user's own page: language, password, second factor."""
    user: User = current_user._get_current_object()
    lang_form = LanguageForm(prefix="lang", locale=user.locale)
    pw_form = PasswordChangeForm(prefix="pw")
    if request.method == "POST":
        if "lang-locale" in request.form and lang_form.validate_on_submit():
            user.locale = lang_form.locale.data
            flask_session["lang"] = user.locale
            flash(_("Language saved."), "success")
            return redirect(url_for("auth.account"))
        if "pw-new_password" in request.form and pw_form.validate_on_submit():
            with rule_on_form(pw_form):
                service.change_password(user, pw_form.current_password.data, pw_form.new_password.data)
                login_user(user)
                flash(_("Password changed. Other sessions were logged out."), "success")
                return redirect(url_for("auth.account"))
    status = form_status(lang_form, pw_form)
    if request.method == "POST" and "lang-locale" not in request.form and "pw-new_password" not in request.form:
        status = 422  # a POST that fills in neither form is refused as well
    return render_template(
        "auth/account.html", user=user, lang_form=lang_form, pw_form=pw_form, mfa_required=service.mfa_required(user)
    ), status
