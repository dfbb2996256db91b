"""The offline desks' forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField

from msc.forms import CleanString, Length, options
from msc.urls import coerce_id


class EnrolForm(FlaskForm):
    """Enrol the tablet in use as an offline desk of one of the user's centres."""

    label = CleanString(
        _l("What the centre calls this device"),
        [Length(max=60)],
        description=_l("For example “Tablet 2, entry hall”. Never a person's name."),
    )
    centre_id = SelectField(_l("Centre"), coerce=coerce_id)

    def __init__(self, *a, centres=(), **kw):
        super().__init__(*a, **kw)
        self.centre_id.choices = options([(c.id, c.name) for c in centres])
