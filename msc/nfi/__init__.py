"""Non-food items: catalogue and entitlement rules, stock ledger, hand-overs at the desk, reports."""
