"""Reading an uploaded list in memory: a CSV (UTF-8, or the Windows code page Excel writes in Latin
America; comma, semicolon or tab) or an XLSX workbook (its first sheet: a KoBoToolbox export's main
table). Nothing is written to disk. Whatever the file holds, it is either read into a table of text cells
or refused in words: never an exception the page did not expect."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from msc.errors import DomainError

MAX_COLUMNS = 200
MAX_CELL = 2000
MAX_HEADER = 120
MAX_BLANK_ROWS = 10_000
UNREADABLE_XLSX = _l("The XLSX file could not be read: open it and save it again as .xlsx.")


class ImportFileError(DomainError):
    """The file cannot be read as a list, in words."""


@dataclass
class Table:
    """A list as read: its headers and its rows (text cells; a spreadsheet's date cell is ISO text)."""

    columns: list[str]
    rows: list[list[str]]

    def as_json(self) -> dict[str, object]:
        return {"columns": self.columns, "rows": self.rows}


def read(filename: str, data: bytes, max_rows: int) -> tuple[str, Table]:
    """("csv" or "xlsx", the table) of an uploaded file."""
    name = (filename or "").lower()
    if not data:
        raise ImportFileError(_l("The file is empty."), field="file")
    if data[:4] == b"PK\x03\x04" or name.endswith(".xlsx"):
        return "xlsx", _table(_xlsx_rows(data), max_rows)
    if name.endswith((".xls", ".ods")):
        raise ImportFileError(_l("Save the sheet as .xlsx or .csv and upload it again."), field="file")
    return "csv", _table(_csv_rows(data), max_rows)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # every byte is a character: what cannot be read shows as such


#: the delimiters a CSV file may use (a comma, a semicolon where the comma is the decimal mark, a tab)
DELIMITERS = ",;\t"


def _csv_rows(data: bytes):
    text = _decode(data)
    if "\x00" in text:
        raise ImportFileError(_l("This is not a CSV or XLSX file."), field="file")
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
        delimiter = dialect.delimiter
    except csv.Error:
        # rows too empty or too odd to tell (a cell that holds the delimiter, quoted): the header's names are
        # separated by the delimiter, the one of the three it holds most (else a comma)
        dialect = csv.excel
        header = sample.splitlines()[0] if sample else ""
        most = max(DELIMITERS, key=header.count)
        delimiter = most if header.count(most) else csv.excel.delimiter
    try:
        yield from csv.reader(io.StringIO(text, newline=""), dialect, delimiter=delimiter)
    except csv.Error:
        raise ImportFileError(
            _l("The CSV file could not be read: check that it was saved as CSV."), field="file"
        ) from None


def _xlsx_rows(data: bytes):
    from openpyxl import load_workbook  # only when a workbook comes

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a broken zip, or any of openpyxl's own errors for a broken workbook
        raise ImportFileError(UNREADABLE_XLSX, field="file") from None
    try:
        if not book.worksheets:
            raise ImportFileError(_l("The workbook has no sheet."), field="file")
        sheet = book.worksheets[0]
        # the rows as they are in the file, not as wide as the sheet says it is: a workbook of a few kB
        # that claims 16,384 columns and a million rows otherwise had every missing row padded to its width
        sheet.reset_dimensions()
        try:
            for row in sheet.iter_rows(values_only=True):
                yield [_cell(v) for v in row]
        except ImportFileError:
            raise
        except Exception:  # a broken part of the workbook, met while reading it
            raise ImportFileError(UNREADABLE_XLSX, field="file") from None
    finally:
        book.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table(rows, max_rows: int) -> Table:
    header: list[str] | None = None
    out: list[list[str]] = []
    blank = 0
    for raw in rows:
        if not any(raw):
            blank += 1
            if blank > max(max_rows, MAX_BLANK_ROWS):  # (a file of nothing but empty rows, endlessly)
                raise ImportFileError(
                    _l("The list has too many empty rows: delete them and save the file again."), field="file"
                )
            continue
        cells = [str(c).strip() for c in raw]
        while cells and not cells[-1]:
            cells.pop()
        if header is None:
            if not cells:
                continue  # blank lines above the header
            if len(cells) > MAX_COLUMNS:
                raise ImportFileError(
                    _l("The list has more than %(n)d columns: keep only those to import.", n=MAX_COLUMNS),
                    field="file",
                )
            header = _headers(cells)
            continue
        if not any(cells):
            continue
        if len(cells) > MAX_COLUMNS:  # (its trailing empty cells are gone already)
            raise ImportFileError(
                _l("Row %(row)d has more than %(n)d cells.", row=len(out) + 2, n=MAX_COLUMNS), field="file"
            )
        if len(cells) > len(header):
            raise ImportFileError(
                _l("Row %(row)d has more cells than the header has columns.", row=len(out) + 2), field="file"
            )
        if any(len(c) > MAX_CELL for c in cells):
            raise ImportFileError(
                _l("Row %(row)d has a cell over %(n)d characters.", row=len(out) + 2, n=MAX_CELL), field="file"
            )
        out.append(cells + [""] * (len(header) - len(cells)))
        if len(out) > max_rows:
            raise ImportFileError(
                _l("The list has more than %(n)d rows: split it into several files.", n=max_rows), field="file"
            )
    if header is None:
        raise ImportFileError(_l("The file has no header row."), field="file")
    if not out:
        raise ImportFileError(_l("The file has a header but no rows."), field="file")
    return Table(header, out)


def _headers(cells: list[str]) -> list[str]:
    """The header's names, each told apart: a blank one is "column 3", a repeated one gets its number."""
    seen: set[str] = set()
    names = []
    for i, cell in enumerate(cells, start=1):
        name = " ".join(cell.split())[:MAX_HEADER] or f"({i})"
        if name in seen:
            name = f"{name} ({i})"
            while name in seen:  # a header may already hold a column named so ("phone (3)", "phone", "phone")
                name = f"{name} ({i})"
        seen.add(name)
        names.append(name)
    return names
