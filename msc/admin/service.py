"""Admin rules: centres, entry points and user accounts."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre, EntryPoint, EntryPointKind
from msc.db import session
from msc.errors import RuleError
from msc.partners.models import Organisation
from msc.security import audit
from msc.security import service as accounts
from msc.security.actor import Actor
from msc.security.models import User
from msc.security.policy import ROLES, SCOPES, SERVICE_ROLES, Permission
from msc.security.service import AccountError


def save_centre(
    centre: Centre | None, *, code: str, name: str, country: str, municipality: str, kind: str, active: bool
) -> Centre:
    """Create or update a centre; codes are unique and start with the country code."""
    if not code.startswith(country + "-"):
        raise AccountError(
            _l("The code must start with the country code (%(country)s-).", country=country), field="code"
        )
    clash = session.scalar(sa.select(Centre).where(Centre.code == code))
    if clash is not None and clash is not centre:
        raise AccountError(_l("Another centre already uses this code."), field="code")
    if centre is None:
        centre = Centre(code=code)
        session.add(centre)
    elif centre.code != code:
        raise AccountError(_l("A centre's code cannot change: case numbers are built from it."), field="code")
    centre.name, centre.country, centre.municipality, centre.kind, centre.active = (
        name,
        country,
        municipality,
        kind,
        active,
    )
    session.flush()
    audit.record("centre.save", object_type="centre", object_id=centre.id)
    return centre


def people_through(place: EntryPoint) -> int:
    """How many records name this entry point."""
    return session.scalar(sa.select(sa.func.count()).where(Beneficiary.entry_point_id == place.id)) or 0


def save_entry_point(place: EntryPoint | None, *, country: str, name: str, kind: str, active: bool) -> EntryPoint:
    """Add or change an entry point. Names are unique within a country (whatever the letter case); one
    that records name keeps its country (deactivate it and add another instead)."""
    name = " ".join(name.split())
    if not name:
        raise RuleError(_l("Enter the name of the place."), field="name")
    if kind not in EntryPointKind.__members__:
        raise RuleError(_l("Choose the kind of place."), field="kind")
    clash = session.scalar(
        sa.select(EntryPoint).where(EntryPoint.country == country, sa.func.lower(EntryPoint.name) == name.lower())
    )
    if clash is not None and clash is not place:
        raise RuleError(_l("This country already has an entry point with this name."), field="name")
    if place is None:
        place = EntryPoint(country=country)
        session.add(place)
    elif place.country != country and people_through(place):
        raise RuleError(
            _l(
                "People's records name this entry point, so its country cannot change: deactivate it and add a new one."
            ),
            field="country",
        )
    place.country, place.name, place.kind, place.active = country, name, kind, active
    session.flush()
    audit.record(
        "entry_point.save", object_type="entry_point", object_id=place.id, detail="active" if active else "inactive"
    )
    return place


def delete_entry_point(place: EntryPoint) -> None:
    """Delete an entry point no record names; one in use can only be deactivated."""
    if people_through(place):
        raise RuleError(_l("People's records name this entry point: deactivate it instead of deleting it."))
    audit.record("entry_point.delete", object_type="entry_point", object_id=place.id)
    session.delete(place)
    session.flush()


def reach_choices() -> tuple[list[Centre], list[Organisation]]:
    """The centres and partner organisations an account's form offers."""
    return (
        list(session.scalars(sa.select(Centre).order_by(Centre.code))),
        list(session.scalars(sa.select(Organisation).order_by(Organisation.name))),
    )


def save_user(
    admin: Actor,
    user: User | None,
    *,
    username: str,
    display_name: str,
    role: str,
    scope: str,
    country: str | None,
    centre_ids: list[int],
    locale: str,
    password: str | None,
    organisation_id: int | None = None,
    psea_focal_point: bool = False,
    service_account: bool = False,
) -> User:
    """Create or update an account; scope must name what it reaches; a partner user belongs to one
    organisation (and only partner users do). A service account (another system's, through the API with
    a token) has no password and only a role that needs no second factor."""
    if role not in ROLES or scope not in SCOPES:
        raise AccountError(_l("Choose a role and a reach from the list."), field="role")
    if user is not None and user.service_account != service_account:
        raise AccountError(_l("A person's account cannot become a service account, nor the other way round."))
    if service_account and role not in SERVICE_ROLES:
        raise AccountError(
            _l("A service account may have the reception, caseworker, centre manager or partner role."), field="role"
        )
    if role == "partner" and (not organisation_id or session.get(Organisation, organisation_id) is None):
        raise AccountError(_l("Choose the organisation this partner user works for."), field="organisation_id")
    if role != "partner":
        organisation_id = None
    if psea_focal_point and Permission.FEEDBACK_FOCAL_POINT not in ROLES[role]:
        raise AccountError(_l("Only protection officers can be PSEA focal points."), field="psea_focal_point")
    if scope == "country" and not country:
        raise AccountError(_l("Choose the country this user reaches."), field="country")
    if scope == "centre" and not centre_ids and role not in ("admin", "dpo", "partner"):
        raise AccountError(_l("Choose at least one centre."), field="centres")
    clash = accounts.find_user(username)
    if clash is not None and clash is not user:
        raise AccountError(_l("This username is taken."), field="username")
    centres = list(session.scalars(sa.select(Centre).where(Centre.id.in_(centre_ids or [-1]))))
    if user is None and service_account:
        # no password: "!" is no argon2 hash, so no password ever matches it
        user = accounts.new_user(
            username=username,
            display_name=display_name,
            role=role,
            scope=scope,
            password_hash="!",
            locale=locale,
            service_account=True,
        )
        action = "user.create"
    elif user is None:
        if not password:
            raise AccountError(_l("Set an initial password."), field="password")
        user = accounts.new_user(
            username=username, display_name=display_name, role=role, scope=scope, password_hash="!", locale=locale
        )
        session.flush()
        _set_password(user, password)
        action = "user.create"
    else:
        if user.id == admin.id and role != user.role:
            raise AccountError(_l("You cannot change your own role."), field="role")
        if password:
            _set_password(user, password)
            accounts.revoke_all_sessions(user, "password")
        if role != user.role or scope != user.scope:
            accounts.revoke_all_sessions(user, "role")
        action = "user.update"
    user.username, user.display_name, user.role, user.scope, user.locale = (username, display_name, role, scope, locale)
    user.country = country if scope == "country" else None
    if user.organisation_id != organisation_id:
        user.organisation_id = organisation_id
        accounts.revoke_all_sessions(user, "role")
    user.centres = centres if scope == "centre" else []
    if user.psea_focal_point != bool(psea_focal_point):
        user.psea_focal_point = bool(psea_focal_point)
        accounts.revoke_all_sessions(user, "role")
    session.flush()
    audit.record(action, object_type="user", object_id=user.id, detail="role,scope,centres,psea")
    return user


def _set_password(user: User, password: str) -> None:
    try:
        accounts.set_password(user, password)
    except AccountError as err:
        raise AccountError(err.message, field="password") from None


def set_active(admin: Actor, user: User, active: bool) -> None:
    """Deactivate (every session ends at once) or reactivate an account."""
    if user.id == admin.id:
        raise AccountError(_l("You cannot deactivate your own account."))
    user.active = active
    if not active:
        accounts.revoke_all_sessions(user, "deactivated")
    audit.record("user.activate" if active else "user.deactivate", object_type="user", object_id=user.id)


def unlock(user: User) -> None:
    """Lift the lock (and any wait) that failed logins put on the account."""
    accounts.unlock(user)
    audit.record("user.unlock", object_type="user", object_id=user.id)
