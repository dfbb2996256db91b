"""Flask-Login wiring: the cookie carries a session token checked against the database every request."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

from msc import timing
from msc.security import service
from msc.security.models import User


def init_login(app: Flask, login_manager: LoginManager) -> None:
    """Load users from live server-side sessions only; no remember-me cookie."""

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader  # type: ignore[untyped-decorator]  # Flask-Login has no type hints
    def _load(user_key: str) -> User | None:
        user_id, sep, token = (user_key or "").partition(":")
        if not sep or not user_id.isdigit() or not token:
            return None
        with timing.segment("session"):
            return service.load_session(int(user_id), token)
