"""Words of the fund, translated."""

from flask_babel import lazy_gettext as _l

# Named pgettext so that pybabel's default keywords extract each word with its context.
from flask_babel import lazy_pgettext as pgettext

from msc.fund.criteria import QUESTIONS

CASE_TYPES = {
    "trafficking": _l("Victim of trafficking"),
    "uasc": _l("Unaccompanied or separated child"),
    "vulnerable": _l("Highly vulnerable migrant"),
}
UASC_KINDS = {"unaccompanied": _l("unaccompanied"), "separated": _l("separated")}
RECOMMENDATIONS = {
    "eligible": _l("Eligible"),
    "not_eligible": _l("Not eligible"),
    "needs_information": _l("Needs information"),
}
#: what an officer chooses (verbs, on the decision form)
OUTCOMES = {"approve": _l("Approve"), "reject": _l("Reject"), "return": _l("Return for information")}
#: where an application stands once decided (states, wherever a decision is shown)
DECISION_STATES = {
    "approve": pgettext("fund application", "Approved"),
    "reject": pgettext("fund application", "Rejected"),
    "return": pgettext("fund application", "Returned for information"),
}
#: the questions of the criteria, as the application form asks them
QUESTION_LABELS = {
    "act": _l("Act"),
    "purpose": _l("Purpose"),
    "means": _l("Means"),
    "age_in_doubt": _l("The age is in doubt (no document, or the person may be younger)"),
    "separated_from_parents": _l("Separated from both parents or the previous caregiver?"),
    "adult_relative_caring": _l("Is another adult relative caring for the child?"),
    "indicators": _l("Vulnerability indicators"),
}
CATEGORIES = {
    "medical": _l("Medical"),
    "mhpss": _l("Mental health and psychosocial support"),
    "shelter": _l("Shelter"),
    "legal": _l("Legal and documentation"),
    "education": _l("Education"),
    "livelihood": _l("Livelihood and small grant"),
    "return_integration": _l("Return or integration"),
    "basic_needs": _l("Basic needs"),
}
DISBURSEMENT_KINDS = {"payment": _l("Payment"), "in_kind": _l("In-kind purchase")}
FINDINGS = {"agrees": _l("Agrees"), "disagrees": _l("Disagrees"), "follow_up": _l("Needs follow-up")}
YES_NO = {"yes": _l("Yes"), "no": _l("No")}
CRITERIA = {
    "act": _l("Act: recruitment, transportation, transfer, harbouring or receipt"),
    "purpose": _l("Purpose of exploitation"),
    "means_or_child": _l("Means used, or the person is under 18"),
    "child": _l("Under 18 (an estimated or doubtful age counts as under 18)"),
    "separated_from_parents": _l("Separated from both parents or the previous caregiver"),
    "vulnerability_score": _l("Vulnerability score at or over the threshold"),
}
RESULTS = {True: _l("met"), False: _l("not met"), None: _l("unknown: information missing")}
OPTIONS = {
    "recruitment": _l("Recruitment"),
    "transportation": _l("Transportation"),
    "transfer": _l("Transfer"),
    "harbouring": _l("Harbouring"),
    "receipt": _l("Receipt of persons"),
    "none": _l("None of these"),
    "sexual_exploitation": _l("Sexual exploitation"),
    "forced_labour": _l("Forced labour or services"),
    "slavery": _l("Slavery or similar practices"),
    "servitude": _l("Servitude"),
    "organ_removal": _l("Removal of organs"),
    "forced_begging_or_crime": _l("Forced begging or criminality"),
    "threat": _l("Threat"),
    "force": _l("Force"),
    "coercion": _l("Coercion"),
    "abduction": _l("Abduction"),
    "fraud": _l("Fraud"),
    "deception": _l("Deception"),
    "abuse_of_power": _l("Abuse of power"),
    "abuse_of_vulnerability": _l("Abuse of a position of vulnerability"),
    "payments": _l("Payments to a person in control"),
    "smuggling_victim": _l("Victim of smuggling"),
    "violence_survivor": _l("Survivor of violence"),
    "exploitation_or_abuse": _l("Exploitation or abuse"),
    "serious_medical": _l("Serious medical condition"),
    "disability": _l("Disability"),
    "pregnant_or_lactating": _l("Pregnant or lactating"),
    "single_caregiver": _l("Single caregiver"),
    "older_at_risk": _l("Older person at risk"),
    "no_shelter": _l("No shelter"),
    "no_documents": _l("No documents"),
}


def options_of(question: str) -> list[tuple[str, str]]:
    """A question's options with their translated names, in the criteria's order."""
    return [(code, OPTIONS[code]) for code in QUESTIONS[question][1]]
