"""Codes of case management and their translated labels."""

from flask_babel import lazy_gettext as _l

# Named pgettext so that pybabel's default keywords extract each word with its context.
from flask_babel import lazy_pgettext as pgettext

STATUSES = {"open": pgettext("case status", "Open"), "active": _l("Active"), "closed": _l("Closed")}
RISK_LEVELS = {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High"), "critical": _l("Critical")}
RISK_ORDER = ["critical", "high", "medium", "low"]
CLOSE_REASONS = {
    "needs_met": _l("Needs met"),
    "moved_on": _l("Moved on to another place"),
    "transferred": _l("Transferred to another organisation"),
    "lost_contact": _l("Contact lost"),
    "declined": _l("The person declined further support"),
    "other": _l("Other reason"),
}
#: sector needs assessed, beside the specific needs of the person
SECTOR_NEEDS = {
    "health": _l("Health"),
    "mhpss": _l("Mental health and psychosocial support"),
    "shelter": _l("Shelter"),
    "food": _l("Food"),
    "documentation": _l("Documentation"),
    "education": _l("Education"),
    "livelihoods": _l("Livelihoods"),
    "protection": _l("Protection"),
}
SEVERITIES = {"none": _l("No need"), "some": _l("Some need"), "severe": _l("Severe need")}
EVENT_LABELS = {
    "opened": _l("case opened"),
    "status": _l("status changed"),
    "risk": _l("risk level changed"),
    "assigned": _l("caseworker assigned"),
    "unassigned": _l("caseworker removed"),
    "assessed": _l("needs assessed"),
    "priority_override": _l("priority changed"),
    "note": _l("note added"),
    "task": _l("task added"),
    "task_done": _l("task done"),
    "moved": _l("moved with the person's record to another centre"),
}


def event_detail(action: str, detail: str | None) -> str:
    """A history entry's detail in words: 'Open → Active', 'High', 'Needs met'."""
    if not detail:
        return ""
    if action == "status":
        change, _, reason = detail.partition(":")
        before, _, after = change.partition(">")
        text = f"{STATUSES.get(before, before)} → {STATUSES.get(after, after)}"
        return f"{text}, {CLOSE_REASONS.get(reason, reason)}" if reason else text
    if action == "risk":
        before, _, after = detail.partition(">")
        return f"{RISK_LEVELS.get(before, before)} → {RISK_LEVELS.get(after, after)}"
    if action in ("assessed", "priority_override"):
        return str(RISK_LEVELS.get(detail, _l("As assessed")))
    return ""
