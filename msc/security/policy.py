"""The one access policy: roles are named sets of permissions, users are scoped to centres.

Every endpoint declares the permission it needs with @requires (or @public, or @authenticated);
an endpoint that declares nothing is denied. enforce() runs before every request.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import NoReturn, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, current_app, request
from flask_login import current_user

from msc.centres import stays
from msc.centres.models import Centre
from msc.db import session
from msc.extensions import login_manager
from msc.security import audit
from msc.security.actor import Actor
from msc.security.emergency import running_grant


class Permission(StrEnum):
    """What a role may do: routes declare one, services and templates ask for one."""

    SEARCH = "beneficiary.search"
    VIEW = "beneficiary.view"
    REGISTER = "beneficiary.register"
    EDIT = "beneficiary.edit"
    CONSENT = "beneficiary.consent"
    CARD = "beneficiary.card"
    MERGE = "beneficiary.merge"
    VIEW_SENSITIVE = "beneficiary.view_sensitive"
    ADMIN_CENTRES = "admin.centres"
    ADMIN_USERS = "admin.users"
    CASE_VIEW = "case.view"
    CASE_MANAGE = "case.manage"
    PARTNERS_VIEW = "partners.view"
    PARTNERS_MANAGE = "partners.manage"
    REFERRAL_OVERRIDE = "referral.override_agreement"
    SHELTER_VIEW = "shelter.view"
    SHELTER_PLACE = "shelter.place"
    SHELTER_MANAGE = "shelter.manage"
    SHELTER_OVERRIDE = "shelter.override_full"
    PARTNER_PORTAL = "partner.portal"
    NFI_DISTRIBUTE = "nfi.distribute"
    NFI_OVERRIDE = "nfi.override_rules"
    NFI_STOCK = "nfi.stock"
    NFI_REPORTS = "nfi.reports"
    NFI_CATALOGUE = "nfi.catalogue"
    FUND_APPLY = "fund.apply"
    FUND_VIEW = "fund.view"
    FUND_DECIDE = "fund.decide"
    FUND_DISBURSE = "fund.disburse"
    FUND_CRITERIA_DRAFT = "fund.criteria_draft"
    FUND_CRITERIA_PUBLISH = "fund.criteria_publish"
    FEEDBACK_RECORD = "feedback.record"
    FEEDBACK_MANAGE = "feedback.manage"
    FEEDBACK_QUEUE = "feedback.queue"
    REPORTS = "reports.view"
    BREAK_GLASS = "access.break_glass"
    BREAK_GLASS_FUND = "access.break_glass_fund"
    BREAK_GLASS_APPROVE = "access.break_glass_approve"
    DPO_REVIEW = "dpo.review"
    DATA_EXPORT = "data.export"
    KEYS_ROTATE = "keys.rotate"
    CASE_SENSITIVE_NOTES = "case.sensitive_notes"
    FEEDBACK_FOCAL_POINT = "feedback.focal_point"
    JOBS = "jobs.view"
    CONTINUITY_ASK = "continuity.ask"
    CONTINUITY_DECIDE = "continuity.decide"
    ONWARD_PLAN = "onward.plan"
    ONWARD_RECEIVE = "onward.receive"
    ONWARD_FLAGS = "onward.flags"
    IMPORT = "beneficiary.import"
    OFFLINE_DESK = "offline.desk"
    OFFLINE_DEVICES = "offline.devices"


PERMISSIONS = tuple(Permission)

ROLES: dict[str, frozenset[Permission]] = {
    "reception": frozenset(
        {
            Permission.SEARCH,
            Permission.VIEW,
            Permission.REGISTER,
            Permission.EDIT,
            Permission.CONSENT,
            Permission.CARD,
            Permission.PARTNERS_VIEW,
            Permission.NFI_DISTRIBUTE,
            Permission.FEEDBACK_RECORD,
            Permission.BREAK_GLASS,
            Permission.CONTINUITY_ASK,
            Permission.ONWARD_RECEIVE,
            Permission.OFFLINE_DESK,
        }
    ),
    "caseworker": frozenset(
        {
            Permission.SEARCH,
            Permission.VIEW,
            Permission.REGISTER,
            Permission.EDIT,
            Permission.CONSENT,
            Permission.CARD,
            Permission.VIEW_SENSITIVE,
            Permission.CASE_VIEW,
            Permission.CASE_MANAGE,
            Permission.PARTNERS_VIEW,
            Permission.SHELTER_VIEW,
            Permission.SHELTER_PLACE,
            Permission.NFI_DISTRIBUTE,
            Permission.FUND_APPLY,
            Permission.FUND_VIEW,
            Permission.FEEDBACK_RECORD,
            Permission.BREAK_GLASS,
            Permission.CONTINUITY_ASK,
            Permission.CONTINUITY_DECIDE,
            Permission.ONWARD_PLAN,
            Permission.ONWARD_RECEIVE,
            Permission.OFFLINE_DESK,
        }
    ),
    "protection_officer": frozenset(
        {
            Permission.SEARCH,
            Permission.VIEW,
            Permission.VIEW_SENSITIVE,
            Permission.CASE_VIEW,
            Permission.PARTNERS_VIEW,
            Permission.REFERRAL_OVERRIDE,
            Permission.SHELTER_VIEW,
            Permission.FUND_VIEW,
            Permission.FUND_DECIDE,
            Permission.FUND_DISBURSE,
            Permission.FUND_CRITERIA_DRAFT,
            Permission.FUND_CRITERIA_PUBLISH,
            Permission.FEEDBACK_QUEUE,
            Permission.REPORTS,
            Permission.BREAK_GLASS,
            Permission.BREAK_GLASS_FUND,
            Permission.BREAK_GLASS_APPROVE,
            Permission.DATA_EXPORT,
            Permission.CASE_SENSITIVE_NOTES,
            Permission.FEEDBACK_FOCAL_POINT,
            Permission.CONTINUITY_DECIDE,
            Permission.ONWARD_FLAGS,
        }
    ),
    "centre_manager": frozenset(
        {
            Permission.SEARCH,
            Permission.VIEW,
            Permission.MERGE,
            Permission.PARTNERS_VIEW,
            Permission.PARTNERS_MANAGE,
            Permission.SHELTER_VIEW,
            Permission.SHELTER_PLACE,
            Permission.SHELTER_MANAGE,
            Permission.SHELTER_OVERRIDE,
            Permission.NFI_DISTRIBUTE,
            Permission.NFI_OVERRIDE,
            Permission.NFI_STOCK,
            Permission.NFI_REPORTS,
            Permission.FEEDBACK_RECORD,
            Permission.FEEDBACK_MANAGE,
            Permission.FEEDBACK_QUEUE,
            Permission.REPORTS,
            Permission.CONTINUITY_ASK,
            Permission.CONTINUITY_DECIDE,
            Permission.ONWARD_PLAN,
            Permission.ONWARD_RECEIVE,
            Permission.ONWARD_FLAGS,
            Permission.IMPORT,
            Permission.OFFLINE_DESK,
            Permission.OFFLINE_DEVICES,
        }
    ),
    "dpo": frozenset(
        {Permission.PARTNERS_VIEW, Permission.FUND_VIEW, Permission.DPO_REVIEW, Permission.KEYS_ROTATE, Permission.JOBS}
    ),
    "admin": frozenset(
        {
            Permission.ADMIN_CENTRES,
            Permission.ADMIN_USERS,
            Permission.PARTNERS_VIEW,
            Permission.PARTNERS_MANAGE,
            Permission.NFI_CATALOGUE,
            Permission.FUND_CRITERIA_DRAFT,
            Permission.JOBS,
            Permission.OFFLINE_DEVICES,
        }
    ),
    "partner": frozenset({Permission.PARTNER_PORTAL}),
}

#: roles that must use TOTP
MFA_REQUIRED = frozenset({"protection_officer", "dpo", "admin"})
#: the roles a service account may have (another system acting through the API with a token): none that
#: needs a person's second factor
SERVICE_ROLES = ("reception", "caseworker", "centre_manager", "partner")

#: special markers for endpoints open to anyone, or to any logged-in user
PUBLIC = "public"
AUTHENTICATED = "authenticated"

SCOPES = ("centre", "country", "region")


def permissions_of(user: Actor) -> frozenset[Permission]:
    """The permissions a user's role grants (none for anonymous or inactive users)."""
    if not user.is_authenticated or not user.active:
        return frozenset()
    return ROLES.get(user.role, frozenset())


def can(user: Actor, permission: Permission) -> bool:
    """Whether the logged-in user holds the permission."""
    return permission in permissions_of(user)


def roles_with(permission: Permission) -> list[str]:
    """The roles that grant a permission (for queries that list the people who may act)."""
    return sorted(role for role, granted in ROLES.items() if permission in granted)


def may(permission: str) -> bool:
    """Whether the logged-in user holds the permission, for templates: a name that is not a permission
    is an error, not a silent no (a typo in a template would otherwise hide a button for everyone)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission}")
    # the user behind the proxy, once: a page's menu asks this dozens of times
    return can(current_user._get_current_object(), Permission(permission))


def role_allows(user: Actor, permission: Permission) -> bool:
    """Whether an active user's role grants the permission (for rules in services, which do not
    depend on a login session)."""
    return bool(user.active) and permission in ROLES.get(user.role, frozenset())


#: a view function, whose type a declaration keeps
View = TypeVar("View", bound=Callable[..., object])


def _declare(marker: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        view.msc_permission = marker  # type: ignore[attr-defined]
        return view

    return decorator


def requires(permission: Permission) -> Callable[[View], View]:
    """Declare the permission an endpoint needs."""
    return _declare(Permission(permission))


public = _declare(PUBLIC)
authenticated = _declare(AUTHENTICATED)


def declared_permission(endpoint: str | None) -> str | None:
    """What an endpoint declares, or None (which means denied)."""
    if endpoint is None:
        return None
    if endpoint == "static":
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "msc_permission", None)


def enforce() -> None:
    """Before each request: deny undeclared endpoints, send anonymous users to login, 403 the rest."""
    if request.endpoint is None:
        return  # 404 or 405 follows
    needed = declared_permission(request.endpoint)
    if needed == PUBLIC:
        return
    if needed is None:
        _deny("undeclared")
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    if needed == AUTHENTICATED:
        return
    if not can(current_user, Permission(needed)):
        _deny(needed)


def _deny(what: str) -> NoReturn:
    audit.record("access.denied", detail=f"{request.endpoint} needs {what}")
    abort(403)


# ---- scope -------------------------------------------------------------------------------


def centre_ids_in_scope(user: Actor) -> set[int] | None:
    """Centre ids the user reaches; None means every centre (regional scope)."""
    if user.scope == "region":
        return None
    if user.scope == "country":
        return set(session.scalars(sa.select(Centre.id).where(Centre.country == user.country)))
    return {c.id for c in user.centres}


def active_centres_of(user: Actor) -> list[Centre]:
    """The active centres the user reaches, by code (for forms that pick a centre)."""
    ids = centre_ids_in_scope(user)
    stmt = sa.select(Centre).where(Centre.active.is_(True)).order_by(Centre.code)
    if ids is not None:
        stmt = stmt.where(Centre.id.in_(ids or [-1]))
    return list(session.scalars(stmt))


def centres_in_scope(user: Actor, centre_id: int | None = None, country: str | None = None) -> list[Centre]:
    """The centres a report covers: one centre, a country's, or every one in the user's scope (active or
    not: a closed centre's figures still count), by country and code."""
    ids = centre_ids_in_scope(user)
    stmt = sa.select(Centre).order_by(Centre.country, Centre.code)
    if ids is not None:
        stmt = stmt.where(Centre.id.in_(ids or [-1]))
    if centre_id:
        stmt = stmt.where(Centre.id == centre_id)
    if country:
        stmt = stmt.where(Centre.country == country)
    return list(session.scalars(stmt))


def in_scope(
    user: Actor,
    centre_id: int,
    beneficiary_id: int | None = None,
    *,
    emergency_read: bool = False,
    former_read: bool = False,
) -> bool:
    """Whether a record of this centre is within the user's reach. An emergency (break-the-glass) access
    the user holds on one person counts only where a read asks for it (`emergency_read`, with the
    person's id): never to change, print, hand over, place or apply for anything. So does a centre that
    served the person before their record moved on (`former_read`: the profile, read-only)."""
    ids = centre_ids_in_scope(user)
    if ids is None or centre_id in ids:
        return True
    if beneficiary_id is None:
        return False
    if former_read and served_before(user, beneficiary_id):
        return True
    if not emergency_read:
        return False
    return running_grant(user.id, beneficiary_id) is not None


def served_before(user: Actor, beneficiary_id: int) -> bool:
    """Whether one of the user's centres served the person before their record moved to another centre:
    its staff keep a read-only view of the profile (what they wrote keeps their own centre)."""
    ids = centre_ids_in_scope(user)
    return ids is not None and stays.served_by(ids, beneficiary_id)


def scope_filter(user: Actor, column: so.QueryableAttribute[int]) -> sa.ColumnElement[bool]:
    """A WHERE clause limiting a query to the user's centres."""
    ids = centre_ids_in_scope(user)
    return sa.true() if ids is None else column.in_(ids or [-1])


def check_scope(
    user: Actor,
    centre_id: int,
    beneficiary_id: int | None = None,
    *,
    emergency_read: bool = False,
    former_read: bool = False,
) -> None:
    """404 (not 403: do not confirm that the record exists) for a record outside the user's scope."""
    if not in_scope(user, centre_id, beneficiary_id, emergency_read=emergency_read, former_read=former_read):
        audit.record("access.out_of_scope", detail=request.endpoint)
        abort(404)
