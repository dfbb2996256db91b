"""A centre manager in Cúcuta imports the KoBoToolbox export of 200 registrations on a 360 px phone, in
Spanish: the columns map themselves from the form's names, the values ("mujer", "sí", "cédula") are read, five
bad rows are refused with the column and why, ten possible duplicates wait for a decision (five repeated in
the file, five already registered); she links three, imports two as other people, imports the list, reads
the report, and undoes the import."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from msc.beneficiaries.models import Beneficiary
from msc.db import session
from msc.imports.models import ImportBatch
from msc.jobs import runner
from tests.browser.conftest import check_axe, check_no_horizontal_scroll, log_in_as
from tests.browser.test_reception_scenario import PHONE
from tests.conftest import Factory

pytestmark = pytest.mark.browser

GIVEN = ["Ana", "Luis", "Marta", "Pedro", "Rosa", "Juan", "Elena", "Carlos", "Lucía", "Jorge"]
GIVEN += ["Sofía", "Diego", "Valentina", "Andrés", "Camila", "Miguel", "Isabel", "Rafael", "Daniela", "Tomás"]
FAMILY = ["Quispe", "Mendoza", "Salas", "Ibarra", "Vega", "Torres", "Duarte", "Castillo", "Rangel", "Bolívar"]
FAMILY += ["Urdaneta", "Paredes", "Zambrano", "Briceño", "Guerrero", "Colmenares", "Ochoa", "Peña", "Sifontes", "Yépez"]
REGISTERED = [
    ("Yolimar", "Castillo Rangel"),
    ("Wilmer", "Añez Pirela"),
    ("Oriana", "Marcano Chirinos"),
    ("Deivis", "Villalobos Sifontes"),
    ("Keiber", "Urdaneta Yépez"),
]
HEADERS = [
    "start",
    "group_persona/nombres",
    "group_persona/apellidos",
    "group_persona/sexo",
    "group_persona/fecha_nacimiento",
    "group_persona/nacionalidad",
    "group_doc/tipo_documento",
    "group_doc/numero_documento",
    "group_contacto/telefono",
    "consentimiento",
    "_uuid",
    "_submission_time",
    "_index",
]


def _person(i: int) -> list:
    given, family = GIVEN[i % 20], f"{FAMILY[i // 20 % 20]} {FAMILY[(i * 7 + 3) % 20]}"
    born = dt.datetime(1960, 1, 1) + dt.timedelta(days=97 * i)
    return [
        "2025-10-01T08:00:00",
        given,
        family,
        "mujer" if i % 2 else "hombre",
        born,
        "venezuela",
        "cedula",
        f"V-{20_000_000 + i}",
        f"+57 300 {1_000_000 + i}",
        "si",
        f"uuid-{i}",
        "2025-10-01T09:00:00",
        i + 1,
    ]


def kobo_export() -> tuple[bytes, list[list]]:
    """200 rows: 185 good ones, 5 bad ones (rows 11, 41, 71, 101, 131), 5 repeating an earlier row of the
    file (rows 192 to 196), and 5 people already registered (rows 197 to 201)."""
    rows = [_person(i) for i in range(190)]
    rows[9][3] = "??"  # a sex no mapping knows
    rows[39][4] = dt.datetime(2099, 1, 1)  # born in the future
    rows[69][1] = ""  # no given names
    rows[99][4] = "31/02/1990"  # not a date
    rows[129][7] = ""  # a national id without its number
    rows += [list(rows[150 + k]) for k in range(5)]  # the same people twice in the file
    for row in rows[-5:]:
        row[10] = row[10] + "-again"
    for k, (given, family) in enumerate(REGISTERED):  # already registered
        row = _person(190 + k)
        row[1], row[2], row[4] = given, family, dt.datetime(1985 + k, 3, 8)
        rows.append(row)
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    repeat = book.create_sheet("group_hogar")  # KoBo's repeat group: another sheet, not read
    repeat.append(["nombre_miembro", "_parent_index"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), rows


def _run_jobs(app) -> None:
    with app.app_context():
        runner.run_queued()


def test_a_centre_manager_imports_a_kobo_export_on_a_phone_resolves_duplicates_and_undoes_it(visit, live_server):
    app = live_server.app
    make = Factory(app)
    make.user("jefa_cuc", "centre_manager", centres=("COL-CUC",), locale="es")
    data, rows = kobo_export()
    for row in rows[-5:]:
        make.person(
            given_names=row[1],
            family_names=row[2],
            sex="female" if row[3] == "mujer" else "male",
            date_of_birth=row[4].date(),
            phone=row[8],
        )
    page = visit.page
    page.set_viewport_size(PHONE)
    log_in_as(visit, "jefa_cuc")

    visit.goto("/imports/")
    assert page.locator("h1").inner_text() == "Importar una lista"
    check_axe(page, "import a list")
    page.get_by_label("La lista (CSV, XLSX o una exportación XLSX de KoBoToolbox)").set_input_files(
        files=[{"name": "registro_cucuta.xlsx", "mimeType": "application/octet-stream", "buffer": data}]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Leer la lista").click()
    visit.note_url()
    assert page.locator("h1").inner_text() == "Asignar las columnas"
    assert page.locator("#column-1").input_value() == "given_names"
    assert page.locator("#column-6").input_value() == "document_type"
    assert page.locator("#column-10").input_value() == "", "KoBo's own columns are left out"
    check_axe(page, "map the columns")
    check_no_horizontal_scroll(page, "map the columns")
    assert "Valores de «group_persona/sexo»" in page.content()
    assert page.get_by_label("mujer", exact=True).input_value() == "female"
    assert page.get_by_label("??", exact=True).input_value() == "", "an unknown value is left for the row to be refused"
    page.get_by_label("Guardar esta asignación para la fuente como (opcional)").fill("KoBo CAM Cúcuta")
    with page.expect_navigation():
        page.get_by_role("button", name="Revisar todas las filas").click()
    visit.note_url()
    _run_jobs(app)
    page.reload()

    assert "Listos para importar: 185" in page.content()
    assert "Posibles duplicados, a la espera de su decisión: 10" in page.content()
    assert "Rechazadas, con la columna y el motivo: 5" in page.content()
    refused = {11: "group_persona/sexo", 41: "group_persona/fecha_nacimiento", 71: "group_persona/nombres"}
    for row_number, column in refused.items():
        assert column in page.locator(f"#row-{row_number}").inner_text()
    assert "La fecha de nacimiento no puede ser futura." in page.locator("#row-41").inner_text()
    check_axe(page, "preview")
    check_no_horizontal_scroll(page, "preview")
    for row_number in range(192, 197):
        assert "La misma persona que la fila" in page.locator(f"#row-{row_number}").inner_text()
    for row_number in (197, 198, 199):
        page.locator(f"#row-{row_number}").get_by_label("vincular").first.check()
    for row_number in (200, 201):
        page.locator(f"#row-{row_number}").get_by_label("Es otra persona: importar").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Guardar estas decisiones").click()
    assert "Decisiones guardadas." in page.content()
    assert page.locator("#row-197").get_by_label("vincular").first.is_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Importar la lista").click()
    _run_jobs(app)
    page.reload()

    assert "Importadas: 187" in page.content()
    assert "Vinculadas a un registro existente: 3" in page.content()
    assert "Omitidas: 5" in page.content() and "Rechazadas: 5" in page.content()
    check_axe(page, "import done")
    with page.expect_download() as download:
        page.get_by_role("link", name="Descargar el informe (CSV)").click()
    with open(download.value.path(), encoding="utf-8-sig") as saved:
        report = saved.read()
    assert report.count("Importada") == 187 and "Omitida" in report and "Ana" not in report
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 5 + 187
        assert session.scalar(sa.select(ImportBatch.rows_ct)) is None, "the rows are destroyed once imported"

    with page.expect_navigation():
        page.get_by_role("button", name="Deshacer esta importación").click()
    assert "Importación deshecha: 187 registros eliminados." in page.content()
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 5
