"""The administrator's forms for service accounts, their tokens and the partners' webhooks."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from msc.admin.forms import UserForm
from msc.api.tokens import DEFAULT_DAYS, MAX_DAYS
from msc.api.webhooks import EVENTS
from msc.forms import CleanString, Length, MultiCheckboxField, options
from msc.security.policy import SERVICE_ROLES
from msc.security.vocab import ROLE_LABELS


class ServiceAccountForm(UserForm):
    """A user form without what only people have (a password, the PSEA designation)."""

    password = None
    psea_focal_point = None

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.role.choices = options({r: ROLE_LABELS[r] for r in SERVICE_ROLES})
        self.display_name.label.text = _l("Which system it is")


class TokenForm(FlaskForm):
    label = CleanString(
        _l("Name of the token (where it will be used)"), [InputRequired(_l("Name the token.")), Length(max=80)]
    )
    days = IntegerField(
        _l("Valid for (days)"),
        [
            InputRequired(_l("Say for how many days.")),
            NumberRange(min=1, max=MAX_DAYS, message=_l("From 1 to %(max)d days.", max=MAX_DAYS)),
        ],
        default=DEFAULT_DAYS,
    )


class WebhookForm(FlaskForm):
    """A partner organisation's subscription to its referrals' events."""

    organisation_id = SelectField(
        _l("Partner organisation"), coerce=int, validators=[InputRequired(_l("Choose the organisation."))]
    )
    url = CleanString(
        _l("Address that receives the events (https://…)"),
        [InputRequired(_l("Give the address.")), Length(max=500)],
        render_kw={"inputmode": "url", "autocomplete": "off"},
    )
    events = MultiCheckboxField(_l("Events"), choices=options(EVENTS))

    def __init__(self, *a, organisations=(), **kw):
        super().__init__(*a, **kw)
        self.organisation_id.choices = [(o.id, o.name) for o in organisations]
