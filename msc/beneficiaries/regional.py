"""Recognition without disclosure: the regional hints.

People move from centre to centre along the route (Cúcuta → Ipiales → Huaquillas → Lima). The duplicate
check at registration and the search box also look, on the blind indexes, beyond the user's reach; what
they find there is shown only as a hint that a record may exist — the country, the month of registration
and why it matched — never a name, case number, centre, date or id, in the page, a URL, a log or the
audit log.

Only people whose consent to continuity of care is given and in force are ever hinted at: without it
nothing is shared, not even that a record exists. Erased people never are. The person's id stays on the
server (`Hint.person_id`) for the later request of the record; it is never rendered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.beneficiaries.models import Beneficiary, Consent, ConsentStatus
from msc.beneficiaries.vocab import country_name
from msc.crypto.links import open_reference, seal_reference
from msc.security import audit

#: the consent purpose that lets a record be recognised beyond its centre
CONTINUITY = "continuity"
#: what a hint's sealed reference is for (msc.crypto.links)
HINT_REFERENCE = "regional-hint"
#: at most this many hints, as at most this many people are decrypted to confirm them
MAX_HINTS = 5

#: why a record beyond reach may be the same person, worded to follow a colon in the hint
REASONS = {
    "dob_name": _l("same date of birth and similar name"),
    "phonetic": _l("the name sounds the same"),
    "name": _l("similar name"),
    "dob": _l("same date of birth"),
    "document": _l("same document number"),
    "phone": _l("same phone number"),
    "card": _l("same beneficiary card"),
}


@dataclass(frozen=True)
class Hint:
    """That a record may exist beyond the user's reach, and only that."""

    #: the record's id, for the server only (a later request of the record): never rendered
    person_id: int
    #: the country of the centre holding the record (ISO 3166-1 alpha-3)
    country: str
    #: the first day of the month the record was registered in (the day itself is not shared)
    registered_month: dt.date
    #: codes of REASONS, best first
    reasons: tuple[str, ...]
    #: the record's uid, for the server only: the page carries it sealed (`reference`)
    person_uid: str = ""

    def reference(self, holder: int) -> str:
        """What the page's "ask for this record" link carries: the uid sealed for this user
        (msc.crypto.links), so that neither the page nor the URL holds anything of the record."""
        return seal_reference(HINT_REFERENCE, self.person_uid, holder)

    @property
    def country_name(self) -> str:
        """The country's name in the user's language."""
        return country_name(self.country)

    @property
    def month_label(self) -> str:
        """Month and year in the user's language ("marzo de 2026", "março de 2026", "March 2026")."""
        locale = get_locale()
        skeleton = locale.datetime_skeletons.get("yMMMM") if locale is not None else None
        return format_date(self.registered_month, skeleton.pattern if skeleton is not None else "MMMM yyyy")

    @property
    def reason_labels(self) -> list[str]:
        """The reasons, translated."""
        return [str(REASONS[r]) for r in self.reasons]

    @property
    def text(self) -> str:
        """The whole hint, as the desk reads it."""
        return str(
            _l(
                "Possible earlier registration at another centre (%(country)s, %(month)s): %(reasons)s",
                country=self.country_name,
                month=self.month_label,
                reasons=", ".join(self.reason_labels),
            )
        )


def shareable(person: Beneficiary) -> bool:
    """Whether a record may be hinted at beyond its centre: not erased, and its latest decision on
    continuity of care is 'given'."""
    if person.is_erased:
        return False
    latest = None
    for consent in person.consents:  # in the order they were recorded
        if consent.purpose == CONTINUITY:
            latest = consent
    return latest is not None and latest.status == ConsentStatus.GIVEN


def continuity_in_force(person_id: so.QueryableAttribute[int]) -> sa.ColumnElement[bool]:
    """A WHERE clause: the person's latest decision on continuity of care is 'given' (one index seek;
    search.py writes the same condition as text for its ranking)."""
    latest = (
        sa.select(Consent.status)
        .where(Consent.beneficiary_id == person_id, Consent.purpose == CONTINUITY)
        .order_by(Consent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return latest == ConsentStatus.GIVEN.value


def hint_for(person: Beneficiary, reasons: Iterable[str]) -> Hint | None:
    """The hint for a record beyond reach, or None when it may not be shared or nothing matched."""
    codes = tuple(r for r in reasons if r in REASONS)
    if not codes or not shareable(person):
        return None
    registered = clock.day_of(person.registered_at, person.centre.country)
    return Hint(person.id, person.centre.country, registered.replace(day=1), codes, person.uid)


def record_shown(where: str, hints: list[Hint]) -> None:
    """Audit that hints were shown: where and how many, nothing of whom."""
    if hints:
        audit.record("beneficiary.regional_hint", detail=f"{where}:{len(hints)}")


def referenced_uid(token: str, holder: int) -> str | None:
    """The uid behind a hint's reference shown to this user, or None."""
    return open_reference(HINT_REFERENCE, token, holder)
