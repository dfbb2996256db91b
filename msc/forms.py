"""Form pieces shared by every feature: clean text fields that refuse control characters, and the
handling of a form that comes back (a rule's no on the form, the status of the page)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import flask_wtf.i18n
import wtforms.widgets
import wtforms.widgets.core
from babel import support
from flask import current_app, has_request_context
from flask_babel import get_locale, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import IntegerField, SelectMultipleField, StringField, TextAreaField, validators
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.widgets.core import clean_key

from msc.errors import DomainError, show_on_form
from msc.urls import parse_id


def html_params(**kwargs: Any) -> Markup:
    """WTForms' attribute writer, the same output built with plain strings: WTForms formats each attribute
    through `Markup.format`, which cost a page with forty fields and their labels a third of its rendering
    (the registration form). Installed in place of WTForms' own below; tests/test_forms_helper.py checks
    that both write the same."""
    params = []
    for key, value in sorted(kwargs.items()):
        if value is True:
            params.append(str(escape(clean_key(key))))
        elif value is not False:
            params.append(f'{escape(clean_key(key))}="{escape(value)}"')
    return Markup(" ".join(params))


#: what WTForms wrote with, kept to compare against
wtforms_html_params = wtforms.widgets.core.html_params
wtforms.widgets.core.html_params = html_params
wtforms.widgets.html_params = html_params


@lru_cache(maxsize=8)
def _wtforms_catalogue(locale: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def wtforms_translations() -> support.NullTranslations | None:
    """WTForms' own messages ("This field is required.", "Not a valid integer value.") in the request's
    language, read from disk once per language and process. Flask-WTF parsed the catalogue again in every
    request that built a form: a twentieth of a search's time. Installed in its place below."""
    if not has_request_context() or "babel" not in current_app.extensions:
        return None
    return _wtforms_catalogue(str(get_locale()))


flask_wtf.i18n._get_translations = wtforms_translations

#: control characters, bidirectional overrides, and the invisible ones that make a name of nothing (a
#: zero-width space, a word joiner, a byte-order mark); the joiners some scripts write with stay allowed
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def has_control_chars(text: str) -> bool:
    """Whether a text holds control or bidirectional-override characters (the forms, the API and the
    imports refuse them: they hide what a value really is)."""
    return bool(_CONTROL.search(text))


def storable(text: str, allow_nul: bool = False) -> bool:
    """Whether a text can be kept at all: no half of a surrogate pair (it has no UTF-8) and, unless `allow_nul`,
    no NUL (PostgreSQL refuses it). A browser's form cannot send either; JSON can."""
    if not allow_nul and "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_text(body: Any, allow_nul: bool = False) -> str | None:
    """The dotted name (lines.0.name) of the first text of a JSON document, name or value, that is not
    storable(); None when there is none. Walked without recursion: it may be as deep as the parser allowed."""
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        name, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if not storable(key, allow_nul):
                    return f"{name}{key!a}"
                stack.append((f"{name}{key}.", item))
        elif isinstance(value, list):
            stack.extend((f"{name}{i}.", item) for i, item in enumerate(value))
        elif isinstance(value, str) and not storable(value, allow_nul):
            return name.rstrip(".") or "body"
    return None


def no_control_chars(form, field) -> None:
    """Refuse control and bidirectional-override characters (they hide what a value really is)."""
    if field.data and has_control_chars(field.data):
        raise ValidationError(_l("Remove the invisible or control characters from this field."))


class Length(validators.Length):
    """The most characters a text field takes, checked on the server: too long, the form comes back with
    the field as typed and a message saying the most and how many there are. No `maxlength` attribute is
    rendered (WTForms would add one): a browser cuts what is typed or pasted beyond it without a word."""

    def __init__(self, min: int = -1, max: int = -1, message: Any = None) -> None:
        super().__init__(min, max, message)
        self.field_flags: dict[str, Any] = {"minlength": min} if min != -1 else {}

    def __call__(self, form, field) -> None:
        length = len(field.data or "")
        if self.max != -1 and length > self.max:
            raise ValidationError(
                ngettext(
                    "Use at most %(num)d character: this has %(count)d.",
                    "Use at most %(num)d characters: this has %(count)d.",
                    self.max,
                    count=length,
                )
            )
        super().__call__(form, field)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CleanString(StringField):
    """A one-line text field: trimmed, no control characters."""

    def __init__(self, label: Any = None, validators: Any = None, filters: Sequence[Any] = (), **kw: Any) -> None:
        super().__init__(label, [no_control_chars, *(validators or [])], filters=[_strip, *filters], **kw)


class CleanText(TextAreaField):
    """A multi-line text field: trimmed, no control characters except newlines and tabs."""

    def __init__(self, label=None, validators=None, filters=(), **kw):
        super().__init__(label, [no_control_chars, *(validators or [])], filters=[_strip, *filters], **kw)


def options(pairs) -> list[SelectChoice]:
    """Select/radio/checkbox options from (value, label) pairs or a {value: label} mapping."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value, label) for value, label in items]


class IdField(IntegerField):
    """A record number typed by hand: ASCII digits the database can hold (msc.urls.parse_id), or a
    clear error on the field; never "١" read as 1 nor a number the database driver overflows on."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or valuelist[0] in ("", None):
            return
        self.data = parse_id(str(valuelist[0]).strip())
        if self.data is None:
            raise ValueError(_l("Type a record number in digits 0 to 9."))


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ConfirmForm(FlaskForm):
    """A POST with nothing but the CSRF token (buttons that act on one record)."""


LANGUAGE_OPTIONS = (("es", "Español"), ("pt_BR", "Português"), ("en", "English"))


@contextmanager
def rule_on_form(form) -> Iterator[None]:
    """Run what a submitted form asks for; if a rule says no (a DomainError), its message goes on the
    field it names, or on the form as a whole, and the rest of the block is skipped. Any other exception
    goes on up.

        if form.validate_on_submit():
            with rule_on_form(form):
                service.do(current_user, ...)
                flash(_("Saved."), "success")
                return redirect(url_for(...))
        return render_template("x.html", form=form), form_status(form)
    """
    try:
        yield
    except DomainError as err:
        show_on_form(form, err)


def form_status(*forms) -> int:
    """The status of a page showing these forms: 422 when any comes back with something wrong (a field's
    error, a rule's no, an expired CSRF token), 200 otherwise. A 422 saves nothing of what the request
    started (should_commit in msc/app.py)."""
    return 422 if any(form.errors for form in forms) else 200
