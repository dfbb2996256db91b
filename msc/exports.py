"""Aggregate tables for people to download: small counts suppressed, CSV and XLSX."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Iterable, Sequence

from flask import Response

SUPPRESS_BELOW = 5
SUPPRESSED = "<5"


def suppress(count: int | None) -> int | str:
    """A count of people or units shown as "<5" when it is 1 to 4 (it could point at someone)."""
    count = int(count or 0)
    return SUPPRESSED if 0 < count < SUPPRESS_BELOW else count


@dataclass
class SuppressedTable:
    """A table of counts with its row and column totals, as people may see it."""

    cells: list[list[int | str]]
    row_totals: list[int | str]
    column_totals: list[int | str]
    total: int


def suppress_table(counts: Sequence[Sequence[int]]) -> SuppressedTable:
    """Primary suppression (1 to 4 shown as "<5"), then secondary: wherever a row or a column keeps exactly
    one hidden cell, its total would give that cell away, so the smallest other cell of that row or column
    is hidden too (or, when there is none, the total itself). Repeats until nothing can be derived."""
    rows = [list(map(int, r)) for r in counts]
    width = max((len(r) for r in rows), default=0)
    rows = [r + [0] * (width - len(r)) for r in rows]
    hidden = {(i, j) for i, r in enumerate(rows) for j, v in enumerate(r) if 0 < v < SUPPRESS_BELOW}
    hidden_rows: set[int] = set()
    hidden_cols: set[int] = set()
    changed = True
    while changed:
        changed = False
        lines = [("row", i, [(i, j) for j in range(width)]) for i in range(len(rows))] + \
            [("col", j, [(i, j) for i in range(len(rows))]) for j in range(width)]
        for kind, index, positions in lines:
            total_hidden = index in (hidden_rows if kind == "row" else hidden_cols)
            if total_hidden or sum(p in hidden for p in positions) != 1:
                continue
            others = [p for p in positions if p not in hidden and rows[p[0]][p[1]] > 0]
            if others:
                hidden.add(min(others, key=lambda p: rows[p[0]][p[1]]))
            else:
                (hidden_rows if kind == "row" else hidden_cols).add(index)
            changed = True
    shown = [[SUPPRESSED if (i, j) in hidden else v for j, v in enumerate(r)] for i, r in enumerate(rows)]
    row_totals = [SUPPRESSED if i in hidden_rows else suppress(sum(r)) for i, r in enumerate(rows)]
    column_totals = [SUPPRESSED if j in hidden_cols else suppress(sum(r[j] for r in rows)) for j in range(width)]
    return SuppressedTable(shown, row_totals, column_totals, sum(map(sum, rows)))


def _cell(value):
    # A text cell that a spreadsheet would take for a formula is written as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence],
                 hxl: Sequence[str] | None = None) -> Response:
    """A UTF-8 CSV (with a byte-order mark, so spreadsheets read the accents); with `hxl`, the second row
    carries the HXL hashtags (#affected, #sex, #age…) humanitarian tools read."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_cell(str(h)) for h in header])
    if hxl:
        writer.writerow(list(hxl))
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})


def xlsx_response(filename: str, title: str, header: Sequence[str], rows: Iterable[Sequence],
                  hxl: Sequence[str] | None = None) -> Response:
    """An XLSX workbook of one sheet (the HXL row second, as in the CSV)."""
    from openpyxl import Workbook
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append([_cell(str(h)) for h in header])
    if hxl:
        sheet.append(list(hxl))
    for row in rows:
        sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'})
