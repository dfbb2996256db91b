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
#: why personal data is exported (the audit record keeps the code; any words are kept encrypted)
EXPORT_PURPOSES = {
    "subject_access": _l("Subject access request"),
    "authority_order": _l("Court or authority order"),
    "partner_transfer": _l("Transfer to a partner under a data-sharing agreement"),
    "internal_audit": _l("Internal audit"),
    "other": _l("Other (explain)"),
}
