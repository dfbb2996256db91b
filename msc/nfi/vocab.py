"""Words of the NFI desk, translated."""

from flask_babel import lazy_gettext as _l

CATEGORIES = {
    "hygiene": _l("Hygiene"),
    "dignity": _l("Dignity"),
    "baby": _l("Baby"),
    "shelter": _l("Shelter"),
    "clothing": _l("Clothing"),
    "kitchen": _l("Kitchen"),
    "other": _l("Other"),
}
UNITS = {"kit": _l("kit"), "piece": _l("piece"), "pack": _l("pack"), "pair": _l("pair"), "set": _l("set")}
LEVELS = {"individual": _l("Each person"), "household": _l("Each household")}
RECEIPT_SOURCES = {
    "supplier": _l("Supplier"),
    "warehouse": _l("IOM warehouse"),
    "agency": _l("Another agency"),
    "donation": _l("Donation"),
}
#: adjustment reasons, and whether they take stock out (-1), put it in (+1) or either (0)
ADJUSTMENT_REASONS = {
    "loss": _l("Loss or theft"),
    "damage": _l("Damaged"),
    "expiry": _l("Expired"),
    "found": _l("Found in the store"),
    "correction": _l("Correction of a recording error"),
}
ADJUSTMENT_SIGN = {"loss": -1, "damage": -1, "expiry": -1, "found": 1, "correction": 0}
MOVEMENT_KINDS = {
    "receipt": _l("Receipt"),
    "distribution": _l("Hand-over"),
    "void": _l("Hand-over voided"),
    "transfer_out": _l("Transfer out"),
    "transfer_in": _l("Transfer in"),
    "adjustment": _l("Adjustment"),
}
MOVEMENT_REASONS = {**ADJUSTMENT_REASONS, "count": _l("Physical count")}
COLLECTED_BY = {
    "self": _l("The person themself"),
    "head": _l("The head of household"),
    "collector": _l("Someone else, named below"),
}
ACK_METHODS = {
    "signature": _l("Signature on screen"),
    "thumbprint": _l("Thumbprint on the paper list"),
    "witness": _l("A witness confirms"),
}
VOID_REASONS = {
    "recorded_in_error": _l("Recorded by mistake"),
    "wrong_person": _l("Wrong person"),
    "wrong_quantity": _l("Wrong quantity"),
    "not_collected": _l("Not collected after all"),
    "other": _l("Other"),
}
