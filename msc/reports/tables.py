"""The table machinery: a table as people may see it, suppressed counts and the running counts' sums."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from msc.beneficiaries.vocab import SEXES
from msc.db import session
from msc.exports import SuppressedTable, suppress_table
from msc.numbers import Money, Share, machine
from msc.reports.models import ReportCount as RC
from msc.reports.scope import Counts, Scope

#: a table's cell: a count, a share or an amount (written in the reader's language by the `cell` filter,
#: as plain numbers in downloads), or what stands for a hidden one ("<5", "x", "—")
Cell = int | str | Share | Money


@dataclass
class Table:
    """One dashboard table as people may see it, with what its CSV/XLSX and its chart need."""

    slug: str
    title: object
    row_header: list[object]
    columns: list[object]
    rows: Sequence[tuple[object, ...]]
    cells: Sequence[Sequence[Cell]]
    hxl: list[str]
    row_totals: Sequence[Cell] | None = None
    column_totals: Sequence[Cell] | None = None
    total: int | str | None = None
    chart: bool = False
    note: object = None
    #: how many leading columns the chart stacks (all by default); the next one is then the bar's label
    chart_columns: int | None = None

    @property
    def header(self) -> list[object]:
        return [*self.row_header, *self.columns] + ([_l("Total")] if self.row_totals is not None else [])

    def export_rows(self) -> list[list[object]]:
        """The table as downloaded: rows with their totals, then the totals row."""
        out: list[list[object]] = []
        for i, (labels, cells) in enumerate(zip(self.rows, self.cells)):
            row: list[Cell | None] = [*map(str, labels), *cells]
            if self.row_totals is not None:
                row.append(self.row_totals[i])
            out.append([machine(v) for v in row])
        if self.column_totals is not None:
            blanks = [""] * (len(self.row_header) - 1)
            totals: list[Cell | None] = [str(_l("Total")), *blanks, *self.column_totals]
            if self.row_totals is not None:
                totals.append(self.total)
            out.append([machine(v) for v in totals])
        return out

    def bars(self) -> list[tuple[str, list[int], int, Cell]]:
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


def sum_counts(
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


def people_counts(s: Scope) -> Counts:
    """The people counts of the scope by month, sex, age band and nationality (a few thousand rows at
    most): read once per page, then added up in each table's own way."""
    if "people" not in s.cache:
        s.cache["people"] = sum_counts(s, "people", RC.month, RC.sex, RC.age_band, RC.nationality)
    return s.cache["people"]


def tally(counts: Counts, key: Callable[..., Hashable]) -> Counts:
    out: Counts = {}
    for dims, n in counts.items():
        k = key(*dims)
        out[k] = out.get(k, 0) + n
    return out


SEX_HXL = ["#affected+f", "#affected+m", "#affected+other"]


def sex_columns() -> tuple[list[str], list[object]]:
    return list(SEXES), [SEXES[s] for s in SEXES]


def share(count: Cell, whole: int) -> Cell:
    """A percentage of a shown count; nothing when the count is hidden or there is no whole."""
    if not isinstance(count, int) or not whole:
        return "—"
    return Share(count, whole)
