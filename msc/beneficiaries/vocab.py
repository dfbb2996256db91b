"""The codes stored for beneficiaries and their translated labels."""

from __future__ import annotations

import functools

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

# Named pgettext so that pybabel's default keywords extract each word with its context.
from flask_babel import lazy_pgettext as pgettext

SEXES = {"female": _l("Female"), "male": _l("Male"), "other": _l("Other / prefers not to say")}

#: alpha-3 stored, alpha-2 to let Babel name the country in the reader's language
NATIONALITIES = {
    "VEN": "VE",
    "COL": "CO",
    "ECU": "EC",
    "PER": "PE",
    "BRA": "BR",
    "CHL": "CL",
    "BOL": "BO",
    "ARG": "AR",
    "HTI": "HT",
    "CUB": "CU",
    "DOM": "DO",
    "PAN": "PA",
    "GUY": "GY",
    "SUR": "SR",
    "TTO": "TT",
    "URY": "UY",
    "PRY": "PY",
    "MEX": "MX",
    "NIC": "NI",
    "HND": "HN",
    "GTM": "GT",
    "SLV": "SV",
    "CRI": "CR",
}
STATELESS = "XXA"


def country_name(alpha3: str) -> str:
    """The country's name in the current language (Babel's territory names)."""
    if alpha3 == STATELESS:
        return str(_l("Stateless"))
    alpha2 = NATIONALITIES.get(alpha3)
    if alpha2 is None:
        return alpha3
    return get_locale().territories.get(alpha2, alpha3)


def country_choices() -> list[tuple[str, str]]:
    """(code, name) of the region's countries, named in the reader's language."""
    return sorted(((c, country_name(c)) for c in NATIONALITIES), key=lambda p: p[1])


def nationality_choices() -> list[tuple[str, str]]:
    """(code, name) pairs sorted by name in the current language, stateless last (sorted once per
    language: every registration and edit form offers them)."""
    return list(_nationality_choices(str(get_locale())))


@functools.lru_cache(maxsize=16)
def _nationality_choices(locale: str) -> tuple[tuple[str, str], ...]:
    pairs = sorted(((code, country_name(code)) for code in NATIONALITIES), key=lambda p: p[1])
    return (*pairs, (STATELESS, country_name(STATELESS)))


DOCUMENT_TYPES = {
    "none": _l("No document"),
    "passport": _l("Passport"),
    "national_id": _l("National identity card"),
    "birth_certificate": _l("Birth certificate"),
    "residence_permit": _l("Residence or protection permit"),
    "other": _l("Other document"),
}

LANGUAGES = {
    "es": _l("Spanish"),
    "pt": _l("Portuguese"),
    "en": _l("English"),
    "fr": _l("French"),
    "ht": _l("Haitian Creole"),
    "guc": _l("Wayuunaiki"),
    "wba": _l("Warao"),
    "other": _l("Other language"),
}

#: code -> (label, sensitive)
NEEDS = {
    "uasc": (_l("Unaccompanied or separated child"), False),
    "pregnant_lactating": (_l("Pregnant or lactating"), False),
    "disability": (_l("Disability"), False),
    "serious_medical": (_l("Serious medical condition"), False),
    "older_at_risk": (_l("Older person at risk"), False),
    "single_caregiver": (_l("Single caregiver"), False),
    "gbv_survivor": (_l("Survivor of gender-based violence"), True),
    "trafficking": (_l("Suspected victim of trafficking"), True),
    "indigenous": (_l("Indigenous"), False),
    "lgbtiq": (_l("LGBTIQ+"), True),
    "no_documents": (_l("No documents"), False),
}
SENSITIVE_NEEDS = frozenset(code for code, (_, sensitive) in NEEDS.items() if sensitive)
#: needs stored only encrypted: the sensitive ones, and an unaccompanied or separated child, which everyone
#: who sees the record may see but a copy of the database must not tell
PROTECTED_NEEDS = SENSITIVE_NEEDS | {"uasc"}

RELATIONSHIPS = {
    "head": _l("Head of household"),
    "spouse": _l("Spouse or partner"),
    "child": _l("Son or daughter"),
    "parent": _l("Mother or father"),
    "sibling": _l("Brother or sister"),
    "grandchild": _l("Grandchild"),
    "grandparent": _l("Grandparent"),
    "other_relative": _l("Other relative"),
    "non_relative": _l("Not a relative (caregiver, friend)"),
}

CONSENT_PURPOSES = {
    "registration": _l("Registration and assistance"),
    "referral": _l("Referral to partner organisations"),
    "government_sharing": _l("Sharing with government"),
    "followup_contact": _l("Follow-up contact"),
    "photo": _l("Photo"),
    "continuity": _l("Continuity of care between IOM centres along the route"),
}
#: where a correction request stands
CORRECTION_STATUSES = {
    "pending": pgettext("correction request", "Waiting for a decision"),
    "applied": pgettext("correction request", "Corrected"),
    "refused": pgettext("correction request", "Refused"),
}
CONSENT_STATUSES = {"given": _l("Given"), "refused": _l("Refused"), "withdrawn": _l("Withdrawn")}
LEGAL_BASES = {
    "consent": _l("Consent"),
    "vital_interest": _l("Vital interest of the person"),
    "public_interest": _l("Public interest"),
    "legal_obligation": _l("Legal obligation"),
}
CONSENT_METHODS = {"verbal": _l("Verbal"), "written": _l("Written, signed"), "thumbprint": _l("Thumbprint")}
CONSENT_GIVEN_BY = {
    "self": _l("The person"),
    "guardian": _l("Parent or guardian"),
    "best_interests": _l("Best-interests decision (child without a guardian)"),
}

FIELD_LABELS = {
    "given_names": _l("Given names"),
    "family_names": _l("Family names"),
    "date_of_birth": _l("Date of birth"),
    "dob_estimated": _l("Estimated date of birth"),
    "sex": _l("Sex"),
    "nationality": _l("Nationality"),
    "document_type": _l("Document type"),
    "document_number": _l("Document number"),
    "phone": _l("Phone"),
    "arrival_date": _l("Date of arrival in the country"),
    "entry_point": _l("Entry point"),
    "languages": _l("Languages spoken"),
    "needs": _l("Specific needs"),
    **{purpose: label for purpose, label in CONSENT_PURPOSES.items()},
    # what came along with a record that moved to another centre (msc/continuity)
    "assessment": _l("Assessment"),
    "notes": _l("Case notes"),
    "referrals": _l("Referrals"),
    "fund": _l("Regional fund history"),
}
CHANGE_LABELS = {
    "registered": _l("registered"),
    "edited": _l("edited"),
    "consent": _l("consent decision"),
    "household": _l("household changed"),
    "correction": _l("corrected at the person's request"),
    "transfer_requested": _l("another centre asked for the record"),
    "transfer_refused": _l("a centre's request for the record refused"),
    "moved": _l("record moved to another centre"),
    "merged_from": _l("another record of the same person merged into this one"),
    "merged_into": _l("merged into another record of the same person"),
    "merge_undone": _l("merge of records undone"),
    "onward_planned": _l("onward movement planned"),
    "onward_arrived": _l("arrival confirmed at the receiving centre"),
    "onward_cancelled": _l("onward movement cancelled"),
    "onward_not_arrived": _l("onward movement not arrived in time"),
}


def field_labels(fields: str) -> str:
    """Translated names of a comma-separated list of changed fields."""
    return ", ".join(str(FIELD_LABELS.get(f, f)) for f in fields.split(",") if f)


def change_label(action: str) -> str:
    """The translated name of a history entry."""
    return str(CHANGE_LABELS.get(action, action))


#: the age bands every report uses (sex × age disaggregation)
AGE_BANDS = ("0-4", "5-11", "12-17", "18-59", "60+")


def age_band(age: int | None) -> str:
    """The report age band of an age in whole years ("unknown" when no age is recorded)."""
    if age is None or age < 0:
        return "unknown"
    for band, upper in (("0-4", 4), ("5-11", 11), ("12-17", 17), ("18-59", 59)):
        if age <= upper:
            return band
    return "60+"
