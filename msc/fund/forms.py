"""Fund forms: the application with the criteria questions, the decision, disbursements, audit."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, RadioField, SelectField, StringField
from wtforms.validators import NumberRange, Optional

from msc.forms import CleanString, CleanText, Length, MultiCheckboxField, options
from msc.fund import vocab

LINES = 3


class ApplicationForm(FlaskForm):
    case_type = RadioField(_l("Case type"), choices=options(vocab.CASE_TYPES))
    #: the case type whose questions the page showed: the answers are checked only when it is the one chosen
    asked = HiddenField()
    act = MultiCheckboxField(_l("Act"), choices=options(vocab.options_of("act")))
    purpose = MultiCheckboxField(_l("Purpose"), choices=options(vocab.options_of("purpose")))
    means = MultiCheckboxField(_l("Means"), choices=options(vocab.options_of("means")))
    age_in_doubt = BooleanField(_l("The age is in doubt (no document, or the person may be younger)"))
    separated_from_parents = RadioField(
        _l("Separated from both parents or the previous caregiver?"),
        choices=options(vocab.YES_NO),
        validators=[Optional()],
    )
    adult_relative_caring = RadioField(
        _l("Is another adult relative caring for the child?"), choices=options(vocab.YES_NO), validators=[Optional()]
    )
    indicators = MultiCheckboxField(_l("Vulnerability indicators"), choices=options(vocab.options_of("indicators")))
    evidence = CleanText(_l("Evidence notes"), [Optional(), Length(max=4000)])
    line1_category = SelectField(
        _l("Assistance 1"), choices=options([("", "—"), *vocab.CATEGORIES.items()]), validate_choice=False
    )
    line1_amount = StringField(_l("Amount 1"), [Length(max=20)])
    line1_provider = CleanString(_l("Provider 1"), [Optional(), Length(max=200)])
    line2_category = SelectField(
        _l("Assistance 2"), choices=options([("", "—"), *vocab.CATEGORIES.items()]), validate_choice=False
    )
    line2_amount = StringField(_l("Amount 2"), [Length(max=20)])
    line2_provider = CleanString(_l("Provider 2"), [Optional(), Length(max=200)])
    line3_category = SelectField(
        _l("Assistance 3"), choices=options([("", "—"), *vocab.CATEGORIES.items()]), validate_choice=False
    )
    line3_amount = StringField(_l("Amount 3"), [Length(max=20)])
    line3_provider = CleanString(_l("Provider 3"), [Optional(), Length(max=200)])

    def answers(self) -> dict:
        out = {
            name: getattr(self, name).data
            for name in ("act", "purpose", "means", "indicators", "separated_from_parents", "adult_relative_caring")
        }
        out["age_in_doubt"] = bool(self.age_in_doubt.data)
        return {k: v for k, v in out.items() if v not in (None, "", [], "None")}


class DecisionForm(FlaskForm):
    outcome = RadioField(_l("Decision"), choices=options(vocab.OUTCOMES))
    justification = CleanText(_l("Justification (required against the recommendation)"), [Optional(), Length(max=4000)])
    period_ends_on = DateField(_l("Approved until"), [Optional()])


class DisbursementForm(FlaskForm):
    kind = RadioField(_l("Kind"), choices=options(vocab.DISBURSEMENT_KINDS), default="payment")
    amount = StringField(_l("Amount"), [Length(max=20)])
    paid_on = DateField(_l("Paid on"), [Optional()])
    payee = CleanString(_l("Payee or provider"), [Optional(), Length(max=200)])
    reference = CleanString(_l("Payment or invoice reference"), [Optional(), Length(max=60)])


class VoidForm(FlaskForm):
    reason = CleanText(_l("Why is it voided?"), [Optional(), Length(max=2000)])


class RegisterForm(FlaskForm):
    class Meta:
        csrf = False

    country = StringField(_l("Country"), [Optional(), Length(max=3)])
    centre = StringField(_l("Centre code"), [Optional(), Length(max=16)])
    decider = StringField(_l("Decided by (user name)"), [Optional(), Length(max=64)])
    case_type = SelectField(
        _l("Case type"), choices=options([("", "—"), *vocab.CASE_TYPES.items()]), validators=[Optional()]
    )
    outcome = SelectField(
        _l("Decision"), choices=options([("", "—"), *vocab.OUTCOMES.items()]), validators=[Optional()]
    )
    criteria_version = IntegerField(_l("Criteria version"), [Optional(), NumberRange(1, 10_000)])
    against = SelectField(
        _l("Against the recommendation"),
        choices=options([("", "—"), ("yes", _l("Yes")), ("no", _l("No"))]),
        validators=[Optional()],
    )
    start = DateField(_l("From"), [Optional()])
    end = DateField(_l("To"), [Optional()])


class SampleForm(FlaskForm):
    start = DateField(_l("From"), [Optional()])
    end = DateField(_l("To"), [Optional()])
    percent = IntegerField(_l("Percentage of decisions"), [Optional()], default=10)
    seed = IntegerField(_l("Seed (to draw the same sample again)"), [Optional(), NumberRange(1, 2**31)])


class FindingForm(FlaskForm):
    finding = RadioField(_l("Finding"), choices=options(vocab.FINDINGS))
    note = CleanText(_l("Note"), [Optional(), Length(max=4000)])


class AllocationForm(FlaskForm):
    country = StringField(_l("Country (ISO code, e.g. COL)"), [Length(max=3)])
    currency = StringField(_l("Currency (ISO code, e.g. COP)"), [Length(max=3)])
    amount = StringField(_l("Amount"), [Length(max=20)])
    starts_on = DateField(_l("From"), [Optional()])
    ends_on = DateField(_l("To"), [Optional()])


class CapForm(FlaskForm):
    category = SelectField(_l("Category"), choices=options(vocab.CATEGORIES))
    currency = StringField(_l("Currency (ISO code, e.g. COP)"), [Length(max=3)])
    amount = StringField(_l("Most per case"), [Length(max=20)])


class CriteriaForm(FlaskForm):
    effective_on = DateField(_l("Takes effect on"), [Optional()])
    definition = CleanText(_l("Criteria (JSON)"), [Length(max=50_000)])
    preview_case_type = SelectField(_l("Case type"), choices=options(vocab.CASE_TYPES))
    preview_answers = CleanText(_l("Sample answers (JSON)"), [Optional(), Length(max=5000)])
    preview_age = IntegerField(_l("Sample age"), [Optional(), NumberRange(0, 120)])
    preview_estimated = BooleanField(_l("The age is estimated"))
