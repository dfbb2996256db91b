"""Codes of referrals and their translated labels."""

from flask_babel import lazy_gettext as _l

URGENCIES = {
    "emergency": _l("Emergency (answer within 24 hours)"),
    "urgent": _l("Urgent (answer within 72 hours)"),
    "routine": _l("Routine (answer within 7 days)"),
}
STATUSES = {
    "draft": _l("Draft"),
    "sent": _l("Sent"),
    "accepted": _l("Accepted"),
    "completed": _l("Completed"),
    "declined": _l("Declined"),
    "cancelled": _l("Cancelled"),
    "no_show": _l("Did not attend"),
}
#: what a partner sees of a person for each shared data category
DEFAULT_CATEGORIES = ("identity", "contact")
