"""Forms of continuity: asking for a record at the desk or from a hint, answering a request."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, SelectField
from wtforms.validators import Optional

from msc.continuity.vocab import DECISIONS, REFUSAL_REASONS, SECTIONS
from msc.forms import CleanString, CleanText, Length, MultiCheckboxField, options
from msc.urls import parse_id

MAX_NOTE = 1000


def _centre_id(value: object) -> int | None:
    return parse_id(value) if value not in (None, "") else None


class AskForm(FlaskForm):
    # Required fields are checked by the service, which says what is missing in words.
    centre = SelectField(_l("Your centre"), coerce=_centre_id, validators=[Optional()], validate_choice=False)
    case_number = CleanString(_l("Case number"), [Optional(), Length(max=40)], render_kw={"autocomplete": "off"})
    date_of_birth = DateField(_l("Date of birth"), [Optional()])
    card_token = CleanString(
        _l("Or the token printed on the card"), [Optional(), Length(max=40)], render_kw={"autocomplete": "off"}
    )


class RequestForm(FlaskForm):
    centre = SelectField(_l("Your centre"), coerce=_centre_id, validators=[Optional()], validate_choice=False)
    record = HiddenField(validators=[Optional(), Length(max=200)])


class AnswerForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=options(DECISIONS), validators=[Optional()], validate_choice=False)
    sections = MultiCheckboxField(
        _l("Send along, besides identity and household"), choices=options(SECTIONS), validate_choice=False
    )
    reason = RadioField(
        _l("Reason for a refusal"), choices=options(REFUSAL_REASONS), validators=[Optional()], validate_choice=False
    )
    note = CleanText(_l("Note (stays with your centre)"), [Optional(), Length(max=MAX_NOTE)])
