"""The dashboards: every table as people may see it (counts 1 to 4 hidden, and any count a total would
give away hidden too), for the centres in the user's scope. Figures come from the running counts and
from small non-identifying tables; nothing is decrypted."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from msc.beneficiaries.vocab import AGE_BANDS, NATIONALITIES, NEEDS, SENSITIVE_NEEDS, SEXES, STATELESS, country_name
from msc.centres.models import Centre
from msc.db import session
from msc.errors import DomainError
from msc.exports import SUPPRESSED, SuppressedTable, suppress, suppress_table
from msc.feedback import vocab as feedback_vocab
from msc.feedback.models import Feedback
from msc.feedback.service import visible
from msc.fund.allocations import balance
from msc.fund.decisions import in_force
from msc.fund.models import Application, Decision, DecisionOutcome, FundAllocation
from msc.nfi.models import NfiItem
from msc.partners.vocab import SECTORS
from msc.referrals import vocab as referral_vocab
from msc.referrals.models import ReferralStatus
from msc.reports.models import ReportCount as RC
from msc.security.actor import Actor
from msc.security.policy import Permission, centres_in_scope, role_allows
from msc.shelters import service as shelter_service
from msc.shelters.models import Shelter

MAX_MONTHS = 36
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
BANDS = (*AGE_BANDS, "unknown")

#: a table's cell as shown: a count, or what stands for a hidden one ("<5", "x", "—") or a share
Cell = int | str
#: running counts by the values of their dimensions (one value, or a tuple of them when grouped by several)
Counts = dict[Any, int]


class ReportError(DomainError):
    """A filter that cannot be used, said in words."""


@dataclass
class Filters:
    """What the user asked for: months (YYYY-MM, inclusive), a centre or country, and who."""

    start: str
    end: str
    centre_id: int | None = None
    country: str | None = None
    sex: str | None = None
    age_band: str | None = None
    nationality: str | None = None


@dataclass
class Scope:
    """Filters checked against the user: the centres covered and the days of the period."""

    filters: Filters
    centres: list[Centre]
    sensitive: bool
    #: what one page reads more than once
    cache: dict[str, Counts] = field(default_factory=dict, repr=False)

    @property
    def centre_ids(self) -> list[int]:
        return [c.id for c in self.centres]

    @property
    def first_day(self) -> dt.date:
        return dt.date.fromisoformat(self.filters.start + "-01")

    @property
    def last_day(self) -> dt.date:
        year, month = map(int, self.filters.end.split("-"))
        return dt.date(year, month, calendar.monthrange(year, month)[1])


def months_between(start: str, end: str) -> list[str]:
    year, month = map(int, start.split("-"))
    out = []
    while f"{year:04d}-{month:02d}" <= end:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def scope(user: Actor, f: Filters) -> Scope:
    """Check the filters; refuse in words what cannot be shown."""
    for name in ("start", "end"):
        if not MONTH.match(getattr(f, name) or ""):
            raise ReportError(_l("Give the month as year and month, for example 2026-03."), field=name)
    if f.end < f.start:
        raise ReportError(_l("The period ends before it starts."), field="end")
    if len(months_between(f.start, f.end)) > MAX_MONTHS:
        raise ReportError(_l("Choose a period of at most three years."), field="end")
    if f.sex and f.sex not in SEXES:
        raise ReportError(_l("Choose a sex from the list."), field="sex")
    if f.age_band and f.age_band not in BANDS:
        raise ReportError(_l("Choose an age band from the list."), field="age_band")
    if f.nationality and f.nationality not in NATIONALITIES and f.nationality != STATELESS:
        raise ReportError(_l("Choose a nationality from the list."), field="nationality")
    centres = centres_in_scope(user, f.centre_id, f.country)
    if not centres:
        raise ReportError(_l("Choose one of your centres or countries."), field="centre_id")
    return Scope(f, centres, role_allows(user, Permission.VIEW_SENSITIVE))


# ---- tables ---------------------------------------------------------------------------------


@dataclass
class Table:
    """One dashboard table as people may see it, with what its CSV/XLSX and its chart need."""

    slug: str
    title: object
    row_header: list[object]
    columns: list[object]
    rows: Sequence[tuple[object, ...]]
    cells: list[list[Cell]]
    hxl: list[str]
    row_totals: list[Cell] | None = None
    column_totals: list[Cell] | None = None
    total: int | str | None = None
    chart: bool = False
    note: object = None
    #: how many leading columns the chart stacks (all by default); the next one is then the bar's label
    chart_columns: int | None = None

    @property
    def header(self) -> list[object]:
        return [*self.row_header, *self.columns] + ([_l("Total")] if self.row_totals is not None else [])

    def export_rows(self) -> list[list[Cell | None]]:
        """The table as downloaded: rows with their totals, then the totals row."""
        out: list[list[Cell | None]] = []
        for i, (labels, cells) in enumerate(zip(self.rows, self.cells)):
            row: list[Cell | None] = [*map(str, labels), *cells]
            if self.row_totals is not None:
                row.append(self.row_totals[i])
            out.append(row)
        if self.column_totals is not None:
            blanks = [""] * (len(self.row_header) - 1)
            totals: list[Cell | None] = [str(_l("Total")), *blanks, *self.column_totals]
            if self.row_totals is not None:
                totals.append(self.total)
            out.append(totals)
        return out

    def bars(self) -> list[tuple[str, list[int], int, int | str]]:
        """For the chart: each row's shown cells, what its shown total holds beyond them (the hidden
        cells together, which the table already tells), and the total as shown."""
        width = self.chart_columns or len(self.columns)
        totals = self.row_totals or [cells[width] if len(cells) > width else "" for cells in self.cells]
        out = []
        for labels, cells, total in zip(self.rows, self.cells, totals):
            shown = [c if isinstance(c, int) else 0 for c in cells[:width]]
            rest = total - sum(shown) if isinstance(total, int) else 0
            out.append((" · ".join(map(str, labels)), shown, max(rest, 0), total))
        return out

    @property
    def widest(self) -> int:
        return max([sum(b[1]) + b[2] for b in self.bars()] + [1])


def counts_table(
    slug: str,
    title: object,
    row_header: list[object],
    row_keys: Iterable[Hashable],
    row_labels: Sequence[tuple[object, ...]],
    col_keys: list[str],
    col_labels: list[object],
    data: Counts,
    hxl: list[str],
    chart: bool = False,
    column_totals: bool = True,
    note: object = None,
) -> Table:
    """An additive table of counts with row and column totals, suppressed so nothing can be derived."""
    matrix = [[int(data.get((r, c), 0)) for c in col_keys] for r in row_keys]
    shown = (
        suppress_table(matrix, with_column_totals=column_totals)
        if matrix
        else SuppressedTable([], [], [0] * len(col_keys), 0)
    )
    return Table(
        slug,
        title,
        row_header,
        col_labels,
        row_labels,
        shown.cells,
        hxl,
        shown.row_totals,
        shown.column_totals if column_totals else None,
        shown.total if column_totals else None,
        chart,
        note,
    )


def _sum(
    scope_: Scope,
    topic: str,
    *columns: so.QueryableAttribute[Any],
    people: bool = True,
    measure: so.QueryableAttribute[int] = RC.n,
    where: Iterable[sa.ColumnElement[bool]] = (),
) -> Counts:
    """Sums of the running counts grouped by `columns`, inside the scope and filters."""
    f = scope_.filters
    stmt = (
        sa.select(*columns, sa.func.sum(measure))
        .where(RC.topic == topic, RC.centre_id.in_(scope_.centre_ids), RC.month >= f.start, RC.month <= f.end, *where)
        .group_by(*columns)
    )
    if people:
        for name in ("sex", "age_band", "nationality"):
            if getattr(f, name):
                stmt = stmt.where(getattr(RC, name) == getattr(f, name))
    return {tuple(row[:-1]) if len(columns) > 1 else row[0]: int(row[-1] or 0) for row in session.execute(stmt)}


def _people(s: Scope) -> Counts:
    """The people counts of the scope by month, sex, age band and nationality (a few thousand rows at
    most): read once per page, then added up in each table's own way."""
    if "people" not in s.cache:
        s.cache["people"] = _sum(s, "people", RC.month, RC.sex, RC.age_band, RC.nationality)
    return s.cache["people"]


def _tally(counts: Counts, key: Callable[..., Hashable]) -> Counts:
    out: Counts = {}
    for dims, n in counts.items():
        k = key(*dims)
        out[k] = out.get(k, 0) + n
    return out


SEX_HXL = ["#affected+f", "#affected+m", "#affected+other"]


def _sexes() -> tuple[list[str], list[object]]:
    return list(SEXES), [SEXES[s] for s in SEXES]


def registrations(s: Scope) -> Table:
    data = _tally(_people(s), lambda month, sex, band, nationality: (month, sex))
    months = months_between(s.filters.start, s.filters.end)
    keys, labels = _sexes()
    return counts_table(
        "registrations",
        _l("People registered by month and sex"),
        [_l("Month")],
        months,
        [(m,) for m in months],
        keys,
        labels,
        data,
        ["#date+month", *SEX_HXL, "#affected+total"],
        chart=True,
    )


def age_and_sex(s: Scope) -> Table:
    data = _tally(_people(s), lambda month, sex, band, nationality: (band, sex))
    keys, labels = _sexes()
    bands = [b for b in BANDS if b != "unknown" or any(k[0] == "unknown" for k in data)]
    return counts_table(
        "age_sex",
        _l("People registered by age and sex"),
        [_l("Age band")],
        bands,
        [(_band_label(b),) for b in bands],
        keys,
        labels,
        data,
        ["#age+range", *SEX_HXL, "#affected+total"],
        chart=True,
    )


def _band_label(band: str) -> object:
    return _l("Age unknown") if band == "unknown" else band


def people(s: Scope) -> Table:
    data = _tally(_people(s), lambda month, sex, band, nationality: (nationality, band, sex))
    rows = sorted({(n, b) for n, b, _ in data}, key=lambda r: (country_name(r[0]), BANDS.index(r[1])))
    keys, labels = _sexes()
    return counts_table(
        "people",
        _l("People registered by nationality, age and sex"),
        [_l("Nationality"), _l("Age band")],
        rows,
        [(country_name(n), _band_label(b)) for n, b in rows],
        keys,
        labels,
        {((n, b), x): v for (n, b, x), v in data.items()},
        ["#country+code+nationality", "#age+range", *SEX_HXL, "#affected+total"],
    )


def need_codes(s: Scope) -> list[str]:
    """The needs this user may count (sensitive ones only with the right to see them)."""
    return [c for c in NEEDS if s.sensitive or c not in SENSITIVE_NEEDS]


def needs(s: Scope) -> Table:
    codes = need_codes(s)
    data = _sum(s, "need", RC.k2, RC.sex, where=(RC.k2.in_(codes),))
    everyone = sum(_people(s).values())
    keys, labels = _sexes()
    table = counts_table(
        "needs",
        _l("Specific needs by sex"),
        [_l("Specific need")],
        codes,
        [(NEEDS[c][0],) for c in codes],
        keys,
        labels,
        data,
        ["#indicator+need", *SEX_HXL, "#affected+total"],
        chart=True,
        column_totals=False,
        note=_l(
            "A person may have several needs; the share is of everyone registered in the period (%(n)s).",
            n=suppress(everyone),
        ),
    )
    table.columns = [*table.columns, _l("Total"), _l("Share of people")]
    table.cells = [[*cells, t, share(t, everyone)] for cells, t in zip(table.cells, table.row_totals or [])]
    table.hxl = [*table.hxl, "#affected+pct"]
    table.row_totals, table.chart_columns = None, len(keys)
    return table


def share(count: Cell, whole: int) -> str:
    """A percentage of a shown count; nothing when the count is hidden or there is no whole."""
    if not isinstance(count, int) or not whole:
        return "—"
    return f"{100 * count / whole:.1f}%"


def households(s: Scope) -> Table:
    homes = _sum(s, "household", RC.centre_id, people=False)
    by_centre = _sum(s, "people", RC.centre_id, RC.k2)
    persons = _tally(by_centre, lambda centre, uasc: centre)
    uasc = {centre: n for (centre, flag), n in by_centre.items() if flag == "uasc"}
    rows = [c for c in s.centres if homes.get(c.id) or persons.get(c.id)]
    return Table(
        "households",
        _l("Households and possible unaccompanied or separated children"),
        [_l("Centre")],
        [_l("Households registered"), _l("People registered"), _l("Possible UASC")],
        [(f"{c.code} · {c.name}",) for c in rows],
        [[suppress(homes.get(c.id)), suppress(persons.get(c.id)), suppress(uasc.get(c.id))] for c in rows],
        ["#adm2+code", "#affected+households", "#affected+total", "#affected+uasc"],
        note=_l("Households are counted whatever the sex, age or nationality chosen."),
    )


REFERRAL_STATUSES = (
    ReferralStatus.SENT,
    ReferralStatus.ACCEPTED,
    ReferralStatus.COMPLETED,
    ReferralStatus.DECLINED,
    ReferralStatus.CANCELLED,
    ReferralStatus.NO_SHOW,
)


def referrals_by_status(s: Scope) -> Table:
    data = _sum(s, "referral", RC.k1, RC.k2, people=False)
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
    timing = _sum(s, "referral", RC.k1, RC.k3, people=False)
    waiting = _sum(s, "referral", RC.k1, people=False, where=(RC.k2 == ReferralStatus.SENT, RC.k3 == ""))
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
    data = _sum(s, "nfi", RC.k1, RC.sex, measure=RC.amount)
    catalogue = {str(i.id): i for i in session.scalars(sa.select(NfiItem).order_by(NfiItem.code))}
    ids = [k for k in catalogue if any(key[0] == k for key in data)]
    keys, labels = _sexes()
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
                _money(b.allocated),
                _money(b.committed),
                _money(b.disbursed),
                _money(b.remaining),
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


def _money(minor: int) -> str:
    return f"{minor / 100:,.2f}"


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


def vulnerability(s: Scope) -> Table:
    """The share of people with each specific need by centre and entry point (the route)."""
    codes = need_codes(s)
    persons = _sum(s, "people", RC.centre_id, RC.k1)
    counted = _sum(s, "need", RC.centre_id, RC.k1, RC.k2, where=(RC.k2.in_(codes),))
    centres = {c.id: c for c in s.centres}
    keys = sorted(persons, key=lambda k: (centres[k[0]].code, k[1]))
    rows, cells = [], []
    for centre_id, entry in keys:
        whole = persons[(centre_id, entry)]
        rows.append((centres[centre_id].code, entry or _l("Not recorded")))
        shown_whole = suppress(whole)
        cells.append(
            [
                shown_whole,
                *(
                    share(suppress(counted.get((centre_id, entry, code), 0)), whole)
                    if isinstance(shown_whole, int)
                    else "—"
                    for code in codes
                ),
            ]
        )
    return Table(
        "vulnerability",
        _l("Vulnerability profile: share of people with each need"),
        [_l("Centre"), _l("Entry point")],
        [_l("People registered"), *(NEEDS[c][0] for c in codes)],
        rows,
        cells,
        ["#adm2+code", "#loc+entry", "#affected+total", *(f"#affected+{c}+pct" for c in codes)],
        note=_l("Shares of fewer than 5 people are not shown (—)."),
    )


#: the dashboard's tables, in the order of the monthly report
_DASHBOARD: dict[str, Callable[[Actor, Scope], Table]] = {
    "registrations": lambda user, s: registrations(s),
    "age_sex": lambda user, s: age_and_sex(s),
    "people": lambda user, s: people(s),
    "needs": lambda user, s: needs(s),
    "households": lambda user, s: households(s),
    "referrals": lambda user, s: referrals_by_status(s),
    "deadlines": lambda user, s: referral_deadlines(s),
    "shelters": lambda user, s: shelters(s),
    "items": lambda user, s: items(s),
    "fund": lambda user, s: fund(s),
    "feedback": feedback,
}
#: every table that can be downloaded: the dashboard's and the vulnerability profile
_TABLES: dict[str, Callable[[Actor, Scope], Table]] = {
    **_DASHBOARD,
    "vulnerability": lambda user, s: vulnerability(s),
}
TABLES = tuple(_TABLES)


def dashboard(user: Actor, s: Scope) -> list[Table]:
    """Every dashboard table, in the order of the monthly report."""
    return [build(user, s) for build in _DASHBOARD.values()]


def table(user: Actor, s: Scope, slug: str) -> Table:
    """One table by its name (for downloads)."""
    return _TABLES[slug](user, s)
