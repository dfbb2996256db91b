"""Codes of data-protection operations and their translated labels."""

from flask_babel import lazy_gettext as _l

from msc.security.emergency import REASONS as GLASS_REASONS

__all__ = ["ERASURE_REASONS", "GLASS_DECISIONS", "GLASS_REASONS", "REVIEW_OUTCOMES"]

GLASS_DECISIONS = {"approve": _l("Approve: open the access now"), "refuse": _l("Refuse")}
REVIEW_OUTCOMES = {"justified": _l("Justified"), "not_justified": _l("Not justified")}
ERASURE_REASONS = {
    "subject_request": _l("The person asked for their data to be erased"),
    "retention": _l("The retention period ended"),
    "unlawful": _l("The data was held without a lawful basis"),
    "duplicate": _l("A record created in error"),
}
