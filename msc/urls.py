"""URL helpers shared by every feature."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, url_for
from werkzeug.routing import BaseConverter, ValidationError


def safe_next(target: str | None) -> str | None:
    """A local path to go back to, or None: a `next` never leads to another host."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link to an endpoint, for what leaves the browser (a printed poster, a QR code).

    With PUBLIC_URL configured (production requires it) the link is built on it, whatever Host the
    request named; without it (development) on the request's own host, like url_for(_external=True).
    """
    public = current_app.config.get("PUBLIC_URL")
    if not public:
        return url_for(endpoint, _external=True, **values)
    path = url_for(endpoint, **values)  # the path, with the script root the app is mounted under
    return str(public).rstrip("/") + path


# The largest id a record can have: an INTEGER column on PostgreSQL (SQLite's is larger).
MAX_ID = 2**31 - 1


def parse_id(value: object) -> int | None:
    """A record id typed in a URL, a query string or a form, or None when it cannot be one.

    Only ASCII digits are read (never "١", "1e5", "-1" or " 1"), and nothing beyond MAX_ID: a number the
    database cannot hold is simply not the id of any record, so a lookup answers 404 and a filter is left
    unapplied, never an overflow error from the driver.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_ID else None
    if not isinstance(value, str) or not value or len(value) > 10 or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


def coerce_id(value: object) -> int:
    """`coerce=` of a select or checkbox field whose options are record ids: what parse_id refuses is
    "not a valid choice" (a ValueError), never an int the database cannot hold."""
    number = parse_id(value)
    if number is None:
        raise ValueError(f"not a record id: {value!r}")
    return number


class IdConverter(BaseConverter):
    """`<int:...>` in every route: ASCII digits within MAX_ID, anything else is 404 before any view runs."""

    regex = r"[0-9]{1,10}"
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))
