"""Sections one feature adds to another feature's page, without the lower feature importing the higher one.

A page (a person's profile, a case, the caseworker's home) shows parts that belong to features above it:
the case on a profile, the referrals on a case. Those features register a provider for the page in
create_app(); the page's view asks every provider for what it shows and passes it to the template. So the
view, not the template, runs every query, and the layers hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

#: a person's profile page; providers take (user, beneficiary)
PROFILE = "profile"
#: the read-only profile of a centre the person's record moved on from; providers take (user, beneficiary)
FORMER_PROFILE = "former_profile"
#: a case's page; providers take (user, case)
CASE = "case"
#: the caseworker's home page; providers take (user,)
CASEWORKER_HOME = "caseworker_home"
#: everyone's landing page, the work of their role; providers take (user, today) and return a list of Section
HOME = "home"

Provider = Callable[..., Any]


def add(app: Flask, page: str, provider: Provider) -> None:
    """Register what a feature shows on a page of another feature."""
    app.extensions.setdefault("msc.sections", {}).setdefault(page, []).append(provider)


def context(page: str, *args: Any) -> dict[str, Any]:
    """What every registered feature shows on the page, for the template."""
    found: dict[str, Any] = {}
    for provider in current_app.extensions.get("msc.sections", {}).get(page, []):
        found.update(provider(*args))
    return found


# ---- the landing page ---------------------------------------------------------------------


@dataclass
class Row:
    """One line of a home section: a text, the page it opens, a note after it, a word that flags it
    (overdue, out of stock, full), and a button that acts on it (a POST with the CSRF token: dismiss)."""

    text: str
    url: str | None = None
    note: str = ""
    flag: str = ""
    #: where the button posts, and its words
    action: str | None = None
    action_text: str = ""


@dataclass
class Section:
    """One part of a person's home: a short list or a count, what it says when empty, and the full page."""

    #: the id of its heading, unique on the page; sections of several features with one key become one
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    #: a sentence under the heading (a count, in words)
    summary: str = ""
    #: what the section says when it has no rows
    empty: str = ""
    #: the full page, and the words of its link
    link: str | None = None
    link_text: str = ""
    #: place on the page, smallest first
    order: int = 50
    #: shown as an alert (a burst of emergency accesses)
    alert: bool = False


def home(*args: Any) -> list[Section]:
    """Every section the registered features show on the landing page, in order. Sections that share a
    key (what is late at a centre, from several features) are shown as one, rows in the order given."""
    merged: dict[str, Section] = {}
    for provider in current_app.extensions.get("msc.sections", {}).get(HOME, []):
        for section in provider(*args):
            if section.key in merged:
                merged[section.key].rows += section.rows
            else:
                merged[section.key] = section
    return sorted(merged.values(), key=lambda s: s.order)
