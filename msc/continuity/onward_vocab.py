"""The words of onward movements: means of transport, who escorts a child, what was provided for the
journey, why a movement was cancelled, where it stands."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

TRANSPORT = {
    "bus": _l("Bus"),
    "car": _l("Car"),
    "on_foot": _l("On foot"),
    "plane": _l("Plane"),
    "boat": _l("Boat"),
    "other": _l("Other means of transport"),
}

#: who escorts a child ("none" needs a written best-interests reason)
ESCORTS = {
    "guardian": _l("Parent or legal guardian"),
    "relative": _l("Another relative"),
    "iom_staff": _l("IOM staff"),
    "partner_staff": _l("Staff of a partner organisation"),
    "none": _l("No escort"),
}

PROVISIONS = {
    "ticket": _l("Transport ticket"),
    "food": _l("Food"),
    "hygiene_kit": _l("Hygiene kit"),
    "cash": _l("Cash"),
    "documents": _l("Documents"),
    "information": _l("Information on the route and services"),
}

CANCEL_REASONS = {
    "person_stays": _l("The person decided to stay"),
    "changed_destination": _l("The person changed destination"),
    "unsafe": _l("The journey is not safe now"),
    "no_transport": _l("No transport available"),
    "planned_in_error": _l("Planned in error"),
}

STATUSES = {
    "planned": _l("Planned"),
    "arrived": _l("Arrived: the record moved to the receiving centre"),
    "cancelled": _l("Cancelled"),
    "superseded": _l("The record moved to another centre first"),
}

#: why a movement that did not arrive is a protection flag (never the need itself)
FLAGS = {
    "child": _l("Protection flag: a child"),
    "protection": _l("Protection flag"),
}

#: the destination choice for a place that is not a centre nor a listed municipality
OTHER_CITY = "other"
