"""The one blueprint of the data-protection pages, and the words its templates share.

Its routes are in views (staff pages) and desk, desk_erasure, desk_keys (the DPO's desk); the app
imports those modules before registering it."""

from __future__ import annotations

from flask import Blueprint

from msc.dpo.vocab import ERASURE_REASONS, GLASS_DECISIONS, GLASS_REASONS, REVIEW_OUTCOMES
from msc.security.emergency import STATES

bp = Blueprint("dpo", __name__)


@bp.context_processor
def _vocab():
    return {
        "glass_reasons": GLASS_REASONS,
        "glass_states": STATES,
        "glass_decisions": GLASS_DECISIONS,
        "outcomes": REVIEW_OUTCOMES,
        "erasure_reasons": ERASURE_REASONS,
    }
