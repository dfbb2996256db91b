"""Codes of data-protection operations and their translated labels."""

from flask_babel import lazy_gettext as _l

GLASS_REASONS = {
    "medical_emergency": _l("Medical emergency"),
    "child_at_risk": _l("Child at risk"),
    "transfer": _l("Transfer between centres"),
    "other": _l("Other (explain)"),
}
REVIEW_OUTCOMES = {"justified": _l("Justified"), "not_justified": _l("Not justified")}
ERASURE_REASONS = {
    "subject_request": _l("The person asked for their data to be erased"),
    "retention": _l("The retention period ended"),
    "unlawful": _l("The data was held without a lawful basis"),
    "duplicate": _l("A record created in error"),
}
