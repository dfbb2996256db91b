"""Forms of break-the-glass, its review and the DPO's audit search."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Optional

from msc.beneficiaries import corrections
from msc.beneficiaries.corrections import CORRECTABLE
from msc.beneficiaries.vocab import FIELD_LABELS
from msc.dpo import exports, glass
from msc.dpo.vocab import ERASURE_REASONS, EXPORT_PURPOSES, GLASS_DECISIONS, GLASS_REASONS, REVIEW_OUTCOMES
from msc.forms import CleanString, CleanText, IdField, Length, MultiCheckboxField, options
from msc.security import vocab as security_vocab
from msc.urls import coerce_id


class GlassForm(FlaskForm):
    # Required fields are checked by the service, which says what is missing in words.
    case_number = CleanString(_l("Case number"), [Optional(), Length(max=40)], render_kw={"autocomplete": "off"})
    date_of_birth = DateField(_l("Date of birth"), [Optional()])
    card_token = CleanString(
        _l("Or the token printed on the card"), [Optional(), Length(max=40)], render_kw={"autocomplete": "off"}
    )
    reason = RadioField(_l("Reason"), choices=options(GLASS_REASONS), validators=[Optional()], validate_choice=False)
    explanation = CleanText(_l("Why you need this record now"), [Optional(), Length(max=glass.MAX_TEXT)])


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Decision"), choices=options(GLASS_DECISIONS), validators=[Optional()], validate_choice=False
    )
    note = CleanText(_l("Note"), [Optional(), Length(max=glass.MAX_TEXT)])


class ReviewForm(FlaskForm):
    outcome = RadioField(
        _l("Outcome"), choices=options(REVIEW_OUTCOMES), validators=[Optional()], validate_choice=False
    )
    note = CleanText(_l("Note"), [Optional(), Length(max=glass.MAX_TEXT)])


class AuditSearchForm(FlaskForm):
    class Meta:
        csrf = False

    user = StringField(_l("User name"), [Optional(), Length(max=64)])
    #: a link may still carry the beginning of an action ("access."), hence no choice validation
    action = SelectField(_l("Action"), validators=[Optional()], validate_choice=False)
    object_type = SelectField(_l("Kind of record"), validators=[Optional()], validate_choice=False)
    object_id = IdField(_l("Record number"), [Optional()])
    start = DateField(_l("From"), [Optional()])
    end = DateField(_l("To"), [Optional()])

    def __init__(self, *a, object_types=(), **kw):
        super().__init__(*a, **kw)
        self.object_type.choices = options(
            [("", _l("Any record"))] + [(t, security_vocab.record_type_label(t)) for t in object_types]
        )
        actions = sorted(security_vocab.AUDIT_ACTIONS.items(), key=lambda pair: str(pair[1]))
        self.action.choices = options([("", _l("Any action")), *actions])


class EraseForm(FlaskForm):
    case_number = CleanString(_l("Case number"), [Optional(), Length(max=40)])
    reason = RadioField(
        _l("Why the data is erased"), choices=options(ERASURE_REASONS), validators=[Optional()], validate_choice=False
    )
    confirm = BooleanField(_l("I understand that this cannot be undone"))


class PolicyForm(FlaskForm):
    country = SelectField(_l("Country"), validators=[Optional()], validate_choice=False)
    years = CleanString(_l("Years kept after the last case closed"), [Optional(), Length(max=10)])

    def __init__(self, *a, countries=(), **kw):
        super().__init__(*a, **kw)
        self.country.choices = options(list(countries))


class SubjectAccessForm(FlaskForm):
    case_number = CleanString(_l("Case number"), [Optional(), Length(max=40)])
    language = SelectField(
        _l("Language of the report"), choices=options([("es", "Español"), ("pt_BR", "Português"), ("en", "English")])
    )
    fmt = RadioField(
        _l("Format"), choices=options([("html", _l("A page to print")), ("json", _l("JSON file"))]), default="html"
    )


class CorrectionForm(FlaskForm):
    fields = MultiCheckboxField(_l("Data the person says is wrong"), validators=[Optional()], validate_choice=False)
    details = CleanText(_l("What the person says it should be"), [Optional(), Length(max=corrections.MAX_TEXT)])

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)

        self.fields.choices = options([(f, FIELD_LABELS.get(f, f)) for f in CORRECTABLE])


class RefusalForm(FlaskForm):
    reason = CleanText(_l("Why the data is not corrected"), [Optional(), Length(max=corrections.MAX_TEXT)])


class PersonalExportForm(FlaskForm):
    purpose = RadioField(
        _l("Purpose of this export"), choices=options(EXPORT_PURPOSES), validators=[Optional()], validate_choice=False
    )
    purpose_note = CleanText(_l("The purpose in your words"), [Optional(), Length(max=exports.MAX_PURPOSE)])
    centre_id = SelectField(_l("Centre"), coerce=coerce_id, validators=[Optional()], validate_choice=False)

    def __init__(self, *a, centres=(), **kw):
        super().__init__(*a, **kw)
        self.centre_id.choices = options(
            [(0, _l("All my centres"))] + [(c.id, f"{c.code} · {c.name}") for c in centres]
        )


class RetireKeyForm(FlaskForm):
    """One old key to remove from the key ring (the page offers only those nothing needs)."""

    kind = HiddenField(validators=[DataRequired(), AnyOf(("kek", "index"))])
    key_id = HiddenField(validators=[DataRequired(), Length(max=64)])
