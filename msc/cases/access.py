"""Load-and-authorise for cases: the one place a page loads a case by its opaque id and decides whether the
logged-in user may reach it (within their centres, by a running emergency access to the person, or as an
assigned caseworker). Unknown, erased or out of reach all answer 404; a reach outside scope is audited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import abort, request
from flask_login import current_user

from msc.cases.models import Case
from msc.cases.service import may_access
from msc.db import session
from msc.security import audit

if TYPE_CHECKING:
    from sqlalchemy.sql.base import ExecutableOption


def load_case(case_uid: str, options: Sequence[ExecutableOption] = ()) -> Case:
    """The case with this opaque id, if the logged-in user may reach it; 404 otherwise. `options`: what the
    page will read of the case, loaded with it (fewer round trips to the database)."""
    case = session.scalar(sa.select(Case).where(Case.uid == case_uid).options(*options))
    if case is None or case.beneficiary.is_erased:
        abort(404)
    if not may_access(current_user, case):
        audit.record("access.out_of_scope", detail=request.endpoint)
        abort(404)
    return case
