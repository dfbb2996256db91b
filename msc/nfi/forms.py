"""NFI forms. Quantities per item or per desk row are named inputs (qty-…) parsed by parse_quantity,
so "2.5", "-1" or "tres" come back with a message and what was typed."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, NumberRange, Optional

from msc.beneficiaries.vocab import SEXES
from msc.forms import CleanString, CleanText, Length, MultiCheckboxField, options
from msc.nfi.vocab import (
    ACK_METHODS,
    ADJUSTMENT_REASONS,
    CATEGORIES,
    COLLECTED_BY,
    LEVELS,
    RECEIPT_SOURCES,
    UNITS,
    VOID_REASONS,
)
from msc.urls import coerce_id


class HandOverForm(FlaskForm):
    centre_id = SelectField(_l("Handed over at"), coerce=coerce_id)
    collected_by = RadioField(_l("Collected by"), choices=options(COLLECTED_BY), default="self")
    collector_name = CleanString(_l("Name of the person collecting"), [Optional(), Length(max=200)])
    ack_method = RadioField(_l("How the hand-over is acknowledged"), choices=options(ACK_METHODS), default="signature")
    signature = HiddenField()
    witness_name = CleanString(_l("Witness's name"), [Optional(), Length(max=200)])
    justification = CleanText(
        _l("Justification (only to give items outside the rules)"), [Optional(), Length(max=2000)]
    )

    def __init__(self, *a, centres=(), **kw):
        super().__init__(*a, **kw)
        self.centre_id.choices = options([(c.id, c.name) for c in centres])


class VoidForm(FlaskForm):
    def __init__(self, *a, **kw):
        super().__init__(*a, prefix="void", **kw)

    reason = SelectField(_l("Why is it voided?"), choices=options(VOID_REASONS))
    note = CleanText(_l("Note"), [Optional(), Length(max=2000)])


class ReceiptForm(FlaskForm):
    reference = CleanString(
        _l("Delivery note or waybill reference"), [DataRequired(_l("Give the reference.")), Length(max=60)]
    )
    source = SelectField(_l("From"), choices=options(RECEIPT_SOURCES))
    received_on = DateField(_l("Received on"), [Optional()])


class TransferForm(FlaskForm):
    to_centre_id = SelectField(_l("To centre"), coerce=coerce_id)

    def __init__(self, *a, centres=(), **kw):
        super().__init__(*a, **kw)
        self.to_centre_id.choices = options([(0, "—")] + [(c.id, f"{c.code} · {c.name}") for c in centres])


class AdjustForm(FlaskForm):
    item_id = SelectField(_l("Item"), coerce=coerce_id)
    reason = SelectField(_l("Reason"), choices=options(ADJUSTMENT_REASONS))
    direction = RadioField(
        _l("Change"), choices=options({"remove": _l("Remove from stock"), "add": _l("Add to stock")}), default="remove"
    )
    quantity = StringField(_l("Quantity"), [Length(max=20)])

    def __init__(self, *a, items=(), **kw):
        super().__init__(*a, **kw)
        self.item_id.choices = options([(0, "—")] + [(i.id, f"{i.code} · {i.name}") for i in items])


class SheetForm(FlaskForm):
    """A count sheet or the thresholds: the inputs are one per item, named in the template."""


class ReportForm(FlaskForm):
    class Meta:
        csrf = False

    start = DateField(_l("From"), [Optional()])
    end = DateField(_l("To"), [Optional()])
    # Checked against the user's scope by the report service, which says so in words.
    centre_id = SelectField(_l("Centre"), coerce=coerce_id, validators=[Optional()], validate_choice=False)
    country = SelectField(_l("Country"), validators=[Optional()], validate_choice=False)

    def __init__(self, *a, centres=(), countries=(), **kw):
        super().__init__(*a, **kw)
        self.centre_id.choices = options(
            [(0, _l("All my centres"))] + [(c.id, f"{c.code} · {c.name}") for c in centres]
        )
        self.country.choices = options([("", _l("All my countries"))] + list(countries))


class ItemForm(FlaskForm):
    code = CleanString(_l("Code"), [DataRequired(_l("Give the item's code.")), Length(max=16)])
    name_es = CleanString(_l("Name in Spanish"), [DataRequired(_l("Give the name in Spanish.")), Length(max=120)])
    name_pt = CleanString(_l("Name in Portuguese"), [DataRequired(_l("Give the name in Portuguese.")), Length(max=120)])
    name_en = CleanString(_l("Name in English"), [DataRequired(_l("Give the name in English.")), Length(max=120)])
    unit = SelectField(_l("Unit"), choices=options(UNITS))
    category = SelectField(_l("Category"), choices=options(CATEGORIES))
    active = BooleanField(_l("Active"), default=True)
    level = RadioField(_l("Counted for"), choices=options(LEVELS), default="individual")
    sexes = MultiCheckboxField(_l("Only for (leave empty for everyone)"), choices=options(SEXES))
    age_min = IntegerField(_l("From age"), [Optional(), NumberRange(0, 120)])
    age_max = IntegerField(_l("To age (inclusive)"), [Optional(), NumberRange(0, 120)])
    quantity = IntegerField(
        _l("Quantity per period"), [DataRequired(_l("Give the quantity per period.")), NumberRange(1, 1000)], default=1
    )
    period_days = IntegerField(
        _l("Period (days)"), [DataRequired(_l("Give the period in days.")), NumberRange(1, 3650)], default=30
    )
    min_interval_days = IntegerField(_l("Days between two hand-overs"), [Optional(), NumberRange(0, 3650)], default=0)
    max_per_day = IntegerField(
        _l("At most per day"), [DataRequired(_l("Give the daily maximum.")), NumberRange(1, 1000)], default=1
    )
