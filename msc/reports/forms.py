"""The dashboards' filters (a GET form: the address of a dashboard can be shared and bookmarked)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Optional

from msc.beneficiaries.vocab import AGE_BANDS, SEXES, nationality_choices
from msc.forms import Length, options
from msc.urls import coerce_id


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    # Months are checked by the report service, which says what is wrong in words.
    start = StringField(_l("From (month)"), [Length(max=20)], render_kw={"type": "month", "placeholder": "2026-01"})
    end = StringField(_l("To (month)"), [Length(max=20)], render_kw={"type": "month", "placeholder": "2026-12"})
    # Checked against the user's scope by the report service.
    centre_id = SelectField(_l("Centre"), coerce=coerce_id, validators=[Optional()], validate_choice=False)
    country = SelectField(_l("Country"), validators=[Optional()], validate_choice=False)
    sex = SelectField(_l("Sex"), validators=[Optional()], validate_choice=False)
    age_band = SelectField(_l("Age band"), validators=[Optional()], validate_choice=False)
    nationality = SelectField(_l("Nationality"), validators=[Optional()], validate_choice=False)

    def __init__(self, *a, centres=(), countries=(), **kw):
        super().__init__(*a, **kw)
        self.centre_id.choices = options(
            [(0, _l("All my centres"))] + [(c.id, f"{c.code} · {c.name}") for c in centres]
        )
        self.country.choices = options([("", _l("All my countries"))] + list(countries))
        self.sex.choices = options([("", _l("Everyone"))] + list(SEXES.items()))
        self.age_band.choices = options(
            [("", _l("All ages"))] + [(b, b) for b in AGE_BANDS] + [("unknown", _l("Age unknown"))]
        )
        self.nationality.choices = options([("", _l("All nationalities"))] + nationality_choices())
