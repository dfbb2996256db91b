"""The fund's rule evaluator and version 1 of the criteria, table by table."""

import pytest

from msc.fund.criteria import VERSION_1, check_definition, digest, recommend, uasc_kind
from msc.fund.evaluator import CriteriaInvalid, Facts, evaluate, validate

ACT = ["recruitment", "transportation"]
PURPOSE = ["forced_labour"]


@pytest.mark.parametrize(
    "age,estimated,answers,expected",
    [
        # A 16-year-old with act and purpose and no means is a victim of trafficking: a child needs no means.
        (16, False, {"act": ACT, "purpose": PURPOSE, "means": ["none"]}, "eligible"),
        # An adult with act and purpose but without means is not.
        (30, False, {"act": ACT, "purpose": PURPOSE, "means": ["none"]}, "not_eligible"),
        (30, False, {"act": ACT, "purpose": PURPOSE, "means": ["deception"]}, "eligible"),
        (30, False, {"act": ["none"], "purpose": PURPOSE, "means": ["force"]}, "not_eligible"),
        (30, False, {"act": ACT, "purpose": ["none"], "means": ["force"]}, "not_eligible"),
        # Means not yet answered, and an adult: the caseworker must find out.
        (30, False, {"act": ACT, "purpose": PURPOSE}, "needs_information"),
        # ... but a child with act and purpose is eligible whatever the means.
        (12, False, {"act": ACT, "purpose": PURPOSE}, "eligible"),
        # Estimated age at the boundary: an estimated 18 is presumed a minor; a known 18 is an adult.
        (18, True, {"act": ACT, "purpose": PURPOSE, "means": ["none"]}, "eligible"),
        (18, False, {"act": ACT, "purpose": PURPOSE, "means": ["none"]}, "not_eligible"),
        (19, True, {"act": ACT, "purpose": PURPOSE, "means": ["none"]}, "not_eligible"),
        # Unknown age with the doubt recorded: presumption of minority.
        (None, False, {"act": ACT, "purpose": PURPOSE, "means": ["none"], "age_in_doubt": True}, "eligible"),
        (None, False, {"act": ACT, "purpose": PURPOSE, "means": ["none"]}, "needs_information"),
    ],
)
def test_trafficking_follows_the_palermo_protocol(age, estimated, answers, expected):
    outcome, _ = recommend(VERSION_1, "trafficking", Facts(answers, age, estimated))
    assert outcome == expected


@pytest.mark.parametrize(
    "age,estimated,answers,expected,kind",
    [
        # A 17-year-old with an adult uncle caring for them is separated, not unaccompanied.
        (17, False, {"separated_from_parents": "yes", "adult_relative_caring": "yes"}, "eligible", "separated"),
        (15, False, {"separated_from_parents": "yes", "adult_relative_caring": "no"}, "eligible", "unaccompanied"),
        (15, False, {"separated_from_parents": "no", "adult_relative_caring": "no"}, "not_eligible", None),
        (18, False, {"separated_from_parents": "yes", "adult_relative_caring": "no"}, "not_eligible", None),
        (18, True, {"separated_from_parents": "yes", "adult_relative_caring": "no"}, "eligible", "unaccompanied"),
        (15, False, {}, "needs_information", None),
    ],
)
def test_unaccompanied_and_separated_children(age, estimated, answers, expected, kind):
    outcome, _ = recommend(VERSION_1, "uasc", Facts(answers, age, estimated))
    assert outcome == expected
    assert (uasc_kind(answers) if outcome == "eligible" else None) == kind


@pytest.mark.parametrize(
    "indicators,expected,score",
    [
        (["smuggling_victim", "serious_medical"], "eligible", 5),
        (["smuggling_victim", "no_documents"], "not_eligible", 4),
        (["violence_survivor", "exploitation_or_abuse"], "eligible", 6),
        (["none"], "not_eligible", 0),
        (None, "needs_information", None),
    ],
)
def test_highly_vulnerable_is_a_weighted_score_over_a_threshold(indicators, expected, score):
    answers = {} if indicators is None else {"indicators": indicators}
    outcome, result = recommend(VERSION_1, "vulnerable", Facts(answers, 30))
    assert outcome == expected
    assert result.detail.get("score") == score and result.detail["threshold"] == 5


def test_each_criterion_is_explained():
    outcome, result = recommend(
        VERSION_1, "trafficking", Facts({"act": ACT, "purpose": ["none"], "means": ["none"]}, 16)
    )
    assert outcome == "not_eligible"
    assert [(r.label, r.value) for r in result.labelled()] == [
        ("act", True),
        ("purpose", False),
        ("means_or_child", True),
    ]
    assert result.labelled()[0].detail["chosen"] == ACT


def test_version_1_is_valid_and_hashed_canonically():
    check_definition(VERSION_1)
    reordered = {k: VERSION_1[k] for k in reversed(list(VERSION_1))}
    assert digest(reordered) == digest(VERSION_1) and len(digest(VERSION_1)) == 64


@pytest.mark.parametrize(
    "node,why",
    [
        ({"eval": "__import__('os')"}, "exactly one of"),
        ({"all": []}, "non-empty list"),
        ({"has": "password"}, "unknown question"),
        ({"is": ["act"]}, "[question, value]"),
        ({"age_under": "18"}, "age from 1 to 120"),
        ({"age_under": True}, "age from 1 to 120"),
        ({"score": {"question": "act", "threshold": 5, "weights": {"x": "3"}}}, "weights"),
        ({"score": {"question": "act", "threshold": 0, "weights": {"x": 3}}}, "threshold"),
        ({"all": [{"has": "act"}], "sql": "DROP TABLE"}, "exactly one of"),
        ({"has": "act", "label": "x" * 61}, "short text"),
        ("act", "must be an object"),
    ],
)
def test_the_evaluator_refuses_anything_it_does_not_know(node, why):
    with pytest.raises(CriteriaInvalid, match=why):
        validate(node, {"act", "means"})


def test_trees_are_bounded():
    deep = {"has": "act"}
    for _ in range(10):
        deep = {"not": deep}
    with pytest.raises(CriteriaInvalid, match="deeper"):
        validate(deep, {"act"})
    with pytest.raises(CriteriaInvalid, match="nodes"):
        validate({"any": [{"has": "act"}] * 250}, {"act"})


def test_not_and_unknown_answers():
    assert evaluate({"not": {"has": "act"}}, Facts({"act": ["none"]})).value is True
    assert evaluate({"not": {"has": "act"}}, Facts({})).value is None
    assert evaluate({"any": [{"has": "act"}, {"has": "means"}]}, Facts({"act": ["none"]})).value is None
    assert evaluate({"any": [{"has": "act"}, {"has": "means"}]}, Facts({"means": ["force"]})).value is True


@pytest.mark.parametrize(
    "bad",
    [
        {"trafficking": VERSION_1["trafficking"]},
        {**VERSION_1, "uasc": {"questions": ["salary"], "rule": {"has": "salary"}}},
        {**VERSION_1, "vulnerable": {"rule": {"has": "indicators"}}},
    ],
)
def test_a_criteria_set_must_be_whole(bad):
    with pytest.raises(CriteriaInvalid):
        check_definition(bad)
