"""Proof that a person is present or known: the case number and the date of birth, or the card's token.

Two features open a record of another centre on such a proof (an emergency access, msc/dpo/glass.py; a
record moved to the desk's centre, msc/continuity): both read and match it here, so that both refuse the
same things and give nothing away about a record the proof does not fit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.beneficiaries import casenumber
from msc.beneficiaries.models import Beneficiary
from msc.beneficiaries.search import card_token
from msc.db import session
from msc.errors import RuleError


class ProofError(RuleError):
    """A proof that cannot be looked up as given (something missing, or not a case number), said in words."""


@dataclass
class Proof:
    """What shows the person is present or known: the case number and the date of birth, or the card."""

    case_number: str | None = None
    date_of_birth: dt.date | None = None
    card_token: str | None = None


def checked(proof: Proof) -> casenumber.CaseNumber | None:
    """What the proof says, checked without looking anything up; the case number as stored (None for a
    card)."""
    if (proof.card_token or "").strip():
        return None
    if not (proof.case_number or "").strip():
        raise ProofError(
            _l("Give the case number and the date of birth, or the token printed on the card."), field="case_number"
        )
    try:
        number = casenumber.parse(proof.case_number)
    except casenumber.CaseNumberError as err:
        raise ProofError(err.message, field="case_number") from err
    if number is None or number.legacy:
        raise ProofError(
            _l("This is not a case number of today's form (such as COL-CUC-7K3M-Q9XD-4): use the card's token."),
            field="case_number",
        )
    if proof.date_of_birth is None:
        raise ProofError(
            _l("Give the person's date of birth, as the person or their papers say."), field="date_of_birth"
        )
    return number


def matching(proof: Proof, number: casenumber.CaseNumber | None) -> Beneficiary | None:
    """The person the proof fits, or None: no such number or card, an erased person, another date of birth."""
    if number is None:
        where = Beneficiary.card_token == card_token(proof.card_token or "")
    else:
        where = Beneficiary.case_number == number.text
    person = session.scalar(sa.select(Beneficiary).where(where))
    if person is None or person.is_erased:
        return None
    if number is not None and (person.date_of_birth is None or person.date_of_birth != proof.date_of_birth):
        return None
    return _kept(person)


def _kept(person: Beneficiary) -> Beneficiary | None:
    """A record merged into another leads to the one kept (the person's card or number from before the merge
    still proves who they are); None if that one was erased."""
    for _hop in range(8):
        if person.merged_into_id is None:
            return None if person.is_erased else person
        person = session.get_one(Beneficiary, person.merged_into_id)
    return None
