"""Aggregate tables for people to download: small counts suppressed, CSV and XLSX."""
from __future__ import annotations

import csv
import io
from typing import Iterable, Sequence

from flask import Response

SUPPRESS_BELOW = 5
SUPPRESSED = "<5"


def suppress(count: int | None) -> int | str:
    """A count of people or units shown as "<5" when it is 1 to 4 (it could point at someone)."""
    count = int(count or 0)
    return SUPPRESSED if 0 < count < SUPPRESS_BELOW else count


def _cell(value):
    # A text cell that a spreadsheet would take for a formula is written as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """A UTF-8 CSV (with a byte-order mark, so spreadsheets read the accents)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_cell(str(h)) for h in header])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})


def xlsx_response(filename: str, title: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """An XLSX workbook of one sheet."""
    from openpyxl import Workbook
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append([_cell(str(h)) for h in header])
    for row in rows:
        sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'})
