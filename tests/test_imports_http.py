"""The import pages, as a centre manager uses them: upload, map, preview, decide, import, report, undo."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa

from msc.beneficiaries.models import Beneficiary
from msc.db import session
from msc.imports.models import BatchState, ImportBatch
from msc.jobs import runner
from tests.conftest import csrf
from tests.test_access import login_as
from tests.test_imports_service import ROWS, csv_bytes


@pytest.fixture
def manager(app, make, client):
    login_as(app, client, make.user("jefa", "centre_manager", locale="es"))


def _upload(client, data, filename="lista.csv"):
    token = csrf(client, "/imports/")
    res = client.post(
        "/imports/",
        data={"csrf_token": token, "file": (io.BytesIO(data), filename), "centre_id": "1", "mapping_uid": ""},
        content_type="multipart/form-data",
    )
    # the test client writes a large body to a temporary file it leaves open (the client's side, not the app's)
    res.request.environ["wsgi.input"].close()
    return res


def _batch():
    return session.scalar(sa.select(ImportBatch))


def _mapping_form(page: str) -> dict[str, str]:
    """The mapping page's choices as they stand (the selected option of each select)."""
    form = {}
    for name, body in re.findall(r'<select id="[^"]+" name="([^"]+)">(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        form[name] = chosen.group(1) if chosen else ""
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page):
        form[name] = value
    return form


def test_a_centre_manager_imports_a_list_through_the_pages_and_undoes_it(app, make, client, manager):
    res = _upload(client, csv_bytes(*ROWS))
    assert res.status_code == 302 and "/columns" in res.headers["Location"]
    home = client.get("/").get_data(as_text=True)
    assert "Lista de 4 filas" in home and "Columnas por asignar" in home, "the import waits on the home page"
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "Asignar las columnas" in page and "fecha_nacimiento" in page
    assert "Yolimar" not in page, "names are never offered as values to map"
    form = {**_mapping_form(page), "csrf_token": csrf(client, res.headers["Location"])}
    form.update({"date_format": "%d/%m/%Y", "save_as": "KoBo Cúcuta", "action": "check"})
    res = client.post(res.headers["Location"], data=form)
    assert res.status_code == 302, res.get_data(as_text=True)[:3000]
    with app.app_context():
        assert _batch().state == BatchState.CHECKING
        runner.run_queued()
        uid = _batch().uid
    page = client.get(f"/imports/{uid}").get_data(as_text=True)
    assert "Listos para importar: 3" in page and "Rechazadas, con la columna y el motivo: 1" in page
    assert "fecha_nacimiento" in page and "Ana" not in page, "a refused row names only the column"
    token = csrf(client, f"/imports/{uid}")
    res = client.post(f"/imports/{uid}/start", data={"csrf_token": token})
    assert res.status_code == 302
    with app.app_context():
        runner.run_queued()
        assert _batch().state == BatchState.DONE
    page = client.get(f"/imports/{uid}").get_data(as_text=True)
    assert "Importadas: 3" in page and "sin un consentimiento registrado: 1" in page
    with app.app_context():
        jose = session.scalar(sa.select(Beneficiary.uid).where(Beneficiary.consent_unrecorded.is_(True)))
    assert "Importada sin un consentimiento registrado" in client.get(f"/b/{jose}").get_data(as_text=True)
    report = client.get(f"/imports/{uid}/report.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    text = report.get_data(as_text=True)
    assert "Importada" in text and "Rechazad" in text and "Yolimar" not in text
    res = client.post(f"/imports/{uid}/undo", data={"csrf_token": token}, follow_redirects=True)
    assert "Importación deshecha: 3 registros eliminados." in res.get_data(as_text=True)
    with app.app_context():
        assert session.scalar(sa.select(sa.func.count()).select_from(Beneficiary)) == 0


def test_duplicates_are_decided_on_the_page(app, make, client, manager):
    existing = make.person(given_names="José", family_names="Pérez", date_of_birth=dt.date(1980, 12, 12), sex="male")
    res = _upload(client, csv_bytes("José;Pérez;M;12/12/1980;VEN;pasaporte;P123456;;;;si"))
    columns = res.headers["Location"]
    page = client.get(columns).get_data(as_text=True)
    form = {**_mapping_form(page), "csrf_token": csrf(client, columns), "date_format": "%d/%m/%Y", "action": "check"}
    client.post(columns, data=form)
    with app.app_context():
        runner.run_queued()
        uid = _batch().uid
        existing_id = session.scalar(sa.select(Beneficiary.id).where(Beneficiary.uid == existing))
    page = client.get(f"/imports/{uid}").get_data(as_text=True)
    assert "José Pérez" in page and f'value="link:{existing_id}"' in page
    token = csrf(client, f"/imports/{uid}")
    res = client.post(f"/imports/{uid}/decisions", data={"csrf_token": token, "decision-0": "link:999999"})
    assert res.status_code == 302
    res = client.post(f"/imports/{uid}/decisions", data={"csrf_token": token, "decision-0": f"link:{existing_id}"})
    client.post(f"/imports/{uid}/start", data={"csrf_token": token})
    with app.app_context():
        runner.run_queued()
        assert (_batch().linked, _batch().imported) == (1, 0)


@pytest.mark.parametrize(
    ("data", "filename", "words"),
    [
        (b"", "vacio.csv", "El archivo está vacío."),
        (b"nombres;apellidos\n", "solo.csv", "El archivo tiene encabezado pero ninguna fila."),
        (b"PK\x03\x04roto", "roto.xlsx", "No se pudo leer el archivo XLSX"),
        (b"\xd0\xcf\x11\xe0", "viejo.xls", "Guarde la hoja como .xlsx o .csv"),
    ],
)
def test_a_file_that_cannot_be_read_comes_back_with_the_reason_in_spanish(app, client, manager, data, filename, words):
    res = _upload(client, data, filename)
    assert res.status_code == 422
    assert words in res.get_data(as_text=True)
    with app.app_context():
        assert _batch() is None


def test_a_file_over_the_limit_is_refused_without_a_500(app, client, manager):
    app.config["IMPORT_MAX_BYTES"] = 50_000
    res = _upload(client, csv_bytes(*ROWS * 600))
    assert res.status_code == 413
    assert "<html" in res.get_data(as_text=True)


def test_a_large_file_under_the_import_limit_is_read_without_touching_the_disk(app, client, manager, monkeypatch):
    import werkzeug.formparser

    def on_disk(*args, **kwargs):
        raise AssertionError("an upload was written to a temporary file")

    monkeypatch.setattr(werkzeug.formparser, "SpooledTemporaryFile", on_disk)
    monkeypatch.setattr(werkzeug.formparser, "TemporaryFile", on_disk, raising=False)
    rows = [f"Nombre{i};Apellido{i};F;01/01/1990;VEN;;;;;;si" for i in range(30_000)]
    data = csv_bytes(*rows)
    assert len(data) > 1024 * 1024, "over the pages' limit of 1 MB"
    res = _upload(client, data)
    assert res.status_code == 302
    with app.app_context():
        assert _batch().total_rows == 30_000


def test_another_centre_s_import_is_not_found(app, make, client):
    login_as(app, client, make.user("jefa_tumbes", "centre_manager", centres=("PER-TUM",)))
    other = make.user("jefa", "centre_manager")
    with app.test_request_context():
        from msc.centres.models import Centre
        from msc.imports import service
        from msc.security.models import User

        centre = session.scalar(sa.select(Centre).where(Centre.code == "COL-CUC"))
        uid = service.upload(session.get(User, other), centre, "l.csv", csv_bytes(*ROWS), None).uid
        session.commit()
    for url in (f"/imports/{uid}", f"/imports/{uid}/columns", f"/imports/{uid}/report.csv"):
        assert client.get(url).status_code == 404


def test_an_upload_without_the_form_s_token_is_refused(app, client, manager):
    res = client.post(
        "/imports/",
        data={"file": (io.BytesIO(csv_bytes(*ROWS)), "l.csv"), "centre_id": "1", "mapping_uid": ""},
        content_type="multipart/form-data",
    )
    assert res.status_code == 422
    with app.app_context():
        assert _batch() is None
