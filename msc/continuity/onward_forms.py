"""Forms of onward movements: planning a journey, cancelling it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField
from wtforms.validators import Optional

from msc.continuity.onward_vocab import CANCEL_REASONS, ESCORTS, PROVISIONS, TRANSPORT
from msc.forms import CleanString, CleanText, Length, MultiCheckboxField, options

MAX_CITY = 120
MAX_REASON = 1000


class PlanForm(FlaskForm):
    # Required fields are checked by the service, which says what is missing in words.
    destination = SelectField(_l("Where to"), validators=[Optional()], validate_choice=False)
    other_city = CleanString(_l("Another city or place"), [Optional(), Length(max=MAX_CITY)])
    planned_on = DateField(_l("Planned date"), [Optional()])
    transport = RadioField(
        _l("Means of transport"), choices=options(TRANSPORT), validators=[Optional()], validate_choice=False
    )
    escort = RadioField(
        _l("Who escorts the child"), choices=options(ESCORTS), validators=[Optional()], validate_choice=False
    )
    escort_reason = CleanText(
        _l("Why travelling without an escort is in the best interests of the child"),
        [Optional(), Length(max=MAX_REASON)],
    )
    provided = MultiCheckboxField(_l("Provided for the journey"), choices=options(PROVISIONS), validate_choice=False)


class CancelForm(FlaskForm):
    reason = RadioField(
        _l("Reason for the cancellation"),
        choices=options(CANCEL_REASONS),
        validators=[Optional()],
        validate_choice=False,
    )
