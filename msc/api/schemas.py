"""What the API reads and answers, as marshmallow schemas: the OpenAPI document is generated from them."""

from __future__ import annotations

import marshmallow as ma

from msc.beneficiaries.search import MAX_QUERY


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


class ReferralAnswer(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    to = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["accepted", "declined", "no_show", "completed"]),
        metadata={"description": "accepted or declined (a sent referral); completed or no_show (an accepted one)"},
    )
    text = ma.fields.String(
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
