"""Version 1 of the regional fund's eligibility criteria, as data: the questions each case type asks
and the rule that decides. The same tree is applied the same way in every country."""

from __future__ import annotations

import hashlib
import json

from flask_babel import lazy_gettext as _l

from msc.fund.evaluator import CriteriaInvalid, Facts, Result, evaluate, validate

CASE_TYPES = ("trafficking", "uasc", "vulnerable")

#: question id -> (kind, options); "multi" answers are lists, "single" answers one option
QUESTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "act": ("multi", ("recruitment", "transportation", "transfer", "harbouring", "receipt", "none")),
    "purpose": (
        "multi",
        (
            "sexual_exploitation",
            "forced_labour",
            "slavery",
            "servitude",
            "organ_removal",
            "forced_begging_or_crime",
            "none",
        ),
    ),
    "means": (
        "multi",
        (
            "threat",
            "force",
            "coercion",
            "abduction",
            "fraud",
            "deception",
            "abuse_of_power",
            "abuse_of_vulnerability",
            "payments",
            "none",
        ),
    ),
    "age_in_doubt": ("single", ("yes", "no")),
    "separated_from_parents": ("single", ("yes", "no")),
    "adult_relative_caring": ("single", ("yes", "no")),
    "indicators": (
        "multi",
        (
            "smuggling_victim",
            "violence_survivor",
            "exploitation_or_abuse",
            "serious_medical",
            "disability",
            "pregnant_or_lactating",
            "single_caregiver",
            "older_at_risk",
            "no_shelter",
            "no_documents",
            "none",
        ),
    ),
}

VERSION_1 = {
    "trafficking": {
        "questions": ["act", "purpose", "means", "age_in_doubt"],
        # Palermo Protocol: act AND purpose AND (means OR the person is a child).
        "rule": {
            "all": [
                {"has": "act", "label": "act"},
                {"has": "purpose", "label": "purpose"},
                {"any": [{"has": "means"}, {"age_under": 18}], "label": "means_or_child"},
            ]
        },
    },
    "uasc": {
        "questions": ["separated_from_parents", "adult_relative_caring", "age_in_doubt"],
        # Under 18 and separated from both parents; with an adult relative caring: separated, else unaccompanied.
        "rule": {
            "all": [
                {"age_under": 18, "label": "child"},
                {"is": ["separated_from_parents", "yes"], "label": "separated_from_parents"},
            ]
        },
    },
    "vulnerable": {
        "questions": ["indicators"],
        "rule": {
            "score": {
                "question": "indicators",
                "threshold": 5,
                "weights": {
                    "smuggling_victim": 3,
                    "violence_survivor": 3,
                    "exploitation_or_abuse": 3,
                    "serious_medical": 2,
                    "disability": 2,
                    "pregnant_or_lactating": 2,
                    "single_caregiver": 2,
                    "older_at_risk": 2,
                    "no_shelter": 1,
                    "no_documents": 1,
                },
            },
            "label": "vulnerability_score",
        },
    },
}


def check_definition(definition: dict) -> None:
    """A criteria set the evaluator will run: every case type, known questions, a valid rule."""
    if not isinstance(definition, dict) or set(definition) != set(CASE_TYPES):
        raise CriteriaInvalid(
            _l("a criteria set defines exactly the case types %(types)s", types=", ".join(CASE_TYPES))
        )
    for case_type, spec in definition.items():
        if not isinstance(spec, dict) or set(spec) != {"questions", "rule"}:
            raise CriteriaInvalid(_l("%(type)s: give its questions and its rule", type=case_type))
        questions = spec["questions"]
        if not (isinstance(questions, list) and all(q in QUESTIONS for q in questions)):
            raise CriteriaInvalid(_l("%(type)s: questions must come from the question list", type=case_type))
        validate(spec["rule"], set(questions))


def digest(definition: dict) -> str:
    """The SHA-256 of the canonical JSON of a criteria set: stored with every recommendation."""
    return hashlib.sha256(json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def recommend(definition: dict, case_type: str, facts: Facts) -> tuple[str, Result]:
    """eligible, not_eligible or needs_information, with the evaluated tree."""
    result = evaluate(definition[case_type]["rule"], facts)
    outcome = {True: "eligible", False: "not_eligible", None: "needs_information"}[result.value]
    return outcome, result


def uasc_kind(answers: dict) -> str | None:
    """For an eligible child: unaccompanied (no adult relative caring) or separated (one is)."""
    caring = answers.get("adult_relative_caring")
    return {"no": "unaccompanied", "yes": "separated"}.get(str(caring))
