"""The imports' forms. The mapping page's selects are named per column and per value (column-3,
value-3-0): the view reads them, the service checks every choice."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField

from msc.forms import options
from msc.urls import coerce_id


class UploadForm(FlaskForm):
    file = FileField(_l("The list (CSV, XLSX, or a KoBoToolbox XLSX export)"), [FileRequired(_l("Choose the file."))])
    centre_id = SelectField(_l("Centre the people are registered at"), coerce=coerce_id)
    mapping_uid = SelectField(_l("Columns mapped as"), default="")

    def __init__(self, *a, centres=(), mappings=(), **kw):
        super().__init__(*a, **kw)
        self.centre_id.choices = options([(c.id, c.name) for c in centres])
        self.mapping_uid.choices = options(
            [("", _l("A new source: map the columns"))] + [(m.uid, m.name) for m in mappings]
        )
