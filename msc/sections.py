"""Sections one feature adds to another feature's page, without the lower feature importing the higher one.

A page (a person's profile, a case, the caseworker's home) shows parts that belong to features above it:
the case on a profile, the referrals on a case. Those features register a provider for the page in
create_app(); the page's view asks every provider for what it shows and passes it to the template. So the
view, not the template, runs every query, and the layers hold.

Most people have none of most sections (no case, no placement, no move between centres). A provider may
say what it would look for as a probe: EXISTS conditions by name. The page asks every probe of its
providers in one statement, and each provider is told what is there (`found`), so it reads only
what the person has: a profile of someone with nothing but a registration answers in one round trip
where it took six.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from msc.db import session

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
#: takes the provider's arguments; returns the conditions to ask by name (only those the viewer may see)
Probe = Callable[..., Mapping[str, sa.ColumnElement[bool]]]


@dataclass(frozen=True)
class _Registered:
    provider: Provider
    probe: Probe | None = None


def add(app: Flask, page: str, provider: Provider, probe: Probe | None = None) -> None:
    """Register what a feature shows on a page of another feature. With a `probe`, the provider is called
    with `found`: for each name its probe asked, whether that condition holds (a name it did not ask,
    for this viewer, reads False)."""
    app.extensions.setdefault("msc.sections", {}).setdefault(page, []).append(_Registered(provider, probe))


def context(page: str, *args: Any) -> dict[str, Any]:
    """What every registered feature shows on the page, for the template: the probes of every provider
    asked in one statement first, then each provider."""
    registered: list[_Registered] = current_app.extensions.get("msc.sections", {}).get(page, [])
    asked = [r.probe(*args) if r.probe else {} for r in registered]
    conditions = [condition for probes in asked for condition in probes.values()]
    answers = iter(session.execute(sa.select(*conditions)).one() if conditions else ())
    shown: dict[str, Any] = {}
    for r, probes in zip(registered, asked, strict=True):
        if r.probe is None:
            shown.update(r.provider(*args))
        else:
            shown.update(r.provider(*args, found=_Found({name: bool(next(answers)) for name in probes})))
    return shown


class _Found(dict[str, bool]):
    """What a provider's probe found; a name not asked (the viewer may not see it) reads False."""

    def __missing__(self, key: str) -> bool:
        return False


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
    for registered in current_app.extensions.get("msc.sections", {}).get(HOME, []):
        for section in registered.provider(*args):
            if section.key in merged:
                merged[section.key].rows += section.rows
            else:
                merged[section.key] = section
    return sorted(merged.values(), key=lambda s: s.order)
