"""Referral forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import Optional

from msc.forms import CleanText, Length, MultiCheckboxField, options
from msc.partners.vocab import DATA_CATEGORIES, SECTORS
from msc.referrals.service import MAX_TEXT
from msc.referrals.vocab import DEFAULT_CATEGORIES, URGENCIES
from msc.urls import coerce_id


class ReferralForm(FlaskForm):
    service_id = SelectField(_l("Service"), coerce=coerce_id, validators=[Optional()])
    urgency = SelectField(_l("Urgency"), choices=options(URGENCIES), default="routine")
    reason = CleanText(_l("Reason for the referral"), [Length(max=MAX_TEXT)])
    categories = MultiCheckboxField(
        _l("Data to share"), choices=options(DATA_CATEGORIES), default=list(DEFAULT_CATEGORIES)
    )

    def __init__(self, *a, services=(), **kw):
        super().__init__(*a, **kw)
        self.service_id.choices = options(
            [(0, _l("Choose…"))] + [(s.id, f"{SECTORS[s.sector]} — {s.name} ({s.organisation.name})") for s in services]
        )


class TextForm(FlaskForm):
    """One free-text answer: a reason, an outcome."""

    text = CleanText(_l("Write it here"), [Length(max=MAX_TEXT)])
