"""Case forms; each has its own prefix so they can share the case page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectField
from wtforms.validators import InputRequired, Optional

from msc.beneficiaries.vocab import NEEDS
from msc.cases.service import MAX_NOTE, MAX_TASK
from msc.cases.vocab import CLOSE_REASONS, RISK_LEVELS, SECTOR_NEEDS, SEVERITIES, STATUSES
from msc.forms import CleanString, CleanText, Length, MultiCheckboxField, options
from msc.urls import coerce_id


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), choices=options(STATUSES))
    reason = SelectField(
        _l("Reason for closing"), choices=options([("", "—"), *CLOSE_REASONS.items()]), validators=[Optional()]
    )


class RiskForm(FlaskForm):
    risk_level = SelectField(_l("Risk level"), choices=options(RISK_LEVELS))


class AssignForm(FlaskForm):
    caseworkers = MultiCheckboxField(_l("Caseworkers"), coerce=coerce_id)

    def __init__(self, *a, people=(), **kw):
        super().__init__(*a, **kw)
        self.caseworkers.choices = options([(u.id, u.display_name) for u in people])


class PriorityForm(FlaskForm):
    priority = SelectField(
        _l("Priority"), choices=options([("", _l("As assessed")), *RISK_LEVELS.items()]), validators=[Optional()]
    )
    reason = CleanText(_l("Why the priority differs from the assessment"), [Optional(), Length(max=1000)])


class NoteForm(FlaskForm):
    body = CleanText(_l("Case note"), [InputRequired(_l("Write the note.")), Length(max=MAX_NOTE)])
    sensitive = BooleanField(_l("Sensitive: only the assigned caseworkers, protection officers and I can read it"))


class TaskForm(FlaskForm):
    title = CleanString(
        _l("What needs to be done"), [InputRequired(_l("Say what needs to be done.")), Length(max=MAX_TASK)]
    )
    due_on = DateField(_l("Due date"), [InputRequired(_l("Give a due date."))])
    assignee = SelectField(_l("Assigned to"), coerce=coerce_id, validators=[Optional()])

    def __init__(self, *a, people=(), **kw):
        super().__init__(*a, **kw)
        self.assignee.choices = options([(u.id, u.display_name) for u in people])


def assessment_form(formdata=None, data=None) -> FlaskForm:
    """A form with one severity question per sector and the specific needs as checkboxes."""
    fields = {
        f"sector_{code}": RadioField(label, choices=options(SEVERITIES), default="none")
        for code, label in SECTOR_NEEDS.items()
    }
    fields["specific"] = MultiCheckboxField(
        _l("Specific needs"), choices=options([(code, label) for code, (label, _sensitive) in NEEDS.items()])
    )
    form_class = type("AssessmentForm", (FlaskForm,), fields)
    return form_class(formdata=formdata, data=data)
