"""/api/v1: the JSON API for other systems. A call shows a service account's token (msc/api/tokens.py) and
passes the same access policy as the pages (its role's permissions, its reach); the services it calls
audit it as they audit a page. Personal data travels only in bodies: a search is a POST."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint as FlaskBlueprint
from flask import abort, current_app, g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint
from markupsafe import Markup, escape

from msc import clock
from msc.api import PREFIX, errors, schemas, tokens
from msc.beneficiaries import search as search_service
from msc.beneficiaries import service as beneficiaries
from msc.beneficiaries.access import load_beneficiary
from msc.beneficiaries.models import Beneficiary, Household
from msc.beneficiaries.vocab import SENSITIVE_NEEDS
from msc.centres.models import Centre
from msc.db import read_mostly, session, utcnow
from msc.errors import DomainError, RuleError
from msc.extensions import client_network, csrf, limiter, login_manager
from msc.forms import unstorable_text
from msc.nfi import rules as nfi_rules
from msc.nfi import service as nfi
from msc.nfi import stock as nfi_stock
from msc.referrals import service as referral_service
from msc.referrals.models import Referral
from msc.reports import scope as report_scope
from msc.reports import service as report_service
from msc.security import audit
from msc.security.policy import (
    PUBLIC,
    Permission,
    active_centres_of,
    declared_permission,
    in_scope,
    public,
    requires,
    role_allows,
)

bp = ApiBlueprint(
    "api", __name__, url_prefix=PREFIX, description="Search and read the people within the token's reach."
)
#: the document and its reference page: open to anyone, outside the document itself
docs_bp = FlaskBlueprint("api_docs", __name__, url_prefix=PREFIX)

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def N_(text: str) -> str:
    """Mark a text of the document for translation: the document stays in English, its reference page
    shows it in the reader's language."""
    return text


#: an error's answer (schemas.ErrorBody)
ERROR = {"$ref": "#/components/responses/DEFAULT_ERROR"}


def documented(summary: str, description: str, *errors: int):
    """An operation's summary and description in the document, its token, and the errors it may answer
    besides those every call may (401, 403, 429)."""
    return bp.doc(
        summary=summary,
        description=description,
        security=BEARER,
        responses={code: ERROR for code in (401, 403, 429, *errors)},
    )


class _Api(Api):
    ERROR_SCHEMA = schemas.ErrorBody  # the document's errors are the ones msc/api/errors.py answers


def init_app(app) -> None:
    """The API and its document (generated from the views and schemas below, OpenAPI 3.1)."""
    app.config.setdefault("API_TITLE", "MSC Case API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    api = _Api(
        spec_kwargs={
            "info": {
                "description": "The JSON API of MSC Case. Every call sends a service account's token: "
                '`Authorization: Bearer msc_…`. Errors are `{"error": {"code", "message", "fields"}}` '
                "with the message in the language of `Accept-Language` (es, pt-BR, en)."
            },
            "servers": [{"url": app.config.get("PUBLIC_URL") or "/"}],
        }
    )
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "A service account's token (msc_…)."}
    )
    api.register_blueprint(bp)
    app.register_blueprint(docs_bp)
    app.extensions["msc.api"] = api
    app.before_request(_authenticate)


def _token_key() -> str:
    """The rate limit's bucket: the token presented (its secret's digest, however the header is spelt),
    else the address."""
    secret = tokens.presented_secret(request.headers.get("Authorization"))
    return "api-token:" + tokens.digest(secret)[:32] if secret else _address_key()


def _api_limit() -> str:
    return str(current_app.config["API_RATE_LIMIT"])


def _address_key() -> str:
    return "api-address:" + client_network()


def _address_limit() -> str:
    return str(current_app.config["API_ADDRESS_RATE_LIMIT"])


# once per process (both keep the blueprint's name, whatever the app)
csrf.exempt(bp)  # no cookie is read here: a forged cross-site call would carry no token
# shared by every endpoint of the API (not one allowance per endpoint): per token, and per address whatever
# the token, so a caller trying one made-up token after another gets no fresh bucket
limiter.shared_limit(_api_limit, scope="api-token", key_func=_token_key)(bp)
limiter.shared_limit(_address_limit, scope="api-address", key_func=_address_key)(bp)


def _authenticate() -> None:
    """Before the access policy: a call to the API is its token's service account, never a cookie's user."""
    if request.blueprint != "api" or declared_permission(request.endpoint) == PUBLIC:
        return
    g._login_user = login_manager.anonymous_user()  # never the cookie's user, not even for the audit record
    try:
        account, token = tokens.authenticate(request.headers.get("Authorization"))
    except tokens.Unauthorized as err:
        audit.record("api.denied", detail=f"{request.endpoint}:{err.reason}")
        g.commit_on_error = True  # keep the audit record of the refusal
        abort(errors.response(401, message=err.message))
    account._api_token = token.uid
    g._login_user = account  # Flask-Login's current user for this request
    _check_body()


def _check_body() -> None:
    """A JSON body the schemas could not read safely is refused before they try: nested past what the
    parser recurses (400), or a text holding half of a surrogate pair, which has no UTF-8 to store,
    refused on the field that holds it (422). (A NUL is a control character: each text field refuses it
    in its own words, and a value no field checks is refused by the database's answer, msc/app.py.)"""
    if request.method not in ("POST", "PUT", "PATCH") or not request.is_json:
        return
    try:
        body = json.loads(request.get_data(cache=True))
    except RecursionError:
        abort(errors.response(400))
    except ValueError:
        return  # not JSON: webargs refuses it in words
    where = unstorable_text(body, allow_nul=True)
    if where is not None:
        abort(errors.refused(where, errors.control_characters()))


# ---- the document ----------------------------------------------------------------------------------


@docs_bp.get("/openapi.json")
@public
def openapi_json():
    """The OpenAPI 3.1 document, generated from the code."""
    return jsonify(current_app.extensions["msc.api"].spec.to_dict())


@docs_bp.get("/")
@public
def reference():
    """A readable reference of the document, served by the app (no script, no CDN)."""
    spec = current_app.extensions["msc.api"].spec.to_dict()
    operations = [
        {"method": method.upper(), "path": path, "path_parameters": item.get("parameters", []), **op}
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    return render_template(
        "api/reference.html", spec=spec, operations=operations, schemas=spec["components"]["schemas"]
    )


@docs_bp.app_template_filter("code_spans")
def code_spans(text: object) -> Markup:
    """A description's `names` (the document's Markdown code spans) as <code>, the rest escaped."""
    parts = str(text).split("`")
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if i % 2 else escape(part) for i, part in enumerate(parts)
    )


# ---- search ----------------------------------------------------------------------------------------


@bp.route("/search", methods=["POST"])
@requires(Permission.SEARCH)
@read_mostly
@bp.arguments(schemas.SearchQuery)
@bp.response(200, schemas.SearchResult)
@documented(
    N_("Search people, as the search box does"),
    N_(
        "The people within the token's reach who match the query, best first, a page at a time; and, on the "
        "first page, records beyond the reach that may be the person (only that they exist). A case number or "
        "a card token answers the one person it names."
    ),
    422,
)
def search(body: dict[str, Any]):
    """POST /api/v1/search."""
    try:
        result = search_service.search(current_user, body["query"], page=body["page"])
    except RuleError as err:
        return errors.refused("query", err.message)
    exact = result.exact
    if exact is not None and (exact.is_erased or exact.merged_into_id is not None):
        matches = []  # an old case number of an erased or merged record names no one the API may show
    elif exact is not None:
        audit.record("beneficiary.view", object_type="beneficiary", object_id=exact.id, detail=_api_detail())
        matches = [{"person": _person(exact), "score": 0}]
    else:
        matches = [{"person": _person(hit.person), "score": hit.score} for hit in result.hits]
    return {
        "kind": result.kind,
        "page": result.page,
        "has_more": result.has_more,
        "matches": matches,
        "elsewhere": [_elsewhere(h) for h in result.hints],
    }


@bp.route("/beneficiaries/<uid>", methods=["GET"])
@requires(Permission.VIEW)
@read_mostly
@bp.response(200, schemas.PersonRecord)
@documented(
    N_("Read one person"),
    N_(
        "What the search answers of a person within the token's reach, with the size of their household and "
        "the consent in force for each purpose. Audited as a view of the record."
    ),
    404,
)
def beneficiary(uid: str):
    """GET /api/v1/beneficiaries/<uid>."""
    person = load_beneficiary(
        uid,
        options=(
            so.selectinload(Beneficiary.consents),
            so.joinedload(Beneficiary.household).selectinload(Household.members),
        ),
    )
    audit.record("beneficiary.view", object_type="beneficiary", object_id=person.id, detail=_api_detail())
    return _record(person)


def _record(person: Beneficiary) -> dict[str, Any]:
    return {
        **_person(person),
        "household_uid": person.household.uid if person.household else None,
        "household_size": len(person.household.members) if person.household else 1,
        "consents": {purpose: c.status for purpose, c in beneficiaries.current_consents(person).items()},
    }


#: the registration service's names of fields, as the API's body names them
_REGISTRATION_FIELDS = {
    "consent_registration": "consents",
    "given_by": "consent_given_by",
    "household_case_number": "household",
    "relationship": "household",
    "entry_point": "centre",
}


@bp.route("/beneficiaries", methods=["POST"])
@requires(Permission.REGISTER)
@bp.arguments(schemas.NewPerson)
@bp.response(201, schemas.PersonRecord)
@bp.alt_response(409, schema=schemas.DuplicateBody, description="Possible duplicates: look, then confirm.")
@documented(
    N_("Register a person"),
    N_(
        "By the registration form's rules: consent (or another legal basis) for registration, a guardian's "
        "consent for a child, the same duplicate check. Possible duplicates within the reach, or records beyond "
        "it, answer 409 with the reasons: send the same body again with `not_duplicates` (the uids that are "
        "not this person) and `elsewhere_seen` to register anyway."
    ),
    422,
)
def register(body: dict[str, Any]):
    """POST /api/v1/beneficiaries."""
    centre = _centre(body.get("centre"), active_centres_of(current_user))
    if isinstance(centre, str):
        return errors.refused("centre", centre)
    sensitive = set(body["needs"]) & SENSITIVE_NEEDS
    if sensitive and not role_allows(current_user, Permission.VIEW_SENSITIVE):
        return errors.refused(
            "needs", str(_l("This token's role may not record: %(needs)s.", needs=", ".join(sorted(sensitive))))
        )
    purposes = [c["purpose"] for c in body["consents"]]
    if len(set(purposes)) != len(purposes):
        return errors.refused("consents", str(_l("Give each purpose once.")))
    data = beneficiaries.PersonData(
        given_names=body["given_names"],
        family_names=body["family_names"],
        sex=body["sex"],
        nationality=body["nationality"],
        date_of_birth=body.get("date_of_birth"),
        estimated_age=body.get("estimated_age"),
        document_type=body["document_type"],
        document_number=body.get("document_number") or None,
        phone=body.get("phone") or None,
        arrival_date=body.get("arrival_date"),
        languages=body["languages"],
        needs=body["needs"],
    )
    consents = [
        beneficiaries.ConsentData(
            purpose=c["purpose"],
            status=c["status"],
            legal_basis=body["legal_basis"] if c["purpose"] == "registration" else "consent",
            method=body["consent_method"],
            given_by=body["consent_given_by"],
            guardian_name=body.get("guardian_name") or None,
            best_interests_note=body.get("best_interests_note") or None,
        )
        for c in body["consents"]
    ]
    household = body.get("household")
    choice = (
        beneficiaries.HouseholdChoice(join_household_uid=household["uid"], relationship=household["relationship"])
        if household
        else beneficiaries.HouseholdChoice()
    )
    try:
        person = beneficiaries.register(
            current_user,
            centre,
            data,
            consents,
            choice,
            _in_reach(body["not_duplicates"]),
            hints_seen=body["elsewhere_seen"],
        )
    except RuleError as err:
        return errors.refused(_REGISTRATION_FIELDS.get(err.field or "", err.field or "consents"), err.message)
    except beneficiaries.PossibleDuplicates as dup:
        g.commit_on_error = bool(dup.hints)  # keep the audit record of the hints shown (nothing else was written)
        return _duplicates(dup)
    return _record(person), 201, {"Location": f"{PREFIX}/beneficiaries/{person.uid}"}


def _in_reach(uids: list[str]) -> set[int]:
    """The ids of the people named who are within the caller's reach (any other uid names no one)."""
    if not uids:
        return set()
    rows = session.execute(sa.select(Beneficiary.id, Beneficiary.centre_id).where(Beneficiary.uid.in_(uids)))
    return {row.id for row in rows if in_scope(current_user, row.centre_id)}


def _duplicates(dup: Any):
    return errors.response(
        409,
        extra={
            "candidates": [{"person": _person(c.beneficiary), "reasons": list(c.reasons)} for c in dup.candidates],
            "elsewhere": [_elsewhere(h) for h in dup.hints],
        },
    )


def _elsewhere(hint: Any) -> dict[str, Any]:
    return {
        "country": hint.country,
        "registered_month": hint.registered_month.strftime("%Y-%m"),
        "reasons": list(hint.reasons),
    }


def _centre(code: str | None, centres: list[Centre]) -> Centre | str:
    """The centre a call names (by code) among those it may act for, its first by default; else why not."""
    if not centres:
        return str(_l("This token's account is not assigned to a centre."))
    if not code:
        return centres[0]
    found = next((c for c in centres if c.code == code.strip().upper()), None)
    return found if found is not None else str(_l("Name one of the token's centres."))


# ---- households ------------------------------------------------------------------------------------


@bp.route("/households/<uid>", methods=["GET"])
@requires(Permission.VIEW)
@read_mostly
@bp.response(200, schemas.HouseholdRecord)
@documented(
    N_("Read a household"),
    N_(
        "The members of a household within the token's reach, with their relationship to its head, and its size. "
        "Audited as a view of each member shown."
    ),
    404,
)
def household(uid: str):
    """GET /api/v1/households/<uid>."""
    found = session.scalar(sa.select(Household).where(Household.uid == uid).options(so.selectinload(Household.members)))
    if found is None or not in_scope(current_user, found.centre_id):
        abort(404)
    members = [
        m
        for m in found.members
        if not m.is_erased and m.merged_into_id is None and in_scope(current_user, m.centre_id, m.id)
    ]
    for m in members:
        audit.record("beneficiary.view", object_type="beneficiary", object_id=m.id, detail=_api_detail())
    return {
        "uid": found.uid,
        "size": sum(1 for m in found.members if not m.is_erased and m.merged_into_id is None),
        "no_adult": found.no_adult,
        "members": [{**_person(m), "relationship": m.relationship_to_head} for m in members],
    }


# ---- hand-overs of non-food items (a distribution app) ----------------------------------------------


@bp.route("/beneficiaries/<uid>/entitlements", methods=["GET"])
@requires(Permission.NFI_DISTRIBUTE)
@read_mostly
@bp.arguments(schemas.EntitlementQuery, location="query")
@bp.response(200, schemas.Entitlements)
@documented(
    N_("What a person and their household may receive today"),
    N_(
        "The rows of the hand-over desk for a person within the token's reach: each item of the catalogue for "
        "them or their household, what may be given today at the centre by the rules, and why not."
    ),
    404,
    422,
)
def entitlements(query: dict[str, Any], uid: str):
    """GET /api/v1/beneficiaries/<uid>/entitlements."""
    person = load_beneficiary(uid)
    centre = _centre(query.get("centre"), nfi.desk_centres(current_user, person))
    if isinstance(centre, str):
        return errors.refused("centre", centre)
    today = nfi_stock.centre_day(centre)
    view = nfi_rules.desk_view(person, nfi_stock.active_items(), today)
    return {
        "centre": centre.code,
        "day": today,
        "rows": [
            {
                "row": v.key,
                "item": v.item.code,
                "name": v.item.name,
                "household": v.household,
                "person": v.person.uid,
                "allowed": v.allowed,
                "reasons": [str(r) for r in v.reasons],
                "next_on": v.next_on,
            }
            for v in view.all()
        ],
    }


#: the hand-over service's names of fields, as the API's body names them
_HAND_OVER_FIELDS = {
    "centre_id": "centre",
    "collected_by": "acknowledgement.collected_by",
    "collector_name": "acknowledgement.collector_name",
    "ack_method": "acknowledgement.method",
    "witness_name": "acknowledgement.witness_name",
    "justification": "justification",
}


@bp.route("/hand-overs", methods=["POST"])
@requires(Permission.NFI_DISTRIBUTE)
@bp.arguments(schemas.NewHandOver)
@bp.response(201, schemas.HandOver)
@documented(
    N_("Record a hand-over"),
    N_(
        "Items given to a person within the token's reach, each line a row of their entitlements, by the desk's "
        "rules: what the rules or the centre's stock do not allow is refused line by line with the reason "
        "(a role allowed to override gives a justification), and nothing is written then."
    ),
    404,
    422,
)
def hand_over(body: dict[str, Any]):
    """POST /api/v1/hand-overs."""
    person = load_beneficiary(body["beneficiary"])
    centre = _centre(body.get("centre"), nfi.desk_centres(current_user, person))
    if isinstance(centre, str):
        return errors.refused("centre", centre)
    quantities: dict[str, int] = {}
    for line in body["lines"]:
        quantities[line["row"]] = quantities.get(line["row"], 0) + line["quantity"]
    given = body["acknowledgement"]
    ack = nfi.Acknowledgement(
        collected_by=given["collected_by"],
        collector_name=given.get("collector_name"),
        method=given["method"],
        signature=given.get("signature"),
        witness_name=given.get("witness_name"),
    )
    try:
        distribution = nfi.hand_over(current_user, centre, person, quantities, ack, body.get("justification"))
    except nfi.HandOverRefused as err:
        return errors.response(
            422, message=str(err.message), fields={f"lines.{row}": [str(why)] for row, why in err.rows.items()}
        )
    except nfi_stock.NfiError as err:
        return errors.refused(_HAND_OVER_FIELDS.get(err.field or "", "lines"), str(err.message))
    return {
        "uid": distribution.uid,
        "centre": centre.code,
        "day": distribution.day,
        "overridden": distribution.overridden,
        "lines": [{"row": row, "quantity": q} for row, q in sorted(quantities.items())],
    }, 201


# ---- referrals, for partner organisations' systems (the partner portal as an API) -----------------


@bp.route("/referrals", methods=["GET"])
@requires(Permission.PARTNER_PORTAL)
@read_mostly
@bp.arguments(schemas.ReferralListQuery, location="query")
@bp.response(200, schemas.ReferralList)
@documented(
    N_("List the referrals addressed to the organisation"),
    N_(
        "Those waiting for the organisation (sent or accepted, soonest deadline first) or those it answered "
        "(newest first), 50 a page, with the person's case number only. Never drafts or cancelled referrals."
    ),
    422,
)
def referrals(query: dict[str, Any]):
    """GET /api/v1/referrals."""
    rows, has_more = referral_service.for_partner(current_user, query["view"], query["page"])
    return {"page": query["page"], "has_more": has_more, "referrals": [_referral(r) for r in rows]}


@bp.route("/referrals/<uid>", methods=["GET"])
@requires(Permission.PARTNER_PORTAL)
@bp.response(200, schemas.ReferralDetail)
@documented(
    N_("Read a referral"),
    N_(
        "One referral addressed to the organisation, with only the categories of the person's data it shares. "
        "Every read is recorded as a disclosure on the person's record."
    ),
    404,
)
def referral(uid: str):
    """GET /api/v1/referrals/<uid>."""
    found = _partner_referral(uid)
    referral_service.disclose(current_user, found)
    return _referral_detail(found)


@bp.route("/referrals/<uid>/answer", methods=["POST"])
@requires(Permission.PARTNER_PORTAL)
@bp.arguments(schemas.ReferralAnswer)
@bp.response(200, schemas.ReferralDetail)
@documented(
    N_("Answer a referral"),
    N_(
        "Accept or decline (with the reason) a sent referral; record that the person did not come, or complete "
        "it (with the outcome), once accepted. A move its status does not allow is refused with the reason."
    ),
    404,
    422,
)
def referral_answer(body: dict[str, Any], uid: str):
    """POST /api/v1/referrals/<uid>/answer."""
    found = _partner_referral(uid)
    try:
        referral_service.answer(current_user, found, body["to"], body["text"])
    except referral_service.ReferralError as err:
        return errors.refused("text" if err.field == "answer" else "to", err.message)
    referral_service.disclose(current_user, found)  # the answer carries the shared data again
    return _referral_detail(found)


def _partner_referral(uid: str) -> Referral:
    found = referral_service.partner_referral(current_user, uid)
    if found is None:
        abort(404)
    return found


def _referral(r: Referral) -> dict[str, Any]:
    return {
        "uid": r.uid,
        "status": r.status,
        "urgency": r.urgency,
        "service": r.service.name,
        "case_number": r.beneficiary.case_number,
        "sent_at": r.sent_at,
        "deadline_at": r.deadline_at,
        "overdue": r.overdue(utcnow()),
    }


def _referral_detail(r: Referral) -> dict[str, Any]:
    shared = referral_service.shared_view(r, clock.today_at(r.beneficiary.centre))
    if "document" in shared:
        kind, number = shared["document"]
        shared["document"] = {"type": kind, "number": number}
    if "household" in shared:
        shared["household"] = [{"relationship": rel, "age": age} for rel, age in shared["household"]]
    return {**_referral(r), "reason": r.reason, "answer": r.answer, "shared": list(r.categories), "person": shared}


# ---- the dashboards' tables --------------------------------------------------------------------------


@bp.route(
    "/reports/<table>",
    methods=["GET"],
    parameters=[
        {
            "in": "path",
            "name": "table",
            "required": True,
            "schema": {"type": "string", "enum": list(report_service.TABLES)},
        }
    ],
)
@requires(Permission.REPORTS)
@bp.arguments(schemas.ReportQuery, location="query")
@bp.response(200, schemas.ReportTable)
@documented(
    N_("A table of the dashboards"),
    N_(
        "One table of the dashboards (the values of the table parameter) for the token's reach and the "
        "filters given, with the HXL hashtag of each column: aggregates only, small counts hidden as on the page."
    ),
    404,
    422,
)
def report(query: dict[str, Any], table: str):
    """GET /api/v1/reports/<table>."""
    if table not in report_service.TABLES:
        abort(404)
    start, end = report_scope.default_period(clock.viewer_today(current_user))
    filters = report_scope.Filters(
        query.get("start") or start,
        query.get("end") or end,
        query.get("centre_id"),
        query.get("country"),
        query.get("sex"),
        query.get("age_band"),
        query.get("nationality"),
    )
    try:
        scope = report_scope.scope(current_user, filters)
    except DomainError as err:
        return errors.refused(err.field or "start", err.message)
    found = report_service.table(current_user, scope, table)
    rows = found.export_rows()
    audit.record(
        "reports.export",
        detail=f"{table}.api:{len(rows)}:{filters.start}..{filters.end}:{','.join(c.code for c in scope.centres)}",
    )
    return {
        "table": table,
        "title": str(found.title),
        "header": [str(h) for h in found.header],
        "hxl": found.hxl,
        "rows": rows,
    }


def _api_detail() -> str:
    """An audit record's detail for a read through the API: which token read (an account may hold several)."""
    return f"api:{current_user._api_token}"


def _person(person: Beneficiary) -> dict[str, Any]:
    return {
        "uid": person.uid,
        "case_number": person.case_number,
        "given_names": person.given_names,
        "family_names": person.family_names,
        "sex": person.sex,
        "date_of_birth": person.date_of_birth,
        "date_of_birth_estimated": person.dob_estimated,
        "nationality": person.nationality,
        "centre": person.centre.code,
        "registered_on": clock.day_of(person.registered_at, person.centre.country),  # the centre's day
    }
