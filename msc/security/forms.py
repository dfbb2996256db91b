"""Login, second factor, password and account forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField
from wtforms.validators import DataRequired

from msc.forms import LANGUAGE_OPTIONS, CleanString, Length, options


class LoginForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF has no type hints
    username = CleanString(
        _l("Username"),
        [DataRequired(_l("Enter your username.")), Length(max=64)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"),
        [DataRequired(_l("Enter your password.")), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class CodeForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF has no type hints
    code = CleanString(
        _l("6-digit code"),
        [DataRequired(_l("Enter the code from your app.")), Length(max=12)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class PasswordChangeForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF has no type hints
    current_password = PasswordField(
        _l("Current password"),
        [DataRequired(_l("Enter your current password.")), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        [DataRequired(_l("Enter a new password.")), Length(max=256)],
        render_kw={"autocomplete": "new-password"},
    )


class LanguageForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF has no type hints
    locale = SelectField(_l("Language"), choices=options(LANGUAGE_OPTIONS))
