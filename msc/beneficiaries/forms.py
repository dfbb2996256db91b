"""Reception forms: search, person, registration with household and consent, consent changes."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, RadioField, SelectField
from wtforms.validators import AnyOf, DataRequired, InputRequired, NumberRange, Optional, ValidationError

from msc import clock
from msc.beneficiaries import service, vocab
from msc.forms import CleanString, CleanText, Length, MultiCheckboxField, options

_choices = options
GIVEN_REFUSED = (("given", _l("Given")), ("refused", _l("Refused")))
CHOOSE = _l("Record whether the person gave or refused consent for this purpose.")


def not_future(form, field) -> None:
    """Refuse dates after today (the form's day: at the centre, see PersonForm)."""
    if field.data and field.data > form.today:
        raise ValidationError(_l("This date cannot be in the future."))


def not_ancient(form, field) -> None:
    """Refuse dates more than 120 years ago."""
    if field.data and field.data.year < form.today.year - 120:
        raise ValidationError(_l("This date is more than 120 years ago."))


DATE_MESSAGE = _l("Enter a real date (day, month and year).")


class SearchForm(FlaskForm):
    q = CleanString(
        _l("Name, case number, card, document, phone or date of birth"),
        [
            DataRequired(_l("Type a name, case number, document, phone or date of birth to search.")),
            Length(max=200),
        ],
        render_kw={"autocomplete": "off", "autofocus": True, "spellcheck": "false"},
    )
    page = HiddenField(default="1")
    #: offered when a page holds only equally good matches: what tells the person apart from namesakes
    narrow = CleanString(
        _l("Date of birth or second surname"),
        [Optional(), Length(max=60, message=_l("Use at most %(max)d characters."))],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class PersonForm(FlaskForm):
    """The identifying and reporting fields of a person."""

    given_names = CleanString(
        _l("Given names"),
        [DataRequired(_l("Enter the given names.")), Length(max=100)],
        render_kw={"autocomplete": "off"},
    )
    family_names = CleanString(
        _l("Family names"),
        [DataRequired(_l("Enter the family names.")), Length(max=100)],
        render_kw={"autocomplete": "off"},
    )
    sex = RadioField(_l("Sex"), choices=_choices(vocab.SEXES), validators=[InputRequired(_l("Choose the sex."))])
    date_of_birth = DateField(_l("Date of birth"), [Optional(), not_future, not_ancient])
    estimated_age = IntegerField(
        _l("Or estimated age in years, if the date is not known"),
        [Optional(), NumberRange(0, 120, message=_l("The age must be between 0 and 120."))],
        render_kw={"inputmode": "numeric"},
    )
    nationality = SelectField(_l("Nationality"), validators=[InputRequired(_l("Choose the nationality."))])
    document_type = SelectField(_l("Document type"), choices=_choices(vocab.DOCUMENT_TYPES), default="none")
    document_number = CleanString(
        _l("Document number"),
        [Optional(), Length(max=40)],
        render_kw={"autocomplete": "off"},
    )
    phone = CleanString(
        _l("Phone"),
        [Optional(), Length(max=30)],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    arrival_date = DateField(
        _l("Date of arrival in the country"),
        [Optional(), not_future, not_ancient],
    )
    #: the choices are the entry points of the centre's country (set_entry_points); the service checks
    entry_point = SelectField(_l("Entry point"), choices=[], validate_choice=False, default="")
    languages = MultiCheckboxField(_l("Languages spoken"), choices=_choices(vocab.LANGUAGES))
    needs = MultiCheckboxField(_l("Specific needs"))

    def __init__(self, *args, show_sensitive: bool = True, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        #: "today" for the date fields: the record's centre's day when the view knows it, else the viewer's
        self.today = today or clock.viewer_today(current_user)
        for dated in (self.date_of_birth, self.arrival_date):
            dated.render_kw = {**(dated.render_kw or {}), "max": self.today.isoformat()}
        self.nationality.choices = options([("", _l("Choose…"))] + vocab.nationality_choices())
        self.needs.choices = options(
            [(code, label) for code, (label, sensitive) in vocab.NEEDS.items() if show_sensitive or not sensitive]
        )

    def person_data(self, needs: list[str]) -> service.PersonData:
        """The person as the service reads it (`needs`: those the user may record)."""
        return service.PersonData(
            given_names=self.given_names.data,
            family_names=self.family_names.data,
            sex=self.sex.data,
            nationality=self.nationality.data,
            date_of_birth=self.date_of_birth.data,
            estimated_age=self.estimated_age.data,
            document_type=self.document_type.data,
            document_number=self.document_number.data or None,
            phone=self.phone.data or None,
            arrival_date=self.arrival_date.data,
            entry_point=self.entry_point.data or None,
            languages=self.languages.data or [],
            needs=needs,
        )

    def set_entry_points(self, places, several_countries: bool = False) -> None:
        """Offer these entry points (EntryPoint rows), then "Other"; with centres in several countries
        each name says its country."""
        self.entry_point.choices = options(
            [("", _l("Not recorded"))]
            + [
                (str(p.id), f"{p.name} ({vocab.country_name(p.country)})" if several_countries else p.name)
                for p in places
            ]
            + [("other", _l("Other (not on the list)"))]
        )

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if (
            not self.date_of_birth.errors
            and not self.estimated_age.errors
            and self.date_of_birth.data is None
            and self.estimated_age.data is None
        ):
            self.date_of_birth.errors = [*self.date_of_birth.errors, _l("Give the date of birth or an estimated age.")]
            ok = False
        if self.document_type.data != "none" and not self.document_number.data:
            self.document_number.errors = [
                *self.document_number.errors,
                _l("Enter the document number, or choose 'No document'."),
            ]
            ok = False
        return ok


class RegistrationForm(PersonForm):
    """A new person: identity, household and consent per purpose."""

    household_mode = RadioField(
        _l("This person"),
        choices=options(
            [
                ("new", _l("Starts a new household (head of household)")),
                ("join", _l("Joins the household of an existing record")),
            ]
        ),
        default="new",
    )
    household_case_number = CleanString(_l("Case number of a household member"), [Optional(), Length(max=32)])
    relationship = SelectField(
        _l("Relationship to the head of household"), choices=_choices(vocab.RELATIONSHIPS), default="head"
    )

    # Consent is recorded, never assumed: no choice is pre-set, the clerk chooses given or refused per purpose.
    consent_registration = RadioField(
        vocab.CONSENT_PURPOSES["registration"], choices=options(GIVEN_REFUSED), validators=[InputRequired(CHOOSE)]
    )
    consent_referral = RadioField(
        vocab.CONSENT_PURPOSES["referral"], choices=options(GIVEN_REFUSED), validators=[InputRequired(CHOOSE)]
    )
    consent_government_sharing = RadioField(
        vocab.CONSENT_PURPOSES["government_sharing"],
        choices=options(GIVEN_REFUSED),
        validators=[InputRequired(CHOOSE)],
    )
    consent_followup_contact = RadioField(
        vocab.CONSENT_PURPOSES["followup_contact"], choices=options(GIVEN_REFUSED), validators=[InputRequired(CHOOSE)]
    )
    consent_photo = RadioField(
        vocab.CONSENT_PURPOSES["photo"], choices=options(GIVEN_REFUSED), validators=[InputRequired(CHOOSE)]
    )
    #: asked like the others, but a form without it (not asked) records nothing for it
    consent_continuity = RadioField(
        vocab.CONSENT_PURPOSES["continuity"],
        choices=options(GIVEN_REFUSED),
        validate_choice=False,
        validators=[Optional(), AnyOf(("given", "refused"), message=_l("Choose given or refused."))],
    )
    legal_basis = SelectField(_l("Legal basis"), choices=_choices(vocab.LEGAL_BASES), default="consent")
    method = SelectField(_l("How consent was taken"), choices=_choices(vocab.CONSENT_METHODS), default="verbal")
    given_by = SelectField(_l("Who gave consent"), choices=_choices(vocab.CONSENT_GIVEN_BY), default="self")
    guardian_name = CleanString(
        _l("Name of the parent or guardian"),
        [Optional(), Length(max=120)],
    )
    best_interests_note = CleanText(_l("Best-interests decision"), [Optional(), Length(max=2000)])
    acknowledged = HiddenField()
    #: the desk has seen the hints of records beyond its reach (no value of theirs: only "1")
    hints_seen = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.household_mode.data == "join" and not self.household_case_number.data:
            self.household_case_number.errors = [
                *self.household_case_number.errors,
                _l("Enter the case number of someone in the household."),
            ]
            ok = False
        return ok

    CONSENT_FIELDS = ("registration", "referral", "government_sharing", "followup_contact", "photo")
    #: asked, not required: recorded only when the desk chose given or refused
    OPTIONAL_CONSENT_FIELDS = ("continuity",)

    def consent_data(self) -> list[service.ConsentData]:
        """The consent per purpose, as the service records it."""
        asked = [p for p in self.OPTIONAL_CONSENT_FIELDS if getattr(self, f"consent_{p}").data]
        return [
            service.ConsentData(
                purpose=p,
                status=getattr(self, f"consent_{p}").data,
                legal_basis=self.legal_basis.data if p == "registration" else "consent",
                method=self.method.data,
                given_by=self.given_by.data,
                guardian_name=self.guardian_name.data or None,
                best_interests_note=self.best_interests_note.data or None,
            )
            for p in (*self.CONSENT_FIELDS, *asked)
        ]

    def household_choice(self) -> service.HouseholdChoice:
        """A new household (the person heads it), or the household of the case number given."""
        joins = self.household_mode.data == "join"
        return service.HouseholdChoice(
            join_case_number=self.household_case_number.data if joins else None,
            relationship=self.relationship.data if joins else "head",
        )


class ConsentForm(FlaskForm):
    """A later consent decision for one purpose."""

    purpose = SelectField(_l("Purpose"), choices=_choices(vocab.CONSENT_PURPOSES))
    status = SelectField(_l("Decision"), choices=_choices(vocab.CONSENT_STATUSES))
    legal_basis = SelectField(_l("Legal basis"), choices=_choices(vocab.LEGAL_BASES), default="consent")
    method = SelectField(_l("How consent was taken"), choices=_choices(vocab.CONSENT_METHODS), default="verbal")
    given_by = SelectField(_l("Who gave consent"), choices=_choices(vocab.CONSENT_GIVEN_BY), default="self")
    guardian_name = CleanString(_l("Name of the parent or guardian"), [Optional(), Length(max=120)])
    best_interests_note = CleanText(_l("Best-interests decision"), [Optional(), Length(max=2000)])


class MergeForm(FlaskForm):
    """Merge another record of the same person into this one: why, and, for a pair once answered "not the
    same person", the manager's word that they are."""

    reason = CleanText(_l("Why these records are the same person"), [Optional(), Length(max=500)])
    confirm_different = BooleanField(_l("I have checked: they are the same person, although marked as different"))
