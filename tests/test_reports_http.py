"""Dashboard pages and downloads over HTTP: figures, filters kept when refused, CSV/XLSX with the HXL row,
every download audited, no person on any page, and sensitive needs only for those who may see them."""

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from msc.db import session, utcnow
from msc.reports import cube
from msc.security.models import AuditEvent
from tests.test_access import login_as

THIS = cube.local_month("COL", utcnow())


@pytest.fixture
def people(app, make):
    for i in range(6):
        make.person(
            given_names=f"Valentina{i}",
            family_names="Sarmiento",
            date_of_birth=dt.date(1990, 1, 1 + i),
            needs=["single_caregiver"] + (["trafficking"] if i < 5 else []),
        )
    make.person(
        given_names="Ernesto", family_names="Quispe", centre="PER-TUM", sex="male", date_of_birth=dt.date(1950, 1, 1)
    )


def client_for(app, make, role, **kw):
    client = app.test_client()
    login_as(app, client, make.user(f"u_{role}_{kw.get('scope', 'centre')}", role, **kw))
    return client


def rows_of(res):
    return list(csv.reader(io.StringIO(res.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_dashboard_shows_every_table_with_its_chart_and_no_person(app, make, people):
    client = client_for(app, make, "centre_manager")
    res = client.get("/reports/")
    page = res.get_data(as_text=True)
    assert res.status_code == 200
    for title in (
        "People registered by month and sex",
        "People registered by age and sex",
        "Specific needs by sex",
        "Households and possible unaccompanied or separated children",
        "Along the route: people served, arrivals and departures",
        "Referrals by sector and status",
        "Referrals answered within the deadline",
        "Shelter occupancy today",
        "Items handed out by sex (units)",
        "Protection fund: applications and decisions against allocations",
        "Feedback received by kind and status",
    ):
        assert title in page
    assert page.count("<svg") >= 3 and "<caption" in page
    assert "Valentina" not in page and "Sarmiento" not in page
    assert "Suspected victim of trafficking" not in page  # a centre manager may not see sensitive needs
    assert "PER-TUM" not in page


def test_a_protection_officer_counts_sensitive_needs_in_scope(app, make, people):
    client = client_for(app, make, "protection_officer", scope="region")
    page = client.get("/reports/").get_data(as_text=True)
    assert "Suspected victim of trafficking" in page and "PER-TUM" in page
    res = client.get(f"/reports/needs.csv?start={THIS}&end={THIS}")
    rows = {r[0]: r for r in rows_of(res)}
    assert rows["Suspected victim of trafficking"][1:5] == ["5", "0", "0", "5"]


def test_refused_filters_come_back_with_what_was_typed(app, make, people):
    client = client_for(app, make, "centre_manager")
    res = client.get("/reports/?start=2026-13&end=2026-02&sex=female")
    page = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "Give the month as year and month, for example 2026-03." in page and 'value="2026-13"' in page
    res = client.get("/reports/?start=2026-05&end=2026-04")
    assert "The period ends before it starts." in res.get_data(as_text=True)
    res = client.get("/reports/?centre_id=99999")
    assert res.status_code == 422 and "Choose one of your centres or countries." in res.get_data(as_text=True)


def test_csv_download_has_the_hxl_row_second_suppression_and_is_audited(app, make, people):
    client = client_for(app, make, "centre_manager")
    res = client.get(f"/reports/age_sex.csv?start={THIS}&end={THIS}")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    rows = rows_of(res)
    assert rows[0][:2] == ["Age band", "Female"]
    assert rows[1] == ["#age+range", "#affected+f", "#affected+m", "#affected+other", "#affected+total"]
    assert ["18-59", "6", "0", "0", "6"] in rows and rows[-1] == ["Total", "6", "0", "0", "6"]
    with app.app_context():
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "reports.export")).all()[-1]
        assert event.detail.startswith("age_sex.csv:") and "COL-CUC" in event.detail


def test_csv_download_of_the_route_table(app, make, people):
    client = client_for(app, make, "protection_officer", scope="region")
    res = client.get(f"/reports/route.csv?start={THIS}&end={THIS}")
    assert res.status_code == 200
    rows = rows_of(res)
    assert rows[1][:5] == ["#adm2+code", "#date+month", "#affected+served", "#affected+arrived", "#affected+departed"]
    cucuta = next(r for r in rows[2:] if r[0].startswith("COL-CUC"))
    assert cucuta[1:] == [THIS, "6", "0", "0"]


def test_xlsx_download_of_the_vulnerability_profile(app, make, people):
    client = client_for(app, make, "protection_officer", scope="region")
    res = client.get(f"/reports/vulnerability.xlsx?start={THIS}&end={THIS}")
    assert res.status_code == 200
    sheet = load_workbook(io.BytesIO(res.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["Centre", "Entry point", "People registered"]
    assert values[1][:3] == ["#adm2+code", "#loc+entry", "#affected+total"]
    assert values[2][:3] == ["COL-CUC", "Not recorded", 6] and values[3][:3] == ["PER-TUM", "Not recorded", "<5"]


def test_the_vulnerability_page(app, make, people):
    client = client_for(app, make, "centre_manager")
    page = client.get("/reports/vulnerability").get_data(as_text=True)
    assert "Vulnerability profile" in page and "100.0%" in page  # all six are single caregivers


def test_unknown_tables_and_bad_filters_on_downloads(app, make, people):
    client = client_for(app, make, "centre_manager")
    assert client.get("/reports/secret.csv").status_code == 404
    assert client.get("/reports/people.pdf").status_code == 404
    res = client.get("/reports/people.csv?start=never")
    assert res.status_code == 302 and res.headers["Location"].endswith("/reports/")


def test_other_roles_are_refused(app, make, people):
    for role in ("reception", "caseworker", "dpo", "admin", "partner"):
        assert client_for(app, make, role).get("/reports/").status_code == 403, role


def test_the_print_stylesheet_makes_a_report(app):
    with app.test_client().get("/static/css/app.css") as res:
        css = res.get_data(as_text=True)
    assert "@media print" in css and ".report-table { break-inside:avoid" in css
