"""One clock for the whole system.

Moments are stored in UTC (msc.db.utcnow). A calendar day — "today", a due date, a check-in, a payment date,
the day an audit event happened — is the day at the centre: a record's rules use the record's centre, a page
uses the viewer's. The viewer's zone is that of their first centre (by code), else of their country (country
scope, or a partner organisation's country), else the configured BABEL_DEFAULT_TIMEZONE (regional staff).
Nothing outside this module and msc.db reads the system clock (tests/test_clock.py greps for it).
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from msc.db import utcnow

#: the clock at the desk: each country's centres keep its time (Brazil's centres are in Roraima)
COUNTRY_TIMEZONES = {
    "COL": "America/Bogota",
    "ECU": "America/Guayaquil",
    "PER": "America/Lima",
    "BRA": "America/Boa_Vista",
    "CHL": "America/Santiago",
    "VEN": "America/Caracas",
    "BOL": "America/La_Paz",
    "ARG": "America/Argentina/Buenos_Aires",
    "PAN": "America/Panama",
    "CRI": "America/Costa_Rica",
    "MEX": "America/Mexico_City",
    "DOM": "America/Santo_Domingo",
    "TTO": "America/Port_of_Spain",
    "GUY": "America/Guyana",
    "URY": "America/Montevideo",
    "PRY": "America/Asuncion",
}
#: where no centre or country says otherwise (outside an application, or BABEL_DEFAULT_TIMEZONE unset)
FALLBACK_TIMEZONE = "America/Bogota"


class _HasCountry(Protocol):
    country: str


def default_zone() -> ZoneInfo:
    """The zone of a viewer with no centre and no country: the deployment's configured zone."""
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or FALLBACK_TIMEZONE)


def zone(country: str | None) -> ZoneInfo:
    """The time zone of the centres of a country (the default zone when the country is not known)."""
    name = COUNTRY_TIMEZONES.get(country or "")
    return ZoneInfo(name) if name else default_zone()


def now(country: str | None) -> dt.datetime:
    """The wall-clock time at a centre of this country."""
    return utcnow().astimezone(zone(country))


def today(country: str | None) -> dt.date:
    """Today at a centre of this country: the desk's calendar day, not UTC's."""
    return now(country).date()


def today_at(centre: _HasCountry | None) -> dt.date:
    """Today at this centre."""
    return today(centre.country if centre is not None else None)


def day_of(moment: dt.datetime, country: str | None) -> dt.date:
    """The calendar day at a centre of this country on which a stored (UTC) moment fell."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone(country)).date()


def start_of(day: dt.date, country: str | None) -> dt.datetime:
    """The UTC moment at which a calendar day begins at a centre of this country (for filtering stored moments)."""
    return dt.datetime.combine(day, dt.time(), zone(country)).astimezone(dt.UTC)


def viewer_country(user: object) -> str | None:
    """The country whose clock a user reads: their first centre's, else their own (country scope or partner)."""
    centres = getattr(user, "centres", None) or []
    if centres:
        return centres[0].country
    if getattr(user, "country", None):
        return user.country  # type: ignore[attr-defined]
    if getattr(user, "organisation_id", None) is not None:  # a partner: their organisation's country
        return user.organisation_country  # type: ignore[attr-defined]
    return None


def viewer_zone(user: object) -> ZoneInfo:
    """The zone in which a user sees times (see the module's docstring)."""
    return zone(viewer_country(user))


def viewer_today(user: object) -> dt.date:
    """Today for this user: at their first centre, or their country, or in the default zone."""
    return today(viewer_country(user))
