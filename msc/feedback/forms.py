"""Feedback forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField
from wtforms.validators import Optional

from msc.feedback import vocab
from msc.feedback.service import MAX_CONTACT, MAX_TEXT
from msc.forms import CleanString, CleanText, Length, options
from msc.urls import coerce_id


class PublicForm(FlaskForm):
    kind = RadioField(_l("What do you want to tell us?"), choices=options(vocab.KINDS))
    text = CleanText(_l("Your message"), [Length(max=MAX_TEXT)])
    contact = CleanString(_l("Phone or e-mail, only if you want an answer"), [Optional(), Length(max=MAX_CONTACT)])
    #: left empty by people; filled by robots (hidden from people and screen readers)
    website = StringField(_l("Leave this empty"), [Optional(), Length(max=200)])
    started = HiddenField()


class StatusForm(FlaskForm):
    code = StringField(_l("Your reference code"), [Length(max=40)])


class DeskForm(FlaskForm):
    centre_id = SelectField(_l("Centre"), coerce=coerce_id)
    kind = RadioField(_l("Kind"), choices=options(vocab.KINDS))
    case_number = CleanString(_l("Case number of the person (optional)"), [Optional(), Length(max=32)])
    text = CleanText(_l("What the person said"), [Length(max=MAX_TEXT)])
    contact = CleanString(_l("Contact, if the person wants an answer"), [Optional(), Length(max=MAX_CONTACT)])

    def __init__(self, *a, centres=(), **kw):
        super().__init__(*a, **kw)
        self.centre_id.choices = options([(c.id, c.name) for c in centres])


class UpdateForm(FlaskForm):
    status = SelectField(_l("Status"), choices=options(vocab.STATUSES))
    assignee_id = SelectField(_l("Assigned to"), coerce=coerce_id, validate_choice=False)
    response = CleanText(_l("Answer (the person reads it with their code)"), [Optional(), Length(max=MAX_TEXT)])


class SurveyForm(FlaskForm):
    rating = RadioField(
        _l("How was it?"),
        choices=options(
            [("5", _l("Very good")), ("4", _l("Good")), ("3", _l("So-so")), ("2", _l("Bad")), ("1", _l("Very bad"))]
        ),
    )
    service = SelectField(_l("Which service?"), choices=options(vocab.SERVICES))
    text = CleanText(_l("Anything to add? (optional)"), [Optional(), Length(max=MAX_TEXT)])
    website = StringField(_l("Leave this empty"), [Optional(), Length(max=200)])
    started = HiddenField()
