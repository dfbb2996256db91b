"""Importing existing lists: reading files, mapping columns and values, the preview's checks and duplicates,
the import as a resumable job through the registration service, consent not recorded, the report, the undo."""

from __future__ import annotations

import datetime as dt
import io
import json
import time

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from msc.beneficiaries.models import Beneficiary, Consent, DuplicateCandidate, DuplicateDecision, Household
from msc.centres.models import Centre
from msc.db import session
from msc.imports import mapping, parse, service, vocab
from msc.imports.models import BatchState, ImportBatch, ImportMapping, ImportRow
from msc.jobs import runner
from msc.reports import cube
from msc.security.models import AuditEvent, User

HEADER = (
    "nombres;apellidos;sexo;fecha_nacimiento;nacionalidad;tipo_documento;documento;telefono;hogar;parentesco;"
    "consentimiento"
)
ROWS = [
    "Yolimar;Castillo Rangel;F;08/03/1994;Venezuela;cedula;V-20111222;+57 301 555 0101;H1;jefa;si",
    "Sofía;Castillo;Mujer;01/06/2019;venezolana;ninguno;;;H1;hija;si",
    "José;Pérez;M;12/12/1980;VEN;pasaporte;P123456;;;;",
    "Ana;Rojas;Q;31/02/1990;VEN;;;;;;si",
]


def csv_bytes(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


@pytest.fixture
def manager(make):
    return make.user("jefa", "centre_manager")


def _upload(app, manager, data=None, filename="lista.csv", mapping_uid=None):
    with app.test_request_context():
        user = session.get(User, manager)
        centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
        batch = service.upload(user, centre, filename, data or csv_bytes(*ROWS), mapping_uid)
        session.commit()
        return batch.uid


def _batch(uid) -> ImportBatch:
    return session.scalar(sa.select(ImportBatch).where(ImportBatch.uid == uid))


def _check(app, manager, uid, date_format="%d/%m/%Y", values=None, save_as=None):
    with app.test_request_context():
        user, batch = session.get(User, manager), _batch(uid)
        service.set_mapping(user, batch, batch.settings["columns"], values or {}, date_format, save_as)
        service.start_check(user, batch)
        session.commit()
        runner.run_queued()
        session.expire_all()
        return _batch(uid).state


def _run(app, manager, uid, decisions=None):
    with app.test_request_context():
        user, batch = session.get(User, manager), _batch(uid)
        if decisions:
            service.decide(user, batch, decisions)
        service.start(user, batch)
        session.commit()
        runner.run_queued()
        session.expire_all()
        return _batch(uid)


# ---- reading ---------------------------------------------------------------------------------------------


def test_a_csv_in_the_windows_code_page_with_semicolons_is_read():
    kind, table = parse.read("lista.csv", csv_bytes(*ROWS, encoding="cp1252"), 100)
    assert kind == "csv" and table.columns[0] == "nombres" and len(table.rows) == 4
    assert table.rows[1][0] == "Sofía" and table.rows[0][6] == "V-20111222"


def test_an_xlsx_with_date_cells_is_read_from_its_first_sheet():
    book = Workbook()
    sheet = book.active
    sheet.append(["group_persona/nombres", "group_persona/apellidos", "fecha_nacimiento", "_uuid"])
    sheet.append(["Luz", "Marín", dt.datetime(1991, 1, 2), "abc"])
    sheet.append([None, None, None, None])
    out = io.BytesIO()
    book.save(out)
    kind, table = parse.read("kobo.xlsx", out.getvalue(), 100)
    assert kind == "xlsx" and table.rows == [["Luz", "Marín", "1991-01-02", "abc"]]
    assert [vocab.guess(c) for c in table.columns] == ["given_names", "family_names", "date_of_birth", ""]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"nombres;apellidos\n", "no rows"),
        (b"\n\n", "no header"),
        (b"PK\x03\x04garbage", "XLSX file could not be read"),
        (("a," * 1000 + "\n1\n").encode(), "more than 200 columns"),
        (b"a,b\n1,2,3\n", "more cells than the header"),
        (b"a\x00b\x00", "not a CSV"),
    ],
)
def test_a_file_that_is_not_a_list_is_refused_in_words(app, data, words):
    with app.test_request_context(), pytest.raises(parse.ImportFileError) as refused:
        parse.read("x.csv", data, 100)
    assert words in str(refused.value.message)


def test_repeated_headers_stay_apart_even_when_one_is_already_named_as_a_repeat_would_be():
    table = parse._headers(["nombres", "telefono (3)", "telefono", "telefono", ""])
    assert table == ["nombres", "telefono (3)", "telefono", "telefono (4)", "(5)"]
    table = parse._headers(["telefono (3)", "telefono", "telefono"])  # the third, "telefono (3)", is taken
    assert table == ["telefono (3)", "telefono", "telefono (3) (3)"]


def test_a_workbook_claiming_a_million_empty_rows_is_refused_at_once(app):
    """A few kB that declare A1:XFD1048576 with one cell in the last row: never walked row by padded row."""
    book = Workbook()
    sheet = book.active
    sheet.append(["nombres", "apellidos"])
    sheet.append(["Luz", "Marín"])
    sheet["A1048576"] = "y"
    out = io.BytesIO()
    book.save(out)
    started = time.perf_counter()
    with app.test_request_context(), pytest.raises(parse.ImportFileError) as refused:
        parse.read("lista.xlsx", out.getvalue(), 5000)
    assert "empty rows" in str(refused.value.message) and time.perf_counter() - started < 20


def test_headers_and_values_are_understood_in_spanish_portuguese_and_english():
    config = mapping.guessed(["Nome", "Sobrenome", "Gênero", "Data de nascimento", "Nacionalidade", "Telefone"])
    assert list(config["columns"].values()) == [
        "given_names",
        "family_names",
        "sex",
        "date_of_birth",
        "nationality",
        "phone",
    ]
    assert mapping.value_of(config, "sex", "Mujer") == "female" and mapping.value_of(config, "sex", "H") == "male"
    assert mapping.value_of(config, "nationality", "Venezuela") == "VEN"
    assert mapping.value_of(config, "nationality", "Colômbia") == "COL"
    assert mapping.value_of(config, "document_type", "Cédula de identidad") == "national_id"
    assert mapping.value_of(config, "consent_registration", "Sí") == "given"
    assert mapping.value_of(config, "sex", "femme?") is None
    config["values"]["sex"] = {"femme": "female"}
    assert mapping.value_of(config, "sex", "Femme") == "female"


# ---- the preview -----------------------------------------------------------------------------------------


def test_the_file_is_never_kept_in_clear(app, manager):
    uid = _upload(app, manager)
    with app.app_context():
        raw = session.execute(sa.text("SELECT * FROM import_batches")).mappings().one()
        dumped = json.dumps({k: str(v) for k, v in raw.items()})
        assert "Yolimar" not in dumped and "V-20111222" not in dumped and "Castillo" not in dumped
        assert _batch(uid).table["rows"][0][0] == "Yolimar"


def test_the_preview_lists_errors_by_row_and_column_and_registers_no_one(app, manager):
    uid = _upload(app, manager)
    assert _check(app, manager, uid) == BatchState.CHECKED
    with app.test_request_context():
        batch = _batch(uid)
        counts = service.summary(batch)
        assert counts == {"rows": 4, "refused": 1, "duplicates": 0, "ready": 3}
        problems, total = service.problems(session.get(User, manager), batch)
        assert total == 1 and problems[0].row == 5
        assert dict(problems[0].errors).keys() == {"sexo", "fecha_nacimiento"}
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 0
        assert batch.findings["order"][:2] == [0, 1], "the head of household first"


def test_a_mapping_without_a_required_field_is_refused(app, manager):
    uid = _upload(app, manager)
    with app.test_request_context():
        user, batch = session.get(User, manager), _batch(uid)
        columns = {**batch.settings["columns"], "sexo": ""}
        with pytest.raises(service.ImportError_, match="Sex"):
            service.set_mapping(user, batch, columns, {}, "%d/%m/%Y", None)
        columns = {**batch.settings["columns"], "telefono": "given_names", "documento": "sex"}
        with pytest.raises(service.ImportError_, match="one column only"):
            service.set_mapping(user, batch, columns, {}, "%d/%m/%Y", None)


def test_a_saved_mapping_is_reused_for_the_next_file_of_the_source(app, manager):
    uid = _upload(app, manager)
    _check(app, manager, uid, values={"sex": {"Q": "other"}}, save_as="KoBo Cúcuta")
    with app.app_context():
        saved = session.scalar(sa.select(ImportMapping))
        assert saved.name == "KoBo Cúcuta" and saved.settings["values"]["sex"] == {"q": "other"}
        saved_uid = saved.uid
    second = _upload(app, manager, mapping_uid=saved_uid)
    with app.app_context():
        assert _batch(second).settings["date_format"] == "%d/%m/%Y"
        assert _batch(second).settings["values"]["sex"] == {"q": "other"}


# ---- the import ------------------------------------------------------------------------------------------


def test_the_import_registers_through_the_service_with_households_consent_and_a_report(app, manager):
    uid = _upload(app, manager)
    _check(app, manager, uid)
    batch = _run(app, manager, uid)
    with app.test_request_context():
        batch = _batch(uid)
        assert batch.state == BatchState.DONE
        assert (batch.imported, batch.refused, batch.skipped, batch.without_consent) == (3, 1, 0, 1)
        assert batch.rows_ct is None and batch.findings_ct is None and batch.data_key.destroyed
        people = {p.given_names: p for p in session.scalars(sa.select(Beneficiary))}
        head, child, jose = people["Yolimar"], people["Sofía"], people["José"]
        assert head.household_id == child.household_id and child.relationship_to_head == "child"
        assert head.relationship_to_head == "head" and jose.household_id != head.household_id
        assert jose.consent_unrecorded and not head.consent_unrecorded and not child.consent_unrecorded
        guardian = session.scalar(sa.select(Consent).where(Consent.beneficiary_id == child.id))
        assert guardian.given_by == "guardian" and guardian.guardian_name == "Yolimar Castillo Rangel"
        assert head.document_number == "V-20111222" and head.date_of_birth == dt.date(1994, 3, 8)
        report = service.report(batch)
        assert [(r[0], r[1]) for r in report] == [(2, "Imported"), (3, "Imported"), (4, "Imported"), (5, "Refused")]
        assert report[0][2] == head.case_number and report[3][3] in ("sexo", "fecha_nacimiento")
        actions = [e.action for e in session.scalars(sa.select(AuditEvent))]
        assert actions.count("beneficiary.create") == 3 and "import.done" in actions
        assert cube.check(session) == [], "the dashboards' counts follow"


def test_people_without_a_recorded_consent_cannot_be_referred_until_the_desk_records_it(app, manager, make):
    uid = _upload(app, manager)
    _check(app, manager, uid)
    _run(app, manager, uid)
    with app.test_request_context():
        from msc.beneficiaries import service as reception

        jose = session.scalar(sa.select(Beneficiary).where(Beneficiary.document_type == "passport"))
        assert jose.consent_unrecorded and not reception.has_consent(jose, "referral")
        reception.record_consent(
            session.get(User, manager), jose, reception.ConsentData(purpose="registration", status="given")
        )
        assert not jose.consent_unrecorded


def test_duplicates_within_the_file_and_against_the_registry_wait_for_a_decision(app, manager, make):
    existing = make.person(given_names="José", family_names="Pérez", date_of_birth=dt.date(1980, 12, 12), sex="male")
    rows = [*ROWS[:3], "José;Pérez;M;12/12/1980;VEN;pasaporte;P123456;;;;"]
    uid = _upload(app, manager, csv_bytes(*rows))
    _check(app, manager, uid)
    with app.test_request_context():
        user, batch = session.get(User, manager), _batch(uid)
        assert service.summary(batch)["duplicates"] == 2
        problems, _ = service.problems(user, batch)
        first, repeat = problems
        assert first.name == "José Pérez" and [c[0].uid for c in first.candidates] == [existing]
        assert repeat.same_as == 4 and first.decision == repeat.decision == "skip"
        for target in ("999999", "²", "１", "-1", ""):  # another record, digits of other scripts: refused in words
            with pytest.raises(service.ImportError_):
                service.decide(user, batch, {first.index: f"link:{target}"})
        existing_id = first.candidates[0][0].id
        decisions = {first.index: f"link:{existing_id}", repeat.index: "skip"}
    batch = _run(app, manager, uid, decisions)
    with app.app_context():
        batch = _batch(uid)
        assert (batch.imported, batch.linked, batch.skipped) == (2, 1, 1)
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 3


def test_a_different_person_is_imported_and_remembered_as_not_the_same(app, manager, make):
    make.person(given_names="José", family_names="Pérez", date_of_birth=dt.date(1980, 12, 12), sex="male")
    uid = _upload(app, manager, csv_bytes("José;Pérez;M;12/12/1980;VEN;;;;;;si"))
    _check(app, manager, uid)
    _run(app, manager, uid, {0: "new"})
    with app.app_context():
        assert _batch(uid).imported == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(DuplicateDecision)) == 1


def test_a_stopped_import_resumes_where_it_stopped(app, manager, monkeypatch):
    monkeypatch.setattr(service, "BATCH", 2)
    names = [("Ana", "Quispe"), ("Luis", "Mendoza"), ("Marta", "Salas"), ("Pedro", "Ibarra"), ("Rosa", "Vega")]
    names += [("Juan", "Torres"), ("Elena", "Duarte")]
    rows = [f"{g};{f};F;0{1 + i}/01/199{i};VEN;;;;;;si" for i, (g, f) in enumerate(names)]
    uid = _upload(app, manager, csv_bytes(*rows))
    _check(app, manager, uid)
    real = service._Run.import_rows
    calls = {"n": 0}

    def crash_on_third_chunk(self, indexes):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the worker was stopped")
        return real(self, indexes)

    monkeypatch.setattr(service._Run, "import_rows", crash_on_third_chunk)
    batch = _run(app, manager, uid)
    with app.app_context():
        batch = _batch(uid)
        assert batch.state == BatchState.RUNNING and batch.done_rows == 4 and batch.imported == 4
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 4
    monkeypatch.setattr(service._Run, "import_rows", real)
    batch = _run(app, manager, uid)
    with app.app_context():
        batch = _batch(uid)
        assert batch.state == BatchState.DONE and batch.imported == 7
        assert session.scalar(sa.select(sa.func.count()).select_from(ImportRow)) == 7
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 7


def test_an_import_is_undone_while_untouched_and_the_counts_follow(app, manager, make):
    uid = _upload(app, manager)
    _check(app, manager, uid)
    _run(app, manager, uid)
    with app.test_request_context():
        user, batch = session.get(User, manager), _batch(uid)
        assert service.touched(batch) == []
        assert service.undo(user, batch) == 3
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Household)) == 0
        assert _batch(uid).state == BatchState.UNDONE
        assert cube.check(session) == []
        with pytest.raises(service.ImportError_):
            service.undo(user, _batch(uid))


def test_an_import_whose_people_were_worked_on_cannot_be_undone(app, manager, make):
    uid = _upload(app, manager)
    _check(app, manager, uid)
    _run(app, manager, uid)
    with app.app_context():
        head = session.scalar(sa.select(Beneficiary.uid).where(Beneficiary.document_type == "national_id"))
    make.hand_over(head)
    with app.test_request_context():
        user, batch = session.get(User, manager), _batch(uid)
        assert len(service.touched(batch)) == 1
        with pytest.raises(service.ImportError_, match="1 people"):
            service.undo(user, batch)


def test_a_preview_that_stopped_can_be_run_again(app, manager, monkeypatch):
    uid = _upload(app, manager)

    def crash(*args, **kwargs):
        raise RuntimeError("the worker was stopped")

    real = service.check
    monkeypatch.setattr(service, "check", crash)
    assert _check(app, manager, uid) == BatchState.CHECKING
    with app.app_context():
        assert service.check_stopped(_batch(uid))
    monkeypatch.setattr(service, "check", real)
    assert _check(app, manager, uid) == BatchState.CHECKED


def test_rows_alike_within_the_list_are_imported_and_kept_as_pairs_for_the_desks(app, manager):
    rows = [
        "Andrea;Rojas Vega;F;05/05/2015;VEN;;;;H9;jefa;si",
        "Andrés;Rojas Vega;M;05/05/2015;VEN;;;;H9;hermano;si",  # a twin: the same day, the family names
        "Luis;Mendoza;M;01/01/1980;VEN;;;;;;si",
    ]
    uid = _upload(app, manager, csv_bytes(*rows))
    _check(app, manager, uid)
    with app.test_request_context():
        batch = _batch(uid)
        assert service.summary(batch)["duplicates"] == 0  # nothing to decide: twins are not one person
        assert batch.findings["alike"] == {"1": [[0, ["dob_name"]]]}
    batch = _run(app, manager, uid)
    with app.app_context():
        assert _batch(uid).imported == 3
        pair = session.scalars(sa.select(DuplicateCandidate)).one()
        twins = session.scalars(sa.select(Beneficiary.id).where(Beneficiary.family_names_ct.is_not(None))).all()
        assert {pair.first_id, pair.second_id} <= set(twins) and pair.reasons == "dob_name"


@pytest.mark.parametrize("compared", [200, 0], ids=["compared-in-memory", "looked-for"])
def test_someone_registered_at_the_desk_since_the_preview_is_not_imported_twice(
    app, manager, make, monkeypatch, compared
):
    monkeypatch.setattr(service, "COMPARED_SINCE", compared)
    rows = ["Wilmer;Urdaneta;M;01/01/1970;VEN;;;;;;si", "Oriana;Marcano;F;03/02/2001;VEN;pasaporte;P-55;;;;si"]
    rows.append("Keiber;Ochoa;M;09/09/1999;VEN;;;;;;si")
    uid = _upload(app, manager, csv_bytes(*rows))
    _check(app, manager, uid)
    make.person(given_names="Wilmer", family_names="Urdaneta", date_of_birth=dt.date(1970, 1, 1), sex="male")
    make.person(given_names="Otra", family_names="Persona", document_type="passport", document_number="p55")
    batch = _run(app, manager, uid)
    with app.app_context():
        batch = _batch(uid)
        assert (batch.imported, batch.skipped, batch.refused) == (1, 1, 1)
        report = {row: (outcome, why) for row, outcome, _case, _column, why in service.report(batch)}
        assert "found while importing" in report[2][1]
        assert "already registered to case" in report[3][1]
        assert report[4][0] == "Imported"


def test_a_csv_whose_rows_are_too_empty_to_tell_its_delimiter_is_read_by_its_header():
    """Rows of empty cells, one of them a quoted semicolon: the file's delimiter is the header's."""
    data = b'nombres;apellidos;sexo;fecha_nacimiento;nacionalidad\r\n;;;;\r\nLuz;;;;";"\r\n'
    kind, table = parse.read("lista.csv", data, 100)
    assert table.columns == ["nombres", "apellidos", "sexo", "fecha_nacimiento", "nacionalidad"]
    assert table.rows == [["Luz", "", "", "", ";"]]
