"""URL helpers shared by every feature."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, url_for


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
