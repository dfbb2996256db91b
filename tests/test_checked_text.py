"""The one check of free text a person typed: trimmed, required or not, a minimum, a limit, in words."""

import pytest

from msc.errors import DomainError, checked_text


class NoteError(DomainError):
    """A feature's own error, raised by the check when the feature asks for it."""


def test_text_is_trimmed_and_empty_optional_text_is_none(app):
    with app.test_request_context():
        assert checked_text("  Se llama Inés.  ", field="details") == "Se llama Inés."
        assert checked_text("   ", field="details", required=False) is None
        assert checked_text(None, field="details", required=False) is None


def test_missing_short_and_long_text_are_refused_in_words_on_the_field(app):
    with app.test_request_context():
        with pytest.raises(DomainError, match="This needs a few words.") as err:
            checked_text(" ", field="reason")
        assert err.value.field == "reason"
        with pytest.raises(NoteError, match="Explain why"):
            checked_text("urgente", field="why", error=NoteError, minimum=15, missing="Explain why")
        with pytest.raises(NoteError, match="Use at most 10 characters.") as err:
            checked_text("x" * 11, field="why", error=NoteError, limit=10)
        assert err.value.field == "why"
        assert checked_text("x" * 10, field="why", limit=10) == "x" * 10
        with pytest.raises(DomainError, match="shorter"):
            checked_text("x" * 11, field="why", limit=10, too_long="Please keep it shorter")
