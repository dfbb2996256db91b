"""No identifying value exists in plaintext in the database file, its WAL, or the application log."""

import datetime as dt
import logging
from pathlib import Path

import pytest

from msc.security.actor import SYSTEM
from tests.conftest import PG_URL, csrf

PEOPLE = [
    {
        "given_names": "Wendolyn Xiomara",
        "family_names": "Zapateiro Quiñónez",
        "document_number": "QZ7781234",
        "phone": "+57 318 774 2291",
        "date_of_birth": "1987-09-23",
        "guardian": None,
    },
    {
        "given_names": "Yorbelis",
        "family_names": "Chiquinquirá Urdaneta",
        "document_number": "V27514983",
        "phone": "+58 426 555 0192",
        "date_of_birth": "1979-04-11",
        "guardian": None,
    },
    {
        "given_names": "Dayanna",
        "family_names": "Zapateiro Quiñónez",
        "document_number": None,
        "phone": None,
        "date_of_birth": "2015-02-14",
        "guardian": "Wendolyn Zapateiro",
    },
]


def _needles(p):
    values = [p["given_names"], p["family_names"], p["document_number"], p["phone"]]
    values += p["given_names"].split() + p["family_names"].split()
    if p["guardian"]:
        values.append(p["guardian"])
    if p["phone"]:
        values.append(p["phone"].replace(" ", ""))
    needles = set()
    for v in filter(None, values):
        if len(v) >= 5:
            needles.add(v.encode())
            needles.add(v.encode("utf-16-le"))
            needles.add(v.upper().encode())
            from msc.crypto.blind import fold

            needles.add(fold(v).encode())
    dob = dt.date.fromisoformat(p["date_of_birth"])
    needles |= {dob.isoformat().encode(), dob.strftime("%d/%m/%Y").encode()}
    return needles


@pytest.mark.skipif(PG_URL is not None, reason="scans the SQLite file; PostgreSQL runs the same flows elsewhere")
def test_distinctive_people_leave_no_plaintext_in_db_wal_or_log(app, make, auth, client, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    make.user("clerk", "reception")
    crossing = make.entry_point("Puente Simón Bolívar")
    auth.login("clerk")
    head_case = None
    for p in PEOPLE:
        data = {
            "csrf_token": csrf(client, "/register"),
            "given_names": p["given_names"],
            "family_names": p["family_names"],
            "sex": "female",
            "date_of_birth": p["date_of_birth"],
            "nationality": "VEN",
            "document_type": "passport" if p["document_number"] else "none",
            "document_number": p["document_number"] or "",
            "phone": p["phone"] or "",
            "household_mode": "join" if head_case else "new",
            "household_case_number": head_case or "",
            "relationship": "child" if head_case else "head",
            "consent_registration": "given",
            "consent_referral": "given",
            "consent_government_sharing": "refused",
            "consent_followup_contact": "given",
            "consent_photo": "refused",
            "legal_basis": "consent",
            "method": "verbal",
            "given_by": "guardian" if p["guardian"] else "self",
            "guardian_name": p["guardian"] or "",
            "needs": ["trafficking", "disability"],
            "entry_point": crossing,
            "acknowledged": "",
        }
        res = client.post("/register", data=data)
        if res.status_code == 422 and "may already be registered" in res.get_data(as_text=True):
            import re

            data["acknowledged"] = re.search(
                r'name="acknowledged" type="hidden" value="([^"]*)"', res.get_data(as_text=True)
            ).group(1)
            res = client.post("/register", data=data)
        assert res.status_code == 302, res.get_data(as_text=True)[:2000]
        if head_case is None:
            import sqlalchemy as sa

            from msc.beneficiaries.models import Beneficiary
            from msc.db import session

            with app.app_context():
                head_case = session.scalar(sa.select(Beneficiary.case_number))
        client.get(res.headers["Location"])
        client.post("/search", data={"q": f"{p['given_names']} {p['family_names']}", "csrf_token": csrf(client, "/")})
        if p["document_number"]:
            client.post("/search", data={"q": p["document_number"], "csrf_token": csrf(client, "/")})
    client.get("/b/nothing-here")
    _hand_over_to_the_household(app, client, head_case)

    db_path = Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
    files = [db_path, db_path.with_name(db_path.name + "-wal")]
    blobs = {f.name: f.read_bytes() for f in files if f.exists()}
    assert db_path.name + "-wal" in blobs, "the WAL should exist (journal_mode=WAL) and be scanned"
    blobs["log"] = caplog.text.encode()
    # sanity: the scan can see plaintext (the centre name and entry point are not personal data)
    assert b"Puente Sim" in blobs[db_path.name] + blobs[db_path.name + "-wal"]
    for p in PEOPLE:
        for needle in _needles(p):
            for name, blob in blobs.items():
                assert needle not in blob, f"{needle!r} found in plaintext in {name}"


def test_urls_carry_no_personal_data(app, make, auth, client):
    make.user("clerk", "reception")
    uid = make.person(given_names="Wendolyn", family_names="Zapateiro")
    auth.login("clerk")
    page = client.get(f"/b/{uid}").get_data(as_text=True)
    import re

    for href in re.findall(r'(?:href|action)="([^"]+)"', page):
        assert "Wendolyn" not in href and "Zapateiro" not in href


def _hand_over_to_the_household(app, client, head_case):
    """Items collected by a named person, with a witness: both names are encrypted too."""
    import sqlalchemy as sa

    from msc.beneficiaries.models import Beneficiary
    from msc.centres.models import Centre
    from msc.db import session
    from msc.nfi import service, stock

    with app.app_context():
        head = session.scalar(sa.select(Beneficiary).where(Beneficiary.case_number == head_case))
        centre = session.get(Centre, head.centre_id)
        stock.receive(
            SYSTEM,
            centre,
            reference="GR-1",
            source="warehouse",
            received_on=stock.centre_day(centre),
            lines={service.item_by_code("HYG").id: 5},
        )
        session.commit()
        uid = head.uid
    res = client.post(
        f"/nfi/give/{uid}",
        data={
            "csrf_token": csrf(client, f"/nfi/give/{uid}"),
            f"qty-{uid}:HYG": "1",
            "collected_by": "collector",
            "collector_name": "Yorbelis Chiquinquirá Urdaneta",
            "ack_method": "witness",
            "witness_name": "Wendolyn Xiomara Zapateiro Quiñónez",
        },
    )
    assert res.status_code == 302, res.get_data(as_text=True)[:2000]
