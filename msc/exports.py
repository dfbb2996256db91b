"""Aggregate tables for people to download: small counts suppressed, CSV and XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import Response

SUPPRESS_BELOW = 5
SUPPRESSED = "<5"
#: a figure of 5 or more hidden only because, with the totals, it would give a small count away
WITHHELD = "x"


def suppress(count: int | None) -> int | str:
    """A count of people or units shown as "<5" when it is 1 to 4 (it could point at someone)."""
    count = int(count or 0)
    return SUPPRESSED if 0 < count < SUPPRESS_BELOW else count


@dataclass
class SuppressedTable:
    """A table of counts with its row and column totals and grand total, as people may see it."""

    cells: list[list[int | str]]
    row_totals: list[int | str]
    column_totals: list[int | str]
    total: int | str


def suppress_table(counts: Sequence[Sequence[int]], with_column_totals: bool = True) -> SuppressedTable:
    """Primary suppression (1 to 4 shown as "<5", totals included), then secondary (shown as "x"): every published sum —
    a row with its total, a column with its total, the row totals or the column totals with the grand
    total — that keeps exactly one hidden figure would give it away, so a second one is hidden: the
    smallest other figure of that sum (its total when there is none).
    Repeats until nothing can be derived. Without column totals (a table whose columns do not add up,
    such as needs, where one person has several), only the rows are published sums."""
    rows = [list(map(int, r)) for r in counts]
    width = max((len(r) for r in rows), default=0)
    rows = [r + [0] * (width - len(r)) for r in rows]
    height = len(rows)
    # The grid with its totals: column `width` holds row totals, row `height` the column totals.
    grid = [r + [sum(r)] for r in rows]
    grid.append([sum(r[j] for r in rows) for j in range(width)] + [sum(map(sum, rows))])
    small = {(i, j) for i in range(height + 1) for j in range(width + 1) if 0 < grid[i][j] < SUPPRESS_BELOW}
    hidden = set(small)
    lines = [[(i, j) for j in range(width + 1)] for i in range(height)]
    if with_column_totals:
        lines += [[(i, j) for i in range(height + 1)] for j in range(width)]
        lines += [[(height, j) for j in range(width + 1)], [(i, width) for i in range(height + 1)]]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(p in hidden for p in line) != 1:
                continue
            total = line[-1]
            open_cells = [p for p in line[:-1] if p not in hidden and grid[p[0]][p[1]] > 0]
            if open_cells:
                hidden.add(min(open_cells, key=lambda p: grid[p[0]][p[1]]))
            else:
                hidden.add(total)
            changed = True

    def shown(i: int, j: int) -> int | str:
        if (i, j) in small:
            return SUPPRESSED
        return WITHHELD if (i, j) in hidden else grid[i][j]

    return SuppressedTable(
        [[shown(i, j) for j in range(width)] for i in range(height)],
        [shown(i, width) for i in range(height)],
        [shown(height, j) for j in range(width)],
        shown(height, width),
    )


def _cell(value):
    # A text cell that a spreadsheet would take for a formula is written as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence], hxl: Sequence[str] | None = None
) -> Response:
    """A CSV download (see csv_text)."""
    return Response(
        csv_text(header, rows, hxl),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def csv_text(header: Sequence[str], rows: Iterable[Sequence], hxl: Sequence[str] | None = None) -> str:
    """UTF-8 CSV text with a byte-order mark, so spreadsheets read the accents; a cell a spreadsheet
    would take for a formula is written as text. With `hxl`, the second row carries the HXL hashtags
    (#affected, #sex, #age…) humanitarian tools read."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_cell(str(h)) for h in header])
    if hxl:
        writer.writerow(list(hxl))
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return "\ufeff" + out.getvalue()


def xlsx_response(
    filename: str, title: str, header: Sequence[str], rows: Iterable[Sequence], hxl: Sequence[str] | None = None
) -> Response:
    """An XLSX workbook of one sheet (the HXL row second, as in the CSV)."""
    from openpyxl import Workbook  # loaded when a workbook is asked for, not by every server process

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append([_cell(str(h)) for h in header])
    if hxl:
        sheet.append(list(hxl))
    for row in rows:
        sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
    )
