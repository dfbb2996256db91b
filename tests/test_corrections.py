"""Correction requests: recorded with what the person asked, applied through the edit form with a history
entry, or refused with a reason; only staff who may edit the record handle them."""

import datetime as dt

import pytest
import sqlalchemy as sa

from msc.beneficiaries import corrections
from msc.beneficiaries.models import Beneficiary, BeneficiaryChange, CorrectionRequest
from msc.db import session
from msc.security.models import User
from tests.test_access import login_as


def person(uid: str) -> Beneficiary:
    return session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))


def test_record_then_refuse_in_words(ctx, make):
    p = person(make.person(given_names="Ines", family_names="Mora", date_of_birth=dt.date(1990, 1, 1)))
    clerk = session.get(User, make.user("clerk", "reception"))
    with pytest.raises(corrections.CorrectionError, match="Choose the data"):
        corrections.record(clerk, p, [], "Se llama Inés, con tilde.")
    with pytest.raises(corrections.CorrectionError, match="Choose the data"):
        corrections.record(clerk, p, ["password"], "x")
    with pytest.raises(corrections.CorrectionError, match="Write what the person says"):
        corrections.record(clerk, p, ["given_names"], " ")
    far = session.get(User, make.user("far", "reception", centres=("PER-TUM",)))
    with pytest.raises(corrections.CorrectionError, match="Only staff who may edit"):
        corrections.record(far, p, ["given_names"], "Inés")
    r = corrections.record(clerk, p, ["given_names", "date_of_birth"], "Se llama Inés, con tilde.")
    session.commit()
    assert r.details == "Se llama Inés, con tilde." and b"tilde" not in r.details_ct
    with pytest.raises(corrections.CorrectionError, match="Write why"):
        corrections.refuse(clerk, r, "")
    corrections.refuse(clerk, r, "El pasaporte dice Ines, sin tilde.")
    with pytest.raises(corrections.CorrectionError, match="already handled"):
        corrections.refuse(clerk, r, "otra vez")
    assert r.status == "refused" and corrections.pending(p) == []


def test_http_record_and_apply_through_the_edit_form(app, make):
    app.config["WTF_CSRF_ENABLED"] = False
    uid = make.person(given_names="Ines", family_names="Mora", date_of_birth=dt.date(1990, 1, 1))
    client = app.test_client()
    login_as(app, client, make.user("clerk", "reception"))
    res = client.post(f"/b/{uid}/corrections", data={"details": "Inés"})
    assert res.status_code == 422 and "Choose the data the person says is wrong." in res.get_data(as_text=True)
    assert "Inés" in res.get_data(as_text=True)  # what was typed comes back
    assert (
        client.post(
            f"/b/{uid}/corrections", data={"fields": ["given_names"], "details": "Se llama Inés, con tilde."}
        ).status_code
        == 302
    )
    with app.app_context():
        r = session.scalar(sa.select(CorrectionRequest))
        r_uid = r.uid
    page = client.get(f"/b/{uid}/edit?correction={r_uid}").get_data(as_text=True)
    assert "Correcting at the person's request" in page and "Se llama Inés, con tilde." in page
    res = client.post(
        f"/b/{uid}/edit?correction={r_uid}",
        data={
            "given_names": "Inés",
            "family_names": "Mora",
            "sex": "female",
            "date_of_birth": "1990-01-01",
            "nationality": "VEN",
            "document_type": "none",
        },
    )
    assert res.status_code == 302, res.get_data(as_text=True)[:2000]
    with app.app_context():
        r = session.scalar(sa.select(CorrectionRequest))
        assert r.status == "applied" and person(uid).given_names == "Inés"
        actions = [
            c.action
            for c in session.scalars(
                sa.select(BeneficiaryChange).where(BeneficiaryChange.beneficiary_id == person(uid).id)
            )
        ]
        assert "correction" in actions
    assert "Corrected on" in client.get(f"/b/{uid}/corrections").get_data(as_text=True)
    assert "corrected at the person" in client.get(f"/b/{uid}").get_data(as_text=True)
