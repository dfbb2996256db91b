"""A row of a list read through its mapping: what the registration service takes (a person, their
consents, their household), or what is wrong with it, column by column, in words."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from msc.beneficiaries.service import ConsentData, PersonData
from msc.crypto.blind import fold
from msc.forms import has_control_chars
from msc.imports import vocab

_MULTI_SPLIT = re.compile(r"[,;|/\s]+")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T].*)?$")
#: the most characters a field takes (as on the registration form)
LIMITS = {"given_names": 100, "family_names": 100, "document_number": 40, "phone": 30, "household": 80}
#: a value no mapping gives a meaning to
UNMAPPED = _l("This value is not on the mapping: map it, or correct the list.")
#: fields a mapping must feed: without them no row could be registered
REQUIRED = ("given_names", "family_names", "sex", "nationality")


def empty_config() -> dict[str, Any]:
    return {"columns": {}, "values": {}, "date_format": vocab.DEFAULT_DATE_FORMAT}


def guessed(columns: list[str], saved: dict[str, Any] | None = None) -> dict[str, Any]:
    """A mapping for these columns: the saved one's choices where it names them, else guessed from the headers."""
    config = empty_config()
    if saved:
        config["values"] = dict(saved.get("values") or {})
        config["date_format"] = saved.get("date_format") or vocab.DEFAULT_DATE_FORMAT
    known = (saved or {}).get("columns") or {}
    taken: set[str] = set()
    for column in columns:
        target = known.get(column) if column in known else vocab.guess(column)
        if target and target in taken and target not in ("given_names", "family_names"):
            target = vocab.IGNORE  # one column per field (names may come in two: first and second)
        config["columns"][column] = target or vocab.IGNORE
        if target:
            taken.add(target)
    return config


def missing_fields(config: dict[str, Any]) -> list[str]:
    """The fields a mapping must feed and does not."""
    mapped = set(config["columns"].values())
    missing = [f for f in REQUIRED if f not in mapped]
    if "date_of_birth" not in mapped and "estimated_age" not in mapped:
        missing.append("date_of_birth")
    return missing


def words_of(cell: str) -> list[str]:
    """The values of a cell holding several (KoBo's "es pt", a spreadsheet's "es, pt")."""
    return [w for w in _MULTI_SPLIT.split(cell) if w]


def value_of(config: dict[str, Any], target: str, raw: str) -> str | None:
    """What a cell's value means for a choice field: the mapping's word for it, else the common words;
    vocab.BLANK when the mapping leaves it out; None when unknown."""
    chosen = (config.get("values") or {}).get(target, {}).get(fold(raw))
    if chosen:
        return chosen
    return vocab.known_value(target, raw)


@dataclass
class Row:
    """One row read through a mapping."""

    person: PersonData | None
    consents: list[ConsentData]
    #: no consent to registration recorded in the list (the person is imported marked so)
    unrecorded: bool
    household: str | None
    relationship: str | None
    #: column -> what is wrong with it
    errors: dict[str, str] = field(default_factory=dict)
    #: field -> the column it came from (a rule of the registration names a field)
    columns: dict[str, str] = field(default_factory=dict)


def read_row(config: dict[str, Any], columns: list[str], cells: list[str]) -> Row:
    """A row of the list as the registration service takes it, or its errors."""
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    errors: dict[str, str] = {}
    for column, cell in zip(columns, cells, strict=False):
        target = config["columns"].get(column) or vocab.IGNORE
        if not target:
            continue
        text = " ".join(cell.split()) if target not in vocab.MULTI_FIELDS else cell.strip()
        if has_control_chars(cell):
            errors[column] = str(_l("Remove the invisible or control characters from this field."))
            continue
        sources.setdefault(target, column)
        if text:
            values[target] = f"{values[target]} {text}" if target in values and target in LIMITS else text
    for target, limit in LIMITS.items():
        if len(values.get(target, "")) > limit:
            errors[sources[target]] = str(_l("Use at most %(n)d characters.", n=limit))
    for target, message in (
        ("given_names", _l("Enter the given names.")),
        ("family_names", _l("Enter the family names.")),
        ("sex", _l("Choose the sex.")),
        ("nationality", _l("Choose the nationality.")),
    ):
        if target not in values and target in sources:
            errors.setdefault(sources[target], str(message))
    choice = {}
    for target in vocab.CHOICE_FIELDS:
        if target not in values:
            continue
        meaning = value_of(config, target, values[target])
        if meaning is None:
            errors.setdefault(
                sources[target], str(_l("This value is not on the mapping: map it, or correct the list."))
            )
        elif meaning != vocab.BLANK:
            choice[target] = meaning
    multi: dict[str, list[str]] = {}
    for target in vocab.MULTI_FIELDS:
        words = words_of(values.get(target, ""))
        codes = []
        for word in words:
            meaning = value_of(config, target, word)
            if meaning is None:
                errors.setdefault(
                    sources[target], str(_l("This value is not on the mapping: map it, or correct the list."))
                )
            elif meaning != vocab.BLANK:
                codes.append(meaning)
        multi[target] = sorted(set(codes))
    dates = {}
    for target in vocab.DATE_FIELDS:
        if target in values:
            day = parse_date(values[target], config.get("date_format") or vocab.DEFAULT_DATE_FORMAT)
            if day is None:
                errors.setdefault(sources[target], str(_l("This is not a date in the format chosen for this list.")))
            else:
                dates[target] = day
    age = None
    if "estimated_age" in values:
        try:
            age = int(float(values["estimated_age"].replace(",", ".")))
        except ValueError:
            age = -1
        if not 0 <= age <= 120:
            errors.setdefault(sources["estimated_age"], str(_l("The age must be between 0 and 120.")))
            age = None
    if "sex" in sources and "sex" not in choice and sources["sex"] not in errors:
        errors[sources["sex"]] = str(_l("Choose the sex."))
    if "nationality" in sources and "nationality" not in choice and sources["nationality"] not in errors:
        errors[sources["nationality"]] = str(_l("Choose the nationality."))
    consents = [
        ConsentData(purpose=target.removeprefix("consent_"), status=choice[target])
        for target in vocab.CONSENT_FIELDS
        if target in choice
    ]
    unrecorded = "consent_registration" not in choice
    if errors:
        return Row(None, [], unrecorded, values.get("household"), choice.get("relationship"), errors, sources)
    document_type = choice.get("document_type") or ("other" if values.get("document_number") else "none")
    person = PersonData(
        given_names=values.get("given_names", ""),
        family_names=values.get("family_names", ""),
        sex=choice.get("sex", ""),
        nationality=choice.get("nationality", ""),
        date_of_birth=dates.get("date_of_birth"),
        estimated_age=age if dates.get("date_of_birth") is None else None,
        document_type=document_type,
        document_number=values.get("document_number") if document_type != "none" else None,
        phone=values.get("phone"),
        arrival_date=dates.get("arrival_date"),
        languages=multi.get("languages", []),
        needs=multi.get("needs", []),
    )
    return Row(person, consents, unrecorded, values.get("household"), choice.get("relationship"), {}, sources)


def parse_date(text: str, date_format: str) -> dt.date | None:
    """A date as the list writes it (a spreadsheet's date cell comes as ISO whatever the format)."""
    text = text.strip()
    m = _ISO.match(text)
    try:
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        return dt.datetime.strptime(text, date_format).date()
    except ValueError:
        return None
