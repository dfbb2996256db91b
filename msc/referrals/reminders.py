"""Reminders of referrals past their deadline, inside the application only (there is no e-mail: nothing of a
person leaves the system). A daily run makes them (`send_due`, from the job runner or `flask referrals
remind`); the staff following the case see theirs on their home and dismiss them; the partner sees the
referrals it was reminded about highlighted on its list until it answers.

A referral is reminded of once it is sent, unanswered and past its deadline, and again every
REFERRAL_REMINDER_DAYS calendar days (at the referral's centre) while it stays so; answered, cancelled
or closed referrals never are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from msc import clock
from msc.beneficiaries.models import Beneficiary
from msc.cases.models import assigned_case_ids
from msc.cases.service import may_access
from msc.centres.models import Centre
from msc.db import session, write_lock
from msc.partners.models import PartnerService
from msc.referrals.models import Referral, ReferralReminder, ReferralStatus, ReminderRecipient
from msc.security import audit
from msc.security.actor import Actor
from msc.security.models import User
from msc.security.policy import Permission, role_allows, scope_filter

#: advisory lock id (PostgreSQL): one run at a time decides which referrals are due
_PG_LOCK = 727_403


def _one_run_at_a_time() -> None:
    # Two runs at once (the timer and a hand-typed command) would each see no reminder yet: the second
    # waits here until the first commits, then sees its reminders. SQLite's write lock does the same.
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    else:
        write_lock(conn)


def _past_deadline(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Referral.status == ReferralStatus.SENT, Referral.deadline_at < now)


def _staff_for(referral: Referral) -> list[User]:
    """Who follows up the referral: the caseworkers assigned to its case and whoever made it, if their
    account is active, may follow up referrals and still reaches the case."""
    people = list(referral.case.caseworkers)
    creator = session.get(User, referral.created_by_id) if referral.created_by_id else None
    if creator is not None and creator not in people:
        people.append(creator)
    return [u for u in people if u.active and role_allows(u, Permission.CASE_MANAGE) and may_access(u, referral.case)]


def send_due(now: dt.datetime) -> int:
    """Make the reminders due at `now`: one for each sent referral past its deadline that had none in the last
    REFERRAL_REMINDER_DAYS days, addressed to its partner organisation and to the staff following its case,
    each audited. Says how many reminders were made. Flushes only: the caller commits."""
    days = int(current_app.config["REFERRAL_REMINDER_DAYS"])
    _one_run_at_a_time()
    latest = {
        row.referral_id: (row.round, row.made_at)
        for row in session.execute(
            sa.select(
                ReferralReminder.referral_id,
                sa.func.max(ReferralReminder.round).label("round"),
                sa.func.max(ReferralReminder.made_at).label("made_at"),
            )
            .join(Referral, Referral.id == ReferralReminder.referral_id)
            .where(_past_deadline(now))
            .group_by(ReferralReminder.referral_id)
        )
    }
    due = session.execute(
        sa.select(Referral, Centre.country)
        .join(Centre, Centre.id == Referral.centre_id)
        .where(_past_deadline(now))
        .order_by(Referral.deadline_at, Referral.id)
        .options(so.lazyload(Referral.beneficiary), so.selectinload(Referral.case))
    ).all()
    made = 0
    for referral, country in due:
        last_round, last_made = latest.get(referral.id, (0, None))
        if last_made is not None and clock.day_of(last_made, country) + dt.timedelta(days=days) > clock.day_of(
            now, country
        ):
            continue
        staff = _staff_for(referral)
        reminder = ReferralReminder(
            referral_id=referral.id,
            round=last_round + 1,
            made_at=now,
            recipients=[ReminderRecipient(user_id=u.id) for u in staff],
        )
        session.add(reminder)
        audit.record(
            "referral.reminder",
            object_type="referral",
            object_id=referral.id,
            detail=f"round {reminder.round}; staff {','.join(str(u.id) for u in staff) or '-'}; organisation",
        )
        made += 1
    session.flush()
    return made


# ---- what the staff see --------------------------------------------------------------------


def _within_reach(user: Actor) -> sa.ColumnElement[bool]:
    """The referrals of cases the user reaches (msc.cases.service.may_access, as a WHERE clause)."""
    mine = assigned_case_ids(user.id)
    return sa.or_(scope_filter(user, Referral.centre_id), Referral.case_id.in_(mine))


def _newest_of_its_referral() -> sa.ColumnElement[bool]:
    newer = so.aliased(ReferralReminder)
    return ~sa.exists().where(newer.referral_id == ReferralReminder.referral_id, newer.round > ReferralReminder.round)


def standing_for(user: Actor, now: dt.datetime, limit: int = 20) -> list[ReferralReminder]:
    """The reminders addressed to the user that still stand, soonest deadline first: not dismissed, the
    newest of their referral, the referral still sent and past its deadline, and in the user's reach."""
    if user.id is None or not role_allows(user, Permission.CASE_MANAGE):
        return []
    # the page's few ids first on narrow rows, then those rows with what a line shows
    ids = list(
        session.scalars(
            sa.select(ReferralReminder.id)
            .join(ReminderRecipient, ReminderRecipient.reminder_id == ReferralReminder.id)
            .join(Referral, Referral.id == ReferralReminder.referral_id)
            .where(
                ReminderRecipient.user_id == user.id,
                ReminderRecipient.dismissed_at.is_(None),
                _past_deadline(now),
                _newest_of_its_referral(),
                _within_reach(user),
            )
            .order_by(Referral.deadline_at, Referral.id)
            .limit(limit)
        )
    )
    if not ids:
        return []
    found = {
        m.id: m
        for m in session.scalars(
            sa.select(ReferralReminder)
            .where(ReferralReminder.id.in_(ids))
            .options(
                so.joinedload(ReferralReminder.referral).options(
                    so.joinedload(Referral.beneficiary).lazyload(Beneficiary.needs),
                    so.joinedload(Referral.service).lazyload(PartnerService.centres),
                )
            )
        )
    }
    return [found[i] for i in ids]


@dataclass
class Dismissal:
    """A reminder the user may dismiss: the reminder, and the user's place among its recipients."""

    reminder: ReferralReminder
    recipient: ReminderRecipient


def addressed_to(user: Actor, reminder_uid: str) -> Dismissal | None:
    """The reminder with this opaque id if it is addressed to the user, else None (whoever else's it is)."""
    row = session.execute(
        sa.select(ReferralReminder, ReminderRecipient)
        .join(ReminderRecipient, ReminderRecipient.reminder_id == ReferralReminder.id)
        .where(ReferralReminder.uid == reminder_uid, ReminderRecipient.user_id == user.id)
    ).first()
    return Dismissal(row[0], row[1]) if row is not None else None


def dismiss(user: Actor, dismissal: Dismissal, now: dt.datetime) -> None:
    """The user has seen the reminder: it leaves their home (once; dismissing again changes nothing)."""
    if dismissal.recipient.dismissed_at is not None:
        return
    dismissal.recipient.dismissed_at = now
    audit.record(
        "referral.reminder_dismissed",
        object_type="referral",
        object_id=dismissal.reminder.referral_id,
        detail=f"round {dismissal.reminder.round}",
        user_id=user.id,
    )


# ---- what the partner sees -----------------------------------------------------------------


def reminded_for_partner(user: Actor, referrals: Iterable[Referral]) -> dict[int, dt.datetime]:
    """Of these referrals, those the partner user's organisation was reminded about and has not answered
    yet: when the newest reminder was made, by referral id."""
    ids = [r.id for r in referrals]
    if not user.organisation_id or not ids:
        return {}
    rows = session.execute(
        sa.select(ReferralReminder.referral_id, sa.func.max(ReferralReminder.made_at))
        .join(Referral, Referral.id == ReferralReminder.referral_id)
        .where(
            ReferralReminder.referral_id.in_(ids),
            Referral.organisation_id == user.organisation_id,
            Referral.status == ReferralStatus.SENT,
        )
        .group_by(ReferralReminder.referral_id)
    )
    return {referral_id: made_at for referral_id, made_at in rows}


def of_referral(referral: Referral) -> list[ReferralReminder]:
    """A referral's reminders, oldest first (for its history)."""
    return list(
        session.scalars(
            sa.select(ReferralReminder)
            .where(ReferralReminder.referral_id == referral.id)
            .order_by(ReferralReminder.round)
        )
    )
