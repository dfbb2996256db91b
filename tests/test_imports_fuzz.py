"""Hypothesis feeds the import what lists really hold and what an attacker would send: malformed files,
wrong encodings, formula-looking cells, rows of 1,000 columns, empty sheets. Never a 500, never an
exception the page did not expect, nothing partial left behind; formula-looking cells come out of the
report as text."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre
from msc.db import session
from msc.imports import mapping, parse, service
from msc.imports.models import BatchState, ImportBatch
from msc.jobs import runner
from msc.security.models import User
from tests.test_access import login_as

FORMULAS = ["=1+1", '=HYPERLINK("http://x")', "+57 300", "-1", "@SUM(A1)", "=cmd|' /C calc'!A0", "\t=1"]
cell = st.one_of(
    st.text(max_size=40),
    st.sampled_from(FORMULAS + ["", "F", "M", "Mujer", "VEN", "Venezuela", "sí", "31/02/1990", "1990-05-17", "\x00"]),
)
HEADER = ["nombres", "apellidos", "sexo", "fecha_nacimiento", "nacionalidad", "documento", "consentimiento"]


def _csv(rows: list[list[str]], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue()


@given(data=st.binary(max_size=2000), name=st.sampled_from(["l.csv", "l.xlsx", "l.txt", "", "l.xls"]))
def test_any_bytes_are_read_or_refused_in_words(app, data, name):
    with app.test_request_context():
        try:
            kind, table = parse.read(name, data, 1000)
        except parse.ImportFileError as err:
            assert str(err.message)
        else:
            assert kind in ("csv", "xlsx") and table.rows and all(len(r) == len(table.columns) for r in table.rows)


@given(
    rows=st.lists(st.lists(cell, min_size=1, max_size=9), max_size=12),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]),
)
def test_lists_in_any_encoding_and_delimiter_are_read_or_refused(app, rows, delimiter, encoding):
    text = _csv([HEADER, *rows], delimiter)
    data = text.encode(encoding, errors="replace")
    with app.test_request_context():
        try:
            _, table = parse.read("lista.csv", data, 1000)
        except parse.ImportFileError as err:
            assert str(err.message)
            return
        config = mapping.guessed(table.columns)
        for cells in table.rows:
            row = mapping.read_row(config, table.columns, cells)
            assert (row.person is None) == bool(row.errors)


def _workbook(rows: list[list[object]], extra_sheets: int = 0) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for i in range(extra_sheets):
        book.create_sheet(f"repeat_{i}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@settings(max_examples=25)
@given(
    rows=st.lists(st.lists(cell, max_size=8), max_size=8),
    wide=st.sampled_from([0, 0, 250, 1000]),
    extra=st.integers(0, 2),
)
def test_workbooks_empty_wide_or_with_formulas_are_read_or_refused(app, rows, wide, extra):
    rows = [[ILLEGAL_CHARACTERS_RE.sub("", c) for c in r] for r in rows]  # a workbook cannot hold them
    if wide:
        rows = [[*HEADER, *[f"extra{i}" for i in range(wide)]], *rows]
    data = _workbook(rows, extra)
    with app.test_request_context():
        try:
            _, table = parse.read("kobo.xlsx", data, 1000)
        except parse.ImportFileError as err:
            assert str(err.message)
        else:
            assert len(table.columns) <= parse.MAX_COLUMNS


@pytest.fixture
def manager(make):
    return make.user("jefa", "centre_manager")


@settings(max_examples=15, deadline=None)
@given(rows=st.lists(st.lists(cell, min_size=7, max_size=7), min_size=1, max_size=6))
def test_whatever_the_rows_hold_the_import_finishes_and_leaves_nothing_partial(app, manager, rows):
    data = _csv([HEADER, *rows], ";").encode()
    with app.test_request_context():
        user = session.get(User, manager)
        centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
        before = session.scalar(sa.select(sa.func.count()).select_from(Beneficiary))
        batches = session.scalar(sa.select(sa.func.count()).select_from(ImportBatch))
        try:
            batch = service.upload(user, centre, "lista.csv", data, None)
        except parse.ImportFileError:
            session.rollback()
            assert session.scalar(sa.select(sa.func.count()).select_from(ImportBatch)) == batches
            return
        service.set_mapping(user, batch, batch.settings["columns"], {}, "%d/%m/%Y", None)
        service.start_check(user, batch)
        session.commit()
        runner.run_queued()
        session.refresh(batch)
        assert batch.state == BatchState.CHECKED
        decisions = {int(i): "new" for i, f in batch.findings["rows"].items() if not f.get("errors")}
        service.decide(
            user, batch, {i: d for i, d in decisions.items() if "document" not in batch.findings["rows"][str(i)]}
        )
        service.start(user, batch)
        session.commit()
        runner.run_queued()
        session.refresh(batch)
        assert batch.state == BatchState.DONE
        assert batch.imported + batch.linked + batch.skipped + batch.refused == batch.total_rows
        added = session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) - before
        assert added == batch.imported
        service.undo(user, batch)
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == before


def test_formula_looking_cells_leave_the_report_as_text(app, manager, client, make):
    header = ["=HYPERLINK(1)", "nombres", "apellidos", "sexo", "fecha_nacimiento", "nacionalidad"]
    data = _csv([header, ["=1+1", "=2+2", "Rojas", "F", "17/05/1990", "VEN"]], ";").encode()
    with app.test_request_context():
        user = session.get(User, manager)
        centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
        batch = service.upload(user, centre, "l.csv", data, None)
        columns = {**batch.settings["columns"], header[0]: "phone"}
        service.set_mapping(user, batch, columns, {}, "%d/%m/%Y", None)
        service.start_check(user, batch)
        session.commit()
        runner.run_queued()
        session.refresh(batch)
        service.start(user, batch)
        session.commit()
        runner.run_queued()
        uid = batch.uid
    login_as(app, client, manager)
    report = client.get(f"/imports/{uid}/report.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in report, report
    assert not any(line.startswith("=") or ",=" in line or ";=" in line for line in report.splitlines())


@settings(max_examples=20, deadline=None)
@given(data=st.binary(max_size=600), name=st.text(max_size=40))
def test_the_upload_page_never_fails_with_5xx(app, manager, data, name):
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    login_as(app, client, manager)
    res = client.post(
        "/imports/",
        data={"file": (io.BytesIO(data), name or "x"), "centre_id": "1", "mapping_uid": ""},
        content_type="multipart/form-data",
    )
    res.request.environ["wsgi.input"].close()
    assert res.status_code in (302, 422), res.status_code
