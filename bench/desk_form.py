"""What a reception desk's registration form sends besides the person: a new household with the person as
its head, the five consent decisions given verbally by the person. One dict for every benchmark that
registers through the form (bench.reception, bench.live, bench.locustfile)."""

NEW_HEAD_CONSENTED = {
    "household_mode": "new",
    "household_case_number": "",
    "relationship": "head",
    "consent_registration": "given",
    "consent_referral": "given",
    "consent_government_sharing": "refused",
    "consent_followup_contact": "given",
    "consent_photo": "refused",
    "legal_basis": "consent",
    "method": "verbal",
    "given_by": "self",
    "guardian_name": "",
    "best_interests_note": "",
}
