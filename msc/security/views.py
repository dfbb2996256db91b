"""Login with lockout and TOTP, logout, and the user's own account page."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask import session as flask_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from msc.db import session, utcnow
from msc.errors import show_on_form
from msc.extensions import limiter
from msc.forms import form_status, rule_on_form
from msc.security import service
from msc.security.forms import CodeForm, LanguageForm, LoginForm, PasswordChangeForm
from msc.security.models import User
from msc.security.policy import authenticated, public
from msc.urls import safe_next

bp = Blueprint("auth", __name__)

PENDING_MINUTES = 5


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _finish_login(user: User, next_url: str | None) -> ResponseReturnValue:
    service.start_session(user)
    login_user(user)
    flask_session.pop("pending", None)
    flask_session["lang"] = user.locale
    return redirect(safe_next(next_url) or url_for("beneficiaries.home"))


def _pending_user(stage: str) -> User | None:
    pending = flask_session.get("pending")
    if not pending or pending.get("stage") != stage:
        return None
    if utcnow().timestamp() - pending.get("at", 0) > PENDING_MINUTES * 60:
        flask_session.pop("pending", None)
        return None
    user = session.get(User, pending.get("user_id"))
    return user if user is not None and user.active else None


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    """Username and password; then a TOTP code, or enrolment for roles that need one."""
    if current_user.is_authenticated:
        return redirect(url_for("beneficiaries.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.username.data, form.password.data)
        except service.AccountError as err:
            g.commit_on_error = True  # keep the failure count and its audit record
            form.password.errors = [err.message]
            return render_template("auth/login.html", form=form), form_status(form)
        next_url = safe_next(form.next.data)
        if user.mfa_enabled or service.mfa_required(user):
            stage = "verify" if user.mfa_enabled else "enrol"
            flask_session["pending"] = {
                "user_id": user.id,
                "stage": stage,
                "at": utcnow().timestamp(),
                "next": next_url,
            }
            return redirect(url_for("auth.mfa_verify" if user.mfa_enabled else "auth.mfa_enrol"))
        return _finish_login(user, next_url)
    return render_template("auth/login.html", form=form), form_status(form)


@bp.route("/login/code", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def mfa_verify() -> ResponseReturnValue:
    """The second step of login: a TOTP code that works once."""
    return _code_step("verify", service.verify_mfa, "auth/mfa_verify.html")


@bp.route("/login/enrol", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def mfa_enrol() -> ResponseReturnValue:
    """First login of a role that needs MFA: scan the QR code, then confirm with a code."""
    return _code_step("enrol", service.confirm_mfa_enrolment, "auth/mfa_enrol.html")


def _code_step(stage: str, check: Callable[[User, str], None], template: str) -> ResponseReturnValue:
    """Ask for a TOTP code for the pending login; finish the login when `check` accepts it."""
    user = _pending_user(stage)
    if user is None:
        flash(_("Please log in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            check(user, form.code.data)
        except service.AccountError as err:
            g.commit_on_error = True  # keep the audit record of the failed code
            show_on_form(form, err)
        else:
            return _finish_login(user, flask_session["pending"].get("next"))
    extra = {}
    if stage == "enrol":
        extra["secret"], extra["qr_svg"] = service.begin_mfa_enrolment(user)
    return render_template(template, form=form, **extra), form_status(form)


@bp.post("/logout")
@authenticated
def logout() -> ResponseReturnValue:
    """End this session on the server, then forget the cookie."""
    service.end_session(current_user._get_current_object())
    logout_user()
    flask_session.pop("pending", None)
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
