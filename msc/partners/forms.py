"""Directory forms: organisations with their agreement, and services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField
from wtforms.validators import DataRequired, Optional

from msc.beneficiaries.vocab import LANGUAGES, country_choices
from msc.forms import CleanString, CleanText, Length, MultiCheckboxField, options
from msc.partners.vocab import DATA_CATEGORIES, ORGANISATION_KINDS, SECTORS
from msc.urls import coerce_id


class OrganisationForm(FlaskForm):
    name = CleanString(_l("Name"), [DataRequired(_l("Enter the organisation's name.")), Length(max=160)])
    kind = SelectField(_l("Kind of organisation"), choices=options(ORGANISATION_KINDS))
    country = SelectField(_l("Country"))
    contact = CleanString(_l("Contact point (office, phone or e-mail)"), [Optional(), Length(max=300)])
    agreement_until = DateField(_l("Data-sharing agreement valid until"), [Optional()])
    categories = MultiCheckboxField(_l("Data the agreement covers"), choices=options(DATA_CATEGORIES))
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.country.choices = options(country_choices())


class ServiceForm(FlaskForm):
    name = CleanString(_l("Service"), [DataRequired(_l("Enter the name of the service.")), Length(max=160)])
    sector = SelectField(_l("Sector"), choices=options(SECTORS))
    centre_ids = MultiCheckboxField(_l("Centres served"), coerce=coerce_id)
    municipalities = CleanString(_l("Other municipalities served"), [Optional(), Length(max=300)])
    eligibility = CleanText(_l("Who is eligible"), [Optional(), Length(max=500)])
    languages = MultiCheckboxField(_l("Languages"), choices=options(LANGUAGES))
    opening_hours = CleanString(_l("Opening hours"), [Optional(), Length(max=200)])
    contact = CleanString(_l("Contact for referrals"), [Optional(), Length(max=300)])
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, *a, centres=(), **kw):
        super().__init__(*a, **kw)
        self.centre_ids.choices = options([(c.id, f"{c.code} — {c.name}") for c in centres])


class DirectoryFilterForm(FlaskForm):
    """Filters of the directory page (a GET form: sector and centre are not personal data)."""

    class Meta:
        csrf = False

    sector = SelectField(_l("Sector"), validators=[Optional()])
    centre = SelectField(_l("Centre"), validators=[Optional()])

    def __init__(self, *a, centres=(), **kw):
        super().__init__(*a, **kw)
        self.sector.choices = options([("", _l("All sectors")), *SECTORS.items()])
        self.centre.choices = options([("", _l("All my centres")), *((str(c.id), c.name) for c in centres)])
