"""Sections one feature shows on another's page: the providers' probes are asked in one statement, and a
provider reads only what its probe found (a profile of someone with nothing reads nothing more)."""

import sqlalchemy as sa

from msc import sections
from msc.beneficiaries.models import Beneficiary
from msc.cases.models import Case
from msc.continuity.models import Transfer
from msc.db import session
from tests.conftest import Auth, statements_run

#: the tables whose rows the profile's sections show (each read by its own section when there are any)
SECTION_TABLES = ("cases", "placements", "disclosures", "transfers", "onward_movements", "nfi_distributions")


def _person(uid: str) -> Beneficiary:
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))


def _profile(app, username: str, uid: str) -> tuple[str, list[str]]:
    """The profile page as the user sees it, and the statements it sent."""
    client = app.test_client()
    Auth(client).login(username)
    with statements_run(app.extensions["msc.engine"]) as seen:
        res = client.get(f"/b/{uid}")
    assert res.status_code == 200
    return res.get_data(as_text=True), seen


def _reads(seen: list[str], table: str) -> list[str]:
    return [s for s in seen if f"FROM {table}" in s]


def test_a_profile_with_nothing_asks_once_and_reads_no_section(app, make):
    make.centre()
    make.user("cw", "caseworker", centres=("COL-CUC",))
    uid = make.person(given_names="Rosa", family_names="Peña")
    page, seen = _profile(app, "cw", uid)
    [probe] = [s for s in seen if "EXISTS" in s]
    assert all(_reads([probe], table) for table in SECTION_TABLES), "every section is asked in the one statement"
    assert [s for s in seen if s != probe and any(_reads([s], t) for t in SECTION_TABLES)] == []
    assert "Open a case" in page and "No data has been shared with any organisation." in page
    assert "0 hand-overs, 0 shelter stays, 0 referrals" in page
    assert "Requests for the record between centres" not in page


def test_what_the_probe_finds_is_read_and_shown(app, make):
    make.centre()
    caseworker = make.user("cw", "caseworker", centres=("COL-CUC",))
    uid = make.person(given_names="Rosa", family_names="Peña")
    make.case(uid, caseworker)
    make.hand_over(uid)
    page, seen = _profile(app, "cw", uid)
    assert "Open the case" in page and "1 hand-over, 0 shelter stays" in page
    assert len(_reads(seen, "cases")) == 2, "the probe, then the case"
    assert len(_reads(seen, "nfi_distributions")) == 2, "the probe, then the counts"
    assert len(_reads(seen, "transfers")) == 1, "only the probe: no request for the record"


def test_a_role_that_may_not_see_a_section_is_not_asked_about_it(app, make):
    make.centre()
    caseworker = make.user("cw", "caseworker", centres=("COL-CUC",))
    make.user("desk", "reception", centres=("COL-CUC",))
    uid = make.person(given_names="Rosa", family_names="Peña")
    make.case(uid, caseworker)
    page, seen = _profile(app, "desk", uid)
    assert "Open the case" not in page and _reads(seen, "cases") == [], "reception does not see cases"
    assert _reads(seen, "transfers"), "the route is everyone's: asked"


def test_a_name_its_probe_did_not_ask_reads_false_and_a_provider_without_probe_is_called_as_before(app, make):
    make.centre()
    uid = make.person(given_names="Rosa", family_names="Peña")
    told = {}

    def probe(user, person):
        return {"case": sa.select(Case).where(Case.beneficiary_id == person.id).exists()}

    def provider(user, person, found):
        told.update(case=found["case"], moved=found["moved"])
        return {"probed": True}

    def plain(user, person):
        return {"plain": person.uid}

    sections.add(app, "a test page", provider, probe)
    sections.add(app, "a test page", plain)
    with app.test_request_context(), statements_run(app.extensions["msc.engine"]) as seen:
        person = _person(uid)
        seen.clear()
        shown = sections.context("a test page", None, person)
    assert shown == {"probed": True, "plain": uid}
    assert told == {"case": False, "moved": False}
    assert len(seen) == 1 and "EXISTS" in seen[0]
    assert not [s for s in seen if f"FROM {Transfer.__tablename__}" in s]
