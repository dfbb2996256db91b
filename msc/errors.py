"""The one kind of error a rule raises: a translated message, and the form field it concerns."""

from __future__ import annotations


class DomainError(Exception):
    """A rule said no. The message is translated and safe to show; field names the form field."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field


class RuleError(DomainError):
    """A rule of the registry said no: registration, households, consent, search."""


def show_on_form(form, err: DomainError) -> None:
    """Put a rule's message on the field it concerns, or on the form as a whole."""
    field = getattr(form, err.field or "", None)
    if field is None:
        form.form_errors.append(err.message)
    else:
        field.errors = [*field.errors, err.message]
