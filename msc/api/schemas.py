"""What the API reads and answers, as marshmallow schemas: the OpenAPI document is generated from them."""

from __future__ import annotations

import marshmallow as ma

from msc.beneficiaries import vocab
from msc.beneficiaries.search import MAX_QUERY
from msc.forms import has_control_chars
from msc.nfi.vocab import ACK_METHODS, COLLECTED_BY

#: the words a refused text's field carries (msc/api/errors.py translates them)
CONTROL_CHARACTERS = "Control characters."


class ErrorDetail(ma.Schema):
    code = ma.fields.String(
        required=True, metadata={"description": "Stable: unauthorized, forbidden, not_found, validation_error…"}
    )
    message = ma.fields.String(required=True, metadata={"description": "In the language of Accept-Language."})
    refused = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        data_key="fields",  # (a schema's own `fields` attribute must keep its name)
        metadata={"description": "For validation errors: each field of the body that was refused, and why."},
    )


class ErrorBody(ma.Schema):
    error = ma.fields.Nested(ErrorDetail, required=True)


class SearchQuery(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    query = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_QUERY),
        metadata={
            "description": "What a desk types in the search box: names, a case number, a card, a "
            "document, a phone or a date of birth (day/month/year). Sent in the body, never in a URL."
        },
    )
    page = ma.fields.Integer(
        strict=True, load_default=1, validate=ma.validate.Range(min=1, max=50), metadata={"description": "1 to 50"}
    )


class Person(ma.Schema):
    uid = ma.fields.String(required=True, metadata={"description": "The record's id (random, not personal)."})
    case_number = ma.fields.String(required=True)
    given_names = ma.fields.String(required=True)
    family_names = ma.fields.String(required=True)
    sex = ma.fields.String(required=True, metadata={"description": "female, male, other or unknown"})
    date_of_birth = ma.fields.Date(allow_none=True)
    date_of_birth_estimated = ma.fields.Boolean(required=True)
    nationality = ma.fields.String(allow_none=True, metadata={"description": "ISO 3166-1 alpha-3"})
    centre = ma.fields.String(required=True, metadata={"description": "The code of the centre holding the record."})
    registered_on = ma.fields.Date(required=True, metadata={"description": "The day, at the holding centre."})


class Match(ma.Schema):
    person = ma.fields.Nested(Person, required=True)
    score = ma.fields.Integer(required=True, metadata={"description": "Higher is closer; comparable within a page."})


class Elsewhere(ma.Schema):
    country = ma.fields.String(required=True, metadata={"description": "ISO 3166-1 alpha-3 of the holding centre"})
    registered_month = ma.fields.String(required=True, metadata={"description": "YYYY-MM"})
    reasons = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "Why it matched, best first (codes)."}
    )


class SearchResult(ma.Schema):
    kind = ma.fields.String(
        required=True,
        metadata={"description": "What the query was read as: name, date_of_birth, number, case_number or card"},
    )
    page = ma.fields.Integer(required=True)
    has_more = ma.fields.Boolean(required=True)
    matches = ma.fields.List(ma.fields.Nested(Match), required=True)
    elsewhere = ma.fields.List(
        ma.fields.Nested(Elsewhere),
        required=True,
        metadata={
            "description": "Records beyond the token's reach that may be the person (only that they "
            "exist: country, month, why)."
        },
    )


class PersonRecord(Person):
    household_uid = ma.fields.String(allow_none=True, metadata={"description": "Read it at /households/{uid}."})
    household_size = ma.fields.Integer(required=True)
    consents = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        required=True,
        metadata={"description": "Each purpose's consent in force: given or refused."},
    )


class ReferralListQuery(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    view = ma.fields.String(
        load_default="pending",
        validate=ma.validate.OneOf(["pending", "answered"]),
        metadata={
            "description": "pending: waiting for the organisation (soonest deadline first); answered: newest first"
        },
    )
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))


class ReferralSummary(ma.Schema):
    uid = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "sent, accepted, completed, declined or no_show"})
    urgency = ma.fields.String(required=True)
    service = ma.fields.String(required=True, metadata={"description": "The organisation's service it is for."})
    case_number = ma.fields.String(required=True)
    sent_at = ma.fields.DateTime(allow_none=True)
    deadline_at = ma.fields.DateTime(allow_none=True)
    overdue = ma.fields.Boolean(required=True)


class ReferralList(ma.Schema):
    page = ma.fields.Integer(required=True)
    has_more = ma.fields.Boolean(required=True)
    referrals = ma.fields.List(ma.fields.Nested(ReferralSummary), required=True)


class Document(ma.Schema):
    type = ma.fields.String(required=True)
    number = ma.fields.String(allow_none=True)


class Relative(ma.Schema):
    relationship = ma.fields.String(allow_none=True)
    age = ma.fields.Integer(allow_none=True)


class SharedPerson(ma.Schema):
    """Only what the referral shares: each field is there when its category was chosen."""

    case_number = ma.fields.String(required=True)
    name = ma.fields.String(metadata={"description": "identity"})
    phone = ma.fields.String(allow_none=True, metadata={"description": "contact"})
    sex = ma.fields.String(metadata={"description": "demographics"})
    age = ma.fields.Integer(allow_none=True, metadata={"description": "demographics"})
    nationality = ma.fields.String(metadata={"description": "demographics"})
    date_of_birth = ma.fields.Date(allow_none=True, metadata={"description": "date_of_birth"})
    document = ma.fields.Nested(Document, metadata={"description": "document"})
    needs = ma.fields.List(ma.fields.String(), metadata={"description": "specific_needs (never the sensitive ones)"})
    household = ma.fields.List(ma.fields.Nested(Relative), metadata={"description": "household"})


class ReferralDetail(ReferralSummary):
    reason = ma.fields.String(allow_none=True, metadata={"description": "Why the person was referred."})
    answer = ma.fields.String(allow_none=True, metadata={"description": "The reason of a decline, the outcome."})
    shared = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "The categories shared."})
    person = ma.fields.Nested(SharedPerson, required=True)


class Text(ma.fields.String):
    """Text a system sends for a person: trimmed; refused with control characters, as the forms refuse them."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if has_control_chars(text):
            raise ma.ValidationError(CONTROL_CHARACTERS)
        return text.strip()


class ReferralAnswer(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    to = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["accepted", "declined", "no_show", "completed"]),
        metadata={"description": "accepted or declined (a sent referral); completed or no_show (an accepted one)"},
    )
    text = Text(
        load_default=None,
        validate=ma.validate.Length(max=2000),
        metadata={"description": "Required to decline (the reason) and to complete (the outcome)."},
    )


class ReportQuery(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    start = ma.fields.String(metadata={"description": "First month, YYYY-MM (default: five months before the end)"})
    end = ma.fields.String(metadata={"description": "Last month, YYYY-MM (default: this month)"})
    centre_id = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=2**31 - 1), metadata={"description": "One centre of the token's reach"}
    )
    country = ma.fields.String(metadata={"description": "One country of the token's reach (ISO 3166-1 alpha-3)"})
    sex = ma.fields.String()
    age_band = ma.fields.String()
    nationality = ma.fields.String()


class ReportTable(ma.Schema):
    table = ma.fields.String(required=True)
    title = ma.fields.String(required=True, metadata={"description": "In the language of Accept-Language."})
    header = ma.fields.List(ma.fields.String(), required=True)
    hxl = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "The HXL hashtag of each column, in order."}
    )
    rows = ma.fields.List(
        ma.fields.List(ma.fields.Raw()),
        required=True,
        metadata={
            "description": "The rows, then the totals row: counts 1 to 4, and any a total would give away, "
            'are "<5" or "x", as on the dashboard.'
        },
    )


# ---- writing: people, households, hand-overs --------------------------------------------------------


def _one_of(choices) -> ma.validate.OneOf:
    return ma.validate.OneOf(list(choices))


class ConsentIn(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    purpose = ma.fields.String(required=True, validate=_one_of(vocab.CONSENT_PURPOSES))
    status = ma.fields.String(required=True, validate=_one_of(["given", "refused"]))


class HouseholdIn(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    uid = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=32),
        metadata={"description": "The household to join (a person record's household_uid)."},
    )
    relationship = ma.fields.String(
        required=True,
        validate=_one_of(r for r in vocab.RELATIONSHIPS if r != "head"),
        metadata={"description": "To the head of the household."},
    )


class NewPerson(ma.Schema):
    """A registration, checked by the registration form's rules."""

    class Meta:
        unknown = ma.RAISE

    centre = ma.fields.String(
        validate=ma.validate.Length(max=20),
        metadata={"description": "The code of one of the token's centres (default: its first)."},
    )
    given_names = Text(required=True, validate=ma.validate.Length(min=1, max=100))
    family_names = Text(required=True, validate=ma.validate.Length(min=1, max=100))
    sex = ma.fields.String(required=True, validate=_one_of(vocab.SEXES))
    nationality = ma.fields.String(
        required=True,
        validate=_one_of([*vocab.NATIONALITIES, vocab.STATELESS]),
        metadata={"description": "ISO 3166-1 alpha-3 (XXA: stateless)"},
    )
    date_of_birth = ma.fields.Date(allow_none=True)
    estimated_age = ma.fields.Integer(
        strict=True,
        allow_none=True,
        validate=ma.validate.Range(min=0, max=120),
        metadata={"description": "In years, when the date of birth is not known."},
    )
    document_type = ma.fields.String(load_default="none", validate=_one_of(vocab.DOCUMENT_TYPES))
    document_number = Text(allow_none=True, validate=ma.validate.Length(max=40))
    phone = Text(allow_none=True, validate=ma.validate.Length(max=30))
    arrival_date = ma.fields.Date(allow_none=True)
    languages = ma.fields.List(ma.fields.String(validate=_one_of(vocab.LANGUAGES)), load_default=list)
    needs = ma.fields.List(
        ma.fields.String(validate=_one_of(vocab.NEEDS)),
        load_default=list,
        metadata={"description": "Specific needs; the sensitive ones only with a role that may see them."},
    )
    consents = ma.fields.List(
        ma.fields.Nested(ConsentIn),
        required=True,
        validate=ma.validate.Length(min=1, max=len(vocab.CONSENT_PURPOSES)),
        metadata={"description": "The decision recorded for each purpose asked; registration is required."},
    )
    legal_basis = ma.fields.String(
        load_default="consent",
        validate=_one_of(vocab.LEGAL_BASES),
        metadata={"description": "Of the registration: another basis than consent registers without it."},
    )
    consent_method = ma.fields.String(load_default="verbal", validate=_one_of(vocab.CONSENT_METHODS))
    consent_given_by = ma.fields.String(load_default="self", validate=_one_of(vocab.CONSENT_GIVEN_BY))
    guardian_name = Text(allow_none=True, validate=ma.validate.Length(max=120))
    best_interests_note = Text(allow_none=True, validate=ma.validate.Length(max=2000))
    household = ma.fields.Nested(
        HouseholdIn, allow_none=True, metadata={"description": "Join a household (default: head of a new one)."}
    )
    not_duplicates = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(max=32)),
        load_default=list,
        validate=ma.validate.Length(max=50),
        metadata={
            "description": "The uids of the possible duplicates a 409 answered that are not this person: "
            "registered anyway, and remembered as not the same person."
        },
    )
    elsewhere_seen = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "The records beyond the reach a 409 answered were looked at: go on."},
    )


class Candidate(ma.Schema):
    person = ma.fields.Nested(Person, required=True)
    reasons = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "Why it may be the person."})


class DuplicateDetail(ErrorDetail):
    candidates = ma.fields.List(
        ma.fields.Nested(Candidate),
        required=True,
        metadata={"description": "People within the reach who may be this person."},
    )
    elsewhere = ma.fields.List(ma.fields.Nested(Elsewhere), required=True)


class DuplicateBody(ma.Schema):
    error = ma.fields.Nested(DuplicateDetail, required=True)


class Member(Person):
    relationship = ma.fields.String(allow_none=True, metadata={"description": "To the head of the household."})


class HouseholdRecord(ma.Schema):
    uid = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True, metadata={"description": "Everyone in it, within the reach or not."})
    no_adult = ma.fields.Boolean(required=True, metadata={"description": "No adult registered in it."})
    members = ma.fields.List(
        ma.fields.Nested(Member), required=True, metadata={"description": "The members within the token's reach."}
    )


class Entitlement(ma.Schema):
    row = ma.fields.String(required=True, metadata={"description": "What a hand-over's line names."})
    item = ma.fields.String(required=True, metadata={"description": "The item's code in the catalogue."})
    name = ma.fields.String(required=True)
    household = ma.fields.Boolean(required=True, metadata={"description": "A household item (one per household)."})
    person = ma.fields.String(required=True, metadata={"description": "The uid of the member it is for."})
    allowed = ma.fields.Integer(required=True, metadata={"description": "Units that may be given today."})
    reasons = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "Why not, in words."})
    next_on = ma.fields.Date(allow_none=True, metadata={"description": "When more may be given."})


class EntitlementQuery(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    centre = ma.fields.String(
        validate=ma.validate.Length(max=20),
        metadata={"description": "The code of the centre giving (default: the person's, else the token's first)."},
    )


class Entitlements(ma.Schema):
    centre = ma.fields.String(required=True)
    day = ma.fields.Date(required=True, metadata={"description": "Today at the centre."})
    rows = ma.fields.List(ma.fields.Nested(Entitlement), required=True)


class HandOverLine(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    row = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    quantity = ma.fields.Integer(strict=True, required=True, validate=ma.validate.Range(min=1, max=1000))


class Acknowledgement(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    collected_by = ma.fields.String(load_default="self", validate=_one_of(COLLECTED_BY))
    collector_name = Text(allow_none=True, validate=ma.validate.Length(max=200))
    method = ma.fields.String(
        required=True,
        validate=_one_of(ACK_METHODS),
        metadata={"description": "signature (an SVG path of the strokes), thumbprint or witness"},
    )
    signature = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=60_000))
    witness_name = Text(allow_none=True, validate=ma.validate.Length(max=200))


class NewHandOver(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    beneficiary = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    centre = ma.fields.String(
        validate=ma.validate.Length(max=20),
        metadata={"description": "The code of the centre giving (default: the person's, else the token's first)."},
    )
    lines = ma.fields.List(ma.fields.Nested(HandOverLine), required=True, validate=ma.validate.Length(min=1, max=50))
    acknowledgement = ma.fields.Nested(Acknowledgement, required=True)
    justification = Text(
        allow_none=True,
        validate=ma.validate.Length(max=2000),
        metadata={"description": "Why lines outside the rules must be given (a role allowed to override)."},
    )


class HandOver(ma.Schema):
    uid = ma.fields.String(required=True)
    centre = ma.fields.String(required=True)
    day = ma.fields.Date(required=True)
    overridden = ma.fields.Boolean(required=True)
    lines = ma.fields.List(ma.fields.Nested(HandOverLine), required=True)
