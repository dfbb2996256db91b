"""Codes of the partner directory and their translated labels."""

from flask_babel import lazy_gettext as _l

ORGANISATION_KINDS = {
    "government": _l("Government"),
    "ngo": _l("NGO"),
    "un_agency": _l("UN agency"),
    "private_sector": _l("Private sector"),
}

SECTORS = {
    "health": _l("Health"),
    "mhpss": _l("Mental health and psychosocial support"),
    "shelter": _l("Shelter and temporary accommodation"),
    "livelihoods": _l("Labour and livelihoods"),
    "education": _l("Education"),
    "legal": _l("Legal and documentation"),
    "protection": _l("Protection"),
}

#: what a data-sharing agreement may cover; a referral shares nothing outside these
DATA_CATEGORIES = {
    "identity": _l("Name"),
    "contact": _l("Contact (phone)"),
    "demographics": _l("Sex, age and nationality"),
    "date_of_birth": _l("Date of birth"),
    "document": _l("Identity document"),
    "specific_needs": _l("Specific needs"),
    "household": _l("Household members"),
}

AGREEMENT_STATUSES = {"none": _l("No agreement"), "active": _l("Active"), "expired": _l("Expired")}
