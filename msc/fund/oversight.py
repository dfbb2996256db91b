"""What protection officers use to audit the fund: the decision register, the consistency of centres
and countries, a reproducible random sample of decisions with findings, and the re-assessment queue.
Everything here is metadata and aggregates: no answers, evidence or names are decrypted (the queue reads
the date of birth of children in the fund, to know when they turn 18, and the register filtered by case
type reads each application's case type, which is encrypted under the person's key)."""

from __future__ import annotations

import datetime as dt
import random
import statistics
from dataclasses import dataclass
from typing import TypeVarTuple

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre
from msc.db import UTCDateTime, session, utcnow
from msc.errors import checked_text
from msc.exports import suppress
from msc.fund.common import FundError
from msc.fund.decisions import in_force
from msc.fund.models import (
    Application,
    AuditFinding,
    AuditSample,
    CriteriaSet,
    Decision,
    DecisionOutcome,
    Finding,
    case_types,
    preload_people,
)
from msc.numbers import Measure, Share
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import Permission, centre_ids_in_scope, role_allows

FINDINGS = tuple(Finding)

#: the columns of a statement over applications
_Columns = TypeVarTuple("_Columns")


def _auditor(user: Actor) -> None:
    if not role_allows(user, Permission.FUND_DECIDE):
        raise FundError(_l("Only protection officers audit the fund."))


def _scoped(user: Actor, stmt: sa.Select[*_Columns]) -> sa.Select[*_Columns]:
    ids = centre_ids_in_scope(user)
    return stmt if ids is None else stmt.where(Application.centre_id.in_(ids or [-1]))


@dataclass
class RegisterFilter:
    country: str | None = None
    centre_id: int | None = None
    case_type: str | None = None
    outcome: str | None = None
    criteria_version: int | None = None
    against_recommendation: bool | None = None
    decided_by_id: int | None = None
    start: dt.date | None = None
    end: dt.date | None = None


def register(user: Actor, f: RegisterFilter, limit: int = 200) -> list[Decision]:
    """Every decision (replaced ones too, marked by what replaces them), newest first, filtered."""
    _auditor(user)
    stmt = (
        sa.select(Decision)
        .join(Application, Application.id == Decision.application_id)
        .join(CriteriaSet, CriteriaSet.id == Application.criteria_set_id)
    )
    stmt = _scoped(user, stmt)
    conditions = {
        "country": Application.country == f.country,
        "centre_id": Application.centre_id == f.centre_id,
        "outcome": Decision.outcome == f.outcome,
        "criteria_version": CriteriaSet.version == f.criteria_version,
        "against_recommendation": Decision.against_recommendation.is_(bool(f.against_recommendation)),
        "decided_by_id": Decision.decided_by_id == f.decided_by_id,
    }
    for name, condition in conditions.items():
        if getattr(f, name) is not None:
            stmt = stmt.where(condition)
    if f.start:
        stmt = stmt.where(Decision.decided_on >= f.start)
    if f.end:
        stmt = stmt.where(Decision.decided_on <= f.end)
    stmt = stmt.order_by(Decision.decided_at.desc(), Decision.id.desc())
    if f.case_type is None:
        rows = list(session.scalars(stmt.limit(limit)))
        preload_people([d.application for d in rows])
    else:
        rows = _of_case_type(stmt, f.case_type, limit)
    audit.record("fund.register.view", detail=f"{len(rows)} decisions")
    return rows


_BATCH = 500


def _of_case_type(stmt: sa.Select[Decision], case_type: str, limit: int) -> list[Decision]:
    """The first `limit` decisions of a statement whose application is of a case type. The case type is
    encrypted under each person's key: the statement's rows are read a batch at a time as (uid, link, facts)
    and decrypted; only the decisions kept are loaded."""
    light = stmt.with_only_columns(Decision.id, Application.uid, Application.subject_ct, Application.facts_ct)
    kept: list[int] = []
    offset = 0
    while len(kept) < limit:
        batch = session.execute(light.offset(offset).limit(_BATCH)).all()
        types = case_types(session, [(uid, subject, facts) for _, uid, subject, facts in batch])
        kept += [row[0] for row, kind in zip(batch, types) if kind == case_type][: limit - len(kept)]
        if len(batch) < _BATCH:
            break
        offset += _BATCH
    found = {d.id: d for d in session.scalars(sa.select(Decision).where(Decision.id.in_(kept or [-1])))}
    rows = [found[i] for i in kept]
    preload_people([d.application for d in rows])
    return rows


@dataclass
class Consistency:
    """How one centre or country applies the criteria."""

    key: str
    applications: int
    decided: int
    approved: int
    against: int
    median_days: float | None

    @property
    def approval_rate(self) -> float | None:
        return self.approved / self.decided if self.decided else None

    @property
    def against_rate(self) -> float | None:
        return self.against / self.decided if self.decided else None

    def shown(self) -> tuple[str | int | Share | Measure, ...]:
        """Counts under 5 suppressed; rates only when the decisions behind them are 5 or more. The page
        writes them with the `cell` filter, the download with msc.numbers.machine."""
        rates_ok = self.decided >= 5
        return (
            self.key,
            suppress(self.applications),
            suppress(self.decided),
            suppress(self.approved),
            Share(self.approved, self.decided, digits=0) if rates_ok else "—",
            Share(self.against, self.decided, digits=0) if rates_ok else "—",
            Measure(self.median_days) if rates_ok and self.median_days is not None else "—",
        )


def consistency(
    user: Actor, by: str = "centre", start: dt.date | None = None, end: dt.date | None = None
) -> list[Consistency]:
    """Per centre (or country): applications, approval rate, share against the recommendation, median days
    from application to the first decision."""
    _auditor(user)
    key = Centre.code if by == "centre" else Application.country
    stmt = _scoped(
        user, sa.select(key, Application.id, Application.submitted_at).join(Centre, Centre.id == Application.centre_id)
    )
    if start:
        stmt = stmt.where(Application.submitted_on >= start)
    if end:
        stmt = stmt.where(Application.submitted_on <= end)
    apps = session.execute(stmt).all()
    ids = [a.id for a in apps]
    first = dict(
        session.execute(
            sa.select(Decision.application_id, sa.func.min(Decision.decided_at, type_=UTCDateTime(timezone=True)))
            .where(Decision.application_id.in_(ids or [-1]))
            .group_by(Decision.application_id)
        ).all()
    )
    current = {
        d.application_id: d
        for d in session.scalars(sa.select(Decision).where(Decision.application_id.in_(ids or [-1]), in_force()))
    }
    groups: dict[str, list[sa.Row[str, int, dt.datetime]]] = {}
    for a in apps:
        groups.setdefault(a[0], []).append(a)
    out = []
    for name, members in sorted(groups.items()):
        decided = [m for m in members if m.id in current and current[m.id].outcome != DecisionOutcome.RETURN]
        days = [(first[m.id] - m.submitted_at).total_seconds() / 86400 for m in members if m.id in first]
        out.append(
            Consistency(
                name,
                len(members),
                len(decided),
                sum(1 for m in decided if current[m.id].outcome == DecisionOutcome.APPROVE),
                sum(1 for m in decided if current[m.id].against_recommendation),
                statistics.median(days) if days else None,
            )
        )
    return out


def draw_sample(user: Actor, start: dt.date, end: dt.date, percent: int, seed: int | None = None) -> AuditSample:
    """A random sample of the decisions in force made in a period; the seed makes it reproducible."""
    _auditor(user)
    if not 1 <= (percent or 0) <= 100:
        raise FundError(_l("Give a percentage from 1 to 100."), field="percent")
    if start is None or end is None or end < start:
        raise FundError(_l("Give a period whose end is not before its start."), field="end")
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**31)
    sample = AuditSample(
        seed=seed,
        percent=percent,
        starts_on=start,
        ends_on=end,
        drawn_by_id=user.id,
        drawn_at=utcnow(),
    )
    session.add(sample)
    session.flush()
    for decision_id in sampled_ids(user, start, end, percent, seed):
        session.add(AuditFinding(sample_id=sample.id, decision_id=decision_id))
    session.flush()
    audit.record("fund.sample", object_type="fund_sample", object_id=sample.id, detail=f"{percent}% seed {seed}")
    return sample


def sampled_ids(user: Actor, start: dt.date, end: dt.date, percent: int, seed: int) -> list[int]:
    """The decisions a seed picks: the same seed over the same decisions picks the same ones."""
    stmt = _scoped(
        user,
        sa.select(Decision.id)
        .join(Application, Application.id == Decision.application_id)
        .where(in_force(), Decision.decided_on >= start, Decision.decided_on <= end),
    )
    population = sorted(session.scalars(stmt))
    if not population:
        return []
    size = max(1, round(len(population) * percent / 100))
    return sorted(random.Random(seed).sample(population, size))


def record_finding(user: Actor, item: AuditFinding, finding: str, note: str | None) -> None:
    """An auditor's finding on a sampled decision (not on one they decided themselves)."""
    _auditor(user)
    if finding not in FINDINGS:
        raise FundError(_l("Choose agrees, disagrees or needs follow-up."), field="finding")
    if item.decision.decided_by_id == user.id:
        raise FundError(_l("You made this decision: another protection officer must audit it."))
    note = checked_text(
        note,
        field="note",
        error=FundError,
        required=finding != Finding.AGREES,
        limit=4000,
        missing=_l("Write what you found."),
        too_long=_l("The note is too long (at most %(n)d characters).", n=4000),
    )
    item.finding, item.auditor_id, item.recorded_at = finding, user.id, utcnow()
    if note:
        item.note = note
    audit.record("fund.finding", object_type="fund_sample", object_id=item.sample_id, detail=finding)


def findings_by_centre(sample: AuditSample) -> dict[str, dict[str, int]]:
    """Per centre: how many sampled decisions, and each finding's count (and those still open)."""
    rows = session.execute(
        sa.select(Centre.code, AuditFinding.finding)
        .join(Decision, Decision.id == AuditFinding.decision_id)
        .join(Application, Application.id == Decision.application_id)
        .join(Centre, Centre.id == Application.centre_id)
        .where(AuditFinding.sample_id == sample.id)
    )
    out: dict[str, dict[str, int]] = {}
    for code, finding in rows:
        counts = out.setdefault(code, {"sampled": 0, "agrees": 0, "disagrees": 0, "follow_up": 0, "open": 0})
        counts["sampled"] += 1
        counts[finding or "open"] += 1
    return out


@dataclass
class Reassessment:
    decision: Decision
    #: period_ends or turns_18
    reason: str
    due_on: dt.date


def reassessment_queue(user: Actor, today: dt.date, horizon_days: int = 30) -> list[Reassessment]:
    """Approvals whose period ends within the horizon, and children in the fund who turn 18 within it."""
    _auditor(user)
    until = today + dt.timedelta(days=horizon_days)
    approvals = list(
        session.scalars(
            _scoped(
                user,
                sa.select(Decision)
                .join(Application, Application.id == Decision.application_id)
                .where(in_force(), Decision.outcome == DecisionOutcome.APPROVE),
            )
        )
    )
    preload_people([d.application for d in approvals])
    out = []
    for d in approvals:
        if d.period_ends_on and d.period_ends_on <= until:
            out.append(Reassessment(d, "period_ends", d.period_ends_on))
        if d.application.age_band in ("0-4", "5-11", "12-17"):
            person: Beneficiary = d.application.beneficiary
            dob = person.date_of_birth
            if dob is not None:
                eighteen = (
                    dob.replace(year=dob.year + 18)
                    if not (dob.month == 2 and dob.day == 29)
                    else dt.date(dob.year + 18, 3, 1)
                )
                if eighteen <= until:
                    out.append(Reassessment(d, "turns_18", eighteen))
    return sorted(out, key=lambda r: (r.due_on, r.decision.id))


def open_samples(user: Actor, limit: int = 5) -> list[tuple[AuditSample, int]]:
    """Samples with sampled decisions in the user's scope still without a finding, newest first, each with how
    many the user may record (not the decisions they made themselves)."""
    _auditor(user)
    stmt = _scoped(
        user,
        sa.select(AuditFinding.sample_id, sa.func.count())
        .join(Decision, Decision.id == AuditFinding.decision_id)
        .join(Application, Application.id == Decision.application_id)
        .where(AuditFinding.finding.is_(None), Decision.decided_by_id != user.id)
        .group_by(AuditFinding.sample_id),
    )
    counts: dict[int, int] = {sample_id: n for sample_id, n in session.execute(stmt)}
    samples = session.scalars(
        sa.select(AuditSample)
        .where(AuditSample.id.in_(counts or [-1]))
        .order_by(AuditSample.id.desc())
        .limit(limit)
        .options(so.lazyload(AuditSample.items))
    )
    return [(s, counts[s.id]) for s in samples]
