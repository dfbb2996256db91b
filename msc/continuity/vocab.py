"""The words of continuity between centres: what comes along with a record, why a request is refused and
what the asking centre does next, where a request stands."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: what always comes along with a moved record
ALWAYS = ("identity", "household")
#: what the holding centre chooses to send along, one checkbox each
SECTIONS = {
    "assessment": _l("Assessment"),
    "notes": _l("Case notes"),
    "referrals": _l("Referrals"),
    "fund": _l("Regional fund history"),
}

#: why the holding centre refuses, and what the asking centre does next
REFUSAL_REASONS = {
    "no_consent": _l("The person has not given consent to continuity of care"),
    "not_same_person": _l("The record is not of the person at the asking centre"),
    "still_served_here": _l("The person is still served at this centre"),
    "other": _l("Another reason (explain)"),
}
NEXT_STEPS = {
    "no_consent": _l(
        "Nothing moved. Ask the person to give consent to continuity of care at the centre that holds the record, "
        "or register the person at your centre."
    ),
    "not_same_person": _l("Nothing moved. Check the person's case number or card, then ask again, or register them."),
    "still_served_here": _l(
        "Nothing moved. Call the centre that holds the record to agree on where the person is served, then ask again."
    ),
    "other": _l("Nothing moved. Call the centre that holds the record to hear why, then ask again if it fits."),
}

STATUSES = {
    "pending": _l("Waiting for the centre that holds the record"),
    "escalated": _l("Waiting: passed to a protection officer after 48 hours"),
    "accepted": _l("Accepted: the record is at your centre"),
    "refused": _l("Refused"),
    "moved": _l("Moved at the desk"),
    "superseded": _l("The record moved to another centre first"),
}
#: what the asking centre reads about its request, by status
FOR_ASKER = {
    "superseded": _l(
        "The record moved to another centre before this request was answered. Ask again: your request goes to "
        "the centre that holds it now."
    ),
}

DECISIONS = {"accept": _l("Accept: move the record to the asking centre"), "refuse": _l("Refuse")}
