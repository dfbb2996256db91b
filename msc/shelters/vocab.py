"""Words of the shelters, translated."""

from flask_babel import lazy_gettext as _l

SLOT_LABELS = {"female": _l("Women and girls"), "male": _l("Men and boys"), "family": _l("Families")}
