"""The subject-access report in the person's words: every value labelled in their language, dates on the
clock of their centre, amounts as money. The printable page and the JSON copy are both made from this,
so that they hold the same things."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from babel.dates import format_date, format_datetime
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from msc import clock, numbers
from msc.beneficiaries import vocab as person_vocab
from msc.beneficiaries.vocab import country_name, field_labels
from msc.cases import vocab as case_vocab
from msc.dpo.subject import Report
from msc.feedback import vocab as feedback_vocab
from msc.fund import vocab as fund_vocab
from msc.partners import vocab as partner_vocab
from msc.referrals import vocab as referral_vocab
from msc.security.vocab import action_label, role_label
from msc.shelters.vocab import SLOT_LABELS

NOTHING = "—"

#: an entry is an ordered list of (label, value); a value is always text a person reads
Entry = list[tuple[str, str]]


@dataclass
class Section:
    """One part of the report: a heading, its entries, and an optional sentence under them."""

    title: str
    entries: list[Entry] = field(default_factory=list)
    note: str = ""


@dataclass
class Words:
    """The report put in words, ready to print or to write as JSON."""

    title: str
    case_number_label: str
    case_number: str
    produced_label: str
    produced_at: str
    sections: list[Section]

    def as_json(self) -> dict[str, Any]:
        """The same report as a JSON object, keys and values in the person's language."""
        out: dict[str, Any] = {self.case_number_label: self.case_number, self.produced_label: self.produced_at}
        for section in self.sections:
            out[section.title] = [dict(entry) for entry in section.entries]
            if section.note:
                out[section.title].append({_("Note"): section.note})
        return out


class _Say:
    """Values in one language and one time zone."""

    def __init__(self, language: str, country: str | None) -> None:
        self.language = language
        self.zone = clock.zone(country)

    def when(self, value: dt.datetime | dt.date | None) -> str:
        """A date, or a moment on the centre's clock, in the person's language."""
        if value is None:
            return NOTHING
        if isinstance(value, dt.datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
            return format_datetime(moment, "medium", tzinfo=self.zone, locale=self.language)
        return format_date(value, "long", locale=self.language)

    def money(self, minor: int | None, currency: str) -> str:
        """An amount held in minor units, written as money."""
        if minor is None:
            return NOTHING
        return numbers.money(minor, currency, locale=self.language)

    @staticmethod
    def label(labels: dict, code: Any) -> str:
        """A code's label; a code without one is shown as "unknown", never as itself."""
        if code in (None, ""):
            return NOTHING
        return str(labels[code]) if code in labels else _("Unknown")

    @staticmethod
    def yes_no(value: bool | None) -> str:
        if value is None:
            return NOTHING
        return _("Yes") if value else _("No")

    @staticmethod
    def text(value: Any) -> str:
        return NOTHING if value in (None, "", []) else str(value)


def in_words(report: Report, language: str) -> Words:
    """The report in the person's language (es, pt_BR or en), every value labelled."""
    with force_locale(language):
        say = _Say(language, report.country)
        return Words(
            title=_("What we hold about you"),
            case_number_label=_("Case number"),
            case_number=report.case_number,
            produced_label=_("Produced on"),
            produced_at=say.when(report.produced_at),
            sections=[
                _record(report, say),
                Section(
                    _("Household"),
                    [
                        [
                            (_("Case number"), m["case_number"]),
                            (_("Relationship"), say.label(person_vocab.RELATIONSHIPS, m["relationship"])),
                        ]
                        for m in report.household
                    ],
                ),
                _route(report, say),
                _consents(report, say),
                _cases(report, say),
                Section(
                    _("Follow-up tasks"),
                    [
                        [
                            (_("Task"), say.text(t["title"])),
                            (_("Due on"), say.when(t["due_on"])),
                            (_("Done on"), say.when(t["done_at"]) if t["done_at"] else _("Not done yet")),
                        ]
                        for t in report.tasks
                    ],
                ),
                _notes(report, say),
                _referrals(report, say),
                Section(
                    _("Data shared with organisations"),
                    [
                        [
                            (_("Date"), say.when(d["at"])),
                            (_("Organisation"), d["organisation"]),
                            (_("What was shared"), _categories(d["categories"], say)),
                        ]
                        for d in report.disclosures
                    ],
                ),
                _items(report, say),
                _shelter(report, say),
                _fund(report, say),
                Section(
                    _("Feedback and complaints"),
                    [
                        [
                            (_("Received on"), say.when(f["received_on"])),
                            (_("Kind"), say.label(feedback_vocab.KINDS, f["kind"])),
                            (_("What you told us"), say.text(f["text"])),
                            (_("Status"), say.label(feedback_vocab.STATUSES, f["status"])),
                            (_("Our answer"), say.text(f["response"])),
                        ]
                        for f in report.feedback
                    ],
                ),
                _corrections(report, say),
                Section(
                    _("Changes to your record"),
                    [
                        [
                            (_("Date"), say.when(c["at"])),
                            (_("Change"), say.label(person_vocab.CHANGE_LABELS, c["action"])),
                            (_("Fields"), field_labels(c["fields"] or "") or NOTHING),
                        ]
                        for c in report.changes
                    ],
                ),
                Section(
                    _("Who viewed or changed your record"),
                    [
                        [
                            (_("When"), say.when(t["at"])),
                            (_("User"), say.text(t["user"])),
                            (_("Role"), role_label(t["role"] or None)),
                            (_("Action"), action_label(t["action"])),
                        ]
                        for t in report.trail
                    ],
                ),
            ],
        )


def _record(report: Report, say: _Say) -> Section:
    labels = {
        "registered_at": _("Date of registration"),
        "centre": _("Centre"),
        "card_token": _("Card"),
    }
    entry: Entry = []
    for name, value in report.record.items():
        label = labels.get(name) or field_labels(name) or name
        if isinstance(value, bool):
            shown = say.yes_no(value)
        elif isinstance(value, (dt.date, dt.datetime)):
            shown = say.when(value)
        elif name == "sex":
            shown = say.label(person_vocab.SEXES, value)
        elif name == "nationality":
            shown = country_name(value) if value else NOTHING
        elif name == "document_type":
            shown = say.label(person_vocab.DOCUMENT_TYPES, value)
        elif name == "languages" and isinstance(value, list):
            shown = ", ".join(say.label(person_vocab.LANGUAGES, code) for code in value) or NOTHING
        else:
            shown = say.text(value)
        entry.append((str(label), shown))
    needs = [str(person_vocab.NEEDS[n][0]) if n in person_vocab.NEEDS else _("Unknown") for n in report.needs]
    entry.append((_("Specific needs"), ", ".join(needs) or NOTHING))
    return Section(_("Your record"), [entry])


def _consents(report: Report, say: _Say) -> Section:
    entries = []
    for c in report.consents:
        entry = [
            (_("Date"), say.when(c["recorded_at"])),
            (_("Purpose"), say.label(person_vocab.CONSENT_PURPOSES, c["purpose"])),
            (_("Decision"), say.label(person_vocab.CONSENT_STATUSES, c["status"])),
            (_("Legal basis"), say.label(person_vocab.LEGAL_BASES, c["legal_basis"])),
            (_("How it was recorded"), say.label(person_vocab.CONSENT_METHODS, c["method"])),
            (_("Given by"), say.label(person_vocab.CONSENT_GIVEN_BY, c["given_by"])),
        ]
        if c["guardian"]:
            entry.append((_("Parent or guardian"), c["guardian"]))
        if c["best_interests"]:
            entry.append((_("Best-interests decision"), c["best_interests"]))
        entries.append(entry)
    return Section(_("Consents and their history"), entries)


def _cases(report: Report, say: _Say) -> Section:
    entries = []
    for c in report.cases:
        entry = [
            (_("Opened on"), say.when(c["opened_at"])),
            (_("Status"), say.label(case_vocab.STATUSES, c["status"])),
            (_("Risk level"), say.label(case_vocab.RISK_LEVELS, c["risk_level"])),
            (_("Priority"), say.label(case_vocab.RISK_LEVELS, c["priority"])),
        ]
        if c["closed_at"]:
            entry.append((_("Closed on"), say.when(c["closed_at"])))
            entry.append((_("Reason for closing"), say.label(case_vocab.CLOSE_REASONS, c["close_reason"])))
        entries.append(entry)
    return Section(_("Cases"), entries)


def _notes(report: Report, say: _Say) -> Section:
    note = ""
    if report.notes_withheld:
        note = ngettext(
            "%(num)d note is withheld to protect you or others; you may ask your caseworker about it.",
            "%(num)d notes are withheld to protect you or others; you may ask your caseworker about them.",
            report.notes_withheld,
        )
    return Section(
        _("Case notes"),
        [[(_("Date"), say.when(n["at"])), (_("Note"), say.text(n["text"]))] for n in report.notes],
        note,
    )


def _categories(codes: list[str], say: _Say) -> str:
    return ", ".join(say.label(partner_vocab.DATA_CATEGORIES, code) for code in codes if code) or NOTHING


def _referrals(report: Report, say: _Say) -> Section:
    return Section(
        _("Referrals and what each organisation saw"),
        [
            [
                (_("Sent on"), say.when(r["sent_at"]) if r["sent_at"] else _("Not sent")),
                (_("Organisation"), r["organisation"]),
                (_("Service"), r["service"]),
                (_("Status"), say.label(referral_vocab.STATUSES, r["status"])),
                (_("What was shared"), _categories(r["shared"], say)),
            ]
            for r in report.referrals
        ],
    )


def _items(report: Report, say: _Say) -> Section:
    entries = []
    for h in report.hand_overs:
        items = ", ".join(f"{i['quantity']} × {i['names'].get(say.language) or i['names']['en']}" for i in h["items"])
        entries.append(
            [
                (_("Date"), say.when(h["day"])),
                (_("Centre"), h["centre_name"]),
                (_("Items"), items or NOTHING),
                (_("Voided"), say.yes_no(h["voided"])),
            ]
        )
    return Section(_("Items received"), entries)


def _route(report: Report, say: _Say) -> Section:
    how = {"registered": _("Registered there"), "moved": _("Your record moved there")}
    return Section(
        _("Centres that served you"),
        [
            [
                (_("Centre"), s["centre"]),
                (_("Country"), country_name(s["country"])),
                (_("How"), how.get(s["how"], s["how"])),
                (_("Arrived on"), say.when(s["arrived_on"])),
                (_("Left on"), say.when(s["left_on"]) if s["left_on"] else _("Still served there")),
            ]
            for s in report.route
        ],
    )


def _shelter(report: Report, say: _Say) -> Section:
    return Section(
        _("Shelter"),
        [
            [
                (_("Shelter"), p["shelter"]),
                (_("Centre"), p["centre"]),
                (_("Space"), say.label(SLOT_LABELS, p["slot"])),
                (_("Arrived on"), say.when(p["check_in_on"])),
                (_("Planned stay"), ngettext("%(num)d day", "%(num)d days", p["planned_days"])),
                (_("Left on"), say.when(p["check_out_on"]) if p["check_out_on"] else _("Still staying")),
            ]
            for p in report.shelter
        ],
    )


def _fund(report: Report, say: _Say) -> Section:
    entries = []
    for a in report.fund:
        entry = [
            (_("Sent on"), say.when(a["submitted_on"])),
            (_("Case type"), say.label(fund_vocab.CASE_TYPES, a["case_type"])),
            (_("Recommendation"), say.label(fund_vocab.RECOMMENDATIONS, a["recommendation"])),
        ]
        for d in a["decisions"]:
            state = say.label(fund_vocab.DECISION_STATES, d["outcome"])
            entry.append((_("Decision of %(date)s", date=say.when(d["on"])), state))
        for n, line in enumerate(a["lines"], 1):
            what = say.label(fund_vocab.CATEGORIES, line["category"])
            amounts = _(
                "requested %(requested)s, approved %(approved)s, paid %(paid)s",
                requested=say.money(line["requested"], line["currency"]),
                approved=say.money(line.get("approved"), line["currency"]),
                paid=say.money(line.get("paid"), line["currency"]),
            )
            entry.append((_("Assistance %(n)d", n=n), f"{what}: {amounts}"))
        entries.append(entry)
    return Section(_("Protection fund"), entries)


def _corrections(report: Report, say: _Say) -> Section:
    return Section(
        _("Corrections you asked for"),
        [
            [
                (_("Asked on"), say.when(c["requested_at"])),
                (_("Fields"), field_labels(",".join(c["fields"])) or NOTHING),
                (_("What you asked"), say.text(c["asked"])),
                (_("Status"), say.label(person_vocab.CORRECTION_STATUSES, c["status"])),
                (_("Decided on"), say.when(c["decided_at"])),
                (_("Reason for refusing"), say.text(c["refusal"])),
            ]
            for c in report.corrections
        ],
    )
