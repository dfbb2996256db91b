"""The one kind of error a rule raises: a translated message, and the form field it concerns."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A rule said no. The message is translated and safe to show; field names the form field."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field


class RuleError(DomainError):
    """A rule of the registry said no: registration, households, consent, search."""


def checked_text(
    value: str | None,
    *,
    field: str,
    error: type[DomainError] = DomainError,
    required: bool = True,
    minimum: int = 1,
    limit: int = 1000,
    missing: Any = None,
    too_long: Any = None,
) -> str | None:
    """Free text a person typed, trimmed. Refused in words (as `error`, on `field`) when it is required
    and missing or shorter than `minimum`, or longer than `limit`; None when empty and not required.
    `missing` and `too_long` replace the default messages where a form asks in its own words."""
    text = (value or "").strip()
    if required and len(text) < minimum:
        raise error(missing or _l("This needs a few words."), field=field)
    if len(text) > limit:
        raise error(too_long or _l("Use at most %(n)d characters.", n=limit), field=field)
    return text or None


def show_on_form(form, err: DomainError) -> None:
    """Put a rule's message on the field it concerns, or on the form as a whole."""
    field = getattr(form, err.field or "", None)
    if field is None:
        form.form_errors.append(err.message)
    else:
        field.errors = [*field.errors, err.message]
