"""Words of the access policy and the audit log, translated: roles, kinds of record, actions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "reception": _l("Reception"),
    "caseworker": _l("Caseworker"),
    "protection_officer": _l("Protection officer"),
    "centre_manager": _l("Centre manager"),
    "dpo": _l("Data protection officer"),
    "admin": _l("Administrator"),
    "partner": _l("Partner organisation"),
}

#: what an audit record is about (its object type)
RECORD_TYPES = {
    "beneficiary": _l("Person's record"),
    "break_glass": _l("Emergency access"),
    "case": _l("Case"),
    "centre": _l("Centre"),
    "entry_point": _l("Entry point"),
    "feedback": _l("Feedback"),
    "fund_allocation": _l("Fund allocation"),
    "fund_application": _l("Fund application"),
    "fund_criteria": _l("Eligibility criteria"),
    "fund_disbursement": _l("Disbursement"),
    "fund_sample": _l("Audit sample of decisions"),
    "key": _l("Key"),
    "key_rotation": _l("Key rotation"),
    "nfi_distribution": _l("Hand-over"),
    "nfi_item": _l("Item of the catalogue"),
    "organisation": _l("Partner organisation"),
    "partner_service": _l("Partner's service"),
    "personal_export": _l("Export of personal data"),
    "placement": _l("Shelter stay"),
    "referral": _l("Referral"),
    "region": _l("Region"),
    "retention_run": _l("Retention run"),
    "shelter": _l("Shelter"),
    "user": _l("User"),
}

#: what was done, one label per audit action
AUDIT_ACTIONS = {
    "access.break_glass": _l("Emergency access opened"),
    "access.break_glass_approve": _l("Emergency access approved"),
    "access.break_glass_blocked": _l("Emergency access blocked"),
    "access.break_glass_burst": _l("Many emergency accesses in a short time"),
    "access.break_glass_end": _l("Emergency access ended"),
    "access.break_glass_failed": _l("Emergency access attempt that did not match"),
    "access.break_glass_refuse": _l("Emergency access refused"),
    "access.break_glass_request": _l("Emergency access requested"),
    "access.break_glass_review": _l("Emergency access reviewed"),
    "access.denied": _l("Access denied"),
    "access.out_of_scope": _l("Access outside the user's reach refused"),
    "audit.verify": _l("Audit chain checked"),
    "beneficiary.card": _l("Card printed"),
    "beneficiary.correction_applied": _l("Correction made"),
    "beneficiary.correction_refused": _l("Correction refused"),
    "beneficiary.correction_requested": _l("Correction requested"),
    "beneficiary.create": _l("Person registered"),
    "beneficiary.not_duplicate": _l("Marked as not a duplicate"),
    "beneficiary.search": _l("Search for a person"),
    "beneficiary.update": _l("Record edited"),
    "beneficiary.view": _l("Record viewed"),
    "case.assess": _l("Needs assessed"),
    "case.assign": _l("Caseworker assigned"),
    "case.note": _l("Case note added"),
    "case.note.read_sensitive": _l("Sensitive case note read"),
    "case.open": _l("Case opened"),
    "case.priority_override": _l("Priority changed"),
    "case.risk": _l("Risk level changed"),
    "case.status": _l("Case status changed"),
    "case.task": _l("Follow-up task added"),
    "case.task_done": _l("Follow-up task done"),
    "case.view": _l("Case viewed"),
    "centre.save": _l("Centre saved"),
    "consent.given": _l("Consent given"),
    "consent.refused": _l("Consent refused"),
    "consent.withdrawn": _l("Consent withdrawn"),
    "data.export": _l("Personal data exported"),
    "data.export_download": _l("Export downloaded"),
    "data.export_expired": _l("Export expired"),
    "dpo.erase": _l("Personal data erased"),
    "dpo.retention_policy": _l("Retention period set"),
    "dpo.retention_run": _l("Retention run"),
    "dpo.subject_access": _l("Subject-access report produced"),
    "entry_point.delete": _l("Entry point deleted"),
    "entry_point.save": _l("Entry point saved"),
    "feedback.received": _l("Feedback received"),
    "feedback.sensitive.view": _l("Sensitive feedback read"),
    "feedback.update": _l("Feedback updated"),
    "fund.allocation": _l("Fund allocation saved"),
    "fund.application.view": _l("Fund application viewed"),
    "fund.apply": _l("Fund application sent"),
    "fund.cap": _l("Fund cap saved"),
    "fund.criteria.draft": _l("Criteria draft saved"),
    "fund.criteria.publish": _l("Criteria published"),
    "fund.criteria.retire": _l("Criteria retired"),
    "fund.decide": _l("Fund application decided"),
    "fund.disburse": _l("Disbursement recorded"),
    "fund.disbursement.void": _l("Disbursement voided"),
    "fund.export": _l("Fund register exported"),
    "fund.finding": _l("Audit finding recorded"),
    "fund.register.view": _l("Fund register viewed"),
    "fund.sample": _l("Audit sample drawn"),
    "keys.index_rotate": _l("Search index key rotated"),
    "keys.index_switched": _l("Search index key switched"),
    "keys.retire": _l("Key retired"),
    "keys.rotate": _l("Key rotated"),
    "keys.rotation_started": _l("Key rotation started"),
    "login": _l("Signed in"),
    "login.lockout": _l("Account locked after failed sign-ins"),
    "login.throttled": _l("Sign-in slowed down"),
    "logout": _l("Signed out"),
    "mfa.enrol_refused": _l("Second factor refused"),
    "mfa.enrolled": _l("Second factor set up"),
    "nfi.adjust": _l("Stock adjusted"),
    "nfi.count": _l("Physical count recorded"),
    "nfi.export": _l("Hand-overs exported"),
    "nfi.hand_over.override": _l("Hand-over beyond the entitlement"),
    "nfi.item.save": _l("Item saved"),
    "nfi.receive": _l("Stock received"),
    "nfi.thresholds": _l("Stock thresholds saved"),
    "nfi.transfer": _l("Stock transferred"),
    "nfi.void": _l("Hand-over voided"),
    "partner.organisation.save": _l("Partner organisation saved"),
    "partner.service.save": _l("Partner's service saved"),
    "referral.accepted": _l("Referral accepted"),
    "referral.agreement_override": _l("Referral sent without an active agreement"),
    "referral.cancelled": _l("Referral cancelled"),
    "referral.completed": _l("Referral completed"),
    "referral.create": _l("Referral created"),
    "referral.declined": _l("Referral declined"),
    "referral.disclosure": _l("Data shared with a partner"),
    "referral.draft": _l("Referral saved as draft"),
    "referral.no_show": _l("Person did not attend the referral"),
    "referral.sent": _l("Referral sent"),
    "reports.export": _l("Report exported"),
    "security.rate_limited": _l("Too many requests slowed down"),
    "shelter.check_out": _l("Shelter check-out"),
    "shelter.place": _l("Placed in a shelter"),
    "shelter.save": _l("Shelter saved"),
    "user.activate": _l("User activated or deactivated"),
    "user.create": _l("User created"),
    "user.mfa_reset": _l("Second factor reset"),
    "user.password_changed": _l("Password changed"),
    "user.unlock": _l("User unlocked"),
    "user.update": _l("User updated"),
}


def role_label(role: str | None) -> str:
    """A role in words ("Caseworker"), or a dash when there is none."""
    if role == "system":
        return str(_l("The system"))
    return str(ROLE_LABELS.get(role or "", role or "—"))


def record_type_label(kind: str | None) -> str:
    """What an audit record is about, in words."""
    return str(RECORD_TYPES.get(kind or "", kind or "—"))


def action_label(action: str) -> str:
    """An audit action in words."""
    return str(AUDIT_ACTIONS.get(action, action))
