"""Who acts in a service: a logged-in user, or the system itself (the command line and jobs).

Services take an `Actor` and read only what is named here. A `User` is one (the type checker verifies
that structurally); `SYSTEM` is the other: nobody in particular, with no account, across the region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from msc.centres.models import Centre

if TYPE_CHECKING:
    from msc.security.models import User


class Actor(Protocol):
    """What services read of whoever acts: who (for the records they write), the role and whether it
    is active (for what they may do), and the reach (for which centres' records they see)."""

    @property
    def id(self) -> int | None:
        """The account's id, written into records and the audit log; None for the system."""

    @property
    def role(self) -> str:
        """One of msc.security.policy.ROLES for a user."""

    @property
    def active(self) -> bool:
        """A deactivated account's role grants nothing."""

    @property
    def is_authenticated(self) -> bool:
        """Logged in through a session (the permissions of a page's user depend on it)."""

    @property
    def scope(self) -> str:
        """centre, country or region: how far the actor's access reaches."""

    @property
    def country(self) -> str | None:
        """ISO alpha-3, for country scope."""

    @property
    def centres(self) -> Sequence[Centre]:
        """The centres reached, for centre scope."""

    @property
    def organisation_id(self) -> int | None:
        """For partner users: the organisation whose referrals they answer."""

    @property
    def psea_focal_point(self) -> bool:
        """A protection officer designated to receive sensitive complaints."""


#: the role of the system actor: it is in no role's table, so the policy grants it no permission
SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class SystemActor:
    """The command line and jobs: no account (records and audit entries name no user), the whole region
    in reach, and no permission from the access policy (its role is in no role's table). Whoever runs
    the command line on the server is trusted: the services it calls either check no permission (key
    rotation, the audit check) or name the system as allowed (a retention run)."""

    id: None = None
    role: str = SYSTEM_ROLE
    active: bool = True
    is_authenticated: bool = False
    scope: str = "region"
    country: None = None
    centres: tuple[Centre, ...] = ()
    organisation_id: None = None
    psea_focal_point: bool = False


SYSTEM = SystemActor()


if TYPE_CHECKING:  # the type checker proves that an account is an actor

    def _user_is_an_actor(user: User) -> Actor:
        return user
