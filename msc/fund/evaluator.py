"""The fund's own small rule evaluator: criteria are data (JSON trees), never code. No eval, no exec,
no SQL: a fixed set of node kinds, checked before a criteria set is saved, evaluated with
three-valued logic (met, not met, unknown) so that a missing answer gives "needs information".

Node kinds:
    {"all": [node, ...]}                  every child is met
    {"any": [node, ...]}                  at least one child is met
    {"not": node}                         the child is not met
    {"has": "question"}                   a multiple-choice answer has at least one option chosen
    {"is": ["question", "value"]}         a single-choice answer equals the value
    {"age_under": 18}                     the applicant's age at the application date is under the limit;
                                          an estimated age within `doubt_years` of it, or an unknown age
                                          with "age in doubt" answered yes, counts as under (presumption
                                          of minority)
    {"score": {"weights": {"indicator": 2, ...}, "threshold": 5, "question": "indicators"}}
                                          the weights of the indicators chosen add up to the threshold

Any node may carry "label": the criterion's name in the explanation. Refusals are translated: an
administrator reads them when a draft does not validate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

MAX_DEPTH = 8
MAX_NODES = 200
KINDS = ("all", "any", "not", "has", "is", "age_under", "score")


class CriteriaInvalid(ValueError):
    """A criteria tree that the evaluator would not run: says where and why."""


@dataclass
class Facts:
    """What the evaluator knows of one application: the answers, and the applicant's age."""

    answers: dict[str, Any] = field(default_factory=dict)
    age: int | None = None
    age_estimated: bool = False
    doubt_years: int = 1


@dataclass
class Result:
    """A node's outcome: True (met), False (not met) or None (unknown), with what it looked at."""

    value: bool | None
    label: str | None = None
    kind: str = ""
    #: the answers or numbers that decided it (for the explanation)
    detail: dict[str, Any] = field(default_factory=dict)
    children: list[Result] = field(default_factory=list)

    def labelled(self) -> list[Result]:
        """The labelled results under this one (itself when labelled): the criteria people read."""
        if self.label:
            return [self]
        return [r for child in self.children for r in child.labelled()]


def validate(node: Any, questions: set[str], depth: int = 0, counter: list[int] | None = None) -> None:
    """Refuse anything that is not a well-formed tree of known node kinds over known questions."""
    counter = counter if counter is not None else [0]
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise CriteriaInvalid(_l("more than %(n)d nodes", n=MAX_NODES))
    if depth > MAX_DEPTH:
        raise CriteriaInvalid(_l("deeper than %(n)d levels", n=MAX_DEPTH))
    if not isinstance(node, dict):
        raise CriteriaInvalid(_l("a node must be an object, not %(kind)s", kind=type(node).__name__))
    kinds = [k for k in node if k in KINDS]
    extra = [k for k in node if k not in KINDS and k != "label"]
    if len(kinds) != 1 or extra:
        raise CriteriaInvalid(
            _l(
                "a node has exactly one of %(kinds)s (and an optional label): %(found)s",
                kinds=", ".join(KINDS),
                found=", ".join(sorted(node)),
            )
        )
    if "label" in node and not (isinstance(node["label"], str) and 0 < len(node["label"]) <= 60):
        raise CriteriaInvalid(_l("a label is a short text"))
    kind = kinds[0]
    arg = node[kind]
    if kind in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            raise CriteriaInvalid(_l("'%(kind)s' takes a non-empty list", kind=kind))
        for child in arg:
            validate(child, questions, depth + 1, counter)
    elif kind == "not":
        validate(arg, questions, depth + 1, counter)
    elif kind == "has":
        _known(arg, questions)
    elif kind == "is":
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], (str, bool, int))):
            raise CriteriaInvalid(_l("'is' takes [question, value]"))
        _known(arg[0], questions)
    elif kind == "age_under":
        if not (isinstance(arg, int) and not isinstance(arg, bool) and 0 < arg <= 120):
            raise CriteriaInvalid(_l("'age_under' takes an age from 1 to 120"))
    elif kind == "score":
        if not isinstance(arg, dict) or set(arg) - {"weights", "threshold", "question"}:
            raise CriteriaInvalid(_l("'score' takes weights, threshold and question"))
        weights, threshold = arg.get("weights"), arg.get("threshold")
        if not (
            isinstance(weights, dict)
            and weights
            and all(
                isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 100
                for k, v in weights.items()
            )
        ):
            raise CriteriaInvalid(_l("score weights are indicator: whole number from 1 to 100"))
        if not (isinstance(threshold, int) and not isinstance(threshold, bool) and 0 < threshold <= 10_000):
            raise CriteriaInvalid(_l("the score threshold is a positive whole number"))
        _known(arg.get("question"), questions)


def _known(question: Any, questions: set[str]) -> None:
    if not isinstance(question, str) or question not in questions:
        raise CriteriaInvalid(_l("unknown question %(q)s", q=repr(question)))


def evaluate(node: dict, facts: Facts) -> Result:
    """Evaluate a validated tree against the facts."""
    kind = next(k for k in node if k in KINDS)
    arg = node[kind]
    label = node.get("label")
    if kind in ("all", "any"):
        children = [evaluate(child, facts) for child in arg]
        values = [c.value for c in children]
        if kind == "all":
            value = False if False in values else (None if None in values else True)
        else:
            value = True if True in values else (None if None in values else False)
        return Result(value, label, kind, children=children)
    if kind == "not":
        child = evaluate(arg, facts)
        return Result(None if child.value is None else not child.value, label, kind, children=[child])
    if kind == "has":
        answer = facts.answers.get(arg)
        if answer is None:
            return Result(None, label, kind, {"question": arg})
        chosen = [a for a in (answer if isinstance(answer, list) else [answer]) if a and a != "none"]
        return Result(bool(chosen), label, kind, {"question": arg, "chosen": chosen})
    if kind == "is":
        question, expected = arg
        answer = facts.answers.get(question)
        if answer is None or answer == "":
            return Result(None, label, kind, {"question": question})
        return Result(answer == expected, label, kind, {"question": question, "answer": answer})
    if kind == "age_under":
        return _age_under(arg, facts, label)
    weights, threshold, question = arg["weights"], arg["threshold"], arg["question"]
    answer = facts.answers.get(question)
    if answer is None:
        return Result(None, label, kind, {"question": question, "threshold": threshold})
    chosen = [a for a in (answer if isinstance(answer, list) else [answer]) if a in weights]
    total = sum(weights[a] for a in chosen)
    return Result(
        total >= threshold,
        label,
        kind,
        {"question": question, "score": total, "threshold": threshold, "chosen": chosen},
    )


def _age_under(limit: int, facts: Facts, label: str | None) -> Result:
    doubt = facts.answers.get("age_in_doubt") is True
    if facts.age is None:
        if doubt:  # presumption of minority: unknown age and the doubt recorded
            return Result(True, label, "age_under", {"limit": limit, "presumed": True})
        return Result(None, label, "age_under", {"limit": limit})
    if facts.age < limit:
        return Result(True, label, "age_under", {"limit": limit, "age": facts.age})
    if (facts.age_estimated or doubt) and facts.age < limit + facts.doubt_years:
        return Result(True, label, "age_under", {"limit": limit, "age": facts.age, "presumed": True})
    return Result(False, label, "age_under", {"limit": limit, "age": facts.age})
