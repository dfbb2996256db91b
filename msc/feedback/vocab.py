"""Words of the feedback channels, translated (simple words: people read them on a phone)."""

from flask_babel import lazy_gettext as _l

# Named pgettext so that pybabel's default keywords extract each word with its context.
from flask_babel import lazy_pgettext as pgettext

KINDS = {
    "thanks": _l("Thank you"),
    "suggestion": _l("An idea to improve"),
    "question": _l("A question"),
    "complaint_service": _l("A complaint about a service"),
    "sea": _l("Sexual abuse or exploitation by someone who works here or with us"),
    "fraud": _l("Someone asked for money or favours"),
    "misconduct": _l("A worker treated me badly"),
    "data_breach": _l("My information was shared or lost"),
}
ICONS = {
    "thanks": "♥",
    "suggestion": "💡",
    "question": "?",
    "complaint_service": "!",
    "sea": "⚠",
    "fraud": "⚠",
    "misconduct": "⚠",
    "data_breach": "⚠",
}
STATUSES = {
    "received": _l("Received"),
    "in_progress": _l("Being looked at"),
    "answered": pgettext("one feedback message", "Answered"),
    "closed": pgettext("one feedback message", "Closed"),
}
SERVICES = {
    "nfi": _l("Items handed out"),
    "referral": _l("A referral to another service"),
    "reception": _l("Reception"),
    "shelter": _l("Shelter"),
    "other": _l("Other"),
}
