"""Sections one feature adds to another feature's page, without the lower feature importing the higher one.

A page (a person's profile, a case, the caseworker's home) shows parts that belong to features above it:
the case on a profile, the referrals on a case. Those features register a provider for the page in
create_app(); the page's view asks every provider for what it shows and passes it to the template. So the
view, not the template, runs every query, and the layers hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

#: a person's profile page; providers take (user, beneficiary)
PROFILE = "profile"
#: a case's page; providers take (user, case)
CASE = "case"
#: the caseworker's home page; providers take (user,)
CASEWORKER_HOME = "caseworker_home"

Provider = Callable[..., dict[str, Any]]


def add(app: Flask, page: str, provider: Provider) -> None:
    """Register what a feature shows on a page of another feature."""
    app.extensions.setdefault("msc.sections", {}).setdefault(page, []).append(provider)


def context(page: str, *args: Any) -> dict[str, Any]:
    """What every registered feature shows on the page, for the template."""
    found: dict[str, Any] = {}
    for provider in current_app.extensions.get("msc.sections", {}).get(page, []):
        found.update(provider(*args))
    return found
