"""The activity tables: referrals and their deadlines, shelters, items handed out, the fund, feedback."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.beneficiaries.vocab import country_name
from msc.db import session
from msc.exports import SUPPRESSED, suppress
from msc.feedback import vocab as feedback_vocab
from msc.feedback.models import Feedback
from msc.feedback.service import visible
from msc.fund.allocations import balance
from msc.fund.decisions import in_force
from msc.fund.models import Application, Decision, DecisionOutcome, FundAllocation
from msc.nfi.models import NfiItem
from msc.numbers import Money
from msc.partners.vocab import SECTORS
from msc.referrals import vocab as referral_vocab
from msc.referrals.models import ReferralStatus
from msc.reports.models import ReportCount as RC
from msc.reports.scope import Scope
from msc.reports.tables import Table, counts_table, sex_columns, share, sum_counts
from msc.security.actor import Actor
from msc.shelters import service as shelter_service
from msc.shelters.models import Shelter

REFERRAL_STATUSES = (
    ReferralStatus.SENT,
    ReferralStatus.ACCEPTED,
    ReferralStatus.COMPLETED,
    ReferralStatus.DECLINED,
    ReferralStatus.CANCELLED,
    ReferralStatus.NO_SHOW,
)


def referrals_by_status(s: Scope) -> Table:
    data = sum_counts(s, "referral", RC.k1, RC.k2, people=False)
    sectors = [k for k in SECTORS if any(key[0] == k for key in data)]
    return counts_table(
        "referrals",
        _l("Referrals by sector and status"),
        [_l("Sector")],
        sectors,
        [(SECTORS[k],) for k in sectors],
        list(REFERRAL_STATUSES),
        [referral_vocab.STATUSES[k] for k in REFERRAL_STATUSES],
        data,
        ["#sector", *(f"#indicator+referrals+{k}" for k in REFERRAL_STATUSES), "#indicator+referrals+total"],
        chart=True,
        note=_l("Referrals are counted in the month they were sent, whoever they are for."),
    )


def referral_deadlines(s: Scope) -> Table:
    timing = sum_counts(s, "referral", RC.k1, RC.k3, people=False)
    waiting = sum_counts(s, "referral", RC.k1, people=False, where=(RC.k2 == ReferralStatus.SENT, RC.k3 == ""))
    sectors = [k for k in SECTORS if any(key[0] == k for key in timing)]
    rows, cells = [], []
    for k in sectors:
        in_time, late = timing.get((k, "in_time"), 0), timing.get((k, "late"), 0)
        answered = suppress(in_time + late)
        shown_in_time = suppress(in_time)
        rows.append((SECTORS[k],))
        cells.append(
            [
                answered,
                shown_in_time,
                share(shown_in_time, in_time + late) if isinstance(answered, int) else "—",
                suppress(waiting.get(k, 0)),
            ]
        )
    return Table(
        "deadlines",
        _l("Referrals answered within the deadline"),
        [_l("Sector")],
        [
            _l("Answered"),
            _l("Answered within the deadline"),
            _l("Share within the deadline"),
            _l("Waiting for an answer"),
        ],
        rows,
        cells,
        [
            "#sector",
            "#indicator+answered",
            "#indicator+answered+intime",
            "#indicator+answered+intime+pct",
            "#indicator+waiting",
        ],
    )


def shelters(s: Scope) -> Table:
    found = session.scalars(
        sa.select(Shelter).where(Shelter.centre_id.in_(s.centre_ids), Shelter.active.is_(True)).order_by(Shelter.name)
    ).all()
    rows, cells = [], []
    for shelter in found:
        occ = shelter_service.occupancy(shelter)
        taken = suppress(occ.total_taken)
        rows.append((shelter.name,))
        cells.append(
            [
                occ.total_capacity,
                taken,
                occ.total_capacity - occ.total_taken if isinstance(taken, int) else SUPPRESSED,
                share(taken, occ.total_capacity),
            ]
        )
    return Table(
        "shelters",
        _l("Shelter occupancy today"),
        [_l("Shelter")],
        [_l("Places"), _l("Occupied"), _l("Free"), _l("Occupancy")],
        rows,
        cells,
        ["#loc+name", "#capacity", "#affected+occupied", "#capacity+free", "#indicator+occupancy+pct"],
        note=_l("Occupancy is today's, whatever the period chosen."),
    )


def items(s: Scope) -> Table:
    data = sum_counts(s, "nfi", RC.k1, RC.sex, measure=RC.amount)
    catalogue = {str(i.id): i for i in session.scalars(sa.select(NfiItem).order_by(NfiItem.code))}
    ids = [k for k in catalogue if any(key[0] == k for key in data)]
    keys, labels = sex_columns()
    return counts_table(
        "items",
        _l("Items handed out by sex (units)"),
        [_l("Item")],
        ids,
        [(catalogue[k].name,) for k in ids],
        keys,
        labels,
        data,
        ["#item+name", "#output+units+f", "#output+units+m", "#output+units+other", "#output+units+total"],
        chart=True,
        note=_l("Voided hand-overs are not counted."),
    )


def fund(s: Scope) -> Table:
    countries = sorted({c.country for c in s.centres})
    allocations = session.scalars(
        sa.select(FundAllocation)
        .where(
            FundAllocation.country.in_(countries),
            FundAllocation.starts_on <= s.last_day,
            FundAllocation.ends_on >= s.first_day,
        )
        .order_by(FundAllocation.country, FundAllocation.starts_on)
    ).all()
    in_period = sa.and_(Application.centre_id.in_(s.centre_ids))
    submitted = dict(
        session.execute(
            sa.select(Application.country, sa.func.count())
            .where(in_period, Application.submitted_on >= s.first_day, Application.submitted_on <= s.last_day)
            .group_by(Application.country)
        ).all()
    )
    decided = {
        (c, o): n
        for c, o, n in session.execute(
            sa.select(Application.country, Decision.outcome, sa.func.count())
            .join(Application, Application.id == Decision.application_id)
            .where(in_period, in_force(), Decision.decided_on >= s.first_day, Decision.decided_on <= s.last_day)
            .group_by(Application.country, Decision.outcome)
        )
    }
    rows, cells = [], []
    for a in allocations:
        b = balance(a)
        rows.append((country_name(a.country), f"{a.starts_on.isoformat()} – {a.ends_on.isoformat()}", a.currency))
        cells.append(
            [
                suppress(submitted.get(a.country)),
                suppress(decided.get((a.country, DecisionOutcome.APPROVE))),
                suppress(decided.get((a.country, DecisionOutcome.REJECT))),
                Money(b.allocated, a.currency),
                Money(b.committed, a.currency),
                Money(b.disbursed, a.currency),
                Money(b.remaining, a.currency),
            ]
        )
    return Table(
        "fund",
        _l("Protection fund: applications and decisions against allocations"),
        [_l("Country"), _l("Allocation period"), _l("Currency")],
        [
            _l("Applications"),
            _l("Approved"),
            _l("Rejected"),
            _l("Allocated"),
            _l("Committed"),
            _l("Disbursed"),
            _l("Remaining"),
        ],
        rows,
        cells,
        [
            "#country+name",
            "#date+period",
            "#currency",
            "#indicator+applications",
            "#indicator+approved",
            "#indicator+rejected",
            "#value+allocated",
            "#value+committed",
            "#value+disbursed",
            "#value+remaining",
        ],
        note=_l("Applications and decisions of the period at the chosen centres; amounts for the whole allocation."),
    )


def feedback(user: Actor, s: Scope) -> Table:
    stmt = (
        visible(user, sa.select(Feedback.kind, Feedback.status, sa.func.count()))
        .where(
            Feedback.centre_id.in_(s.centre_ids),
            Feedback.received_on >= s.first_day,
            Feedback.received_on <= s.last_day,
        )
        .group_by(Feedback.kind, Feedback.status)
    )
    data = {(k, st): n for k, st, n in session.execute(stmt)}
    labels = {**feedback_vocab.KINDS, "survey": _l("Satisfaction survey")}
    kinds = [k for k in labels if any(key[0] == k for key in data)]
    return counts_table(
        "feedback",
        _l("Feedback received by kind and status"),
        [_l("Kind")],
        kinds,
        [(labels[k],) for k in kinds],
        list(feedback_vocab.STATUSES),
        list(feedback_vocab.STATUSES.values()),
        data,
        ["#indicator+feedback", *(f"#indicator+{k}" for k in feedback_vocab.STATUSES), "#indicator+total"],
    )
