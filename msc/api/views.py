"""/api/v1: the JSON API for other systems. A call shows a service account's token (msc/api/tokens.py) and
passes the same access policy as the pages (its role's permissions, its reach); the services it calls
audit it as they audit a page. Personal data travels only in bodies: a search is a POST."""

from __future__ import annotations

from typing import Any

import sqlalchemy.orm as so
from flask import Blueprint as FlaskBlueprint
from flask import abort, current_app, g, jsonify, render_template, request
from flask_login import current_user
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint

from msc import clock
from msc.api import PREFIX, errors, schemas, tokens
from msc.beneficiaries import search as search_service
from msc.beneficiaries import service as beneficiaries
from msc.beneficiaries.access import load_beneficiary
from msc.beneficiaries.models import Beneficiary, Household
from msc.db import read_mostly, utcnow
from msc.errors import DomainError, RuleError
from msc.extensions import csrf, limiter, login_manager
from msc.referrals import service as referral_service
from msc.referrals.models import Referral
from msc.reports import scope as report_scope
from msc.reports import service as report_service
from msc.security import audit
from msc.security.policy import PUBLIC, Permission, declared_permission, public, requires

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
    return "api-address:" + (request.remote_addr or "")


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
        "elsewhere": [
            {"country": h.country, "registered_month": h.registered_month.strftime("%Y-%m"), "reasons": list(h.reasons)}
            for h in result.hints
        ],
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
    return {
        **_person(person),
        "household_size": len(person.household.members) if person.household else 1,
        "consents": {purpose: c.status for purpose, c in beneficiaries.current_consents(person).items()},
    }


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
