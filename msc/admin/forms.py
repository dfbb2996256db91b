"""Admin forms: centres, entry points and users."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField
from wtforms.validators import DataRequired, Optional, Regexp

from msc.beneficiaries.vocab import country_choices
from msc.forms import LANGUAGE_OPTIONS, CleanString, Length, MultiCheckboxField, options
from msc.security.vocab import ROLE_LABELS
from msc.urls import coerce_id

__all__ = ["ROLE_LABELS"]

SCOPE_LABELS = {"centre": _l("Assigned centres"), "country": _l("A whole country"), "region": _l("The whole region")}
KIND_LABELS = {
    "border_entry": _l("Border entry point"),
    "receiving": _l("Receiving municipality"),
    "transit": _l("Transit"),
}


class CentreForm(FlaskForm):
    code = CleanString(
        _l("Code"),
        [
            DataRequired(_l("Enter a code.")),
            Length(max=12),
            Regexp(
                r"^[A-Z]{3}-[A-Z0-9]{2,8}$",
                message=_l("Use the country code, a hyphen and 2 to 8 letters or digits, such as COL-CUC."),
            ),
        ],
        filters=[lambda v: v.upper() if isinstance(v, str) else v],
    )
    name = CleanString(_l("Name"), [DataRequired(_l("Enter a name.")), Length(max=120)])
    country = SelectField(_l("Country"))
    municipality = CleanString(_l("Municipality"), [DataRequired(_l("Enter the municipality.")), Length(max=120)])
    kind = SelectField(_l("Kind"), choices=options(KIND_LABELS))
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.country.choices = options(country_choices())


ENTRY_KIND_LABELS = {
    "border_crossing": _l("Border crossing"),
    "airport": _l("Airport"),
    "bus_terminal": _l("Bus terminal"),
    "port": _l("Port"),
    "other": _l("Other place"),
}


class EntryPointForm(FlaskForm):
    name = CleanString(
        _l("Name"),
        [
            DataRequired(_l("Enter the name of the place.")),
            Length(max=120),
        ],
    )
    country = SelectField(_l("Country"))
    kind = SelectField(_l("Kind"), choices=options(ENTRY_KIND_LABELS), default="border_crossing")
    active = BooleanField(_l("Offered at registration"), default=True)

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.country.choices = options(country_choices())


class UserForm(FlaskForm):
    username = CleanString(
        _l("Username"),
        [
            DataRequired(_l("Enter a username.")),
            Length(max=64),
            Regexp(
                r"^[a-z0-9._-]{3,64}$",
                flags=re.I,
                message=_l("Use 3 to 64 letters, digits, dots, hyphens or underscores."),
            ),
        ],
    )
    display_name = CleanString(_l("Full name"), [DataRequired(_l("Enter the person's name.")), Length(max=120)])
    role = SelectField(_l("Role"), choices=options(ROLE_LABELS))
    scope = SelectField(_l("Reach"), choices=options(SCOPE_LABELS), default="centre")
    country = SelectField(_l("Country (for country reach)"), validators=[Optional()])
    centres = MultiCheckboxField(_l("Centres"), coerce=coerce_id)
    locale = SelectField(_l("Language"), choices=options(LANGUAGE_OPTIONS))
    organisation_id = SelectField(_l("Organisation (partner users only)"), coerce=coerce_id, validators=[Optional()])
    password = PasswordField(
        _l("Initial password (at least 12 characters)"),
        [Optional(), Length(max=256)],
        render_kw={"autocomplete": "new-password"},
    )
    psea_focal_point = BooleanField(
        _l(
            "PSEA focal point: receives complaints of sexual exploitation or abuse, "
            "fraud, staff misconduct and data breaches (protection officers only)"
        )
    )

    def __init__(self, *a, centres=(), organisations=(), **kw):
        super().__init__(*a, **kw)
        self.organisation_id.choices = options([(0, "—")] + [(o.id, o.name) for o in organisations])
        self.country.choices = options([("", "—")] + country_choices())
        self.centres.choices = options([(c.id, f"{c.code} — {c.name}") for c in centres])


def account_form(form_class, account, centres, organisations):
    """A person's or a service account's form, filled from the account when it is first shown."""
    form = form_class(obj=account, centres=centres, organisations=organisations)
    if account is not None and not form.is_submitted():
        form.centres.data = [c.id for c in account.centres]
        form.country.data = account.country or ""
    return form


def account_fields(form) -> dict:
    """What an account's form says of its role and reach, as `admin.service.save_user` takes it."""
    return {
        "username": form.username.data,
        "display_name": form.display_name.data,
        "role": form.role.data,
        "scope": form.scope.data,
        "country": form.country.data or None,
        "centre_ids": form.centres.data or [],
        "locale": form.locale.data,
        "organisation_id": form.organisation_id.data or None,
    }
