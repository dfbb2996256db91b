"""Load-and-authorise: the one place a page loads a person by their opaque id and decides whether the
logged-in user may reach them. The route has already checked the permission (@requires); this adds the
record: unknown, erased, or outside the user's reach (their centres, or for a read a running emergency access) all
answer 404, so a page never confirms that a record exists, and a reach outside scope is audited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from msc.beneficiaries.models import Beneficiary
from msc.db import session

if TYPE_CHECKING:
    from sqlalchemy.sql.base import ExecutableOption
from msc.security.policy import check_scope


def load_beneficiary(
    uid: str,
    *,
    emergency_read: bool = False,
    former_read: bool = False,
    options: Sequence[ExecutableOption] = (),
    merged: bool = False,
) -> Beneficiary:
    """The person with this opaque id, if the logged-in user may reach them; 404 otherwise. A running
    emergency access counts only for a page that reads and says so (`emergency_read`): every page that
    changes, prints or hands out something answers 404 to it. `options`: what the page will read of the
    person, loaded with them (fewer round trips to the database). `former_read`: a centre that served the
    person before their record moved on reads too (the profile). A record merged into another answers 404
    too, but to a page that says it takes one (`merged`: the profile, which leads to the kept record)."""
    person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid).options(*options))
    if person is None:
        abort(404)
    check_scope(current_user, person.centre_id, person.id, emergency_read=emergency_read, former_read=former_read)
    if person.is_erased or (person.merged_into_id is not None and not merged):
        abort(404)
    return person
