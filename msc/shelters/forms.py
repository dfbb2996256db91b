"""Shelter forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField
from wtforms.validators import DataRequired, NumberRange, Optional

from msc.forms import CleanString, CleanText, Length, options
from msc.urls import coerce_id

MODES = {"beds": _l("Beds, counted for women and for men"), "family_units": _l("Rooms or units for families")}


class ShelterForm(FlaskForm):
    name = CleanString(_l("Name"), [DataRequired(_l("Enter the shelter's name.")), Length(max=160)])
    centre_id = SelectField(_l("Centre"), coerce=coerce_id)
    mode = SelectField(_l("How places are counted"), choices=options(MODES))
    beds_female = IntegerField(_l("Beds for women and girls"), [Optional(), NumberRange(0, 5000)], default=0)
    beds_male = IntegerField(_l("Beds for men and boys"), [Optional(), NumberRange(0, 5000)], default=0)
    family_units = IntegerField(_l("Family units"), [Optional(), NumberRange(0, 5000)], default=0)
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, *a, centres=(), **kw):
        super().__init__(*a, **kw)
        self.centre_id.choices = options([(c.id, c.name) for c in centres])


class PlacementForm(FlaskForm):
    shelter_id = SelectField(_l("Shelter"), coerce=coerce_id)
    check_in_on = DateField(_l("Check-in"), [Optional()])
    planned_days = IntegerField(_l("Planned stay (nights)"), [Optional()], default=7)
    referral_id = SelectField(_l("From the accepted shelter referral"), coerce=coerce_id, validators=[Optional()])
    override_reason = CleanText(
        _l("If the shelter is full: why the person must stay here anyway"), [Optional(), Length(max=2000)]
    )

    def __init__(self, *a, shelters=(), referrals=(), **kw):
        super().__init__(*a, **kw)
        self.shelter_id.choices = options([(s.id, s.name) for s in shelters])
        self.referral_id.choices = options(
            [(0, "—")] + [(r.id, f"{r.service.name} ({r.organisation.name})") for r in referrals]
        )
